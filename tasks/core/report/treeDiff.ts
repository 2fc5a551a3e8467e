import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { folderInside } from '../paths';
import { join, posix } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { readYamlTextSync } from '../yaml/parse';
import { parseResources, type ParsedResource, type ResourceIdentity } from './resources';
import { redactSecretsForDiff } from './secrets';

export type ChangeKind = 'added' | 'changed' | 'removed';

export interface FileChange {
  /** Repository-relative, forward slashes, e.g. `prod/frontend/deployment.yaml`. */
  path: string;
  change: ChangeKind;
  /** Unified diff (`--- a/… +++ b/…`), or undefined when the diff was too large to compute. */
  diff?: string;
  /** True when the file is not parsed as Kubernetes YAML (binary-like, invalid YAML, other data). */
  opaque: boolean;
  /**
   * A changed file whose documents are the same objects in the same order: only the text changed
   * (e.g. Fabrikate's `---\n---` framing and blank lines, on the first publish after migrating).
   */
  formattingOnly?: boolean;
}

export interface ResourceChange extends ResourceIdentity {
  /** `kind/namespace/name`, or `kind/name` when cluster-scoped. */
  id: string;
  change: ChangeKind;
  /** File that holds the resource now (or held it, when removed). */
  file: string;
}

export interface EnvironmentDiff {
  /** The environment folder, relative to the manifest repository root. */
  folder: string;
  files: FileChange[];
  resources: ResourceChange[];
  unchangedFiles: number;
}

export interface TreeDiff {
  environments: EnvironmentDiff[];
  /** True when any environment has a file change. */
  changed: boolean;
}

export interface NewFile { path: string; content: string }

/** Lines a single file diff may differ by before we give up computing it (keeps big renders fast). */
const maxEditLength = 20_000;

/**
 * Compares the manifest repository's current environment folders (under `oldRoot`; undefined for a
 * repository that has none yet) with the freshly rendered files of those folders.
 */
export function diffTrees(oldRoot: string | undefined, newFiles: readonly NewFile[], folders: readonly string[]): TreeDiff {
  const environments = folders.map((folder) => {
    const prefix = `${trimSlashes(folder)}/`;
    const before = oldRoot ? readFolder(oldRoot, trimSlashes(folder)) : new Map<string, string>();
    const after = new Map(newFiles.filter((f) => normalise(f.path).startsWith(prefix)).map((f) => [normalise(f.path), f.content]));
    return diffFolder(trimSlashes(folder), before, after);
  });
  return { environments, changed: environments.some((e) => e.files.length > 0) };
}

function diffFolder(folder: string, before: Map<string, string>, after: Map<string, string>): EnvironmentDiff {
  const paths = [...new Set([...before.keys(), ...after.keys()])].sort();
  const files: FileChange[] = [];
  let unchangedFiles = 0;
  const oldResources = new Map<string, ParsedResource & { file: string }>();
  const newResources = new Map<string, ParsedResource & { file: string }>();

  for (const path of paths) {
    const oldText = before.get(path);
    const newText = after.get(path);
    // An unchanged file holds the same resources on both sides: only changed files are parsed
    // (a resource that moved between files shows up in two changed files).
    if (oldText === newText) {
      unchangedFiles++;
      continue;
    }
    const oldParsed = oldText === undefined ? undefined : parseResources(path, oldText, `${path} (in the manifest repository)`);
    const newParsed = newText === undefined ? undefined : parseResources(path, newText, `${path} (rendered)`);
    for (const r of oldParsed ?? []) oldResources.set(r.id, { ...r, file: path });
    for (const r of newParsed ?? []) newResources.set(r.id, { ...r, file: path });
    const change: ChangeKind = oldText === undefined ? 'added' : newText === undefined ? 'removed' : 'changed';
    const opaque = (oldText !== undefined && !oldParsed) || (newText !== undefined && !newParsed);
    const formattingOnly = change === 'changed' && !opaque && sameDocuments(oldParsed!, newParsed!);
    files.push({ path, change, opaque, diff: unifiedDiff(path, oldText, newText), ...(formattingOnly ? { formattingOnly } : {}) });
  }

  const resources: ResourceChange[] = [];
  const ids = [...new Set([...oldResources.keys(), ...newResources.keys()])].sort();
  for (const id of ids) {
    const oldResource = oldResources.get(id);
    const newResource = newResources.get(id);
    if (oldResource && newResource && oldResource.fingerprint === newResource.fingerprint) continue;
    const change: ChangeKind = !oldResource ? 'added' : !newResource ? 'removed' : 'changed';
    const { fingerprint: _fingerprint, ...identity } = (newResource ?? oldResource)!;
    resources.push({ ...identity, change });
  }
  return { folder, files, resources, unchangedFiles };
}

function sameDocuments(before: readonly ParsedResource[], after: readonly ParsedResource[]): boolean {
  return before.length === after.length && before.every((resource, index) => resource.fingerprint === after[index].fingerprint);
}

/** The diff shown to people: Secret values are redacted on both sides (see secrets.ts). */
function unifiedDiff(path: string, oldSource: string | undefined, newSource: string | undefined): string | undefined {
  const { oldText, newText } = redactSecretsForDiff(path, oldSource, newSource);
  const patch = createTwoFilesPatch(
    oldText === undefined ? '/dev/null' : `a/${path}`,
    newText === undefined ? '/dev/null' : `b/${path}`,
    oldText ?? '',
    newText ?? '',
    undefined,
    undefined,
    { context: 3, maxEditLength },
  );
  // jsdiff starts with a "=====" separator line that is not part of the unified format.
  return patch?.replace(/^=+\n/, '');
}

/**
 * The files of one environment folder of the manifest repository, as a commit would see them:
 * symlinks are entries, never followed (a symlinked environment folder is replaced by the sync,
 * so it holds no files here); symlinks in manifestPath must stay inside the repository.
 */
function readFolder(root: string, folder: string): Map<string, string> {
  const files = new Map<string, string>();
  const start = folderInside(root, folder, { what: 'manifest folder', rootLabel: 'the manifest repository', field: 'manifestPath' });
  if (!lstatSync(start, { throwIfNoEntry: false })?.isDirectory()) return files;
  const walk = (dir: string, relative: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const child = posix.join(relative, entry.name);
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== '.git') walk(path, child);
      } else if (entry.isFile()) {
        // YAML is read strictly (size, UTF-8); other files are compared as text.
        files.set(child, /\.(ya?ml|json)$/i.test(entry.name) ? readYamlTextSync(path, `${child} (in the manifest repository)`) : readFileSync(path, 'utf8'));
      }
    }
  };
  walk(start, folder);
  return files;
}

function normalise(path: string): string {
  return path.replace(/\\/g, '/').replace(/^\.\//, '');
}

function trimSlashes(folder: string): string {
  return normalise(folder).replace(/^\/+|\/+$/g, '');
}
