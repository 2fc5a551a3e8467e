/**
 * GenerateManifests and the CLI in daily use (issue 14): an environment that no component
 * configures is refused with the closest name (Fabrikate rendered `common` into a new folder),
 * and a render from a checkout with uncommitted changes says so in the manifest commit.
 */
import { strict as assert } from 'node:assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTrailers } from '../../tasks/core/git/commitMessage';
import { git } from '../support/gitServer';
import { runTask, type TaskRun } from '../support/runTask';
import { tempDir } from '../support/tmp';
import { helm4 } from '../support/tools';
import { baseHld, branchFiles } from './generateManifests.fixture';
import { bundleOnce, createFileRepo, messageOf, refsOf, runCli } from './updateImageTagHelpers';

const hldFiles: Record<string, string> = {
  ...baseHld,
  'component.yaml': `${baseHld['component.yaml']}  - name: infra\n    source: ./infra\n`,
  'infra/component.yaml': 'name: infra\nsubcomponents:\n  - name: quota\n    type: static\n    path: ./manifests\n',
  'infra/manifests/quota.yaml': 'apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: infra\n',
  // qa is configured only by the nested component: it is still an environment of the HLD.
  'infra/config/qa.yaml': 'config:\n  tier: qa\n',
};

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  const result = await runCli(args);
  return { code: result.code, out: result.stdout + result.stderr };
}

describe('GenerateManifests in daily use: unknown environments refused, dirty checkouts recorded', function () {
  this.timeout(300_000);
  before(() => bundleOnce());

  async function setup() {
    const hld = await createFileRepo(hldFiles);
    const checkout = tempDir('gm-daily-checkout-');
    await git(['clone', '--quiet', hld.url, checkout]);
    const manifests = await createFileRepo({ 'README.md': 'manifests\n' });
    return { checkout, manifests };
  }
  const publish = (checkout: string, manifestsUrl: string, inputs: Record<string, string>) => runTask('GenerateManifests', {
    inputs: { helmPath: helm4, hldPath: checkout, manifestRepositoryUrl: manifestsUrl, ...inputs },
    variables: { 'Build.BuildId': '42' },
    timeoutMs: 240_000,
  });
  const ok = (r: TaskRun) => assert.equal(r.result, 'Succeeded', `${r.message}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);

  it('refuses an environment no component configures, suggests the closest, and pushes nothing', async () => {
    const { checkout, manifests } = await setup();
    const before = await refsOf(manifests.bare);
    const output = join(tempDir('gm-daily-out-'), 'rendered');
    const r = await publish(checkout, manifests.url, { environments: 'staging\nprdo', outputPath: output });
    assert.equal(r.result, 'Failed');
    assert.match(r.message ?? '', /environment "prdo" has no config\/prdo\.yaml in any component of the HLD: did you mean "prod"\?/);
    assert.match(r.message ?? '', /allowEnvironmentsWithoutConfig/);
    assert.equal(await refsOf(manifests.bare), before);
    assert.equal(existsSync(join(output, 'prdo')), false, 'no folder rendered for the typo');
  });

  it('an environment configured only in a nested component is accepted; allowEnvironmentsWithoutConfig renders an unknown one (common only)', async () => {
    const { checkout, manifests } = await setup();
    ok(await publish(checkout, manifests.url, { environments: 'qa' }));
    assert.ok((await branchFiles(manifests.bare))['qa/web.yaml']);
    ok(await publish(checkout, manifests.url, { environments: 'canary', allowEnvironmentsWithoutConfig: 'true' }));
    assert.match((await branchFiles(manifests.bare))['canary/web.yaml'], /message: "?common"?/);
  });

  it('CLI generate and publish refuse the typo with a non-zero exit, and take --allow-environments-without-config', async () => {
    const { checkout } = await setup();
    const out = tempDir('gm-daily-cli-');
    const typo = await cli(['generate', 'prdo', '--hld', checkout, '--output', out, '--helm', helm4]);
    assert.notEqual(typo.code, 0);
    assert.match(typo.out, /environment "prdo" has no config\/prdo\.yaml.*did you mean "prod"\?/);
    assert.equal(existsSync(join(out, 'prdo')), false);
    const publishTypo = await cli(['publish', '--hld', checkout, '--environments', 'prod,stagign', '--output', out, '--helm', helm4]);
    assert.notEqual(publishTypo.code, 0);
    assert.match(publishTypo.out, /did you mean "staging"\?/);
    const allowed = await cli(['generate', 'prdo', '--allow-environments-without-config', '--hld', checkout, '--output', out, '--helm', helm4]);
    assert.equal(allowed.code, 0, allowed.out);
    assert.ok(existsSync(join(out, 'prdo', 'web.yaml')));
  });

  it('publishing from a checkout with uncommitted changes records Gitops-Hld-Dirty: true and warns; a clean one does not', async () => {
    const { checkout, manifests } = await setup();
    const clean = await publish(checkout, manifests.url, { environments: 'prod' });
    ok(clean);
    const cleanMessage = await messageOf(manifests.bare, 'main');
    assert.equal(parseTrailers(cleanMessage)['Gitops-Hld-Dirty'], undefined);
    assert.ok(!clean.warnings.some((w) => /uncommitted/.test(w)));

    writeFileSync(join(checkout, 'config', 'prod.yaml'), 'subcomponents:\n  web:\n    config:\n      replicas: 7\n      message: prod\n');
    const dirty = await publish(checkout, manifests.url, { environments: 'prod' });
    ok(dirty);
    const message = await messageOf(manifests.bare, 'main');
    const trailers = parseTrailers(message);
    assert.equal(trailers['Gitops-Hld-Dirty'], 'true');
    assert.equal(trailers['Gitops-Hld-Commit'], await git(['rev-parse', 'HEAD'], { cwd: checkout }));
    assert.ok(dirty.warnings.some((w) => /uncommitted changes/.test(w)), dirty.warnings.join('\n'));
    assert.match((await branchFiles(manifests.bare))['prod/web.yaml'], /replicas: 7/);
  });
});
