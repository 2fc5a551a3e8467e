/**
 * Demo of the whole GitOps chain (pipelines-templates/gitops.yml) on this machine: a local git
 * server with the HLD of examples/demo/hld and an empty manifest repository, a pre-production
 * registry and an htpasswd-protected production registry, then the bundled tasks in pipeline order.
 *
 *   npm run bundle && node --import tsx scripts/demo-chain.ts
 *
 * Servers stop on success, failure and Ctrl-C. Clones of the resulting repositories stay in a
 * folder printed at the end (DEMO_OUTPUT chooses it).
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git } from '../test/support/gitServer';
import { manifestDigest, skopeoInspectRaw } from '../test/support/ociImage';
import type { TaskRun } from '../test/support/runTask';
import {
  BUILD_ID, IMAGE_REPOSITORY, chainLeaks, checkoutHld, cleanupCheckout, generateManifests, historyOf, imagesIn, mergesOf,
  promoteContainer, publishImageOutputs, pushBuiltImage, startChain, updateImageTag, type Chain,
} from '../test/e2e/chain';

let chain: Chain | undefined;
let stopping: Promise<void> | undefined;
const stop = () => (stopping ??= chain?.stop() ?? Promise.resolve());

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the demo servers`);
    void stop().finally(() => process.exit(130));
  });
}

// A server or program failing outside main's promise chain ends the demo with one line too.
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, (error: unknown) => {
    console.error(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
    void stop().finally(() => process.exit(1));
  });
}

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const heading = (text: string) => console.log(`\n== ${text} (${elapsed()})`);
const detail = (label: string, value: string) => console.log(`   ${label.padEnd(18)} ${value}`);

function check(step: string, run: TaskRun): void {
  if (run.result !== 'Succeeded') {
    process.stderr.write(run.stdout.slice(-4000) + run.stderr.slice(-2000));
    throw new Error(`${step} failed: ${run.message ?? `exit code ${run.code}`}`);
  }
  detail('result', run.message ?? 'Succeeded');
  // renderedPath lives in the agent's temp folder, which is gone when the task ends.
  for (const [name, value] of Object.entries(run.outputs)) if (value && name !== 'renderedPath') detail(name, value);
}

async function main(): Promise<void> {
  heading('Starting a git server, a pre-production registry and a production registry (htpasswd)');
  chain = await startChain();
  detail('HLD repository', chain.hldUrl);
  detail('manifest repo', chain.manifestUrl);
  detail('pre-production', chain.preprod.host);
  detail('production', `${chain.prod.host} (user ${chain.prod.username})`);

  heading(`1. Build ${BUILD_ID}: push the image to pre-production`);
  const reference = await pushBuiltImage(chain);
  const preprodDigest = manifestDigest(await skopeoInspectRaw(reference));
  detail('pushed', `${reference} (${preprodDigest})`);
  const built = await publishImageOutputs(chain);
  detail('image.tag output', `${built.tag} (the template's "image" step, parsed from ##vso lines)`);

  heading('2. UpdateImageTag: staging gets the new image (HLD checked out like `- checkout: hld`)');
  const checkout = await checkoutHld(chain);
  const updated = await updateImageTag(chain, checkout, built.tag);
  await cleanupCheckout(chain, checkout);
  check('UpdateImageTag', updated);

  heading('3. GenerateManifests: render staging and prod (two parallel jobs into one repository)');
  const renders = await Promise.all([generateManifests(chain, 'staging'), generateManifests(chain, 'prod')]);
  renders.forEach((run, i) => check(`GenerateManifests ${['staging', 'prod'][i]}`, run));

  heading('4. PromoteContainer: verify staging runs it, copy it to production, pin prod in the HLD');
  const promoted = await promoteContainer(chain, built.tag);
  check('PromoteContainer', promoted);

  heading('5. GenerateManifests: render prod again from the promoted HLD');
  check('GenerateManifests prod', await generateManifests(chain, 'prod', 'GenerateManifests prod after promotion'));

  heading('Results');
  const output = process.env.DEMO_OUTPUT ?? mkdtempSync(join(tmpdir(), 'bedrock-demo-chain-'));
  mkdirSync(output, { recursive: true });
  await git(['clone', '--quiet', chain.manifestBare, join(output, 'manifests')]);
  await git(['clone', '--quiet', chain.hldBare, join(output, 'hld')]);
  detail('manifest repo', join(output, 'manifests'));
  detail('HLD repo', join(output, 'hld'));
  console.log(`\n   git log of the manifest repository:\n${indent(await historyOf(chain.manifestBare))}`);
  console.log(`\n   git log of the HLD repository:\n${indent(await historyOf(chain.hldBare))}`);
  for (const folder of ['staging', 'prod']) {
    for (const use of await imagesIn(chain.manifestBare, folder)) detail(use.file, `image: ${use.image}  (${join(output, 'manifests', use.file)})`);
  }
  const creds = { username: chain.prod.username!, password: chain.prod.password! };
  const prodDigest = manifestDigest(await skopeoInspectRaw(`${chain.prod.host}/${IMAGE_REPOSITORY}:${BUILD_ID}`, creds));
  const same = prodDigest === preprodDigest;
  detail('digest check', `skopeo: pre-production ${preprodDigest}`);
  detail('', `skopeo: production     ${prodDigest}  ${same ? 'identical' : 'DIFFERENT'}`);
  const merges = [...(await mergesOf(chain.hldBare)), ...(await mergesOf(chain.manifestBare))];
  detail('histories', merges.length === 0 ? 'linear (no merge commits)' : `${merges.length} merge commit(s)`);
  const leaks = chainLeaks(chain);
  detail('token leak scan', leaks.length === 0 ? `clean over ${chain.runs.length} task runs and the checkout's .git/config` : leaks.join('; '));
  if (!same || merges.length > 0 || leaks.length > 0) throw new Error('the chain finished but a check failed (see above)');
  console.log(`\nDone in ${elapsed()}.`);
}

const indent = (text: string) => text.split('\n').map((line) => `     ${line}`).join('\n');

main()
  .catch((error: unknown) => {
    console.error(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  })
  .finally(() => stop());
