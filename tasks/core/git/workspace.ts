import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GitopsError } from '../errors';
import type { Logger } from '../logger';
import type { GitAuth } from './auth';
import { parseTrailers } from './commitMessage';
import { assertNoCredentialsInUrl, displayUrl, lastLines, remoteUrl, runGit, runGitOrThrow, type RunGitOptions } from './git';
import { classifyPushFailure } from './pushFailure';

export interface GitAuthor {
  name: string;
  email: string;
}

export type PushResult = 'pushed' | 'stale';

export interface WorkspaceOptions {
  auth?: GitAuth;
  logger: Logger;
  /** Added to git's environment (e.g. proxy settings). */
  env?: Record<string, string | undefined>;
  /** Timeout for each network operation (fetch, push); default 10 minutes. */
  networkTimeoutMs?: number;
}

export interface CloneOptions extends WorkspaceOptions {
  url: string;
  /** Must not exist or be empty. */
  dir: string;
  branch: string;
  /** Commits of history to fetch; default 1. 0 means the full history. */
  depth?: number;
  /** When the branch (or the whole repository) is empty, start it as a new orphan branch. */
  createBranchIfMissing?: boolean;
}

const defaultNetworkTimeoutMs = 10 * 60_000;
const missingRemoteRef = /couldn't find remote ref|Remote branch .* not found/i;
const objectId = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/**
 * One local checkout of a remote branch: clone or open, edit, commit, push, recover from
 * stale pushes. Credentials are only ever passed to git per call, in its environment.
 */
export class GitWorkspace {
  /** The remote's URL without any user info, safe to log. */
  readonly remoteUrl: string;

  private constructor(
    readonly dir: string,
    readonly branch: string,
    remoteUrl: string,
    private readonly options: WorkspaceOptions,
    private depth: number,
  ) {
    this.remoteUrl = displayUrl(remoteUrl);
  }

  /**
   * Shallow-clones `branch` of `url` into `dir` with one `git clone` (fewer processes than init +
   * fetch + checkout, which matters when many builds race); an empty or missing branch falls back
   * to a fresh repository when `createBranchIfMissing` allows it.
   */
  static async clone(options: CloneOptions): Promise<GitWorkspace> {
    assertNoCredentialsInUrl(options.url, 'url');
    if (existsSync(options.dir) && readdirSync(options.dir).length > 0) {
      throw new GitopsError(`Cannot clone into ${options.dir}: the folder is not empty`, { hint: 'use an empty or new folder' });
    }
    const depth = options.depth ?? 1;
    const workspace = new GitWorkspace(options.dir, options.branch, options.url, options, depth);
    options.logger.info(`Fetching ${options.branch} from ${workspace.remoteUrl}`);
    const args = ['clone', '--quiet', '--no-tags', '--single-branch', `--branch=${options.branch}`];
    if (depth > 0) args.push(`--depth=${depth}`);
    const url = remoteUrl(options.url, !!options.auth);
    const cloned = await workspace.runRemote([...args, '--', url, options.dir], { cwd: undefined });
    if (cloned.code === 0) return workspace;
    if (!missingRemoteRef.test(cloned.stderr)) {
      throw workspace.remoteError(`Cloning ${options.branch} of ${workspace.remoteUrl}`, classifyPushFailure(cloned.stderr), cloned.stderr);
    }
    if (!options.createBranchIfMissing) {
      throw new GitopsError(`Branch "${options.branch}" does not exist in ${workspace.remoteUrl}`, {
        field: 'branch',
        hint: 'create the branch first, or allow creating a missing branch',
      });
    }
    options.logger.info(`Branch ${options.branch} does not exist in ${workspace.remoteUrl}: starting it`);
    const local = { logger: options.logger, env: options.env };
    await runGitOrThrow(['init', '--quiet', `--initial-branch=${options.branch}`, '--', options.dir], { ...local, what: 'git init' });
    await runGitOrThrow(['remote', 'add', '--', 'origin', url], { ...local, cwd: options.dir, what: 'git remote add' });
    return workspace;
  }

