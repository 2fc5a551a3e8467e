/**
 * Security review findings (one `it` per finding), run against the bundled tasks and CLI the way
 * the agent and a user run them. Each one fails on the code it was written against.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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

  describe('git sources', () => {
    it('a git component cannot clone a repository from the agent\'s disk (absolute path or file://)', async () => {
      const other = writeTree(tempDir('review-otherrepo-'), {
        'component.yaml': 'name: other\ntype: static\nmethod: local\npath: ./s\n',
        's/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stolen\ndata:\n  k: ${canary.secret}\n`,
      });
      await runGit(['init', '--quiet', '--initial-branch=main', other]);
      await runGit(['add', '-A'], { cwd: other });
      await runGit(['commit', '--quiet', '-m', 'private'], { cwd: other });
      for (const source of [other, `file://${other}`]) {
        const hld = writeTree(tempDir('review-localsrc-'), { 'component.yaml': `name: root\nsubcomponents:\n  - name: w\n    method: git\n    source: ${source}\n` });
        await runGit(['init', '--quiet', hld]);
        const output = tempDir('review-localsrc-out-');
        const cli = await runCli(['generate', '--hld', hld, '--output', output]);
        canary.assertNotIn({ ...filesBelow(output), stdout: cli.stdout, stderr: cli.stderr });
        assert.equal(cli.code, 1, `source ${source}: ${cli.stdout}${cli.stderr}`);
      }
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

    it('a remote component\'s access.yaml cannot send an environment variable to a host it names (hooks of remote components are off)', async () => {
      const http = await recordingServer('');
      try {
        const remote = await pushTree(server, 'third-party', {
          'component.yaml': `name: third-party\nsubcomponents:\n  - name: evil\n    method: git\n    source: ${http.url}/evil.git\n`,
          'access.yaml': `${http.url}/evil.git: GITOPS_GIT_TOKEN\n`,
        });
        const hld = writeTree(tempDir('review-remote-access-'), {
          'component.yaml': `name: root\nsubcomponents:\n  - name: third-party\n    method: git\n    source: ${remote}\n`,
          'access.yaml': `${remote}: GIT_SOURCE_TOKEN\n`,
        });
        await runGit(['init', '--quiet', hld]);
        const token = `review-${Date.now()}-remote`;
        await runCli(['generate', '--hld', hld, '--output', tempDir('review-remote-access-out-')], { GITOPS_GIT_TOKEN: token, GIT_SOURCE_TOKEN: server.token });
        const sent = http.requests.map((r) => Buffer.from((r.authorization ?? '').replace(/^basic /i, ''), 'base64').toString('utf8'));
        assert.ok(!sent.some((s) => s.includes(token)), `GITOPS_GIT_TOKEN was sent to ${http.url} on a remote component's word: ${JSON.stringify(sent)}`);
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

  describe('trace, history and rollback read hostile commits', () => {
    /** An HLD (bare, file://) where prod/api ran good.example/api 1.0.0 then 1.1.0, plus `extra` commits made by `extra`. */
    async function hldHistory(extra: (work: string, commit: (args: string[]) => Promise<string>) => Promise<void>): Promise<{ url: string; bare: string; work: string }> {
      const work = writeTree(tempDir('review-rb-'), {
        'component.yaml': componentYaml,
        'api/component.yaml': 'name: api\n',
        'config/prod.yaml': 'subcomponents:\n  api:\n    config:\n      image:\n        repository: good.example/api\n        tag: "1.0.0"\n',
      });
      const commit = (args: string[]) => runGit(['-c', 'user.name=ci', '-c', 'user.email=ci@example.invalid', 'commit', '--quiet', ...args], { cwd: work });
      const trailers = (image: string) => ['--trailer', `Gitops-Image: ${image}`, '--trailer', 'Gitops-Environment: prod', '--trailer', 'Gitops-Subcomponent: api'];
      await runGit(['init', '--quiet', '--initial-branch=main', work]);
      await runGit(['add', '-A'], { cwd: work });
      await commit(['-m', 'api 1.0.0', ...trailers('good.example/api:1.0.0')]);
      await extra(work, commit);
      writeFileSync(join(work, 'config/prod.yaml'), readFileSync(join(work, 'config/prod.yaml'), 'utf8').replace('1.0.0', '1.1.0'));
      await commit(['-am', 'api 1.1.0', ...trailers('good.example/api:1.1.0')]);
      const bare = join(tempDir('review-rb-bare-'), 'hld.git');
      await runGit(['clone', '--quiet', '--bare', work, bare]);
      return { url: `file://${bare}`, bare, work };
    }

    it('rollback --previous restores the repository the HLD held, not one an empty commit\'s trailers name', async () => {
      const { url, bare } = await hldHistory(async (_work, commit) => {
        await commit(['--allow-empty', '-m', 'docs: typo', '--trailer', 'Gitops-Image: evil.example/api:1.0.0', '--trailer', 'Gitops-Environment: prod', '--trailer', 'Gitops-Subcomponent: api']);
      });
      const cli = await runCli(['rollback', '--hld-repo', url, '--environment', 'prod', '--subcomponent', 'api', '--previous']);
      const config = await runGit(['--git-dir', bare, 'show', 'main:config/prod.yaml']);
      assert.doesNotMatch(config, /evil\.example/, `${cli.stdout}${cli.stderr}\n${config}`);
    });

    it('history cannot be forged by a commit subject holding the log\'s field and record separators', async () => {
      let legit = '';
      const { url } = await hldHistory(async (work, commit) => {
        legit = (await runGit(['rev-parse', 'HEAD'], { cwd: work })).trim();
        const subject = `chore: tidy\x1e${legit}\x1f\x1f2020-01-01T00:00:00+00:00\x1fAlice Admin\x1falice@example.invalid\x1fRelease 3.0.0`;
        await commit(['--allow-empty', '-m', subject, '--trailer', 'Gitops-Image: evil.example/api:3.0.0', '--trailer', 'Gitops-Environment: prod', '--trailer', 'Gitops-Subcomponent: api']);
      });
      const cli = await runCli(['history', '--hld-repo', url, '--environment', 'prod', '--subcomponent', 'api', '--json']);
      assert.equal(cli.code, 0, cli.stderr);
      const entries = (JSON.parse(cli.stdout) as { entries: { hldCommit: string; author: string; tag: string }[] }).entries;
      assert.ok(!entries.some((e) => e.author === 'Alice Admin'), `a forged entry: ${JSON.stringify(entries)}`);
      assert.ok(!entries.some((e) => e.tag === '3.0.0' && e.hldCommit === legit), 'a change attributed to a commit that did not make it');
    });

    it('history does not print terminal control sequences from trailers', async () => {
      const { url } = await hldHistory(async (_work, commit) => {
        await commit(['--allow-empty', '-m', 'x', '--trailer', 'Gitops-Image: good.example/api:1.0.1', '--trailer', 'Gitops-Environment: prod',
          '--trailer', 'Gitops-Subcomponent: api', '--trailer', 'Gitops-Build: \x1b]0;owned\x07\x1b[2J']);
      });
      const cli = await runCli(['history', '--hld-repo', url, '--environment', 'prod', '--subcomponent', 'api']);
      assert.equal(cli.code, 0, cli.stderr);
      assert.doesNotMatch(cli.stdout, /[\x00-\x08\x0b-\x1f\x7f]/, JSON.stringify(cli.stdout));
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
