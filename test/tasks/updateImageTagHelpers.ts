/** Shared setup of the UpdateImageTag black-box tests: bundling, HLD repos, bare-repo reads. */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { git } from '../support/gitServer';
import { tempDir } from '../support/tmp';
import { repoRoot } from '../support/tools';

/** Bundles unless `npm test`'s pretest (or an earlier run) already did: see test/support/bundle.ts. */
export { ensureBundled as bundleOnce } from '../support/bundle';

export const componentYaml = 'name: hld\nsubcomponents:\n  - name: api\n    source: ./api\n';

/** A bare repository at file:// with one commit holding `files`. */
export async function createFileRepo(files: Record<string, string>, branch = 'main'): Promise<{ url: string; bare: string }> {
  const bare = join(tempDir('hld-bare-'), 'hld.git');
  await git(['init', '--quiet', '--bare', `--initial-branch=${branch}`, bare]);
  const work = tempDir('hld-seed-');
  await git(['init', '--quiet', `--initial-branch=${branch}`, work]);
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(dirname(join(work, file)), { recursive: true });
    writeFileSync(join(work, file), content);
  }
  await git(['add', '-A'], { cwd: work });
  await git(['commit', '--quiet', '-m', 'Initial content'], { cwd: work });
  await git(['push', '--quiet', bare, `HEAD:refs/heads/${branch}`], { cwd: work });
  return { url: `file://${bare}`, bare };
}

export function showFile(bare: string, ref: string, file: string): Promise<string> {
  return git(['--git-dir', bare, 'show', `${ref}:${file}`]).then((text) => text);
}

/** Exact bytes of a file at a ref (git() trims output, which would hide line-ending changes). */
export async function fileBytes(bare: string, ref: string, file: string): Promise<string> {
  const { gitResult } = await import('../support/gitServer');
  const result = await gitResult(['--git-dir', bare, 'show', `${ref}:${file}`]);
  if (result.code !== 0) throw new Error(result.stderr);
  return result.stdout;
}

export function refsOf(bare: string): Promise<string> {
  return git(['--git-dir', bare, 'for-each-ref', '--format=%(refname) %(objectname)']);
}

export function tipOf(bare: string, branch = 'main'): Promise<string> {
  return git(['--git-dir', bare, 'rev-parse', `refs/heads/${branch}`]);
}

export function messageOf(bare: string, ref: string): Promise<string> {
  return git(['--git-dir', bare, 'log', '-1', '--format=%B', ref]);
}

/** Runs the bundled CLI (dist/cli.js) with only PATH, HOME and `env` in its environment. */
export function runCli(args: string[], env: Record<string, string> = {}, options: { cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'dist', 'cli.js'), ...args], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', GIT_TERMINAL_PROMPT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}
