import { strict as assert } from 'node:assert';
import { parseTrailers } from '../../tasks/core/git/commitMessage';
import { git } from '../support/gitServer';
import { manifestDigest, skopeoInspectRaw } from '../support/ociImage';
import type { TaskRun } from '../support/runTask';
import { bundleOnce } from '../tasks/updateImageTagHelpers';
import {
  BUILD_ID, IMAGE_REPOSITORY, chainLeaks, checkoutHld, cleanupCheckout, generateManifests, imagesIn, mergesOf,
  promoteContainer, publishImageOutputs, pushBuiltImage, startChain, updateImageTag, type Chain,
} from './chain';

const succeeded = (step: string, run: TaskRun) =>
  assert.equal(run.result, 'Succeeded', `${step} failed: ${run.message}\n${run.stdout.slice(-4000)}\n${run.stderr.slice(-2000)}`);

const messageOf = (bare: string, ref = 'main') => git(['--git-dir', bare, 'log', '-1', '--format=%B', ref]);
const tipOf = (bare: string) => git(['--git-dir', bare, 'rev-parse', 'refs/heads/main']);

// Steps share state in order: each `it` is one stage of gitops.yml and feeds the next.
describe('GitOps chain end to end (gitops.yml order, bundled tasks, real helm, git server, registries)', function () {
  this.timeout(300_000);
  let chain: Chain;
  let built: { repository: string; tag: string };
  let preprodDigest: string;
  let hldCommitOfBuild: string;

  before(async function () {
    this.timeout(600_000);
    const [, started] = await Promise.all([bundleOnce(), startChain()]);
    chain = started;
  });

  after(async () => {
    await chain?.stop();
  });

  it('1. build: the image is pushed to pre-production and the template step publishes its tag', async () => {
    const reference = await pushBuiltImage(chain);
    preprodDigest = manifestDigest(await skopeoInspectRaw(reference));
    assert.equal(preprodDigest, chain.image.rootDigest, 'pre-production serves the built image');
    built = await publishImageOutputs(chain);
    assert.deepEqual(built, { repository: `${chain.preprod.host}/${IMAGE_REPOSITORY}`, tag: BUILD_ID });
  });

  it('2. UpdateImageTag writes the built image into the staging config of the HLD checkout and pushes', async () => {
    const hldBefore = await tipOf(chain.hldBare);
    const checkout = await checkoutHld(chain);
    const run = await updateImageTag(chain, checkout, built.tag);
    await cleanupCheckout(chain, checkout);
    succeeded('UpdateImageTag', run);
    assert.equal(run.outputs.hldChanged, 'true');
    hldCommitOfBuild = run.outputs.hldCommitId;
    assert.equal(hldCommitOfBuild, await tipOf(chain.hldBare), 'hldCommitId is the new HLD tip');
    assert.equal(await git(['--git-dir', chain.hldBare, 'rev-parse', `${hldCommitOfBuild}^`]), hldBefore, 'one commit on top');
    const staging = await git(['--git-dir', chain.hldBare, 'show', 'main:config/staging.yaml']);
    assert.match(staging, new RegExp(`repository: "?${chain.preprod.host}/${IMAGE_REPOSITORY}"? # set by the build`));
    assert.match(staging, new RegExp(`tag: "?${BUILD_ID}"? # set by the build`));
    assert.equal(parseTrailers(await messageOf(chain.hldBare))['Gitops-Image'], `${built.repository}:${built.tag}`);
  });

  it('3. GenerateManifests for staging and prod (parallel jobs) publish both folders from that HLD commit', async () => {
    const [staging, prod] = await Promise.all([generateManifests(chain, 'staging'), generateManifests(chain, 'prod')]);
    succeeded('GenerateManifests staging', staging);
    succeeded('GenerateManifests prod', prod);
    assert.equal(staging.outputs.manifestsChanged, 'true');
    assert.equal(prod.outputs.manifestsChanged, 'true');
    assert.deepEqual(await imagesIn(chain.manifestBare, 'staging'), [{ file: 'staging/api.yaml', image: `${built.repository}:${BUILD_ID}` }]);
    assert.deepEqual((await imagesIn(chain.manifestBare, 'prod')).map((i) => i.image), ['registry.example.com/fabrikam/api:0.1.0'], 'prod still runs the old image');
    for (const commit of [staging.outputs.manifestCommitId, prod.outputs.manifestCommitId]) {
      assert.equal(parseTrailers(await messageOf(chain.manifestBare, commit))['Gitops-Hld-Commit'], hldCommitOfBuild, `manifest commit ${commit} names the HLD commit`);
    }
  });

  it('4. PromoteContainer verifies staging runs the image, copies it to production and pins prod in the HLD', async () => {
    const run = await promoteContainer(chain, built.tag);
    succeeded('PromoteContainer', run);
    assert.equal(run.outputs.promotedDigest, preprodDigest);
    assert.equal(run.outputs.promotedImage, `${chain.prod.host}/${IMAGE_REPOSITORY}@${preprodDigest}`);
    assert.match(run.stdout, /verified: .* is referenced by staging\/api\.yaml/);
    assert.equal(run.outputs.hldChanged, 'true');
    assert.equal(run.outputs.hldCommitId, await tipOf(chain.hldBare));
    const prod = await git(['--git-dir', chain.hldBare, 'show', 'main:config/prod.yaml']);
    assert.match(prod, new RegExp(`repository: "?${chain.prod.host}/${IMAGE_REPOSITORY}"? # set by promotion`));
    assert.match(prod, new RegExp(`tag: "?${BUILD_ID}"? # set by promotion`));
    assert.match(prod, new RegExp(`digest: "?${preprodDigest}"? # set by promotion`));
  });

  it('5. GenerateManifests for prod: production manifests run the production image with the pre-production digest', async () => {
    const promotionCommit = await tipOf(chain.hldBare);
    const run = await generateManifests(chain, 'prod', 'GenerateManifests prod after promotion');
    succeeded('GenerateManifests prod after promotion', run);
    assert.equal(run.outputs.manifestsChanged, 'true');
    assert.equal(parseTrailers(await messageOf(chain.manifestBare))['Gitops-Hld-Commit'], promotionCommit);
    const prodImage = `${chain.prod.host}/${IMAGE_REPOSITORY}:${BUILD_ID}@${preprodDigest}`;
    assert.deepEqual(await imagesIn(chain.manifestBare, 'prod'), [{ file: 'prod/api.yaml', image: prodImage }]);
    assert.deepEqual((await imagesIn(chain.manifestBare, 'staging')).map((i) => i.image), [`${built.repository}:${BUILD_ID}`], 'staging untouched');

    const creds = { username: chain.prod.username!, password: chain.prod.password! };
    const prodDigest = manifestDigest(await skopeoInspectRaw(`${chain.prod.host}/${IMAGE_REPOSITORY}:${BUILD_ID}`, creds));
    assert.equal(prodDigest, preprodDigest, 'skopeo: production tag serves the pre-production digest');
    assert.equal(await skopeoInspectRaw(`${chain.prod.host}/${IMAGE_REPOSITORY}@${preprodDigest}`, creds), await skopeoInspectRaw(`${built.repository}:${BUILD_ID}`), 'same manifest bytes');
  });

  it('both repositories have linear histories and no secret leaked anywhere', async () => {
    assert.deepEqual(await mergesOf(chain.hldBare), [], 'HLD history is linear');
    assert.deepEqual(await mergesOf(chain.manifestBare), [], 'manifest history is linear');
    const hldSubjects = (await git(['--git-dir', chain.hldBare, 'log', '--format=%s', 'main'])).split('\n');
    assert.equal(hldSubjects.length, 3, `HLD: initial, build update, promotion:\n${hldSubjects.join('\n')}`);
    assert.equal(Number(await git(['--git-dir', chain.manifestBare, 'rev-list', '--count', 'main'])), 3, 'manifests: staging, prod, promoted prod');
    assert.equal(chain.runs.length, 5);
    assert.deepEqual(chainLeaks(chain), []);
  });
});
