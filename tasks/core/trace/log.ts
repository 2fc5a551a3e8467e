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

/** The fetched repository, while `readHistoryWith`'s callback runs. */
export interface HistoryRepository {
  /** The commits read that changed any of `paths` (repository-relative): needs `trees: true`. */
  commitsChanging(paths: readonly string[]): Promise<Set<string>>;
  /** The text of `path` at `commit` (its blob is fetched on demand), undefined when absent. */
  fileAt(commit: string, path: string): Promise<string | undefined>;
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
  /** Fetch the trees too (not the blobs), for `HistoryRepository.commitsChanging`. */
  trees?: boolean;
}

export const DEFAULT_MAX_COMMITS = 10_000;
/**
 * Fields end with NUL, which no commit text printed by git can hold (git refuses NUL in messages),
 * so a subject cannot fake a field or record boundary; `parseLog` still checks every record.
 */
const FIELDS = ['%H', '%P', '%cI', '%an', '%ae', '%s', '%(trailers:only=true,unfold=true)'];
const FORMAT = FIELDS.map((f) => `${f}%x00`).join('');
const objectId = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const isoTime = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d)$/;
// C0 and C1 controls (escape sequences, bell, carriage return), DEL, and bidirectional overrides.
const controls = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;
const sinceGrammar = /^[A-Za-z0-9 :.,+-]{1,64}$/;

/** Fetches `branch` of `url` (commits only) and returns its history, newest first in topological order. */
export function readHistory(options: ReadHistoryOptions): Promise<CommitRecord[]> {
  return readHistoryWith(options, async (commits) => commits);
}

/**
 * Fetches `branch` of `url` and calls `use` with its history (newest first, topological order) and
 * the fetched repository, which is removed when `use` settles.
 */
export async function readHistoryWith<T>(options: ReadHistoryOptions, use: (commits: CommitRecord[], repository: HistoryRepository) => Promise<T>): Promise<T> {
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
    const filter = options.trees ? '--filter=blob:none' : '--filter=tree:0';
    const fetched = await runGit(['-c', 'fetch.writeCommitGraph=false', 'fetch', '--quiet', '--no-tags', filter, ...bound,
      'origin', `+refs/heads/${options.branch}:refs/gitops/history`], { ...local, timeoutMs: 10 * 60_000 });
    if (fetched.code !== 0) {
      const missing = /couldn't find remote ref|Remote branch .* not found/i.test(fetched.stderr);
      const nothingSince = /no commits selected for shallow requests/i.test(fetched.stderr);
      if (nothingSince) return await use([], { commitsChanging: async () => new Set(), fileAt: async () => undefined });
      throw new GitopsError(missing ? `${displayUrl(options.url)} has no branch ${options.branch}`
        : `reading the history of ${displayUrl(options.url)} failed: ${lastLines(fetched.stderr)}`, {
        field,
        hint: missing ? 'check the branch name' : 'check the URL and that GITOPS_GIT_TOKEN can read the repository',
      });
    }
    const range = ['--topo-order', `--max-count=${max}`, ...(options.since ? [`--since=${options.since}`] : []), 'refs/gitops/history'];
    const log = await runGit(['log', '-z', `--format=${FORMAT}`, ...range], { cwd: dir, logger });
    if (log.code !== 0) throw new GitopsError(`git log failed: ${lastLines(log.stderr)}`, { field });
    const count = await must(['rev-list', '--count', ...range], 'git rev-list');
    const commits = parseLog(log.stdout, Number(count.trim()));
    logger.debug(`read ${commits.length} commits of ${displayUrl(options.url)} ${options.branch}`);
    const read = new Set(commits.map((c) => c.sha));
    return await use(commits, {
      async commitsChanging(paths) {
        const files = paths.map((path) => `:(literal)${path}`);
        const changed = await must(['log', '--format=%H', ...range, '--', ...files], 'git log');
        return new Set(changed.split('\n').map((line) => line.trim()).filter((sha) => read.has(sha)));
      },
      async fileAt(commit, path) {
        if (!read.has(commit)) return undefined;
        const blob = await runGit(['cat-file', 'blob', `${commit}:${path}`], { ...local, timeoutMs: 10 * 60_000 });
        return blob.code === 0 ? blob.stdout : undefined;
      },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Text as it may be shown: control characters (terminal escape sequences) become U+FFFD. */
export function printable(text: string): string {
  return text.replace(controls, '\ufffd');
}

/**
 * Parses the output of `git log -z --format=FORMAT`: every record must have its fields, a commit id
 * and parent ids in git's format and an ISO time, and there must be `expected` records (when given):
 * anything else is an error, never a record made up from a commit's text.
 */
export function parseLog(text: string, expected?: number): CommitRecord[] {
  const commits: CommitRecord[] = [];
  const fields = text.split('\x00');
  // -z ends each record with one more NUL: FIELDS.length fields, then an empty one between records.
  let i = 0;
  while (i < fields.length) {
    if (i > 0) {
      if (fields[i] !== '') throw malformed(`a record does not end where it should (${JSON.stringify(printable(fields[i]).slice(0, 40))})`);
      i++;
      if (i === fields.length) break;
    }
    if (fields.length - i === 1 && fields[i].trim() === '') break;
    if (fields.length - i < FIELDS.length) throw malformed('a record is cut short');
    const [rawSha, parents, time, author, authorEmail, subject, trailerText] = fields.slice(i, i + FIELDS.length);
    i += FIELDS.length;
    const sha = rawSha.replace(/^\n+/, '');
    const parentList = parents ? parents.split(' ') : [];
    if (!objectId.test(sha) || !parentList.every((p) => objectId.test(p)) || !isoTime.test(time)) {
      throw malformed(`a record has no valid commit id, parents or time (${JSON.stringify(printable(sha).slice(0, 70))})`);
    }
    const trailers: Record<string, string> = {};
    for (const line of trailerText.split('\n')) {
      const match = /^([A-Za-z0-9][A-Za-z0-9-]*):\s*(.*)$/.exec(line);
      if (match) trailers[match[1]] = printable(match[2].trim());
    }
    commits.push({ sha, parents: parentList, time, author: printable(author), authorEmail: printable(authorEmail), subject: printable(subject), trailers });
  }
  if (expected !== undefined && commits.length !== expected) throw malformed(`git log gave ${commits.length} records for ${expected} commits`);
  return commits;
}

function malformed(what: string): GitopsError {
  return new GitopsError(`the commit history could not be read safely: ${what}`, { hint: 'a commit holds text git log cannot separate; report the commit to the repository owners' });
}
