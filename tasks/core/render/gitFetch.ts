import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { GitopsError } from '../errors';
import type { RunResult } from '../exec';
import { basicAuth } from '../git/auth';
import { displayUrl, remoteUrl, runGit } from '../git/git';
import { silentLogger } from '../logger';
import { isSecureOrLoopback, urlAmbiguity } from '../net';

export interface GitFetchOptions {
  /** Base environment for git (PATH, proxies). */
  env: NodeJS.ProcessEnv;
  /** Token for this source; sent as an http header, never in the URL, argv or .git/config. */
  token?: string;
  /** Overall deadline of the whole operation, every git call and fallback included; default 5 minutes. */
  deadlineMs?: number;
  /**
   * Accept a source that is a path or `file://` URL on this machine (default false: refused, so an
   * HLD cannot make the agent read another pipeline's checkout). Tests and local experiments opt in.
   */
  allowLocal?: boolean;
}

/** The variable whose value `1` or `true` makes the task and the CLI accept local git sources. */
export const ALLOW_LOCAL_GIT_SOURCES_VARIABLE = 'BEDROCK_GITOPS_ALLOW_LOCAL_GIT_SOURCES';

/** For the task and CLI edges: whether `env` opts in to local git sources. Core reads no environment itself. */
export function allowLocalGitSourcesFrom(env: Record<string, string | undefined>): boolean {
  return /^(1|true|yes)$/i.test((env[ALLOW_LOCAL_GIT_SOURCES_VARIABLE] ?? '').trim());
}

/** A URL git fetches over the network: http(s)://, ssh://, git://, or scp-like `[user@]host:path`. */
export function isNetworkGitUrl(url: string): boolean {
  const value = url.trim();
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value)) return /^(?:https?|ssh|git|git\+ssh|ssh\+git):\/\//i.test(value);
  // scp-like: no slash before the first colon, and not git's `<transport>::<address>`.
  return /^(?:[^@/:\s]+@)?[^/:\s]+:(?!:)/.test(value) && !/^[A-Za-z]:[\\/]/.test(value);
}

/**
 * A token is sent only where it cannot be read on the way: never over plain http to another
 * machine, nor to a URL git could read as another host than this check does (urlAmbiguity).
 * Judged on WHATWG URL's parse, which is the URL git is given (remoteUrl).
 */
export function tokenMayTravelTo(source: string): boolean {
  if (urlAmbiguity(source)) return false;
  let url: URL;
  try {
    url = new URL(source.trim());
  } catch {
    return true; // scp-like `host:path` (ssh): no token is attached
  }
  return url.protocol !== 'http:' || isSecureOrLoopback(url);
}

/**
 * Refuses a source on this machine (path, `file://`, any other transport) unless allowed, and a
 * token over plain http to another machine (it would cross the network unencrypted).
 */
function assertFetchable(sourceUrl: string, options: GitFetchOptions): void {
  const network = isNetworkGitUrl(sourceUrl);
  if (!options.allowLocal && !network) {
    throw new GitopsError(`git source ${displayUrl(sourceUrl)} is not a network URL: a path or file:// URL would read a repository from the agent's own disk`, {
      field: 'source',
      hint: `use an https:// (or ssh://) URL; to render from local repositories on purpose (tests, experiments), set the environment variable ${ALLOW_LOCAL_GIT_SOURCES_VARIABLE}=1`,
    });
  }
  const ambiguity = network ? urlAmbiguity(sourceUrl) : undefined;
  if (ambiguity) {
    throw new GitopsError(`git source ${displayUrl(sourceUrl)} contains ${ambiguity}: git and this tool could read a different host in it`, {
      field: 'source', hint: 'write the source plainly: https://host/path, forward slashes only, at most one user name before @',
    });
  }
  // Decided on the very string git is given.
  if (options.token && !tokenMayTravelTo(remoteUrl(sourceUrl, true))) {
    throw new GitopsError(`refusing to send the access.yaml token for ${displayUrl(sourceUrl)} over plain http to another machine`, {
      field: 'source', hint: 'use the https:// URL of the source (plain http is accepted only for 127.0.0.1/localhost)',
    });
  }
}

