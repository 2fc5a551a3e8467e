import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { access, copyFile, lstat, mkdir, readdir, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ErrorLocation, GitopsError } from './errors';

/**
 * The one containment rule for files the tasks read or write on behalf of a repository: a path
 * (after following every symlink and `..`) must stay inside its root (the HLD checkout, or the
 * fetched tree of a remote component). Symlinks that stay inside are followed, as Fabrikate did.
 */

/** Whether `path` is `root` or below it (both already resolved). */
export function isWithin(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

const checkoutRoots = new Map<string, Promise<string>>();

/**
 * The checkout an HLD folder belongs to: the nearest folder at or above it holding `.git`, else
 * the folder itself. Paths of the HLD may use anything in that checkout (a chart in `../charts`
 * of the same repository), nothing outside it.
 */
export function checkoutRoot(dir: string): Promise<string> {
  let root = checkoutRoots.get(dir);
  if (!root) {
    root = (async () => {
      const real = await realpath(dir);
      for (let current = real; ; current = dirname(current)) {
        if (await access(join(current, '.git')).then(() => true, () => false)) return current;
        if (dirname(current) === current) return real;
      }
    })();
    checkoutRoots.set(dir, root);
  }
  return root;
}

export interface InsideOptions extends ErrorLocation {
  /** What the path is, for the message: `config file`, `static manifests folder`, ... */
  what: string;
  /** How the root is named in messages: `the HLD repository`, `the files fetched from <url>`. */
  rootLabel?: string;
}

/**
 * The real path of `path`, refused unless it lies inside `root`. A path that does not exist yet
 * (a file about to be written) is resolved through its nearest existing ancestor; a dangling
 * symlink on the way is followed to where a write through it would land, so a committed link to
 * a file that does not exist yet cannot make a write leave the root. Callers write to the path
 * returned, not to `path`.
 */
export async function realPathInside(root: string, path: string, options: InsideOptions): Promise<string> {
  return realPathInsideSync(root, path, options);
}

/** realPathInside for synchronous callers (the same rule). */
export function realPathInsideSync(root: string, path: string, options: InsideOptions): string {
  const realRoot = realpathSync(root);
  const real = resolveExisting(path);
  if (!isWithin(realRoot, real)) {
    const shown = displayRelative(root, path);
    throw new GitopsError(`${options.what} "${shown}" resolves outside ${options.rootLabel ?? 'the repository'} (to ${real}); refused`, {
      file: options.file ?? shown,
      line: options.line,
      field: options.field,
      hint: 'symlinks and ".." in repository paths must stay inside the repository',
    });
  }
  return real;
}

/**
 * Where `folder` (relative to `root`, forward slashes) really is, for a folder that is read or
 * replaced as a whole (an environment folder of the manifest repository): its ancestors may be
 * symlinks that stay inside `root`; the folder itself is never followed (a symlink there is an
 * entry like a file: replaced, not entered).
 */
export function folderInside(root: string, folder: string, options: InsideOptions): string {
  const segments = folder.split('/').filter(Boolean);
  if (segments.length === 0) return realpathSync(root);
  const parent = realPathInsideSync(root, join(root, ...segments.slice(0, -1)), { ...options, file: options.file ?? segments.slice(0, -1).join('/') });
  return join(parent, segments[segments.length - 1]);
}

/** Symlinks followed while resolving one path before it counts as a loop (Linux's limit). */
const MAX_LINK_HOPS = 40;

function resolveExisting(path: string): string {
  const missing: string[] = [];
  let current = resolve(path);
  let hops = 0;
  for (;;) {
    try {
      return join(realpathSync(current), ...missing.reverse());
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') throw new GitopsError(`symlinks loop at ${current}; refused`, { hint: 'symlinks must point at a file or folder' });
      if (code !== 'ENOENT') throw error;
      if (isSymlink(current)) {
        // A dangling link: what matters is where it points (a write would create that file).
        if (++hops > MAX_LINK_HOPS) throw new GitopsError(`symlinks loop at ${current}; refused`, { hint: 'symlinks must point at a file or folder' });
        current = resolve(dirname(current), readlinkSync(current));
        continue;
      }
      const parent = dirname(current);
      if (parent === current) throw error;
      missing.push(basename(current));
      current = parent;
    }
  }
}

/** Whether `path` itself (not what it points at) is a symlink; false when nothing is there. */
export function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function displayRelative(root: string, path: string): string {
  const rel = relative(root, path);
  return rel === '' ? '.' : rel.split(sep).join('/');
}

/**
 * Upper bound on the entries one walk reaches through symlinked folders, so links cannot multiply
 * a tree without end (the tree's own entries are bounded by what was fetched).
 */
const MAX_LINKED_ENTRIES = 20_000;

interface Walk {
  realRoot: string;
  rootLabel: string;
  root: string;
  entries: number;
}

async function beginWalk(root: string, rootLabel: string): Promise<Walk> {
  return { realRoot: await realpath(root), root, rootLabel, entries: 0 };
}

/**
 * Follows a symlink found during a walk: its real target, refused when it leaves the root or
 * loops back into a folder being walked; undefined when it points nowhere.
 */
async function followLink(walk: Walk, link: string, ancestors: readonly string[]): Promise<string | undefined> {
  let real: string;
  try {
    real = await realpath(link);
  } catch {
    return undefined;
  }
  const shown = displayRelative(walk.root, link);
  if (!isWithin(walk.realRoot, real)) {
    throw new GitopsError(`symlink "${shown}" points outside ${walk.rootLabel} (to ${real}); refused`, {
      hint: 'symlinks must stay inside the repository they are committed in',
    });
  }
  if (ancestors.includes(real)) {
    throw new GitopsError(`symlink "${shown}" loops back to a folder that contains it; refused`);
  }
  return real;
}

function countEntry(walk: Walk, viaLink: boolean): void {
  if (viaLink && ++walk.entries > MAX_LINKED_ENTRIES) {
    throw new GitopsError(`more than ${MAX_LINKED_ENTRIES} files and folders reached through symlinked folders under ${walk.rootLabel}; refused`, {
      hint: 'symlinked folders may multiply a tree; keep charts and manifests small',
    });
  }
}

/**
 * Checks that every symlink below `dir` (following symlinked folders) stays inside `root`, so a
 * tool given `dir` (helm reads every file of a chart, `.Files.Get`) cannot read outside files.
 */
export async function assertTreeInside(root: string, dir: string, rootLabel: string): Promise<void> {
  const walk = await beginWalk(root, rootLabel);
  const visit = async (current: string, ancestors: string[], viaLink: boolean): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      countEntry(walk, viaLink);
      const full = join(current, entry.name);
      if (entry.isSymbolicLink()) {
        const real = await followLink(walk, full, ancestors);
        if (real && (await lstat(real)).isDirectory()) await visit(full, [...ancestors, real], true);
      } else if (entry.isDirectory()) {
        await visit(full, [...ancestors, await realpath(full)], viaLink);
      }
    }
  };
  await visit(dir, [await realpath(dir)], false);
}

