import { backoffDelay, sleep } from '../backoff';
import { GitopsError } from '../errors';
import type { Logger } from '../logger';
import type { GitAuthor, GitWorkspace } from './workspace';

export { classifyPushFailure, type PushFailure } from './pushFailure';

/**
 * What an edit did: whether anything changed, which files (relative to the checkout) it created
 * (unknown: the commit adds everything), and what the caller wants back from the applied attempt.
 */
export interface AppliedEdit<T = undefined> {
  changed: boolean;
  newFiles?: string[];
  result?: T;
}

export interface PushWithRetryOptions<T = undefined> {
  workspace: GitWorkspace;
  branch: string;
  /**
   * The edit, as a function of the checked-out tree in `dir`. It runs again on the new remote tip
   * after every stale push, so it must read the files fresh each time. Returns whether it changed
   * anything; returning the new files it created as well lets the commit skip `git add --all`,
   * and its `result` comes back in PushWithRetryResult (from the attempt that counted).
   */
  apply: (dir: string, attempt: number) => Promise<boolean | AppliedEdit<T>>;
  /** The commit message, or a function of the attempt and the edit's result (written after apply). */
  message: string | ((attempt: number, result: T | undefined) => string);
  author: GitAuthor;
  /** Default 10. */
  maxAttempts?: number;
  /**
   * Smallest backoff base; the base used is the larger of this and the duration of the last
   * attempt (the window in which other writers collide with us). Doubles per attempt. Default 100 ms.
   */
  baseDelayMs?: number;
  /** Cap on one backoff delay. Default 30 000 ms (a slow server makes the collision window long). */
  maxDelayMs?: number;
  /**
   * How many collision windows the first backoff spreads the writers over (then doubling per
   * attempt). Wider spreading loses fewer races (each costs a fetch, commit and push on both
   * sides) for a little more waiting. Default 6: measured with 16 writers on one branch, about
   * half the lost races of 1 (bench/update-image-tag.bench.ts).
   */
  spread?: number;
  /** Source of jitter in [0, 1); default Math.random. */
  random?: () => number;
  logger: Logger;
}

export interface PushWithRetryResult<T = undefined> {
  /** False when the edit changed nothing: then nothing was committed or pushed. */
  changed: boolean;
  /** The pushed commit. */
  commit?: string;
  /** How many times the edit was applied (1 = no conflict). */
  attempts: number;
  /** The `result` of the last applied edit: the one pushed, or the one that changed nothing. */
  result?: T;
}



/**
 * Applies an edit, commits and pushes; when another writer pushed first, fetches their tip,
 * re-applies the edit on it and tries again (linear history, no merges). Authentication
 * failures and server rejections throw at once; stale pushes are retried up to maxAttempts.
 */
export async function pushWithRetry<T = undefined>(options: PushWithRetryOptions<T>): Promise<PushWithRetryResult<T>> {
  const { workspace, branch, logger } = options;
  const maxAttempts = options.maxAttempts ?? 10;
  const baseDelayMs = options.baseDelayMs ?? 100;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const random = options.random ?? Math.random;
  const spread = options.spread ?? 6;
  let delay = 0;
  for (let attempt = 1; ; attempt++) {
    await sleep(delay);
    const attemptStarted = Date.now();
    // Everything the last attempt wrote is in its commit, so resetting leaves no stray files.
    if (attempt > 1) await workspace.fetchAndReset(branch, { clean: false });
    const edit = await options.apply(workspace.dir, attempt);
    const { changed, newFiles, result }: AppliedEdit<T> = typeof edit === 'boolean' ? { changed: edit } : edit;
    const message = typeof options.message === 'function' ? options.message(attempt, result) : options.message;
    const commit = !changed ? undefined
      : newFiles ? await workspace.commitChanges(message, options.author, newFiles)
      : await workspace.commitAll(message, options.author);
    if (!commit) {
      logger.info(`No changes to push to ${branch}`);
      return withResult({ changed: false, attempts: attempt }, result);
    }
    if ((await workspace.push(branch)) === 'pushed') {
      logger.info(`Pushed ${commit} to ${branch} of ${workspace.remoteUrl} (attempt ${attempt})`);
      return withResult({ changed: true, commit, attempts: attempt }, result);
    }
    if (attempt >= maxAttempts) {
      throw new GitopsError(`Gave up pushing to ${branch} of ${workspace.remoteUrl}: the branch moved under us ${attempt} times`, {
        hint: 'too many concurrent writers; run the step again or raise the attempt limit',
      });
    }
    // The time from fetch to push is the window in which others collide with us: back off in its units.
    const collisionWindow = Date.now() - attemptStarted;
    // Full jitter spreads colliding writers apart best (fewest total attempts under contention).
    delay = backoffDelay(attempt, { baseMs: Math.max(baseDelayMs, collisionWindow * spread), maxMs: maxDelayMs, jitter: 'full', random });
    logger.info(`${branch} moved while pushing (attempt ${attempt}); re-applying the change on the new tip in ${delay} ms`);
  }
}

function withResult<T>(outcome: PushWithRetryResult<T>, result: T | undefined): PushWithRetryResult<T> {
  return result === undefined ? outcome : { ...outcome, result };
}