const defaultDeadlineMs = 5 * 60_000;

/** One network operation against one server: the URL and when it must be done. */
interface Operation {
  url: string;
  deadlineMs: number;
  endsAt: number;
}

function begin(url: string, options: GitFetchOptions): Operation {
  const deadlineMs = options.deadlineMs ?? defaultDeadlineMs;
  return { url, deadlineMs, endsAt: Date.now() + deadlineMs };
}

function serverOf(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'file:' ? displayUrl(url) : `${parsed.protocol}//${parsed.host}`;
  } catch {
    return displayUrl(url);
  }
}

export const FULL_COMMIT = /^[0-9a-f]{40}$/i;

/**
 * Runs git for `operation`, killed when its deadline passes. With a token, redirects are not
 * followed: git would send the auth header to whatever host the server names.
 */
async function git(args: string[], options: GitFetchOptions & { cwd?: string }, operation?: Operation, what = args[0]): Promise<RunResult> {
  // Azure Repos, GitHub and most servers take a PAT as the password of basic auth.
  const auth = options.token ? basicAuth('', options.token) : undefined;
  const redirects = operation && auth ? ['-c', 'http.followRedirects=false'] : [];
  // A server that stops sending makes git's remote helper give up by itself, not only be abandoned.
  const lowSpeed = operation ? ['-c', 'http.lowSpeedLimit=1', '-c', `http.lowSpeedTime=${Math.max(1, Math.min(60, Math.round(operation.deadlineMs / 1000)))}`] : [];
  const remaining = operation ? operation.endsAt - Date.now() : undefined;
  if (operation && remaining! <= 0) throw stalled(what, operation);
  const result = await runGit([...redirects, ...lowSpeed, ...args], { cwd: options.cwd, env: options.env, auth, logger: silentLogger, timeoutMs: remaining });
  if (operation && result.code !== 0 && Date.now() >= operation.endsAt) throw stalled(what, operation);
  return result;
}

function stalled(what: string, operation: Operation): GitopsError {
  const seconds = Math.round(operation.deadlineMs / 1000);
  return new GitopsError(`git ${what} of ${displayUrl(operation.url)} did not finish within ${seconds} s: ${serverOf(operation.url)} stalled`, {
    hint: 'check that the git server answers, or raise the network timeout',
  });
}

/**
 * Runs `operation` with an empty, private working folder of its own. `git clone other:repo` first
 * looks for a path `other:repo` relative to its working folder, and only then reads the source as
 * scp-like ssh: run in the HLD checkout (the CLI's and the agent's working folder), a symlink
 * committed under that name would clone any repository of the machine. In an empty folder no
 * relative path names anything (the first segment of an scp-like source always holds its `:`).
 */
