/**
 * Hostile paths (issue 10 item 2, issue 17 item 5): symlinks and `..` committed in an HLD must
 * not make the bundled tasks read or write outside the checkout. Each refusal names the file;
 * symlinks that stay inside are followed. Every case checks the canary file outside (never in
 * any output, never changed) and that nothing was pushed.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { git as runGit, startGitServer, type GitServer } from '../support/gitServer';
import { findLeaks } from '../support/runTask';
import { tempDir } from '../support/tmp';
import { runProcess } from '../../tasks/core/exec';
import { helm4, repoRoot } from '../support/tools';
import { bundleOnce, componentYaml, refsOf } from '../tasks/updateImageTagHelpers';
import { tipOf } from '../tasks/generateManifests.fixture';
import { assertRefused, Canary, filesBelow, HostileServer, measuredTask, pushTree, writeTree, type MeasuredRun, type TreeSpec } from './support';

const prodConfig = 'subcomponents:\n  api:\n    config:\n      image:\n        tag: "1.0.0"\n';

const chart: TreeSpec = {
  'charts/leak/Chart.yaml': 'apiVersion: v2\nname: leak\nversion: 0.1.0\n',
  'charts/leak/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak\ndata:\n  stolen: {{ .Files.Get "files/secret.yaml" | quote }}\n',
};

describe('hostile paths (bundled UpdateImageTag and GenerateManifests)', function () {
  this.timeout(180_000);
  let server: GitServer;
  let canary: Canary;
  let canaryInitial: string;
  let manifestUrl: string;
  let manifestBare: string;
  let repoCount = 0;

  before(async function () {
    this.timeout(240_000);
    canary = new Canary();
    canaryInitial = canary.snapshot();
    [server] = await Promise.all([startGitServer(), bundleOnce()]);
    manifestUrl = await server.createRepo('manifests', { files: { 'prod/keep.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\n' } });
    manifestBare = server.repoPath('manifests');
  });

  after(async () => server?.stop());

  function checkClean(run: MeasuredRun, extra: Record<string, string> = {}): void {
    assert.deepEqual(findLeaks(run, [server.token]), []);
    canary.assertNotIn(extra);
  }

  describe('UpdateImageTag (HLD on a git server, symlinks committed)', () => {
    async function update(files: TreeSpec): Promise<{ run: MeasuredRun; bare: string; refsBefore: string }> {
      const name = `hld-${++repoCount}`;
      await pushTree(server, name, { 'component.yaml': componentYaml, ...files });
      const bare = server.repoPath(name);
      const refsBefore = await refsOf(bare);
      const run = await measuredTask('UpdateImageTag', {
        inputs: { hldRepositoryUrl: `${server.baseUrl}/${name}`, hldBranch: 'main', environment: 'prod', subcomponent: 'api', imageTag: '1.2.3' },
        secrets: { 'System.AccessToken': server.token },
      });
      return { run, bare, refsBefore };
    }

    async function refusedUpdate(files: TreeSpec, message: RegExp): Promise<void> {
      const { run, bare, refsBefore } = await update(files);
      assertRefused(run, message, canary, canaryInitial);
      assert.equal(await refsOf(bare), refsBefore, 'nothing pushed to the HLD');
      checkClean(run);
    }

    it('refuses config/prod.yaml committed as a symlink to an absolute outside file', () =>
      refusedUpdate({ 'config/prod.yaml': { link: canary.file } }, /config file "config\/prod\.yaml" resolves outside the HLD repository/));

    it('refuses config/ committed as a symlink to an outside folder (no file created there)', () =>
      refusedUpdate({ config: { link: canary.dir } }, /config (?:file|folder) "config(?:\/prod\.yaml)?" resolves outside the HLD repository/));

    it('refuses a relative symlink that climbs out with ../', () =>
      refusedUpdate({ 'config/prod.yaml': { link: `${'../'.repeat(30)}${canary.file.slice(1)}` } }, /config file "config\/prod\.yaml" resolves outside the HLD repository/));

    it('follows a symlink that stays inside the HLD and edits its target', async () => {
      const { run, bare } = await update({ 'library/prod.yaml': prodConfig, 'config/prod.yaml': { link: '../library/prod.yaml' } });
      assert.equal(run.result, 'Succeeded', `${run.message}\n${run.stdout.slice(-2000)}`);
      assert.match(await runGit(['--git-dir', bare, 'show', 'main:library/prod.yaml']), /tag: "1\.2\.3"/);
      assert.equal(await runGit(['--git-dir', bare, 'show', 'main:config/prod.yaml']), '../library/prod.yaml', 'the link itself is kept');
      checkClean(run);
    });
  });

  describe('GenerateManifests (HLD checkout with symlinks and ..)', () => {
    async function render(files: TreeSpec, access?: string): Promise<MeasuredRun & { hldDir: string }> {
      // access.yaml names the variable holding the test git server's token, as an HLD would.
      const hldDir = writeTree(tempDir('paths-hld-'), access ? { ...files, 'access.yaml': `${JSON.stringify(access)}: GIT_SOURCE_TOKEN\n` } : files);
      const run = await measuredTask('GenerateManifests', {
        // These HLDs have no config/prod.yaml: the environment check is not what is tested here.
        inputs: { hldPath: hldDir, environments: 'prod', helmPath: helm4, manifestRepositoryUrl: manifestUrl, allowEnvironmentsWithoutConfig: true },
        variables: { 'Build.BuildId': '1', 'System.CollectionUri': 'https://dev.azure.com/org/', 'System.TeamProject': 'proj' },
        secrets: { 'System.AccessToken': server.token },
        env: { GIT_SOURCE_TOKEN: server.token },
      });
      return { ...run, hldDir };
    }

    async function refusedRender(files: TreeSpec, message: RegExp, access?: string): Promise<MeasuredRun> {
      const tip = await tipOf(manifestBare);
      const run = await render(files, access);
      const outputs = filesBelow(run.outputs.renderedPath ?? '/nonexistent');
      assertRefused(run, message, canary, canaryInitial, outputs);
      assert.equal(await tipOf(manifestBare), tip, 'nothing pushed to the manifest repository');
      checkClean(run, outputs);
      return run;
    }

    const root = (subcomponents: string) => `name: root\nsubcomponents:\n${subcomponents}`;
    const staticAt = (path: string) => root(`  - name: files\n    type: static\n    path: ${path}\n`);
    /** From a fresh HLD temp folder (a sibling of the canary's) to the canary folder. */
    const climbToCanary = () => relative(tempDir('paths-probe-'), canary.dir);

    it('refuses a static component whose path is ../<outside folder>', () =>
      refusedRender({ 'component.yaml': staticAt(climbToCanary()) }, /component\.yaml.*path: static component files: manifests folder ".*canary-.*" resolves outside the HLD repository/));

    it('refuses a static folder committed as a symlink to an outside folder', () =>
      refusedRender({ 'component.yaml': staticAt('./manifests'), manifests: { link: canary.dir } }, /static component files: manifests folder "manifests" resolves outside the HLD repository/));

    it('refuses a static manifest file that is a symlink to an outside file', () =>
      refusedRender({
        'component.yaml': staticAt('./manifests'),
        'manifests/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n',
        'manifests/secret.yaml': { link: canary.file },
      }, /static component files: manifest "manifests\/secret\.yaml" resolves outside the HLD repository/));

    it('follows a static manifest symlink that stays inside the HLD (it was silently skipped)', async () => {
      const run = await render({
        'component.yaml': staticAt('./manifests'),
        'manifests/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n',
        'library/b.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared-b\n',
        'manifests/b.yaml': { link: '../library/b.yaml' },
      });
      assert.equal(run.result, 'Succeeded', `${run.message}\n${run.stdout.slice(-2000)}`);
      const published = await runGit(['--git-dir', manifestBare, 'show', 'main:prod/files.yaml']);
      assert.match(published, /name: a\n/);
      assert.match(published, /name: shared-b/);
      checkClean(run);
    });

    it('refuses a local chart holding a symlink to an outside file (helm .Files.Get would read it)', () =>
      refusedRender({
        'component.yaml': root('  - name: leak\n    type: helm\n    path: ./charts/leak\n'),
        ...chart,
        'charts/leak/files/secret.yaml': { link: canary.file },
      }, /component\.yaml.*path: component "leak": symlink "charts\/leak\/files\/secret\.yaml" points outside the HLD repository/));

    it('refuses a local chart whose templates folder is a symlink to an outside folder', () =>
      refusedRender({
        'component.yaml': root('  - name: leak\n    type: helm\n    path: ./charts/leak\n'),
        'charts/leak/Chart.yaml': 'apiVersion: v2\nname: leak\nversion: 0.1.0\n',
        'charts/leak/templates': { link: canary.dir },
      }, /symlink "charts\/leak\/templates" points outside the HLD repository/));

    it('refuses a local chart folder that is itself a symlink out of the HLD', () =>
      refusedRender({
        'component.yaml': root('  - name: leak\n    type: helm\n    path: ./charts/leak\n'),
        'charts/leak': { link: canary.dir },
      }, /component leak: chart folder "charts\/leak" resolves outside the HLD repository/));

    it('refuses an environment config that is a symlink to an outside file', () =>
      refusedRender({ 'component.yaml': root(''), 'config/prod.yaml': { link: canary.file } }, /config file "config\/prod\.yaml" resolves outside the HLD repository/));

    it('refuses a local component whose source climbs out of the HLD', () =>
      refusedRender({ 'component.yaml': root(`  - name: outside\n    source: ${climbToCanary()}\n`) }, /component\.yaml.*source: component folder ".*canary-.*" resolves outside the HLD repository/));

    it('refuses a component.yaml that is a symlink to an outside file', () =>
      refusedRender({
        'component.yaml': root('  - name: api\n    source: ./api\n'),
        'api/component.yaml': { link: canary.file },
      }, /component file "api\/component\.yaml" resolves outside the HLD repository/));

    it('refuses an access.yaml that is a symlink to an outside file', () =>
      refusedRender({ 'component.yaml': root(''), 'access.yaml': { link: canary.file } }, /access file "access\.yaml" resolves outside the HLD repository/));

    it('refuses to install a git component into components/ committed as a symlink out (nothing deleted there)', async () => {
      const url = await pushTree(server, `comp-${++repoCount}`, { 'component.yaml': 'name: comp\n' });
      await refusedRender({
        'component.yaml': root(`  - name: remote\n    method: git\n    source: ${url}\n    branch: main\n`),
        components: { link: canary.dir },
      }, /install folder "components\/remote" resolves outside the HLD repository/, url);
    });

    it('refuses a component folder (and its hooks) that is a symlink out of the HLD before any hook runs', async () => {
      const marker = join(tempDir('hook-marker-'), 'ran');
      const outside = writeTree(tempDir('outside-component-'), {
        'component.yaml': `name: hooked\nhooks:\n  before-install:\n    - touch ${marker}\n`,
      });
      await refusedRender({
        'component.yaml': root(`  - name: hooked\n    source: ./hooked\n`),
        hooked: { link: outside },
      }, /component folder "hooked" resolves outside the HLD repository/);
      assert.throws(() => readFileSync(marker), 'no hook ran');
    });
  });

  describe('the CLI (dist/cli.js)', () => {
    const bedrock = (args: string[]) => runProcess(process.execPath, [join(repoRoot, 'dist', 'cli.js'), ...args], { env: { PATH: process.env.PATH }, timeoutMs: 60_000 });

    it('set refuses a config file that is a symlink out of the HLD, naming it', async () => {
      const hld = writeTree(tempDir('paths-cli-'), { 'component.yaml': componentYaml, 'config/prod.yaml': { link: canary.file } });
      const result = await bedrock(['set', '--hld', hld, '--environment', 'prod', '--subcomponent', 'api', 'image.tag=9.9.9']);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /config file "config\/prod\.yaml" resolves outside the HLD repository/);
      canary.assertNotIn({ stdout: result.stdout, stderr: result.stderr });
      assert.equal(canary.snapshot(), canaryInitial);
    });

    it('generate --network-timeout ends a never-answering static source, naming the server', async () => {
      const silent = await new HostileServer({ '/never.yaml': () => { /* never answers */ } }).start();
      try {
        const hld = writeTree(tempDir('paths-cli-'), { 'component.yaml': `name: root\nsubcomponents:\n  - name: remote\n    type: static\n    method: http\n    source: ${silent.url('/never.yaml')}\n` });
        const started = Date.now();
        const result = await bedrock(['generate', 'prod', '--hld', hld, '--helm', helm4, '--network-timeout', '2']);
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, new RegExp(`${silent.origin.replace(/\./g, '\\.')} did not finish the request of .*never\\.yaml within 2 s`));
        assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
        assert.ok(!existsSync(join(hld, 'generated', 'prod')), 'nothing written');
      } finally {
        await silent.stop();
      }
    });
  });
});
