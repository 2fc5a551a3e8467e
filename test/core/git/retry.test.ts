import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GitopsError } from '../../../tasks/core/errors';
import { MemoryLogger, silentLogger } from '../../../tasks/core/logger';
import { bearerAuth } from '../../../tasks/core/git/auth';
import { backoffDelay } from '../../../tasks/core/backoff';
import { pushWithRetry } from '../../../tasks/core/git/retry';
import { GitWorkspace } from '../../../tasks/core/git/workspace';
import { git, startGitServer, type GitServer } from '../../support/gitServer';
import { tempDir } from '../../support/tmp';

const author = { name: 'Gitops Bot', email: 'gitops@example.com' };

function writeEdit(file: string, content: string) {
  return async (dir: string) => {
    const path = join(dir, file);
    if (existsSync(path) && readFileSync(path, 'utf8') === content) return false;
    writeFileSync(path, content);
    return true;
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

describe('pushWithRetry', () => {
  let server: GitServer;
  let repoCount = 0;
  let repoName = '';
  const newRepo = (files: Record<string, string> = { 'README.md': 'hld\n' }) => {
    repoName = `org/project/_git/retry${++repoCount}`;
    return server.createRepo(repoName, { files });
  };
  const remote = (...args: string[]) => git(['--git-dir', server.repoPath(repoName), ...args]);
  const cloneOf = (url: string, logger = silentLogger) =>
    GitWorkspace.clone({ url, dir: tempDir(), branch: 'main', auth: bearerAuth(server.token), logger });

  before(async () => {
    server = await startGitServer();
  });
  after(async () => {
    await server.stop();
  });

  it('pushes on the first attempt when nobody else writes', async () => {
    const url = await newRepo();
    const workspace = await cloneOf(url);
    const result = await pushWithRetry({ workspace, branch: 'main', apply: writeEdit('a.yaml', 'a: 1\n'), message: 'set a', author, logger: silentLogger });
    assert.deepEqual({ changed: result.changed, attempts: result.attempts }, { changed: true, attempts: 1 });
    assert.equal(await remote('rev-parse', 'main'), result.commit);
    assert.equal(await remote('show', 'main:a.yaml'), 'a: 1');
  });

  it('re-applies the edit on the new tip after a stale push and succeeds', async () => {
    const url = await newRepo();
    const late = await cloneOf(url);
    const early = await cloneOf(url);
    await pushWithRetry({ workspace: early, branch: 'main', apply: writeEdit('early.yaml', 'e\n'), message: 'early', author, logger: silentLogger });
    const attemptsSeen: number[] = [];
    const logger = new MemoryLogger();
    const result = await pushWithRetry({
      workspace: late, branch: 'main', author, logger, maxDelayMs: 10,
      apply: async (dir, attempt) => { attemptsSeen.push(attempt); return writeEdit('late.yaml', 'l\n')(dir); },
      message: (attempt) => `late (attempt ${attempt})`,
    });
    assert.equal(result.attempts, 2);
    assert.deepEqual(attemptsSeen, [1, 2]);
    assert.equal(await remote('log', '--format=%s', 'main'), 'late (attempt 2)\nearly\nInitial content');
    assert.equal(await remote('show', 'main:early.yaml'), 'e');
    assert.match(logger.lines.map((l) => l.message).join('\n'), /moved while pushing \(attempt 1\)/);
  });

  it('makes no commit and no push when the edit changes nothing', async () => {
    const url = await newRepo({ 'a.yaml': 'a: 1\n' });
    const workspace = await cloneOf(url);
    const tip = await remote('rev-parse', 'main');
    const requestsBefore = server.requests;
    // The edit claims a change but writes identical bytes: git decides.
    const result = await pushWithRetry({
      workspace, branch: 'main', author, logger: silentLogger, message: 'noop',
      apply: async (dir) => { writeFileSync(join(dir, 'a.yaml'), 'a: 1\n'); return true; },
    });
    assert.deepEqual(result, { changed: false, attempts: 1 });
    assert.equal(await remote('rev-parse', 'main'), tip);
    assert.equal(server.requests, requestsBefore);
    assert.equal(await workspace.head(), tip);
  });

  it('does not retry a push a pre-receive hook rejects', async () => {
    const url = await newRepo();
    server.setHook(repoName, 'pre-receive', '#!/bin/sh\necho "TF402455: Pushes to this branch are not permitted" >&2\nexit 1\n');
    const workspace = await cloneOf(url);
    let applied = 0;
    const error = await pushWithRetry({
      workspace, branch: 'main', author, logger: silentLogger, message: 'x',
      apply: async (dir) => { applied++; return writeEdit('x.yaml', 'x')(dir); },
    }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof GitopsError);
    assert.match(error.describe(), /rejected by the server.*TF402455/);
    assert.equal(applied, 1);
  });

  it('does not retry an authentication failure', async () => {
    const url = await newRepo();
    const workspace = await cloneOf(url);
    const badWorkspace = await GitWorkspace.open(workspace.dir, { auth: bearerAuth('expired-token-000000'), logger: silentLogger });
    let applied = 0;
    const error = await pushWithRetry({
      workspace: badWorkspace, branch: 'main', author, logger: silentLogger, message: 'x',
      apply: async (dir) => { applied++; return writeEdit('x.yaml', `x${applied}`)(dir); },
    }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof GitopsError);
    assert.match(error.describe(), /authentication or permission denied/);
    assert.ok(!error.describe().includes('expired-token-000000'));
    assert.equal(applied, 1);
  });

  it('gives up after maxAttempts when the branch keeps moving', async () => {
    const url = await newRepo();
    const rival = await cloneOf(url);
    const workspace = await cloneOf(url);
    let applied = 0;
    const error = await pushWithRetry({
      workspace, branch: 'main', author, logger: silentLogger, message: 'mine', maxAttempts: 3, maxDelayMs: 10,
      apply: async (dir, attempt) => {
        applied++;
        // A rival pushes between our fetch and our push, every time.
        await rival.fetchAndReset('main');
        writeFileSync(join(rival.dir, 'rival.txt'), String(attempt));
        await rival.commitAll(`rival ${attempt}`, author);
        assert.equal(await rival.push('main'), 'pushed');
        return writeEdit('mine.txt', 'mine')(dir);
      },
    }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof GitopsError);
    assert.match(error.message, /Gave up .* 3 times/);
    assert.equal(applied, 3);
  });

  it('a server killed mid-push fails clearly, and running again succeeds', async () => {
    const url = await newRepo();
    const started = join(tempDir(), 'hook-started');
    server.setHook(repoName, 'pre-receive', `#!/bin/sh\ntouch '${started}'\nsleep 30\n`);
    const workspace = await cloneOf(url);
    const pushing = pushWithRetry({ workspace, branch: 'main', apply: writeEdit('a.yaml', 'a\n'), message: 'a', author, logger: silentLogger })
      .then(() => undefined, (e: unknown) => e);
    while (!existsSync(started)) await new Promise((r) => setTimeout(r, 20));
    server.kill();
    const error = await pushing;
    assert.ok(error instanceof GitopsError, String(error));
    assert.match(error.describe(), /could not reach the server/);
    assert.match(error.describe(), /Pushing to main/);

    server.setHook(repoName, 'pre-receive', undefined);
    await server.restart();
    const again = await cloneOf(url);
    const result = await pushWithRetry({ workspace: again, branch: 'main', apply: writeEdit('a.yaml', 'a\n'), message: 'a', author, logger: silentLogger });
    assert.equal(result.changed, true);
    assert.equal(await remote('rev-list', '--count', 'main'), '2');
  });

  it('16 concurrent writers on different files all land, with linear history', async function () {
    this.timeout(180_000);
    const url = await newRepo();
    const writers = Array.from({ length: 16 }, (_, i) => i);
    const workspaces = await Promise.all(writers.map(() => cloneOf(url)));
    const started = Date.now();
    const results = await Promise.all(writers.map((i) => pushWithRetry({
      workspace: workspaces[i], branch: 'main', apply: writeEdit(`svc-${i}.yaml`, `image: svc-${i}:v2\n`),
      message: `svc-${i}: v2`, author, logger: silentLogger,
    })));
    const elapsed = Date.now() - started;
    assert.ok(results.every((r) => r.changed));
    for (const i of writers) assert.equal(await remote('show', `main:svc-${i}.yaml`), `image: svc-${i}:v2`);
    assert.equal(await remote('rev-list', '--merges', 'main'), '');
    assert.equal(await remote('rev-list', '--count', 'main'), '17');
    const attempts = results.map((r) => r.attempts);
    console.log(`      16 writers: ${elapsed} ms, attempts max ${Math.max(...attempts)}, p50 ${percentile(attempts, 50)}, p90 ${percentile(attempts, 90)}, total ${attempts.reduce((a, b) => a + b, 0)}`);
  });

  it('8 concurrent writers on the same file all succeed and one of them wins', async function () {
    this.timeout(180_000);
    const url = await newRepo({ 'app.yaml': 'image: v0\n' });
    const writers = Array.from({ length: 8 }, (_, i) => i);
    const workspaces = await Promise.all(writers.map(() => cloneOf(url)));
    const results = await Promise.all(writers.map((i) => pushWithRetry({
      workspace: workspaces[i], branch: 'main', apply: writeEdit('app.yaml', `image: v${i + 1}\n`),
      message: `app: v${i + 1}`, author, logger: silentLogger,
    })));
    assert.ok(results.every((r) => r.changed));
    const final = await remote('show', 'main:app.yaml');
    assert.ok(writers.some((i) => final === `image: v${i + 1}`), final);
    assert.equal(await remote('rev-list', '--merges', 'main'), '');
    // The last commit on main is the winner's, and its content is what main holds.
    const lastSubject = await remote('log', '-1', '--format=%s', 'main');
    assert.equal(`image: ${lastSubject.slice('app: '.length)}`, final);
  });

  it('backoff grows exponentially with full jitter and is capped', () => {
    assert.equal(backoffDelay(1, { baseMs: 100, maxMs: 10_000, jitter: 'full', random: () => 0 }), 0);
    assert.equal(backoffDelay(1, { baseMs: 100, maxMs: 10_000, jitter: 'full', random: () => 0.5 }), 50);
    assert.equal(backoffDelay(4, { baseMs: 100, maxMs: 10_000, jitter: 'full', random: () => 0.5 }), 400);
    assert.equal(backoffDelay(20, { baseMs: 100, maxMs: 10_000, jitter: 'full', random: () => 0.999999 }), 10_000);
  });

  it('the registry\'s equal jitter waits at least half the ceiling (the same backoff function)', () => {
    assert.equal(backoffDelay(3, { baseMs: 200, maxMs: 8_000, jitter: 'equal', random: () => 0 }), 400);
    assert.equal(backoffDelay(3, { baseMs: 200, maxMs: 8_000, jitter: 'equal', random: () => 1 }), 800);
    assert.equal(backoffDelay(9, { baseMs: 200, maxMs: 8_000, jitter: 'equal', random: () => 1 }), 8_000);
  });
});
