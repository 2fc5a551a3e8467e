import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { GitopsError } from '../errors';
import { assertNoCredentialsInUrl, displayUrl, lastLines, remoteUrl, runGit, runGitOrThrow, type GitAuth } from '../git';
import type { Logger } from '../logger';

/** Where the HLD comes from: a checkout on disk, or a repository to clone (classic releases). */
export type HldLocation = { dir: string } | { url: string; branch: string };

/** The HLD as this run sees it: its folder and, when it is a git checkout, the commit it is at. */
export interface HldSource {
  dir: string;
  /** Full commit id; undefined when the folder is not a git checkout. */
  commit?: string;
  /** First line of the commit message. */
  subject?: string;
  /** Remote URL without user info; undefined when unknown. */
  repositoryUrl?: string;
  /** Auth to send when fetching more history; undefined when the checkout carries its own or none is needed. */
  auth?: GitAuth;
  /** The checkout has uncommitted changes (or new files): the render is not exactly `commit`. */
  dirty?: boolean;
}

export interface HldSourceOptions {
  location: HldLocation;
  /** Where to clone to (url locations); must not exist or be empty. */
  cloneDir: string;
  /** Auth for a remote URL (undefined for local remotes). */
  authFor: (url: string) => GitAuth | undefined;
  logger: Logger;
}

const networkTimeoutMs = 10 * 60_000;

/** Opens the HLD checkout, or clones `branch` (a branch, tag or commit id) of the HLD repository shallowly. */
export async function openHldSource(options: HldSourceOptions): Promise<HldSource> {
  const { location, logger } = options;
  if ('url' in location) {
    assertNoCredentialsInUrl(location.url, 'hldRepositoryUrl');
    const dir = options.cloneDir;
    await mkdir(dir, { recursive: true });
    const local = { cwd: dir, logger };
    await runGitOrThrow(['init', '--quiet'], { ...local, what: 'git init' });
    const auth = options.authFor(location.url);
    await runGitOrThrow(['remote', 'add', '--', 'origin', remoteUrl(location.url, !!auth)], { ...local, what: 'git remote add' });
    logger.info(`Fetching ${location.branch} of the HLD repository ${displayUrl(location.url)}`);
    const fetched = await runGit(['fetch', '--quiet', '--no-tags', '--depth=1', '--', 'origin', location.branch], { ...local, auth, timeoutMs: networkTimeoutMs });
    if (fetched.code !== 0) {
      throw new GitopsError(`could not fetch "${location.branch}" of the HLD repository ${displayUrl(location.url)}: ${lastLines(fetched.stderr)}`, {
        field: 'hldRepositoryUrl',
        hint: 'check hldRepositoryUrl and hldBranch, and that the token may read the repository',
      });
    }
    await runGitOrThrow(['-c', 'advice.detachedHead=false', 'checkout', '--quiet', 'FETCH_HEAD'], { ...local, what: 'git checkout' });
    return { dir, ...(await commitInfo(dir, logger)), repositoryUrl: displayUrl(location.url), auth };
  }
  if (!existsSync(location.dir)) {
    throw new GitopsError(`HLD folder ${location.dir} does not exist`, { field: 'hldPath', hint: 'check out the HLD repository, or set hldRepositoryUrl' });
  }
  const inside = await runGit(['rev-parse', '--is-inside-work-tree'], { cwd: location.dir, logger });
  if (inside.code !== 0 || inside.stdout.trim() !== 'true') {
    logger.warn(`${location.dir} is not a git checkout: the commit is not recorded and superseded runs are not detected`);
    return { dir: location.dir };
  }
  const origin = await runGit(['remote', 'get-url', 'origin'], { cwd: location.dir, logger });
  const originUrl = origin.code === 0 ? origin.stdout.trim() : '';
  const repositoryUrl = originUrl ? displayUrl(originUrl) : undefined;
  // A pipeline checkout with persistCredentials already sends its own header; a second one would conflict.
  const persisted = await runGit(['config', '--get-regexp', '^http\\..*extraheader$'], { cwd: location.dir, logger });
  const auth = persisted.code === 0 && persisted.stdout.trim() ? undefined : originUrl ? options.authFor(originUrl) : undefined;
  const info = await commitInfo(location.dir, logger);
  const dirty = info.commit !== undefined && await hasUncommittedChanges(location.dir, logger);
  if (dirty) {
    logger.warn(`${location.dir} has uncommitted changes: the render is not exactly commit ${info.commit}; the manifest commit records Gitops-Hld-Dirty: true`);
  }
  return { dir: location.dir, ...info, repositoryUrl, auth, ...(dirty ? { dirty } : {}) };
}

/** Changed, staged or new (not ignored) files in the checkout. */
async function hasUncommittedChanges(dir: string, logger: Logger): Promise<boolean> {
  const status = await runGit(['status', '--porcelain', '--untracked-files=normal'], { cwd: dir, logger });
  return status.code === 0 && status.stdout.trim() !== '';
}

async function commitInfo(dir: string, logger: Logger): Promise<{ commit?: string; subject?: string }> {
  const result = await runGit(['log', '-1', '--format=%H%n%s'], { cwd: dir, logger });
  if (result.code !== 0) return {};
  const [commit, subject] = result.stdout.split('\n');
  return { commit: commit.trim() || undefined, subject: subject?.trim() || undefined };
}
