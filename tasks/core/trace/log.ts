/**
 * Reads a repository's commit history with its trailers, and nothing else: a bare repository,
 * a fetch of one branch limited by count or time and without trees or blobs when the server
 * supports partial clone (`--filter=tree:0`), then one `git log`. The repos are the record.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceCredential } from '../credentials';
import { GitopsError } from '../errors';
import { assertNoCredentialsInUrl, displayUrl, gitAuthFor, lastLines, runGit } from '../git';
import type { Logger } from '../logger';

export interface CommitRecord {
  sha: string;
  parents: string[];
  /** Committer time, ISO 8601. */
  time: string;
  author: string;
  authorEmail: string;
  subject: string;
  /** Trailers of the message (a key given twice keeps its last value). */
  trailers: Record<string, string>;
}

export interface HistoryBounds {
  /** Most commits read (newest first); default 10,000. */
  maxCommits?: number;
  /** Only commits after this date (`2026-01-01`, `2 weeks ago`: anything git's --since takes). */
  since?: string;
}

export interface ReadHistoryOptions extends HistoryBounds {
  url: string;
  branch: string;
  credential?: ServiceCredential;
  /** Names the setting in errors (e.g. --hld-repo). */
  field: string;
  /** Scratch folder (a subfolder is created and removed). */
  workDir: string;
  logger: Logger;
}

export const DEFAULT_MAX_COMMITS = 10_000;
const FIELD = '\x1f';
const RECORD = '\x1e';
const FORMAT = ['%H', '%P', '%cI', '%an', '%ae', '%s', '%(trailers:only=true,unfold=true)'].join('%x1f') + '%x1e';
const sinceGrammar = /^[A-Za-z0-9 :.,+-]{1,64}$/;

/** Fetches `branch` of `url` (commits only) and returns its history, newest first in topological order. */
export async function readHistory(options: ReadHistoryOptions): Promise<CommitRecord[]> {
  const { logger, field } = options;
  assertNoCredentialsInUrl(options.url, field);
  // The URL goes to git as an argument: only git URLs, never anything git could read as an option.
  if (/[\s\x00-\x1f]/.test(options.url) || (!/^(https?|file|ssh|git):\/\//i.test(options.url) && !/^[^@/\s-][^@/\s]*@[^:/\s]+:/.test(options.url))) {
    throw new GitopsError(`${field} ${JSON.stringify(options.url)} is not a git URL`, { field, hint: 'use https://..., file:///... or an ssh URL' });
  }
  const max = options.maxCommits ?? DEFAULT_MAX_COMMITS;
  if (!Number.isInteger(max) || max < 1) throw new GitopsError(`the commit limit must be a whole number above 0, not ${max}`, { field: 'max-commits' });
  if (options.since !== undefined && !sinceGrammar.test(options.since)) {
    throw new GitopsError(`since ${JSON.stringify(options.since)} is not a date`, { field: 'since', hint: 'e.g. 2026-01-31 or "30 days ago"' });
  }
  if (!/^[A-Za-z0-9._/-]+$/.test(options.branch) || options.branch.startsWith('-') || options.branch.includes('..')) {
    throw new GitopsError(`branch ${JSON.stringify(options.branch)} is not a branch name`, { field: `${field}-branch` });
  }
  const auth = gitAuthFor(options.credential, options.url);
  const dir = mkdtempSync(join(options.workDir, 'history-'));
  try {
    const local = { cwd: dir, logger, auth };
    const must = async (args: string[], what: string) => {
      const result = await runGit(args, local);
      if (result.code !== 0) throw new GitopsError(`${what} failed: ${lastLines(result.stderr)}`, { field });
      return result.stdout;
    };
    await must(['init', '--quiet', '--bare', dir], 'git init');
    // Partial-clone settings let a server that supports filters send commits only; others ignore it.
    await must(['remote', 'add', 'origin', options.url], 'git remote add');
    const bound = options.since ? [`--shallow-since=${options.since}`] : [`--depth=${max}`];
    const fetched = await runGit(['-c', 'fetch.writeCommitGraph=false', 'fetch', '--quiet', '--no-tags', '--filter=tree:0', ...bound,
      'origin', `+refs/heads/${options.branch}:refs/gitops/history`], { ...local, timeoutMs: 10 * 60_000 });
    if (fetched.code !== 0) {
      const missing = /couldn't find remote ref|Remote branch .* not found/i.test(fetched.stderr);
      const nothingSince = /no commits selected for shallow requests/i.test(fetched.stderr);
      if (nothingSince) return [];
      throw new GitopsError(missing ? `${displayUrl(options.url)} has no branch ${options.branch}`
        : `reading the history of ${displayUrl(options.url)} failed: ${lastLines(fetched.stderr)}`, {
        field,
        hint: missing ? 'check the branch name' : 'check the URL and that GITOPS_GIT_TOKEN can read the repository',
      });
    }
    const args = ['log', '--topo-order', `--max-count=${max}`, `--format=${FORMAT}`, ...(options.since ? [`--since=${options.since}`] : []), 'refs/gitops/history'];
    const log = await runGit(args, { cwd: dir, logger });
    if (log.code !== 0) throw new GitopsError(`git log failed: ${lastLines(log.stderr)}`, { field });
    const commits = parseLog(log.stdout);
    logger.debug(`read ${commits.length} commits of ${displayUrl(options.url)} ${options.branch}`);
    return commits;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Parses the output of `git log --format=FORMAT`. */
export function parseLog(text: string): CommitRecord[] {
  const commits: CommitRecord[] = [];
  for (const raw of text.split(RECORD)) {
    const record = raw.replace(/^\n+/, '');
    if (!record.trim()) continue;
    const [sha, parents, time, author, authorEmail, subject, trailerText = ''] = record.split(FIELD);
    const trailers: Record<string, string> = {};
    for (const line of trailerText.split('\n')) {
      const match = /^([A-Za-z0-9][A-Za-z0-9-]*):\s*(.*)$/.exec(line);
      if (match) trailers[match[1]] = match[2].trim();
    }
    commits.push({ sha, parents: parents ? parents.split(' ') : [], time, author, authorEmail, subject, trailers });
  }
  return commits;
}