  /**
   * An existing checkout, e.g. from a pipeline `checkout:` step. Without `auth`, git uses whatever
   * the checkout already has (persistCredentials), so no second header is sent. `branch` defaults
   * to the checked-out branch and is required for a detached checkout.
   */
  static async open(dir: string, options: WorkspaceOptions & { branch?: string; depth?: number }): Promise<GitWorkspace> {
    const local = { cwd: dir, logger: options.logger, env: options.env };
    const inside = await runGit(['rev-parse', '--is-inside-work-tree'], local);
    if (inside.code !== 0) {
      throw new GitopsError(`${dir} is not a git checkout`, { hint: 'check out the repository first' });
    }
    const branch = options.branch ?? (await runGit(['symbolic-ref', '--quiet', '--short', 'HEAD'], local)).stdout.trim();
    if (!branch) {
      throw new GitopsError(`The checkout in ${dir} is on a detached HEAD, so the branch to push to is unknown`, {
        field: 'branch',
        hint: 'pipeline checkouts are detached: pass the branch name explicitly',
      });
    }
    const url = (await runGit(['remote', 'get-url', 'origin'], local)).stdout.trim();
    return new GitWorkspace(dir, branch, url, options, options.depth ?? 1);
  }

  /** The checked-out commit, or undefined on a branch without commits yet. */
  async head(): Promise<string | undefined> {
    const fromFiles = this.headFromFiles();
    if (fromFiles) return fromFiles;
    const result = await this.run(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
    return result.code === 0 ? result.stdout.trim() : undefined;
  }

  /**
   * HEAD read straight from `.git` when it is a plain symbolic ref to a loose ref (always the case
   * right after a commit in our own clone); undefined means "ask git" (packed refs, worktrees...).
   */
  private headFromFiles(): string | undefined {
    try {
      const gitDir = join(this.dir, '.git');
      const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
      const ref = /^ref: (refs\/heads\/[^\s]+)$/.exec(head)?.[1];
      if (!ref || ref.split('/').includes('..')) return undefined;
      const id = readFileSync(join(gitDir, ref), 'utf8').trim();
      return objectId.test(id) ? id : undefined;
    } catch {
      return undefined;
    }
  }

  /** Whether the work tree differs from HEAD (including new files). */
  async hasChanges(): Promise<boolean> {
    const status = await this.git(['status', '--porcelain', '--untracked-files=all'], 'git status');
    return status.trim().length > 0;
  }

  /** Stages everything and commits; undefined when there is nothing to commit. */
  async commitAll(message: string, author: GitAuthor): Promise<string | undefined> {
    await this.git(['add', '--all'], 'git add');
    return this.commitStaged(message, author, []);
  }

  /**
   * Commits every change to tracked files plus the given new files (paths relative to the
   * checkout): one git process when no file is new, instead of `git add --all` + commit.
   */
  async commitChanges(message: string, author: GitAuthor, newFiles: readonly string[]): Promise<string | undefined> {
    if (newFiles.length > 0) await this.git(['add', '--', ...newFiles], 'git add');
    return this.commitStaged(message, author, ['--all']);
  }

  private async commitStaged(message: string, author: GitAuthor, flags: string[]): Promise<string | undefined> {
    const identity = {
      GIT_AUTHOR_NAME: author.name,
      GIT_AUTHOR_EMAIL: author.email,
      GIT_COMMITTER_NAME: author.name,
      GIT_COMMITTER_EMAIL: author.email,
    };
    const result = await runGit(['-c', 'commit.gpgsign=false', 'commit', '--quiet', '--no-verify', ...flags, '--file=-'], {
      ...this.localOptions(),
      env: { ...this.options.env, ...identity },
      input: message,
    });
    // git says so on stdout, also on a branch without commits; one process less than asking first.
    if (result.code !== 0 && /nothing to commit/.test(result.stdout)) return undefined;
    if (result.code !== 0) throw new GitopsError(`git commit failed: ${lastLines(result.stderr)}`);
    return (await this.head())!;
  }

  /**
   * Pushes HEAD to `branch`. 'stale' means someone else moved the branch first (fetch and retry);
   * authentication failures, rejections by the server and network errors throw.
   */
  async push(branch: string, options: { force?: boolean } = {}): Promise<PushResult> {
    const args = ['push', '--porcelain', '--', 'origin', `${options.force ? '+' : ''}HEAD:refs/heads/${branch}`];
    const result = await this.runRemote(args);
    if (result.code === 0) return 'pushed';
    const output = `${result.stdout}\n${result.stderr}`;
    const failure = classifyPushFailure(output);
    if (failure === 'stale') return 'stale';
    throw this.remoteError(`Pushing to ${branch} in ${this.remoteUrl}`, failure, output);
  }

  /**
   * Fetches `branch` and makes the work tree exactly its tip. `clean: false` skips removing
   * untracked files, for callers that know they left none (everything they wrote was committed).
   */
  async fetchAndReset(branch: string, options: { clean?: boolean } = {}): Promise<void> {
    const fetched = await this.fetchBranch(branch, this.depth);
    if (!fetched) throw new GitopsError(`Branch "${branch}" does not exist in ${this.remoteUrl}`, { field: 'branch' });
    await this.git(['reset', '--quiet', '--hard', this.trackingRef(branch), '--'], 'git reset');
    if (options.clean ?? true) await this.git(['clean', '--quiet', '-ffd'], 'git clean');
  }

  /**
   * Fetches more history of a shallow clone until `commit` is present.
   * Returns false when the full history does not contain it.
   */
  async deepenUntil(commit: string): Promise<boolean> {
    for (let deepen = 16; ; deepen *= 4) {
      if (await this.hasCommit(commit)) return true;
      if (!(await this.isShallow())) return false;
      await this.deepen(deepen);
    }
  }

  /** Whether `ancestor` is in the history of `descendant`, fetching more of a shallow clone as needed. */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    for (let deepen = 16; ; deepen *= 4) {
      if ((await this.hasCommit(ancestor)) && (await this.hasCommit(descendant))) {
        const result = await this.run(['merge-base', '--is-ancestor', '--end-of-options', ancestor, descendant]);
        if (result.code === 0) return true;
        if (result.code !== 1) throw new GitopsError(`git merge-base failed: ${lastLines(result.stderr)}`);
      }
      // In a shallow clone "no" may only mean the path is cut off at the shallow boundary.
      if (!(await this.isShallow())) return false;
      await this.deepen(deepen);
    }
  }

