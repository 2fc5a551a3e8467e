import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(__dirname, '..', '..');
export const sharedDir = resolve(repoRoot, '..', 'shared');

/** The helm binaries extracted by scripts/setup-tools.mjs from the npm registry. */
export const helmBinaries: { major: 3 | 4; path: string }[] = [
  { major: 3 as const, path: join(repoRoot, '.tools', 'helm3', 'helm') },
  { major: 4 as const, path: join(repoRoot, '.tools', 'helm4', 'helm') },
].filter((h) => existsSync(h.path));

if (helmBinaries.length !== 2) {
  throw new Error('helm binaries missing in .tools/: run `npm install` (its postinstall extracts them)');
}

export const helm4 = helmBinaries.find((h) => h.major === 4)!.path;
export const helm3 = helmBinaries.find((h) => h.major === 3)!.path;
