import { strict as assert } from 'node:assert';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GitopsError } from '../../../tasks/core/errors';
import { MemoryLogger, silentLogger } from '../../../tasks/core/logger';
import { basicAuth, bearerAuth } from '../../../tasks/core/git/auth';
import { formatCommitMessage } from '../../../tasks/core/git/commitMessage';
import { GitWorkspace } from '../../../tasks/core/git/workspace';
import { git, startGitServer, type GitServer } from '../../support/gitServer';
import { tempDir } from '../../support/tmp';

const author = { name: 'Gitops Bot', email: 'gitops@example.com' };

async function rejectsWith(promise: Promise<unknown>): Promise<GitopsError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof GitopsError, `expected a GitopsError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

describe('GitWorkspace', () => {
  let server: GitServer;
  let repoCount = 0;
  const newRepo = (options?: { files?: Record<string, string>; branch?: string }) =>
    server.createRepo(`org/project/_git/ws${++repoCount}`, options);
  const remoteGit = (url: string, args: string[]) =>
    git(['--git-dir', server.repoPath(new URL(url).pathname.slice(1)), ...args]);

  before(async () => {
    server = await startGitServer();
  });
  after(async () => {
    await server.stop();
  });

  describe('clone', () => {
    it('checks out an existing branch over HTTP with a bearer token', async () => {
      const url = await newRepo({ files: { 'app/values.yaml': 'image: v1\n' } });
      const ws = await GitWorkspace.clone({ url, dir: join(tempDir(), 'hld'), branch: 'main', auth: bearerAuth(server.token), logger: silentLogger });
      assert.equal(readFileSync(join(ws.dir, 'app/values.yaml'), 'utf8'), 'image: v1\n');
      assert.equal(await ws.head(), await remoteGit(url, ['rev-parse', 'main']));
      assert.equal(await ws.hasChanges(), false);
    });

    it('authenticates with a basic PAT header (empty user) as Azure Repos accepts', async () => {
      const url = await newRepo({ files: { 'a.txt': 'a' } });
      const ws = await GitWorkspace.clone({ url, dir: tempDir(), branch: 'main', auth: basicAuth('', server.token), logger: silentLogger });
      assert.ok(existsSync(join(ws.dir, 'a.txt')));
    });

    it('fetches only one commit by default (shallow)', async () => {
      const url = await newRepo({ files: { 'a.txt': 'a' } });
      const seed = await GitWorkspace.clone({ url, dir: tempDir(), branch: 'main', auth: bearerAuth(server.token), logger: silentLogger });
      writeFileSync(join(seed.dir, 'b.txt'), 'b');
      await seed.commitAll('second', author);
      await seed.push('main');
      const ws = await GitWorkspace.clone({ url, dir: tempDir(), branch: 'main', auth: bearerAuth(server.token), logger: silentLogger });
      assert.equal(await git(['rev-list', '--count', 'HEAD'], { cwd: ws.dir }), '1');
      assert.equal(await git(['rev-parse', '--is-shallow-repository'], { cwd: ws.dir }), 'true');
    });

    it('starts a missing branch as an orphan when allowed, and pushing creates it', async () => {
      const url = await newRepo({ files: { 'main.txt': 'main' } });
      const ws = await GitWorkspace.clone({
        url, dir: tempDir(), branch: 'gitops/dev', auth: bearerAuth(server.token), logger: silentLogger, createBranchIfMissing: true,
      });
      assert.equal(await ws.head(), undefined);
      assert.equal(existsSync(join(ws.dir, 'main.txt')), false);
      writeFileSync(join(ws.dir, 'dev.yaml'), 'x: 1\n');
      const commit = await ws.commitAll('first manifests', author);
      assert.equal(await ws.push('gitops/dev'), 'pushed');
      assert.equal(await remoteGit(url, ['rev-parse', 'refs/heads/gitops/dev']), commit);
    });

    it('fails clearly on a missing branch when creating it is not allowed', async () => {
      const url = await newRepo({ files: { 'a.txt': 'a' } });
      const error = await rejectsWith(GitWorkspace.clone({ url, dir: tempDir(), branch: 'nope', auth: bearerAuth(server.token), logger: silentLogger }));
      assert.match(error.message, /Branch "nope" does not exist/);
      assert.equal(error.field, 'branch');
    });

    it('handles an empty remote repository: first push creates the branch', async () => {
      const url = await newRepo();
      const ws = await GitWorkspace.clone({ url, dir: tempDir(), branch: 'main', auth: bearerAuth(server.token), logger: silentLogger, createBranchIfMissing: true });
      writeFileSync(join(ws.dir, 'README.md'), 'hello\n');
      const commit = await ws.commitAll('init', author);
      assert.equal(await ws.push('main'), 'pushed');
      assert.equal(await remoteGit(url, ['rev-parse', 'main']), commit);
    });

    it('works with file:// URLs and plain paths without auth', async () => {
      await newRepo({ files: { 'a.txt': 'a' } });
      const bare = server.repoPath(`org/project/_git/ws${repoCount}`);
      for (const url of [`file://${bare}`, bare]) {
        const ws = await GitWorkspace.clone({ url, dir: tempDir(), branch: 'main', logger: silentLogger });
        writeFileSync(join(ws.dir, 'a.txt'), url);
        await ws.commitAll(`edit via ${url}`, author);
        assert.equal(await ws.push('main'), 'pushed');
      }
      assert.equal(await git(['--git-dir', bare, 'show', 'main:a.txt']), bare);
    });

    it('refuses a URL with embedded credentials, telling to use a connection, without running git', async () => {
      const error = await rejectsWith(GitWorkspace.clone({
        url: `http://user:${server.token}@127.0.0.1:1/repo`, dir: tempDir(), branch: 'main', logger: silentLogger,
      }));
      assert.match(error.describe(), /contains credentials.*System\.AccessToken or a service connection/);
      assert.ok(!error.describe().includes(server.token));
    });

    it('refuses to clone into a folder that is not empty', async () => {
      const dir = tempDir();
      writeFileSync(join(dir, 'x'), 'x');
      const url = await newRepo({ files: { 'a.txt': 'a' } });
      const error = await rejectsWith(GitWorkspace.clone({ url, dir, branch: 'main', auth: bearerAuth(server.token), logger: silentLogger }));
      assert.match(error.message, /not empty/);
    });
  });

  describe('credentials', () => {
    it('a wrong token fails with a clear authentication error that leaks no token', async () => {
      const url = await newRepo({ files: { 'a.txt': 'a' } });
      const wrong = 'wrong-token-0123456789';
      const logger = new MemoryLogger();
      const error = await rejectsWith(GitWorkspace.clone({ url, dir: tempDir(), branch: 'main', auth: bearerAuth(wrong), logger }));
      assert.match(error.describe(), /authentication or permission denied/);
      assert.match(error.describe(), /Contribute/);
      const everything = [error.describe(), error.stack ?? '', ...logger.lines.map((l) => l.message)].join('\n');
      assert.ok(!everything.includes(wrong));
      assert.ok(!everything.includes(server.token));
    });

    it('no request without auth succeeds (the server really checks tokens)', async () => {
      const url = await newRepo({ files: { 'a.txt': 'a' } });
      await rejectsWith(GitWorkspace.clone({ url, dir: tempDir(), branch: 'main', logger: silentLogger }));
    });

    it('the token never reaches argv, .git/config, the remote URL, logs or the reflog', async () => {
      const spyDir = tempDir();
      const argvLog = join(spyDir, 'argv.log');
      writeFileSync(join(spyDir, 'git'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\nexec /usr/bin/git "$@"\n`);
      chmodSync(join(spyDir, 'git'), 0o755);
      const auth = basicAuth('build', server.token);
      const logger = new MemoryLogger();
      const url = await newRepo({ files: { 'a.txt': 'a' } });
      const env = { PATH: `${spyDir}:${process.env.PATH}` };
      const ws = await GitWorkspace.clone({ url, dir: tempDir(), branch: 'main', auth, logger, env });
      writeFileSync(join(ws.dir, 'a.txt'), 'changed');
      await ws.commitAll('edit', author);
      assert.equal(await ws.push('main'), 'pushed');

      const argv = readFileSync(argvLog, 'utf8');
      assert.match(argv, /--config-env=http.extraheader=GITOPS_GIT_AUTH_HEADER (-c \S+ )*push/, 'the spy saw the push');
      const places = {
        argv,
        config: readFileSync(join(ws.dir, '.git', 'config'), 'utf8'),
        remoteUrl: ws.remoteUrl,
        logs: logger.lines.map((l) => l.message).join('\n'),
        reflog: await git(['reflog'], { cwd: ws.dir }),
      };
      for (const [place, text] of Object.entries(places)) {
        for (const secret of auth.secrets) assert.ok(!text.includes(secret), `${place} contains a secret`);
      }
    });

    it('open() uses the credentials a pipeline checkout persisted, and cleanup() removes them', async () => {
      const url = await newRepo({ files: { 'a.txt': 'a' } });
      const dir = tempDir();
      await git(['clone', '--quiet', url, dir], { env: server.authEnv });
      await git(['config', `http.${url}.extraheader`, `AUTHORIZATION: bearer ${server.token}`], { cwd: dir });
      const ws = await GitWorkspace.open(dir, { logger: silentLogger });
      assert.equal(ws.branch, 'main');
      assert.equal(ws.remoteUrl, url);
      writeFileSync(join(dir, 'a.txt'), 'from pipeline checkout');
      await ws.commitAll('edit', author);
      assert.equal(await ws.push('main'), 'pushed');
      await ws.cleanup();
      assert.ok(!readFileSync(join(dir, '.git', 'config'), 'utf8').includes(server.token));
    });

    it('open() of a detached checkout needs the branch, and then pushes to it', async () => {
      const url = await newRepo({ files: { 'a.txt': 'a' } });
      const dir = tempDir();
      await git(['clone', '--quiet', url, dir], { env: server.authEnv });
      await git(['checkout', '--quiet', '--detach'], { cwd: dir });
      const error = await rejectsWith(GitWorkspace.open(dir, { logger: silentLogger }));
      assert.match(error.describe(), /detached HEAD.*pass the branch/);
      const ws = await GitWorkspace.open(dir, { branch: 'main', auth: bearerAuth(server.token), logger: silentLogger });
      writeFileSync(join(dir, 'a.txt'), 'detached edit');
      const commit = await ws.commitAll('edit', author);
      assert.equal(await ws.push('main'), 'pushed');
      assert.equal(await remoteGit(url, ['rev-parse', 'main']), commit);
    });
  });

  describe('commits and history', () => {
    it('commitAll returns undefined and creates no commit when nothing changed', async () => {
      const url = await newRepo({ files: { 'a.txt': 'a' } });
      const ws = await GitWorkspace.clone({ url, dir: tempDir(), branch: 'main', auth: bearerAuth(server.token), logger: silentLogger });
      const before = await ws.head();
      writeFileSync(join(ws.dir, 'a.txt'), 'a');
      assert.equal(await ws.commitAll('nothing', author), undefined);
      assert.equal(await ws.head(), before);
    });

    it('commitAll records new, changed and deleted files with the given author', async () => {
      const url = await newRepo({ files: { 'a.txt': 'a', 'b.txt': 'b' } });
      const ws = await GitWorkspace.clone({ url, dir: tempDir(), branch: 'main', auth: bearerAuth(server.token), logger: silentLogger });
      writeFileSync(join(ws.dir, 'a.txt'), 'a2');
      writeFileSync(join(ws.dir, 'c.txt'), 'c');
      await git(['rm', '--quiet', 'b.txt'], { cwd: ws.dir });
      assert.equal(await ws.hasChanges(), true);
      const commit = await ws.commitAll('edit', author);
      assert.equal(await git(['show', '--name-status', '--format=%an <%ae>|%cn', commit!], { cwd: ws.dir }),
        'Gitops Bot <gitops@example.com>|Gitops Bot\n\nM\ta.txt\nD\tb.txt\nA\tc.txt');
    });

    it('readTrailers reads back the trailers of a pushed commit', async () => {
      const url = await newRepo({ files: { 'a.txt': 'a' } });
      const ws = await GitWorkspace.clone({ url, dir: tempDir(), branch: 'main', auth: bearerAuth(server.token), logger: silentLogger });
      writeFileSync(join(ws.dir, 'a.txt'), 'b');
      const trailers = { 'Gitops-Source-Commit': 'abc123', 'Gitops-Image': 'reg.io/app@sha256:00ff', 'Gitops-Build': 'https://dev.azure.com/o/p/_build/results?buildId=7' };
      const commit = await ws.commitAll(formatCommitMessage({ subject: 'Update app', body: 'Why:\nnew image', trailers }), author);
      assert.deepEqual(await ws.readTrailers(commit!), trailers);
      assert.equal(await git(['log', '-1', '--format=%(trailers:key=Gitops-Image,valueonly)', commit!], { cwd: ws.dir }), trailers['Gitops-Image']);
    });

    it('isAncestor deepens a shallow clone until it can answer', async () => {
      const url = await newRepo({ files: { 'a.txt': 'a' } });
      const seedDir = tempDir();
      await git(['clone', '--quiet', url, seedDir], { env: server.authEnv });
      const first = await git(['rev-parse', 'HEAD'], { cwd: seedDir });
      for (let i = 0; i < 40; i++) await git(['commit', '--quiet', '--allow-empty', '-m', `c${i}`], { cwd: seedDir });
      await git(['push', '--quiet', 'origin', 'main'], { cwd: seedDir, env: server.authEnv });
      await git(['checkout', '--quiet', '--orphan', 'other'], { cwd: seedDir });
      await git(['commit', '--quiet', '--allow-empty', '-m', 'unrelated'], { cwd: seedDir });
      await git(['push', '--quiet', 'origin', 'other'], { cwd: seedDir, env: server.authEnv });
      const unrelated = await git(['rev-parse', 'HEAD'], { cwd: seedDir });

      const ws = await GitWorkspace.clone({ url, dir: tempDir(), branch: 'main', auth: bearerAuth(server.token), logger: silentLogger });
      const head = (await ws.head())!;
      assert.equal(await git(['rev-list', '--count', 'HEAD'], { cwd: ws.dir }), '1');
      assert.equal(await ws.isAncestor(first, head), true);
      assert.equal(await ws.isAncestor(head, first), false);
      assert.equal(await ws.deepenUntil(unrelated), false);
      assert.equal(await git(['rev-list', '--count', 'HEAD'], { cwd: ws.dir }), '41', 'the whole history of main (1 + 40 commits) is now local');
    });

    it('isAncestor answers false without fetching everything when the tip is the ancestor', async () => {
      const url = await newRepo({ files: { 'a.txt': 'a' } });
      const ws = await GitWorkspace.clone({ url, dir: tempDir(), branch: 'main', auth: bearerAuth(server.token), logger: silentLogger });
      const head = (await ws.head())!;
      assert.equal(await ws.isAncestor(head, head), true);
    });
  });

  describe('push', () => {
    it('reports stale when the branch moved, and fetchAndReset moves to the new tip', async () => {
      const url = await newRepo({ files: { 'a.txt': 'a' } });
      const auth = bearerAuth(server.token);
      const first = await GitWorkspace.clone({ url, dir: tempDir(), branch: 'main', auth, logger: silentLogger });
      const second = await GitWorkspace.clone({ url, dir: tempDir(), branch: 'main', auth, logger: silentLogger });
      writeFileSync(join(first.dir, 'a.txt'), 'first');
      await first.commitAll('first', author);
      assert.equal(await first.push('main'), 'pushed');
      writeFileSync(join(second.dir, 'a.txt'), 'second');
      writeFileSync(join(second.dir, 'untracked.txt'), 'x');
      await second.commitAll('second', author);
      assert.equal(await second.push('main'), 'stale');
      await second.fetchAndReset('main');
      assert.equal(await second.head(), await first.head());
      assert.equal(readFileSync(join(second.dir, 'a.txt'), 'utf8'), 'first');
      assert.equal(await second.hasChanges(), false);
    });

    it('a push refused by a pre-receive hook throws with the server message', async () => {
      const url = await newRepo({ files: { 'a.txt': 'a' } });
      const name = new URL(url).pathname.slice(1);
      server.setHook(name, 'pre-receive', '#!/bin/sh\necho "policy: manifests must be reviewed" >&2\nexit 1\n');
      const ws = await GitWorkspace.clone({ url, dir: tempDir(), branch: 'main', auth: bearerAuth(server.token), logger: silentLogger });
      writeFileSync(join(ws.dir, 'a.txt'), 'b');
      await ws.commitAll('edit', author);
      const error = await rejectsWith(ws.push('main'));
      assert.match(error.describe(), /rejected by the server.*policy: manifests must be reviewed/);
      server.setHook(name, 'pre-receive', undefined);
    });
  });
});