  /**
   * The trailers of the newest commits of the checked-out branch, newest first, following first
   * parents, at most `limit` of them; a shallow clone is deepened as far as needed (and no further).
   * `complete` is true when the branch has no older commits than those returned.
   */
  async recentTrailers(limit: number): Promise<{ commits: { commit: string; trailers: Record<string, string> }[]; complete: boolean }> {
    const head = await this.head();
    if (!head) return { commits: [], complete: true };
    const count = async () => Number((await this.git(['rev-list', '--count', '--first-parent', `--max-count=${limit}`, head, '--'], 'git rev-list')).trim());
    let have = await count();
    while (have < limit && (await this.isShallow())) {
      await this.deepen(limit - have);
      const now = await count();
      if (now === have) break;
      have = now;
    }
    const log = await this.git(['log', '--first-parent', `--max-count=${limit}`, '--format=%H%x00%B%x00', head, '--'], 'git log');
    const parts = log.split('\0');
    const commits: { commit: string; trailers: Record<string, string> }[] = [];
    for (let i = 0; i + 1 < parts.length; i += 2) commits.push({ commit: parts[i].trim(), trailers: parseTrailers(parts[i + 1]) });
    return { commits, complete: commits.length < limit && !(await this.isShallow()) };
  }

  /** The `Key: value` trailers of a commit's message. */
  async readTrailers(commit: string): Promise<Record<string, string>> {
    const message = await this.git(['log', '-1', '--format=%B', '--end-of-options', commit, '--'], 'git log');
    return parseTrailers(message);
  }

