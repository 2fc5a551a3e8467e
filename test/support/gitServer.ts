/**
 * A real git smart-HTTP server for tests, with token auth the way Azure Repos does it:
 * `Authorization: Basic base64(anyuser:TOKEN)` or `Authorization: Bearer TOKEN`, else 401.
 *
 *   const server = await startGitServer();            // in before()
 *   const url = await server.createRepo('hld', { files: { 'README.md': 'hi' } });
 *   await git(['clone', url, dir], { env: server.authEnv });
 *   await server.stop();                               // in after()
 *
 * The server runs as a child process (test/support/git-http-server.mjs), so even synchronous git
 * calls in a test cannot deadlock it; it dies with the test process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { tempDir } from './tmp';

export interface GitServer {
  /** The token the server accepts (as Basic password with any user, or as Bearer). */
  readonly token: string;
  /** `http://127.0.0.1:PORT`; stays the same across restart(). */
  readonly baseUrl: string;
  /** Environment variables that make plain `git` send `AUTHORIZATION: bearer TOKEN` (no argv, no config file). */
  readonly authEnv: Record<string, string>;
  /**
   * Creates a bare repository served at `${baseUrl}/${name}` (name may contain `/`, e.g.
   * `org/project/_git/hld`). With `files`, it gets one commit on `branch` (default `main`);
   * without, it stays empty with HEAD pointing at `branch`. Returns the clone URL.
   */
  createRepo(name: string, options?: { files?: Record<string, string>; branch?: string }): Promise<string>;
  /** The bare repository on disk, for assertions with `git --git-dir`. */
  repoPath(name: string): string;
  /** Installs (or with `undefined` removes) a server-side hook, e.g. `#!/bin/sh\necho no >&2\nexit 1`. */
  setHook(name: string, hook: 'pre-receive', script: string | undefined): void;
  /** HTTP requests received so far (including rejected ones). */
  readonly requests: number;
  /** Graceful stop; waits until the process has exited. */
  stop(): Promise<void>;
  /** Abrupt SIGKILL of the server and every git process it started (fault injection). */
  kill(): void;
  /** Starts the server again on the same port after stop() or kill(). */
  restart(): Promise<void>;
}

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

const serverScript = join(__dirname, 'git-http-server.mjs');
const running = new Set<ChildProcess>();

process.on('exit', () => {
  for (const child of running) killGroup(child);
});

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/** Environment for test git processes: no prompts, no system config, a fixed identity. */
export function testGitEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GIT_TERMINAL_PROMPT: '0',
    GCM_INTERACTIVE: 'never',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Test Author',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'Test Author',
    GIT_COMMITTER_EMAIL: 'test@example.com',
    ...extra,
  };
}

/** Runs git asynchronously (never blocks the event loop); resolves with the result, never throws on exit code. */
export function gitResult(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: options.cwd, env: testGitEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** Runs git asynchronously; returns trimmed stdout, throws with stderr on a non-zero exit. */
export async function git(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<string> {
  const result = await gitResult(args, options);
  if (result.code !== 0) throw new Error(`git ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
  return result.stdout.trim();
}

/**
 * `host`: the loopback address to listen on (127.0.0.2 keeps clients from bypassing a proxy for
 * "localhost"); `tls`: PEM certificate and key files to serve https with.
 */
export async function startGitServer(options: { token?: string; host?: string; tls?: { certFile: string; keyFile: string } } = {}): Promise<GitServer> {
  const token = options.token ?? randomBytes(18).toString('hex');
  const root = tempDir('git-server-');
  let child: ChildProcess | undefined;
  let requests = 0;
  let port = 0;

  const launch = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const proc = spawn(process.execPath, [serverScript, root, String(port)], {
        env: {
          ...process.env, GIT_TEST_TOKEN: token, GIT_TEST_HOST: options.host ?? '127.0.0.1',
          ...(options.tls ? { GIT_TEST_TLS_CERT: options.tls.certFile, GIT_TEST_TLS_KEY: options.tls.keyFile } : {}),
        },
        stdio: ['pipe', 'pipe', 'inherit'],
        // Own process group, so kill() also takes down the git-http-backend children mid-request.
        detached: true,
      });
      child = proc;
      running.add(proc);
      proc.on('exit', () => running.delete(proc));
      proc.stdin!.on('error', () => {});
      proc.once('error', reject);
      proc.once('exit', (code) => reject(new Error(`git test server exited early (${code})`)));
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        if (line === 'request') requests++;
        else if (line.startsWith('listening ')) resolve(Number(line.slice('listening '.length)));
      });
    });

  port = await launch();
  const baseUrl = `${options.tls ? 'https' : 'http'}://${options.host ?? '127.0.0.1'}:${port}`;
  const repoPath = (name: string): string => join(root, name);

  const server: GitServer = {
    token,
    baseUrl,
    authEnv: {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.extraheader',
      GIT_CONFIG_VALUE_0: `AUTHORIZATION: bearer ${token}`,
    },
    get requests() {
      return requests;
    },
    repoPath,
    async createRepo(name, repoOptions = {}) {
      const branch = repoOptions.branch ?? 'main';
      const bare = repoPath(name);
      mkdirSync(dirname(bare), { recursive: true });
      await git(['init', '--quiet', '--bare', `--initial-branch=${branch}`, bare]);
      if (repoOptions.files) {
        const work = tempDir('git-seed-');
        await git(['init', '--quiet', `--initial-branch=${branch}`, work]);
        for (const [file, content] of Object.entries(repoOptions.files)) {
          mkdirSync(dirname(join(work, file)), { recursive: true });
          writeFileSync(join(work, file), content);
        }
        await git(['add', '-A'], { cwd: work });
        await git(['commit', '--quiet', '-m', 'Initial content'], { cwd: work });
        await git(['push', '--quiet', bare, `HEAD:refs/heads/${branch}`], { cwd: work });
      }
      return `${baseUrl}/${name}`;
    },
    setHook(name, hook, script) {
      const file = join(repoPath(name), 'hooks', hook);
      if (script === undefined) {
        rmSync(file, { force: true });
        return;
      }
      writeFileSync(file, script);
      chmodSync(file, 0o755);
    },
    async stop() {
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.stdin!.end();
      const timer = setTimeout(() => killGroup(proc), 2000);
      await exited;
      clearTimeout(timer);
    },
    kill() {
      if (child) killGroup(child);
    },
    async restart() {
      await server.stop();
      const proc = child;
      if (proc && proc.exitCode === null && proc.signalCode === null) {
        await new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      }
      await launch();
    },
  };
  return server;
}
