import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

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

/** sha256 over every file's relative path and bytes, in name order: a chart's content identity. */
export async function hashDirectory(dir: string): Promise<string> {
  const hash = createHash('sha256');
  async function walk(current: string, prefix: string): Promise<void> {
    const entries = (await readdir(current, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
      const full = join(current, entry.name);
      if (entry.isDirectory()) {
        await walk(full, relative);
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        const content = await readFile(full);
        hash.update(`${relative}\0${content.length}\0`);
        hash.update(content);
      }
    }
  }
  await walk(dir, '');
  return hash.digest('hex');
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