async function inEmptyFolder<T>(operation: (cwd: string) => Promise<T>): Promise<T> {
  const cwd = await mkdtemp(join(tmpdir(), 'bedrock-gitops-git-'));
  try {
    return await operation(cwd);
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
}

/**
 * An accepted local source (allowLocal) written as a relative path, made absolute against this
 * process's working folder, where git used to resolve it before git ran in an empty folder.
 */
function localSourceResolved(sourceUrl: string, options: GitFetchOptions): string {
  const value = sourceUrl.trim();
  if (!options.allowLocal || isNetworkGitUrl(value) || /^[A-Za-z][A-Za-z0-9+.-]*:/.test(value) || isAbsolute(value)) return sourceUrl;
  return resolve(value);
}

function failure(what: string, url: string, result: RunResult, hint: string): GitopsError {
  const detail = result.stderr.trim().split('\n').slice(-2).join(' ');
  return new GitopsError(`git ${what} of ${displayUrl(url)} failed: ${detail}`, { hint });
}

/** The commit a branch (or the default branch when `branch` is empty) points at on the remote. */
export async function resolveBranchTip(sourceUrl: string, branch: string, options: GitFetchOptions): Promise<string> {
  assertFetchable(sourceUrl, options);
  sourceUrl = localSourceResolved(sourceUrl, options);
  const url = remoteUrl(sourceUrl, !!options.token);
  const ref = branch ? `refs/heads/${branch}` : 'HEAD';
  const operation = begin(url, options);
  const result = await inEmptyFolder((cwd) => git(['ls-remote', '--', url, ref], { ...options, cwd }, operation, 'ls-remote'));
  if (result.code !== 0) throw failure('ls-remote', url, result, 'check the source URL and its access token in access.yaml');
  const line = result.stdout.split('\n').find((l) => l.endsWith(`\t${ref}`));
  if (!line) {
    throw new GitopsError(`branch "${branch || 'HEAD'}" does not exist in ${displayUrl(url)}`, {
      hint: 'check the component\'s branch field',
    });
  }
  return line.split('\t')[0];
}

/**
 * Puts the files of `url` at `ref` into `dir` (no .git left behind) and returns the commit.
 * `ref` is a branch, a tag or a commit; shallow where the server allows it.
 */
export async function checkoutFiles(dir: string, sourceUrl: string, ref: string, options: GitFetchOptions): Promise<string> {
  assertFetchable(sourceUrl, options);
  sourceUrl = localSourceResolved(sourceUrl, options);
  const url = remoteUrl(sourceUrl, !!options.token);
  return inEmptyFolder((cwd) => checkoutFilesFrom(resolve(dir), url, ref, { ...options, cwd }));
}

/**
 * checkoutFiles once the source is accepted. `options.cwd` is an empty folder: the network
 * operations run there (see inEmptyFolder); the others run in `dir`.
 */
async function checkoutFilesFrom(dir: string, url: string, ref: string, options: GitFetchOptions & { cwd: string }): Promise<string> {
  const hint = 'check the component\'s source, branch and version fields, and its access token in access.yaml';
  const operation = begin(url, options);
  let ok = false;
  if (FULL_COMMIT.test(ref)) {
    const init = await git(['init', '-q', '--', dir], options);
    if (init.code !== 0) throw failure('init', url, init, hint);
    // In the new, empty repository: nothing there a URL could name as a path.
    const fetched = await git(['fetch', '-q', '--depth', '1', '--', url, ref], { ...options, cwd: dir }, operation, 'fetch');
    if (fetched.code === 0) {
      const checkout = await git(['checkout', '-q', 'FETCH_HEAD', '--'], { ...options, cwd: dir });
      ok = checkout.code === 0;
    }
    if (!ok) await rm(dir, { recursive: true, force: true });
  } else if (ref) {
    const cloned = await git(['clone', '-q', '--depth', '1', `--branch=${ref}`, '--', url, dir], options, operation, 'clone');
    ok = cloned.code === 0;
    if (!ok) await rm(dir, { recursive: true, force: true });
  } else {
    const cloned = await git(['clone', '-q', '--depth', '1', '--', url, dir], options, operation, 'clone');
    if (cloned.code !== 0) throw failure('clone', url, cloned, hint);
    ok = true;
  }
  if (!ok) {
    // Short commit ids and servers that refuse fetching by id need the full history.
    const cloned = await git(['clone', '-q', '--no-checkout', '--', url, dir], options, operation, 'clone');
    if (cloned.code !== 0) throw failure('clone', url, cloned, hint);
    const checkout = await git(['checkout', '-q', ref, '--'], { ...options, cwd: dir });
    if (checkout.code !== 0) throw failure(`checkout of "${ref}"`, url, checkout, hint);
  }
  const head = await git(['rev-parse', 'HEAD'], { ...options, cwd: dir });
  if (head.code !== 0) throw failure('rev-parse', url, head, hint);
  await rm(join(dir, '.git'), { recursive: true, force: true });
  return head.stdout.trim();
}
