/**
 * Security review findings (one `it` per finding), run against the bundled tasks and CLI the way
 * the agent and a user run them. Each one fails on the code it was written against.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { redactSecretsForDiff } from '../../tasks/core/report/secrets';
import { git as runGit, startGitServer, type GitServer } from '../support/gitServer';
import { tempDir } from '../support/tmp';
import { helm4, kubectl } from '../support/tools';
import { bundleOnce, componentYaml, runCli } from '../tasks/updateImageTagHelpers';
import { Canary, filesBelow, measuredTask, pushTree, writeTree } from './support';

/** A loopback HTTP server that records every request (method, url, authorization header). */
async function recordingServer(body = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fetched\n'): Promise<{ server: Server; url: string; requests: { url: string; authorization?: string }[] }> {
  const requests: { url: string; authorization?: string }[] = [];
  const server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', authorization: req.headers.authorization });
    res.setHeader('content-type', 'text/plain');
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const staticHld = {
  'component.yaml': 'name: root\nsubcomponents:\n  - name: files\n    type: static\n    method: local\n    path: ./files\n',
  'files/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n',
};

const kustomizeHld = (path: string) => `name: root\nsubcomponents:\n  - name: web\n    type: kustomize\n    method: local\n    path: ${path}\n`;

/** PATH with the project's kubectl (kustomize components) first. */
const kubectlPath = () => `${join(kubectl, '..')}:${process.env.PATH ?? ''}`;

describe('security review', function () {
  this.timeout(180_000);
  let server: GitServer;
  let canary: Canary;

  before(async function () {
    this.timeout(240_000);
    canary = new Canary();
    [server] = await Promise.all([startGitServer(), bundleOnce()]);
  });

  after(async () => server?.stop());

  describe('paths', () => {
    it('UpdateImageTag does not write through config/prod.yaml committed as a dangling symlink to an outside file', async () => {
      const outside = join(canary.dir, `planted-${Date.now()}.yaml`);
      await pushTree(server, 'hld-dangling', { 'component.yaml': componentYaml, 'config/prod.yaml': { link: outside } });
      const run = await measuredTask('UpdateImageTag', {
        inputs: { hldRepositoryUrl: `${server.baseUrl}/hld-dangling`, hldBranch: 'main', environment: 'prod', subcomponent: 'api', imageTag: '1.2.3' },
        secrets: { 'System.AccessToken': server.token },
      });
      assert.ok(!existsSync(outside), `a file was created outside the HLD checkout: ${outside}\n${existsSync(outside) ? readFileSync(outside, 'utf8') : ''}`);
      assert.equal(run.result, 'Failed', run.stdout.slice(-2000));
      assert.match(run.errors.join('\n'), /config\/prod\.yaml.*outside/);
    });

    it('CLI set does not write through config/prod.yaml committed as a dangling symlink', async () => {
      const outside = join(canary.dir, `planted-cli-${Date.now()}.yaml`);
      const hld = writeTree(tempDir('review-set-'), { ...staticHld, 'config/prod.yaml': { link: outside } });
      await runGit(['init', '--quiet', hld]);
      const cli = await runCli(['set', '--hld', hld, '--environment', 'prod', 'x=1']);
      assert.ok(!existsSync(outside), 'a file was created outside the HLD checkout');
      assert.equal(cli.code, 1, cli.stdout + cli.stderr);
      assert.match(cli.stderr, /config\/prod\.yaml.*outside/);
    });

    it('CLI generate does not replace folders outside the HLD through a committed generated/ symlink', async () => {
      const victim = writeTree(tempDir('review-victim-'), { 'common/keep.txt': 'precious\n' });
      const hld = writeTree(tempDir('review-gen-'), { ...staticHld, generated: { link: victim } });
      await runGit(['init', '--quiet', hld]);
      const cli = await runCli(['generate', '--hld', hld]);
      assert.ok(existsSync(join(victim, 'common', 'keep.txt')), 'an outside folder was emptied');
      assert.ok(!existsSync(join(victim, 'common', 'files.yaml')), 'rendered files were written outside the HLD');
      assert.equal(cli.code, 1, cli.stdout + cli.stderr);
    });

    it('GenerateManifests neither shows nor replaces outside folders through symlinks committed in the manifest repository', async () => {
      const victim = writeTree(tempDir('review-victim-'), { 'east/prod/keep.txt': 'precious\n', 'east/prod/id_rsa': `${canary.secret}\n` });
      const manifestUrl = await pushTree(server, 'manifests-linked', { clusters: { link: victim } });
      const hld = writeTree(tempDir('review-hld-'), staticHld);
      const inputs = { hldPath: hld, environments: 'prod', helmPath: helm4, manifestRepositoryUrl: manifestUrl, manifestPath: 'clusters/east', allowEnvironmentsWithoutConfig: true };
      const common = { variables: { 'Build.BuildId': '1', 'System.CollectionUri': 'https://dev.azure.com/org/', 'System.TeamProject': 'proj' }, secrets: { 'System.AccessToken': server.token } };
      const dry = await measuredTask('GenerateManifests', { inputs: { ...inputs, dryRun: true }, ...common });
      canary.assertNotIn({ stdout: dry.stdout, stderr: dry.stderr, ...Object.fromEntries(dry.attachments.map((a) => [a.name, a.content])) });
      await measuredTask('GenerateManifests', { inputs, ...common });
      assert.ok(existsSync(join(victim, 'east', 'prod', 'keep.txt')), 'an outside folder was emptied');
      assert.ok(!existsSync(join(victim, 'east', 'prod', 'files.yaml')), 'rendered files were written outside the clone');
    });
  });

  describe('kustomize components', () => {
    it('refuses a kustomize path that is a symlink to a folder outside the HLD', async () => {
      const outside = writeTree(tempDir('review-kout-'), { 'kustomization.yaml': 'configMapGenerator:\n  - name: leak\n    files: [secret.txt]\n', 'secret.txt': `${canary.secret}\n` });
      const hld = writeTree(tempDir('review-k1-'), { 'component.yaml': kustomizeHld('./link'), link: { link: outside } });
      await runGit(['init', '--quiet', hld]);
      const output = tempDir('review-k1-out-');
      const cli = await runCli(['generate', '--hld', hld, '--output', output], { PATH: kubectlPath() });
      canary.assertNotIn({ ...filesBelow(output), stdout: cli.stdout, stderr: cli.stderr });
      assert.equal(cli.code, 1, cli.stdout + cli.stderr);
    });

    it('does not let a kustomization pull a folder outside the HLD with ../', async () => {
      const outside = writeTree(tempDir('review-kout-'), { 'kustomization.yaml': 'configMapGenerator:\n  - name: leak\n    files: [secret.txt]\n', 'secret.txt': `${canary.secret}\n` });
      const hld = tempDir('review-k2-');
      writeTree(hld, { 'component.yaml': kustomizeHld('./k'), 'k/kustomization.yaml': `resources:\n  - ${relative(join(hld, 'k'), outside)}\n` });
      await runGit(['init', '--quiet', hld]);
      const output = tempDir('review-k2-out-');
      const cli = await runCli(['generate', '--hld', hld, '--output', output], { PATH: kubectlPath() });
      canary.assertNotIn({ ...filesBelow(output), stdout: cli.stdout, stderr: cli.stderr });
      assert.equal(cli.code, 1, cli.stdout + cli.stderr);
    });

    it('does not let a kustomization make the agent fetch a URL (remote resource)', async () => {
      const http = await recordingServer();
      try {
        const hld = writeTree(tempDir('review-k3-'), { 'component.yaml': kustomizeHld('./k'), 'k/kustomization.yaml': `resources:\n  - ${http.url}/internal.yaml\n` });
        await runGit(['init', '--quiet', hld]);
        const cli = await runCli(['generate', '--hld', hld, '--output', tempDir('review-k3-out-')], { PATH: kubectlPath() });
        assert.deepEqual(http.requests.map((r) => r.url), [], 'kustomize fetched a URL named by the HLD');
        assert.equal(cli.code, 1, cli.stdout + cli.stderr);
      } finally {
        http.server.close();
      }
    });
  });

  describe('tokens', () => {
    it('access.yaml cannot send the CLI\'s GITOPS_GIT_TOKEN to a host the HLD names (even with --no-hooks)', async () => {
      const http = await recordingServer('');
      try {
        const hld = writeTree(tempDir('review-access-'), {
          'component.yaml': `name: root\nsubcomponents:\n  - name: web\n    method: git\n    source: ${http.url}/repo.git\n`,
          'access.yaml': `${http.url}/repo.git: GITOPS_GIT_TOKEN\n`,
        });
        await runGit(['init', '--quiet', hld]);
        const token = `review-${Date.now()}-token`;
        await runCli(['generate', '--no-hooks', '--hld', hld, '--output', tempDir('review-access-out-')], { GITOPS_GIT_TOKEN: token });
        const sent = http.requests.map((r) => Buffer.from((r.authorization ?? '').replace(/^basic /i, ''), 'base64').toString('utf8'));
        assert.ok(!sent.some((s) => s.includes(token)), `the CLI token was sent to ${http.url}: ${JSON.stringify(http.requests)}`);
      } finally {
        http.server.close();
      }
    });

    it('access.yaml cannot send the agent\'s proxy password (HTTPS_PROXY) to a host the HLD names (GenerateManifests, no hooks)', async () => {
      const http = await recordingServer('');
      try {
        const hld = writeTree(tempDir('review-proxy-'), {
          'component.yaml': `name: root\nsubcomponents:\n  - name: web\n    method: git\n    source: ${http.url}/repo.git\n`,
          'access.yaml': `${http.url}/repo.git: HTTPS_PROXY\n`,
        });
        const password = `proxy-${Date.now()}-secret`;
        await measuredTask('GenerateManifests', {
          inputs: { hldPath: hld, environments: 'prod', helmPath: helm4, dryRun: true, runHooks: false, allowEnvironmentsWithoutConfig: true },
          // The proxy itself is never reached: the bypass list sends 127.0.0.1 direct.
          variables: { 'Build.BuildId': '1', 'Agent.ProxyUrl': 'http://127.0.0.1:9', 'Agent.ProxyUsername': 'agent', 'Agent.ProxyBypassList': '["127\\\\.0\\\\.0\\\\.1"]' },
          secrets: { 'Agent.ProxyPassword': password },
        });
        const sent = http.requests.map((r) => Buffer.from((r.authorization ?? '').replace(/^basic /i, ''), 'base64').toString('utf8'));
        assert.ok(http.requests.length > 0, 'the source was fetched (the test reaches the server)');
        assert.ok(!sent.some((s) => s.includes(password)), `the proxy password was sent to ${http.url}: ${JSON.stringify(sent)}`);
      } finally {
        http.server.close();
      }
    });

    it('CLI hooks do not get GITOPS_GIT_TOKEN (README: "They get no token variable")', async () => {
      const seen = join(tempDir('review-hook-'), 'seen.txt');
      const hld = writeTree(tempDir('review-hook-hld-'), {
        ...staticHld,
        'component.yaml': `${staticHld['component.yaml']}hooks:\n  before-generate:\n    - 'printf "%s" "$GITOPS_GIT_TOKEN" > ${seen}'\n`,
      });
      await runGit(['init', '--quiet', hld]);
      const token = `review-${Date.now()}-hook`;
      const cli = await runCli(['generate', '--hld', hld, '--output', tempDir('review-hook-out-')], { GITOPS_GIT_TOKEN: token });
      assert.equal(cli.code, 0, cli.stdout + cli.stderr);
      assert.ok(existsSync(seen), 'the hook ran');
      assert.equal(readFileSync(seen, 'utf8'), '', 'the hook saw GITOPS_GIT_TOKEN');
    });
  });

  describe('secrets in diffs (redactSecretsForDiff)', () => {
    const leaks = (path: string, text: string) => /hunter2/.test(redactSecretsForDiff(path, undefined, text).newText ?? '');
    it('redacts a Secret whose kind is written with a JSON escape', () =>
      assert.ok(!leaks('s.json', '{"apiVersion":"v1","kind":"Sec\\u0072et","metadata":{"name":"s"},"stringData":{"password":"hunter2"}}'), 'the password shows in the diff'));
    it('redacts a Secret whose kind is written with a YAML escape', () =>
      assert.ok(!leaks('s.yaml', 'apiVersion: v1\nkind: "Sec\\x72et"\nmetadata: {name: s}\nstringData: {password: hunter2}\n'), 'the password shows in the diff'));
    it('redacts a Secret that starts on its --- line', () =>
      assert.ok(!leaks('s.yaml', '---\nkind: ConfigMap\nmetadata: {name: c}\n--- !!map\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: hunter2}\n'), 'the password shows in the diff'));
    it('redacts stringData brought in by a << merge key', () =>
      assert.ok(!leaks('s.yaml', 'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n<<: {stringData: {password: hunter2}}\n'), 'the password shows in the diff'));
  });
});
