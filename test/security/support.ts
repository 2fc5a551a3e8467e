/**
 * Shared parts of the hostile-server and hostile-path suites: a canary secret outside every
 * checkout, bundled task runs with their peak memory measured, servers that misbehave on purpose,
 * and git repositories holding symlinks.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { git, type GitServer } from '../support/gitServer';
import { runTask, type TaskRun, type TaskRunOptions } from '../support/runTask';
import { tempDir } from '../support/tmp';

/** A secret file outside every checkout: it must never show up in any output, nor change. */
export class Canary {
  readonly dir = tempDir('canary-');
  readonly secret = `CANARY-${randomBytes(12).toString('hex')}`;
  readonly file = join(this.dir, 'secret.yaml');

  constructor() {
    writeFileSync(this.file, `apiVersion: v1\nkind: Secret\nmetadata:\n  name: canary\nstringData:\n  value: ${this.secret}\n`, { mode: 0o600 });
  }

  /** Content and mode as they are now, to compare after a run. */
  snapshot(): string {
    return readdirSync(this.dir)
      .sort()
      .map((name) => {
        const path = join(this.dir, name);
        return `${name}:${(statSync(path).mode & 0o7777).toString(8)}:${readFileSync(path, 'utf8')}`;
      })
      .join('\n');
  }

  /** Asserts that no text holds the secret. */
  assertNotIn(texts: Record<string, string>): void {
    for (const [where, text] of Object.entries(texts)) {
      assert.ok(!text.includes(this.secret), `the canary secret leaked into ${where}`);
    }
  }
}

/** Every file below `dir` as text (for scanning rendered output). */
export function filesBelow(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  if (!existsSync(dir)) return files;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath ?? entry.path, entry.name);
    files[path] = readFileSync(path, 'utf8');
  }
  return files;
}

const preload = (() => {
  const dir = tempDir('rss-preload-');
  const file = join(dir, 'rss.cjs');
  writeFileSync(file, "process.on('exit', () => { try { require('fs').writeFileSync(process.env.BG_RSS_FILE, String(process.resourceUsage().maxRSS)); } catch {} });\n");
  return file;
})();

export interface MeasuredRun extends TaskRun {
  /** Peak resident memory of the task's node process, in MB. */
  peakRssMb: number;
  elapsedMs: number;
}

/** Runs a bundled task as the agent does, measuring its wall time and peak RSS (node's own maxRSS). */
export async function measuredTask(task: string, options: TaskRunOptions): Promise<MeasuredRun> {
  const rssFile = join(tempDir('rss-'), 'maxrss');
  const started = Date.now();
  const run = await runTask(task, {
    timeoutMs: 120_000,
    ...options,
    env: { ...options.env, NODE_OPTIONS: `--require ${preload}`, BG_RSS_FILE: rssFile },
  });
  const elapsedMs = Date.now() - started;
  const peakRssMb = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) / 1024 : Number.NaN;
  return { ...run, peakRssMb, elapsedMs };
}

/** Bounds every refused run must keep. */
export const bounds = { peakRssMb: 300, elapsedMs: 45_000 };

/**
 * Asserts the refusal a user would see: task Failed, the error matches `message`, time and memory
 * bounded, the canary neither read into any output nor changed.
 */
export function assertRefused(run: MeasuredRun, message: RegExp, canary: Canary, canaryBefore: string, extraTexts: Record<string, string> = {}): void {
  const detail = `${run.message}\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-1500)}`;
  assert.equal(run.result, 'Failed', detail);
  assert.match(run.errors.join('\n'), message, detail);
  assert.ok(run.elapsedMs < bounds.elapsedMs, `took ${run.elapsedMs} ms`);
  assert.ok(Number.isFinite(run.peakRssMb), 'peak RSS was measured');
  assert.ok(run.peakRssMb < bounds.peakRssMb, `peak RSS ${run.peakRssMb.toFixed(0)} MB`);
  canary.assertNotIn({ stdout: run.stdout, stderr: run.stderr, ...extraTexts });
  assert.equal(canary.snapshot(), canaryBefore, 'the canary folder changed');
}

export type Handler = (req: IncomingMessage, res: ServerResponse, server: HostileServer) => void | Promise<void>;

/** An http server on 127.0.0.1 whose routes misbehave on purpose; records every request's headers. */
export class HostileServer {
  private server?: Server;
  readonly requests: { url: string; headers: IncomingMessage['headers'] }[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly routes: Record<string, Handler>, private readonly fallback?: Handler) {}

  async start(host = '127.0.0.1'): Promise<this> {
    this.server = createServer((req, res) => {
      this.requests.push({ url: req.url ?? '', headers: req.headers });
      res.on('error', () => undefined);
      const path = (req.url ?? '').split('?')[0];
      const route = Object.keys(this.routes).find((prefix) => path === prefix || path.startsWith(`${prefix}/`));
      const handler = route ? this.routes[route] : this.fallback;
      if (!handler) {
        res.writeHead(404);
        res.end('not found');
        return;
      }
      void Promise.resolve(handler(req, res, this)).catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, host, resolve));
    return this;
  }

  get origin(): string {
    const { address, port } = this.server!.address() as AddressInfo;
    return `http://${address}:${port}`;
  }

  url(path: string): string {
    return `${this.origin}${path}`;
  }

  /** setInterval that stop() clears. */
  every(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setInterval(fn, ms);
    this.timers.add(timer);
    return timer;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Writes files; a value `{ link: target }` makes a symlink. */
export type TreeSpec = Record<string, string | { link: string }>;

export function writeTree(dir: string, files: TreeSpec): string {
  for (const [path, content] of Object.entries(files)) {
    const target = join(dir, path);
    mkdirSync(dirname(target), { recursive: true });
    if (typeof content === 'string') writeFileSync(target, content);
    else symlinkSync(content.link, target);
  }
  return dir;
}

/** A repository on the test git server holding `files` (symlinks committed as symlinks); its clone URL. */
export async function pushTree(server: GitServer, name: string, files: TreeSpec): Promise<string> {
  const url = await server.createRepo(name);
  const work = writeTree(tempDir('tree-seed-'), files);
  await git(['init', '--quiet', '--initial-branch=main', work]);
  await git(['add', '-A'], { cwd: work });
  await git(['commit', '--quiet', '-m', 'content'], { cwd: work });
  await git(['push', '--quiet', server.repoPath(name), 'HEAD:refs/heads/main'], { cwd: work });
  return url;
}
