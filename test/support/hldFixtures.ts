import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { git, testGitEnv } from './gitServer';
import { tempDir } from './tmp';

/** Writes `files` (relative path -> content) under `root`; returns `root`. */
export function writeTree(root: string, files: Record<string, string>): string {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

/** A bare git repository (file:// URL) holding `files` in one commit on `main`, optionally tagged. */
export async function bareRepo(files: Record<string, string>, tag?: string): Promise<{ url: string; commit: string }> {
  const dir = tempDir('bg-gitcomp-');
  const work = writeTree(join(dir, 'work'), files);
  const env = testGitEnv();
  await git(['init', '-q', '-b', 'main'], { cwd: work, env });
  await git(['add', '.'], { cwd: work, env });
  await git(['commit', '-q', '-m', 'init'], { cwd: work, env });
  if (tag) await git(['tag', tag], { cwd: work, env });
  const commit = await git(['rev-parse', 'HEAD'], { cwd: work, env });
  await git(['clone', '-q', '--bare', work, join(dir, 'repo.git')], { env });
  return { url: `file://${join(dir, 'repo.git')}`, commit };
}
