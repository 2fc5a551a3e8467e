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
