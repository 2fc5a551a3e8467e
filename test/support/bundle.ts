/**
 * The bundles the black-box tests run (tasks/<Task>/dist, dist/cli.js). `npm test` builds them
 * once in pretest; a test file only builds them when they are missing or older than a source file
 * (e.g. when one test file is run by hand after an edit), and at most once per test process.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './tools';

/** Newest modification time of the files under `dir` whose name matches `pattern` (skipping dist and node_modules). */
function newest(dir: string, pattern: RegExp): number {
  let time = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) time = Math.max(time, newest(path, pattern));
    else if (pattern.test(entry.name)) time = Math.max(time, statSync(path).mtimeMs);
  }
  return time;
}

/** The files scripts/bundle.mjs writes, one per entry point. */
export function bundleOutputs(): string[] {
  const tasks = readdirSync(join(repoRoot, 'tasks')).filter((t) => existsSync(join(repoRoot, 'tasks', t, 'task.json')));
  return [...tasks.map((t) => join(repoRoot, 'tasks', t, 'dist', 'index.js')), join(repoRoot, 'dist', 'cli.js')];
}

/** True when every bundle exists and is newer than every source it is built from. */
export function bundlesAreFresh(): boolean {
  const outputs = bundleOutputs();
  if (!outputs.every((f) => existsSync(f))) return false;
  const oldestOutput = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
  const sources = Math.max(
    newest(join(repoRoot, 'tasks'), /\.(ts|json)$/),
    newest(join(repoRoot, 'cli'), /\.ts$/),
    statSync(join(repoRoot, 'scripts', 'bundle.mjs')).mtimeMs,
    statSync(join(repoRoot, 'package-lock.json')).mtimeMs,
  );
  return oldestOutput >= sources;
}

let bundled: Promise<void> | undefined;

/** Bundles unless the bundles are fresh; once per test process (async: servers in this process keep answering). */
export function ensureBundled(): Promise<void> {
  bundled ??= bundlesAreFresh() ? Promise.resolve() : new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'scripts', 'bundle.mjs')], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`bundle failed: ${stderr}`))));
  });
  return bundled;
}
