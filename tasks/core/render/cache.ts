import { createHash, randomBytes } from 'node:crypto';
import { Dirent, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** sha256 (hex) of a normalized identity: keys sorted, so field order never changes the key. */
export function cacheKey(identity: Record<string, string>): string {
  const normalized = Object.keys(identity)
    .sort()
    .map((k) => [k, identity[k]]);
  return createHash('sha256').update(JSON.stringify(normalized)).digest('hex');
}

/**
 * A content-addressed store of fetched sources (`<root>/<kind>/<key>/`) and rendered outputs
 * (`<root>/renders/<key>.yaml`). Entries are written to a temporary name and renamed into place,
 * so a crashed run never leaves a half-filled entry that a later run would trust. Within one run,
 * concurrent requests for the same key share one fill.
 */
export class ContentCache {
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(readonly root: string) {}

  entryPath(kind: string, key: string): string {
    return join(this.root, kind, key);
  }

  /** The entry's folder, produced by `fill(tempDir)` the first time it is asked for. */
  directory(kind: string, key: string, fill: (tempDir: string) => Promise<void>): Promise<string> {
    const id = `${kind}/${key}`;
    const existing = this.inFlight.get(id);
    if (existing) return existing;
    const pending = this.fillOnce(kind, key, fill);
    this.inFlight.set(id, pending);
    pending.catch(() => this.inFlight.delete(id));
    return pending;
  }

  async readRender(key: string): Promise<string | undefined> {
    try {
      return await readFile(join(this.root, 'renders', `${key}.yaml`), 'utf8');
    } catch {
      return undefined;
    }
  }

  async writeRender(key: string, content: string): Promise<void> {
    const dir = join(this.root, 'renders');
    await mkdir(dir, { recursive: true });
    const temp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
    await writeFile(temp, content);
    await rename(temp, join(dir, `${key}.yaml`));
  }

  private async fillOnce(kind: string, key: string, fill: (tempDir: string) => Promise<void>): Promise<string> {
    const target = this.entryPath(kind, key);
    if (await exists(target)) return target;
    await mkdir(join(this.root, kind), { recursive: true });
    const temp = join(this.root, kind, `.tmp-${key.slice(0, 16)}-${randomBytes(6).toString('hex')}`);
    await mkdir(temp);
    try {
      await fill(temp);
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      // Another process may have filled the same entry meanwhile: theirs is as good as ours.
      if (await exists(target)) return target;
      throw error;
    }
    return target;
  }
}

/**
 * sha256 over every file's relative path and bytes, in name order: a chart's content identity.
 * With `memoDir` (a persistent cache), the hash is kept with the files' stat fingerprint (path,
 * size, mtime, ctime, inode): a later run whose chart files all stat the same takes the hash
 * without reading them. Synchronous: a chart is a few dozen small files, for which one thread
 * pool round trip per open/stat/read/close cost more than the reads.
 */
export function hashDirectory(dir: string, memoDir?: string): string {
  const files: { relative: string; full: string }[] = [];
  const stamp = createHash('sha256');
  const byName = (a: Dirent, b: Dirent) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const walk = (current: string, prefix: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true }).sort(byName)) {
      const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
      const full = join(current, entry.name);
      if (entry.isDirectory()) {
        walk(full, relative);
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        files.push({ relative, full });
        if (memoDir) {
          const info = statSync(full, { bigint: true });
          stamp.update(`${relative}\0${info.size}\0${info.mtimeNs}\0${info.ctimeNs}\0${info.ino}\0`);
        }
      }
    }
  };
  walk(dir, '');
  const memo = memoDir ? join(memoDir, 'chart-hashes', createHash('sha256').update(dir).digest('hex')) : undefined;
  const fingerprint = memo ? stamp.digest('hex') : '';
  if (memo) {
    const [seen, hash] = (() => {
      try {
        return readFileSync(memo, 'utf8').split(' ');
      } catch {
        return [];
      }
    })();
    if (seen === fingerprint && /^[0-9a-f]{64}$/.test(hash ?? '')) return hash;
  }
  const hash = createHash('sha256');
  for (const file of files) {
    const content = readFileSync(file.full);
    hash.update(`${file.relative}\0${content.length}\0`);
    hash.update(content);
  }
  const digest = hash.digest('hex');
  if (memo) {
    try {
      mkdirSync(dirname(memo), { recursive: true });
      const temp = `${memo}.${randomBytes(6).toString('hex')}`;
      writeFileSync(temp, `${fingerprint} ${digest}`);
      renameSync(temp, memo);
    } catch {
      // A read-only cache: the next run hashes the files again.
    }
  }
  return digest;
}

/**
 * True when a folder tree holds no symlink (checked from the entries' types, without following
 * anything). Such a tree cannot lead out of its folder, so the folder's own real path tells where
 * all of it is.
 */
export function treeHasSymlinks(dir: string): boolean {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isSymbolicLink()) return true;
    if (entry.isDirectory() && treeHasSymlinks(join(dir, entry.name))) return true;
  }
  return false;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
