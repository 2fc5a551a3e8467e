import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { folderInside } from '../paths';
import { GitopsError } from '../errors';
import { environmentSetName } from '../hld/model';
import { assertPlainName, assertRelativePath } from '../names';
import type { RenderedEnvironmentSet } from '../render';
import type { NewFile } from '../report';

/**
 * The `environments` input: one set per line or comma-separated entry; inside an entry,
 * space-separated names layered with the first taking precedence (`prod-east prod`).
 */
export function parseEnvironmentSets(entries: readonly string[]): string[][] {
  const sets = entries
    .flatMap((entry) => entry.split(/[\r\n,]+/))
    .map((entry) => entry.trim().split(/\s+/).filter(Boolean))
    .filter((set) => set.length > 0);
  if (sets.length === 0) {
    throw new GitopsError('no environment to render', { field: 'environments', hint: 'list at least one environment, e.g. prod' });
  }
  for (const set of sets) set.forEach((name) => assertPlainName(name, 'environment', { field: 'environments' }));
  const folders = sets.map(environmentSetName);
  const duplicate = folders.find((folder, index) => folders.indexOf(folder) !== index);
  if (duplicate) {
    throw new GitopsError(`environment set "${duplicate}" is listed twice`, { field: 'environments', hint: 'list each environment set once' });
  }
  return sets;
}

/** `manifestPath` as a clean relative path ('' = repository root). */
export function normaliseManifestPath(manifestPath: string | undefined): string {
  return assertRelativePath(manifestPath ?? '', 'manifestPath', { field: 'manifestPath' });
}

/** Repository-relative folder of an environment set under manifestPath. */
export function environmentFolder(manifestPath: string, set: RenderedEnvironmentSet): string {
  return manifestPath ? posix.join(manifestPath, set.name) : set.name;
}

/** The rendered files as repository-relative paths, as the manifest repository would hold them. */
export function repositoryFiles(manifestPath: string, sets: readonly RenderedEnvironmentSet[]): NewFile[] {
  return sets.flatMap((set) => set.files.map((file) => ({ path: posix.join(environmentFolder(manifestPath, set), file.path), content: file.content })));
}

/**
 * Makes each rendered environment folder under `repoDir/manifestPath` exactly the rendered tree:
 * files of removed components disappear; folders of other environments and anything outside
 * manifestPath stay untouched.
 */
export async function syncEnvironmentFolders(repoDir: string, manifestPath: string, sets: readonly RenderedEnvironmentSet[]): Promise<void> {
  for (const set of sets) {
    // Committed symlinks on the way (manifestPath's folders) must stay inside the clone; a symlink
    // at the environment folder itself is removed like a file, never entered.
    const root = folderInside(repoDir, environmentFolder(manifestPath, set), { what: 'manifest folder', rootLabel: 'the manifest repository', field: 'manifestPath' });
    await rm(root, { recursive: true, force: true });
    await mkdir(root, { recursive: true });
    for (const file of set.files) {
      const target = join(root, ...file.path.split('/'));
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, file.content);
    }
  }
}
