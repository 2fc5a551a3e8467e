import { runGit } from '../git';
import type { Logger } from '../logger';
import type { HldSource } from './hldSource';

const networkTimeoutMs = 10 * 60_000;
/** History depths tried in turn; the last one is git's "everything". */
const depths = [16, 256, 4096, 2147483647];

/**
 * True when `recordedCommit` (the HLD commit behind the manifest tip) is a strict descendant of
 * the HLD commit of this run: publishing would overwrite newer manifests with older ones.
 * Fetches the recorded commit with growing history until the answer is certain. A commit the
 * HLD remote no longer has (force-push) cannot be newer in any useful sense: false.
 */
export async function isSupersededBy(hld: HldSource, recordedCommit: string, logger: Logger): Promise<boolean> {
  const ours = hld.commit;
  if (!ours || recordedCommit === ours || !/^[0-9a-f]{40,64}$/i.test(recordedCommit)) return false;
  const local = { cwd: hld.dir, logger };
  const fetch = async (depthArgs: string[]): Promise<boolean> => {
    const fetched = await runGit(['fetch', '--quiet', '--no-tags', ...depthArgs, '--', 'origin', recordedCommit], { ...local, auth: hld.auth, timeoutMs: networkTimeoutMs });
    if (fetched.code !== 0) logger.warn(`could not fetch HLD commit ${recordedCommit} recorded in the manifest repository; treating it as unrelated`);
    return fetched.code === 0;
  };
  const isAncestor = async () => (await runGit(['merge-base', '--is-ancestor', '--end-of-options', ours, recordedCommit], local)).code === 0;
  const shallow = (await runGit(['rev-parse', '--is-shallow-repository'], local)).stdout.trim() === 'true';
  if (!shallow) {
    // A full checkout stays full: fetch the commit with all of its history, never a depth.
    const present = (await runGit(['cat-file', '-e', '--end-of-options', `${recordedCommit}^{commit}`], local)).code === 0;
    if (!present && !(await fetch([]))) return false;
    return isAncestor();
  }
  for (const depth of depths) {
    if (!(await fetch([`--depth=${depth}`]))) return false;
    if (await isAncestor()) return true;
    // Fewer commits than asked for means the whole history is here: "not an ancestor" is final.
    const count = await runGit(['rev-list', '--count', '--end-of-options', recordedCommit], local);
    if (count.code === 0 && Number(count.stdout.trim()) < depth) return false;
  }
  return false;
}

/** Manifest commits looked at, newest first, to find the render each environment folder holds. */
const historyLimits = [1, 16, 128];

export interface FolderPublication {
  /** Manifest repository folder, e.g. `prod` or `clusters/prod`. */
  folder: string;
  /** Environment set name (the folder's last segment), for commits older than the folders trailer. */
  setName: string;
}

export interface RecordedRenders {
  /** Trailers of the manifest commits, newest first. */
  commits: { commit: string; trailers: Record<string, string> }[];
  /** No older commits exist than those given. */
  complete: boolean;
}

/** The folders a manifest commit says it published: its Gitops-Environment-Folders trailer, else (older commits) its environment set names. */
export function publishedBy(trailers: Record<string, string>, target: FolderPublication): boolean {
  const list = (value: string | undefined) => (value ?? '').split(',').map((item) => item.trim()).filter(Boolean);
  const folders = trailers['Gitops-Environment-Folders'];
  if (folders !== undefined) return list(folders).includes(target.folder);
  return list(trailers['Gitops-Environments']).includes(target.setName);
}

/**
 * For each folder of this run: the HLD commit whose render the folder holds now, i.e. that of the
 * newest manifest commit that published it. Looks back through at most the last 128 manifest
 * commits (fetching more history only while some folder is still unknown). A folder last
 * published from another HLD repository, or not found, has no entry.
 */
export async function recordedRenderPerFolder(
  read: (limit: number) => Promise<RecordedRenders>,
  targets: readonly FolderPublication[],
  sameHld: (trailers: Record<string, string>) => boolean,
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const settled = new Set<string>();
  for (const limit of historyLimits) {
    const { commits, complete } = await read(limit);
    for (const { trailers } of commits) {
      const recorded = trailers['Gitops-Hld-Commit'];
      if (!recorded) continue;
      for (const target of targets) {
        if (settled.has(target.folder) || !publishedBy(trailers, target)) continue;
        settled.add(target.folder);
        if (sameHld(trailers)) found.set(target.folder, recorded);
      }
    }
    if (settled.size === targets.length || complete) break;
  }
  return found;
}