  /**
   * Removes anything that could hold a credential: http.*.extraheader entries in this checkout's
   * config (we never write them, a pipeline checkout may have) when `removeDirectory` is false,
   * or the whole checkout when it is true.
   */
  async cleanup(options: { removeDirectory?: boolean } = {}): Promise<void> {
    if (options.removeDirectory) {
      rmSync(this.dir, { recursive: true, force: true });
      return;
    }
    const headers = await this.run(['config', '--local', '--name-only', '--get-regexp', '^http\\..*extraheader$']);
    for (const name of new Set(headers.stdout.split('\n').map((l) => l.trim()).filter(Boolean))) {
      await this.run(['config', '--local', '--unset-all', name]);
    }
  }

  private async fetchBranch(branch: string, depth: number): Promise<boolean> {
    const args = ['fetch', '--quiet', '--no-tags', '--prune'];
    if (depth > 0) args.push(`--depth=${depth}`);
    args.push('--', 'origin', `+refs/heads/${branch}:${this.trackingRef(branch)}`);
    const result = await this.runRemote(args);
    if (result.code === 0) return true;
    if (missingRemoteRef.test(result.stderr)) return false;
    throw this.remoteError(`Fetching ${branch} from ${this.remoteUrl}`, classifyPushFailure(result.stderr), result.stderr);
  }

  private async deepen(commits: number): Promise<void> {
    const args = ['fetch', '--quiet', '--no-tags', `--deepen=${commits}`, '--', 'origin', `+refs/heads/${this.branch}:${this.trackingRef(this.branch)}`];
    const result = await this.runRemote(args);
    if (result.code !== 0) {
      throw this.remoteError(`Fetching more history from ${this.remoteUrl}`, classifyPushFailure(result.stderr), result.stderr);
    }
  }

  private async isShallow(): Promise<boolean> {
    return (await this.git(['rev-parse', '--is-shallow-repository'], 'git rev-parse')).trim() === 'true';
  }

  private async hasCommit(commit: string): Promise<boolean> {
    return (await this.run(['cat-file', '-e', '--end-of-options', `${commit}^{commit}`])).code === 0;
  }

  private trackingRef(branch: string): string {
    return `refs/remotes/origin/${branch}`;
  }

  private remoteError(action: string, failure: string, output: string): GitopsError {
    const details = lastLines(output);
    switch (failure) {
      case 'auth':
        return new GitopsError(`${action} failed: authentication or permission denied (${details})`, {
          hint: 'check the token; the build identity needs Contribute (and Create branch) permission on the repository (TF401027)',
        });
      case 'rejected':
        return new GitopsError(`${action} was rejected by the server (hook or branch policy): ${details}`, {
          hint: 'the change was refused on purpose; read the server message above, retrying will not help',
        });
      case 'network':
        return new GitopsError(`${action} failed: could not reach the server (${details})`, {
          hint: 'check the URL and the network; running the step again is safe',
        });
      default:
        return new GitopsError(`${action} failed: ${details}`);
    }
  }

  private localOptions(): RunGitOptions {
    return { cwd: this.dir, logger: this.options.logger, env: this.options.env, secrets: this.options.auth?.secrets };
  }

  private run(args: string[]) {
    return runGit(args, this.localOptions());
  }

  private runRemote(args: string[], overrides: Partial<RunGitOptions> = {}) {
    return runGit(args, {
      ...this.localOptions(),
      ...overrides,
      auth: this.options.auth,
      timeoutMs: this.options.networkTimeoutMs ?? defaultNetworkTimeoutMs,
    });
  }

  private git(args: string[], what: string): Promise<string> {
    return runGitOrThrow(args, { ...this.localOptions(), what });
  }
}
