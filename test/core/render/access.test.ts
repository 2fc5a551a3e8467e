/**
 * Which tokens access.yaml may hand out, where they may go, which git sources are fetched, and
 * what hooks see (security review findings 4, 5 and 8).
 */
import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { MemoryLogger } from '../../../tasks/core/logger';
import { AccessTokens } from '../../../tasks/core/render/access';
import { generate } from '../../../tasks/core/render/generate';
import { allowLocalGitSourcesFrom, isNetworkGitUrl } from '../../../tasks/core/render/gitFetch';
import { hookEnvironment } from '../../../tasks/core/render/install';
import { bareRepo, writeTree } from '../../support/hldFixtures';
import { startGitServer, type GitServer } from '../../support/gitServer';
import { tempDir } from '../../support/tmp';

/** A loopback HTTP server recording the Basic credentials of every request (and serving no repository). */
async function recordingServer(): Promise<{ server: Server; url: string; sent: string[] }> {
  const sent: string[] = [];
  const server = createServer((req, res) => {
    sent.push(Buffer.from((req.headers.authorization ?? '').replace(/^basic /i, ''), 'base64').toString('utf8'));
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sent };
}

describe('render access and git sources', () => {
  describe('access.yaml', () => {
    let git: GitServer;
    before(async () => {
      git = await startGitServer();
    });
    after(async () => git?.stop());

    it('ignores a remote component\'s access.yaml; the HLD\'s own access.yaml names its private sources', async () => {
      const recording = await recordingServer();
      try {
        const remote = await git.createRepo(`third-party-${Date.now()}`, {
          files: {
            'component.yaml': `name: third-party\nsubcomponents:\n  - name: inner\n    method: git\n    source: ${recording.url}/inner.git\n`,
            'access.yaml': `${recording.url}/inner.git: OTHER_TOKEN\n`,
          },
        });
        const hld = writeTree(tempDir('bg-access-'), {
          'component.yaml': `name: root\nsubcomponents:\n  - name: third-party\n    method: git\n    source: ${remote}\n`,
          'access.yaml': `${remote}: GIT_SOURCE_TOKEN\n`,
        });
        const logger = new MemoryLogger();
        const run = (env: Record<string, string>) => generate({
          hldDir: hld, environmentSets: [[]], outputDir: join(hld, 'generated'), logger,
          env: { PATH: process.env.PATH, GIT_SOURCE_TOKEN: git.token, ...env },
        });
        await assert.rejects(run({ OTHER_TOKEN: 'other-secret' }), /inner\.git/);
        assert.ok(recording.sent.length > 0, 'the nested source was contacted');
        assert.ok(!recording.sent.some((s) => s.includes('other-secret')), `a remote access.yaml chose a token: ${JSON.stringify(recording.sent)}`);
        assert.match(logger.warnings.join('\n'), /components\/third-party\/access\.yaml ignored: it comes from the remote git source/);

        // The HLD's own access.yaml may name the nested source: that token is sent.
        writeTree(hld, { 'access.yaml': `${remote}: GIT_SOURCE_TOKEN\n${recording.url}/inner.git: NESTED_TOKEN\n` });
        await assert.rejects(run({ NESTED_TOKEN: 'nested-token' }), /inner\.git/);
        assert.ok(recording.sent.some((s) => s === ':nested-token'), `the HLD's token for the nested source was sent: ${JSON.stringify(recording.sent)}`);
      } finally {
        recording.server.close();
      }
    });

    it('sends a token only over https or to this machine, and warns about reserved variables', async () => {
      const dir = writeTree(tempDir('bg-access-'), {
        'access.yaml': [
          'http://git.example.test/plain.git: T', 'https://git.example.test/tls.git: T', 'http://127.0.0.1:8080/local.git: T',
          'https://git.example.test/proxy.git: HTTPS_PROXY', 'https://git.example.test/own.git: GITOPS_GIT_TOKEN', '',
        ].join('\n'),
      });
      const logger = new MemoryLogger();
      const access = new AccessTokens({ T: 'tok', HTTPS_PROXY: 'http://u:pw@proxy', GITOPS_GIT_TOKEN: 'write' }, logger);
      await access.load(dir, dir);
      assert.throws(() => access.tokenFor('http://git.example.test/plain'), (error: Error & { file?: string }) =>
        /plain http to another machine/.test(error.message) && error.file === join(dir, 'access.yaml'));
      assert.equal(access.tokenFor('https://git.example.test/tls'), 'tok');
      assert.equal(access.tokenFor('http://127.0.0.1:8080/local.git/'), 'tok');
      assert.equal(access.tokenFor('https://git.example.test/proxy.git'), undefined);
      assert.equal(access.tokenFor('https://git.example.test/own.git'), undefined);
      assert.match(logger.warnings.join('\n'), /HTTPS_PROXY .*never sent/);
      assert.match(logger.warnings.join('\n'), /GITOPS_GIT_TOKEN .*never sent/);
    });

    it('refuses a token for a source that git could read as another host than the check does', async () => {
      const source = 'http://127.0.0.1\\@evil.example/x.git';
      const dir = writeTree(tempDir('bg-access-bs-'), { 'access.yaml': `${source}: T\n` });
      const access = new AccessTokens({ T: 'tok' }, new MemoryLogger());
      await access.load(dir, dir);
      assert.throws(() => access.tokenFor(source), (error: Error & { file?: string }) =>
        /contains a backslash/.test(error.message) && error.file === join(dir, 'access.yaml'));
    });
  });

  describe('git sources on the agent\'s disk', () => {
    it('are refused unless the run opts in', async () => {
      const repo = await bareRepo({ 'component.yaml': 'name: lib\n' });
      const path = repo.url.replace(/^file:\/\//, '');
      for (const source of [repo.url, path]) {
        const hld = writeTree(tempDir('bg-localsrc-'), { 'component.yaml': `name: root\nsubcomponents:\n  - name: lib\n    method: git\n    source: ${source}\n` });
        const options = { hldDir: hld, environmentSets: [[]], outputDir: join(hld, 'generated'), env: { PATH: process.env.PATH }, logger: new MemoryLogger() };
        await assert.rejects(generate(options), (error: Error & { file?: string }) =>
          /is not a network URL.*BEDROCK_GITOPS_ALLOW_LOCAL_GIT_SOURCES=1/.test(error.message) && error.file === 'component.yaml');
        const tree = await generate({ ...options, allowLocalGitSources: true });
        assert.deepEqual(tree.environmentSets.map((s) => s.name), ['common']);
      }
    });

    it('tells network URLs from local ones', () => {
      for (const url of ['https://h/x.git', 'http://127.0.0.1:1/x', 'ssh://git@h/x', 'git://h/x', 'git@github.com:o/r.git', 'h:x']) assert.ok(isNetworkGitUrl(url), url);
      for (const url of ['/srv/x.git', './x', '../x', 'x', 'file:///srv/x.git', 'FILE:///x', 'ext::sh -c x', 'fd::3', 'foo::bar', './a:b', 'C:\\x']) assert.ok(!isNetworkGitUrl(url), url);
      assert.equal(allowLocalGitSourcesFrom({ BEDROCK_GITOPS_ALLOW_LOCAL_GIT_SOURCES: '1' }), true);
      assert.equal(allowLocalGitSourcesFrom({ BEDROCK_GITOPS_ALLOW_LOCAL_GIT_SOURCES: '0' }), false);
      assert.equal(allowLocalGitSourcesFrom({}), false);
    });
  });

  describe('hook environment', () => {
    it('drops tokens and passwords and the proxy credentials, keeps the rest', () => {
      const env = hookEnvironment({
        PATH: '/bin', HOME: '/home/a', GIT_SOURCE_TOKEN: 'kept (the HLD author\'s own variable)',
        GITOPS_GIT_TOKEN: 'x', GITOPS_PR_TOKEN: 'x', GITOPS_TARGET_REGISTRY_PASSWORD: 'x', ARGOCD_AUTH_TOKEN: 'x', SYSTEM_ACCESSTOKEN: 'x', ENDPOINT_AUTH_ABC: 'x', SECRET_FOO: 'x',
        HTTPS_PROXY: 'http://agent:pw@proxy.example:8080', http_proxy: 'http://agent:pw@proxy.example:8080', ALL_PROXY: 'http://open.example:3128', NO_PROXY: 'localhost',
      });
      assert.deepEqual(env, {
        PATH: '/bin', HOME: '/home/a', GIT_SOURCE_TOKEN: 'kept (the HLD author\'s own variable)',
        HTTPS_PROXY: 'http://proxy.example:8080/', http_proxy: 'http://proxy.example:8080/', ALL_PROXY: 'http://open.example:3128', NO_PROXY: 'localhost',
      });
    });

    it('strips proxy credentials written without a scheme, or drops a proxy URL whose user info it cannot tell apart', () => {
      assert.deepEqual(hookEnvironment({ HTTPS_PROXY: 'agent:p/w@rd@proxy.example:3128', ALL_PROXY: 'http://agent:pw\\@proxy.example:3128' }),
        { HTTPS_PROXY: 'proxy.example:3128' });
    });
  });
});
