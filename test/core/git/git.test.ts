import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { GitopsError } from '../../../tasks/core/errors';
import { MemoryLogger } from '../../../tasks/core/logger';
import { basicAuth, bearerAuth, secretsOf } from '../../../tasks/core/git/auth';
import { assertGitUrl, assertNoCredentialsInUrl, displayUrl, remoteUrl, runGit } from '../../../tasks/core/git/git';
import { tempDir } from '../../support/tmp';

describe('git auth and runGit', () => {
  it('bearerAuth builds the header Azure Pipelines uses for System.AccessToken', () => {
    assert.equal(bearerAuth('tok123').header, 'AUTHORIZATION: bearer tok123');
  });

  it('basicAuth base64-encodes user:secret, as for a PAT with an empty user', () => {
    assert.equal(basicAuth('', 'pat123').header, `AUTHORIZATION: basic ${Buffer.from(':pat123').toString('base64')}`);
  });

  it('secretsOf lists the raw secret, its base64 form and the header', () => {
    const auth = basicAuth('u', 'pat123');
    const encoded = Buffer.from('u:pat123').toString('base64');
    assert.deepEqual(new Set(secretsOf(auth)), new Set(['pat123', encoded, auth.header, `basic ${encoded}`]));
    assert.deepEqual(secretsOf(undefined), []);
  });

  it('an empty token is refused with a hint', () => {
    assert.throws(() => bearerAuth(''), (e: unknown) => e instanceof GitopsError && /System.AccessToken/.test(e.describe()));
  });

  it('refuses URLs with a password or token in them, but accepts a bare user name', () => {
    assert.throws(() => assertNoCredentialsInUrl('https://me:s3cret@dev.azure.com/o/p/_git/r'), /contains credentials/);
    assert.doesNotThrow(() => assertNoCredentialsInUrl('https://org@dev.azure.com/o/p/_git/r'));
    assert.equal(displayUrl('https://org@dev.azure.com/o/p/_git/r'), 'https://dev.azure.com/o/p/_git/r');
  });

  it('displayUrl removes user info up to the last @ of the authority (a password holding @)', () => {
    assert.equal(displayUrl('https://user:p@ss@host.example/r.git'), 'https://host.example/r.git');
    assert.equal(displayUrl('fatal: unable to access \'https://u:a@b@c@host.example:8443/r/\': 403'), 'fatal: unable to access \'https://host.example:8443/r/\': 403');
    // An @ after the authority (path, query) is not user info and stays.
    assert.equal(displayUrl('see https://host.example/@team/r and mail a@b.example'), 'see https://host.example/@team/r and mail a@b.example');
  });

  it('remoteUrl gives git the parsed URL without user info when our header authenticates it, the URL as written otherwise', () => {
    assert.equal(remoteUrl('https://org@dev.azure.com/o/p/_git/r', true), 'https://dev.azure.com/o/p/_git/r');
    assert.equal(remoteUrl('http://127.0.0.1\\@evil.example/x.git', true), 'http://127.0.0.1/@evil.example/x.git', 'the host WHATWG URL read');
    assert.equal(remoteUrl('https://org@dev.azure.com/o/p/_git/r', false), 'https://org@dev.azure.com/o/p/_git/r');
    assert.equal(remoteUrl('git@github.com:o/r.git', true), 'git@github.com:o/r.git');
  });

  it('refuses repository URLs that git and WHATWG URL read as different hosts, naming the input', () => {
    for (const url of ['http://127.0.0.1\\@evil.example/x.git', 'https://a@b@evil.example/r', 'https:\\\\evil.example\\r']) {
      assert.throws(() => assertGitUrl(url, 'hldRepositoryUrl'), (e: unknown) => e instanceof GitopsError && e.field === 'hldRepositoryUrl' && /backslash|more than one @/.test(e.message), url);
    }
    assert.equal(assertGitUrl('C:\\agent\\hld', 'hldRepositoryUrl'), 'C:\\agent\\hld', 'a Windows path is not a URL');
    assert.equal(assertGitUrl('https://org@dev.azure.com/o/p/_git/r', 'hldRepositoryUrl'), 'https://org@dev.azure.com/o/p/_git/r');
  });

  it('runGit refuses a network URL argument with a backslash before starting git', async () => {
    const logger = new MemoryLogger();
    await assert.rejects(runGit(['ls-remote', '--', 'http://127.0.0.1\\@evil.example/x.git'], { logger }), /backslash/);
    assert.equal(logger.lines.length, 0);
  });

  it('runGit passes the header only through the environment and redacts it from output', async () => {
    const auth = bearerAuth('tok-abcdef-123');
    const logger = new MemoryLogger();
    // `git config --get` prints the value git sees: proof the header arrives, and is redacted.
    const result = await runGit(['config', '--get', 'http.extraheader'], { cwd: tempDir(), auth, logger });
    assert.equal(result.code, 0);
    assert.equal(result.stdout.trim(), 'AUTHORIZATION: bearer ***');
    assert.ok(!logger.lines.some((l) => l.message.includes('tok-abcdef-123')));
  });

  it('runGit refuses an argument with embedded credentials before starting git', async () => {
    const logger = new MemoryLogger();
    await assert.rejects(runGit(['clone', 'https://u:pw123456@example.com/r', tempDir()], { logger }), /contains credentials/);
    assert.equal(logger.lines.length, 0);
  });

  it('runGit feeds input to git on stdin and reports the exit code and stderr of a failure', async () => {
    const dir = tempDir();
    const hashed = await runGit(['hash-object', '--stdin'], { cwd: dir, logger: new MemoryLogger(), input: 'hello\n' });
    assert.deepEqual(hashed, { code: 0, stdout: 'ce013625030ba8dba906f756967f9e9ca394464a\n', stderr: '' });
    const failed = await runGit(['rev-parse', '--verify', '--quiet', '--end-of-options', 'no-such-ref'], { cwd: dir, logger: new MemoryLogger() });
    assert.equal(failed.code, 128);
    assert.match(failed.stderr, /not a git repository/);
  });

  it('simple-git refuses --upload-pack, even in a caller\'s arguments, and git refuses abbreviated options', async () => {
    const dir = tempDir();
    const marker = join(dir, 'pwned');
    await runGit(['init', '--quiet'], { cwd: dir, logger: new MemoryLogger() });
    await assert.rejects(runGit(['fetch', `--upload-pack=touch ${marker}`, '--', dir], { cwd: dir, logger: new MemoryLogger() }),
      (e: unknown) => e instanceof GitopsError && /--upload-pack/.test(e.message));
    const abbreviated = await runGit(['fetch', `--upload-pa=touch ${marker}`, '--', dir], { cwd: dir, logger: new MemoryLogger() });
    assert.notEqual(abbreviated.code, 0);
    assert.match(abbreviated.stderr, /abbreviated/);
    assert.ok(!existsSync(marker), 'the upload-pack command ran');
  });

  it('git gets the commit identity and TLS variables, but no GIT_DIR or GIT_CONFIG_* from the environment', async () => {
    const dir = tempDir();
    await runGit(['init', '--quiet'], { cwd: dir, logger: new MemoryLogger() });
    const env = {
      GIT_DIR: join(tempDir(), 'elsewhere.git'),
      GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'user.name', GIT_CONFIG_VALUE_0: 'Injected',
      GIT_AUTHOR_NAME: 'Build Agent', GIT_AUTHOR_EMAIL: 'agent@example.com',
      EDITOR: 'touch /tmp/editor-ran',
    };
    const gitDir = await runGit(['rev-parse', '--git-dir'], { cwd: dir, env, logger: new MemoryLogger() });
    assert.equal(gitDir.stdout.trim(), '.git');
    const ident = await runGit(['var', 'GIT_AUTHOR_IDENT'], { cwd: dir, env, logger: new MemoryLogger() });
    assert.match(ident.stdout, /^Build Agent <agent@example.com> /);
    const name = await runGit(['config', '--get', 'user.name'], { cwd: dir, env, logger: new MemoryLogger() });
    assert.ok(!name.stdout.includes('Injected'));
    // The CA bundle core/network.ts sets reaches git: a missing one fails before any TLS handshake.
    const server = createServer(() => { /* the handshake never starts */ });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    try {
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/r.git`;
      const tls = await runGit(['ls-remote', '--', url], { env: { GIT_SSL_CAINFO: join(dir, 'missing-ca.pem') }, logger: new MemoryLogger(), timeoutMs: 10_000 });
      assert.match(tls.stderr, /SSL CA cert/);
    } finally {
      server.close();
    }
  });

  it('a deadline stops git waiting on a server that never answers', async function () {
    this.timeout(20_000);
    const server = createServer(() => { /* accept and say nothing */ });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    try {
      const started = Date.now();
      const result = await runGit(['ls-remote', '--', `http://127.0.0.1:${(server.address() as AddressInfo).port}/r.git`], {
        logger: new MemoryLogger(), timeoutMs: 1_000,
      });
      assert.notEqual(result.code, 0);
      assert.ok(Date.now() - started < 4_000, `took ${Date.now() - started} ms`);
    } finally {
      server.close();
    }
  });

  it('simple-git\'s debug log stays off even with DEBUG=*: it would print the environment with the header', function () {
    this.timeout(30_000);
    const dir = tempDir();
    const script = join(dir, 'run.ts');
    const gitModule = resolve(__dirname, '../../../tasks/core/git');
    writeFileSync(script, `import { bearerAuth, runGit } from ${JSON.stringify(gitModule)};
import { silentLogger } from ${JSON.stringify(resolve(__dirname, '../../../tasks/core/logger'))};
runGit(['config', '--get', 'http.extraheader'], { cwd: ${JSON.stringify(dir)}, auth: bearerAuth('tok-debug-4711'), logger: silentLogger })
  .then((r) => process.stdout.write(r.stdout));
`);
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, DEBUG: '*', DEBUG_COLORS: '0' }, encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), 'AUTHORIZATION: bearer ***');
    assert.ok(!child.stderr.includes('tok-debug-4711'), 'the token was printed on stderr');
  });
});