/**
 * Copies `source` to `destination` as regular files and folders only: symlinks that stay inside
 * `root` are replaced by copies of what they point at, symlinks that leave it (or loop) are
 * refused, dangling ones and special files are left out. What a fetched tree becomes before any
 * tool (helm, hooks, the static reader) sees it.
 */
export async function copyConfined(source: string, destination: string, root: string, rootLabel: string): Promise<void> {
  const walk = await beginWalk(root, rootLabel);
  const copyDir = async (from: string, to: string, ancestors: string[], viaLink: boolean): Promise<void> => {
    await mkdir(to, { recursive: true });
    for (const entry of await readdir(from, { withFileTypes: true })) {
      countEntry(walk, viaLink);
      const full = join(from, entry.name);
      const target = join(to, entry.name);
      if (entry.isSymbolicLink()) {
        const real = await followLink(walk, full, ancestors);
        if (!real) continue;
        const info = await lstat(real);
        if (info.isDirectory()) await copyDir(real, target, [...ancestors, real], true);
        else if (info.isFile()) await copyFile(real, target);
      } else if (entry.isDirectory()) {
        await copyDir(full, target, [...ancestors, await realpath(full)], viaLink);
      } else if (entry.isFile()) {
        await copyFile(full, target);
      }
    }
  };
  await copyDir(source, destination, [await realpath(source)], false);
}
