import { request } from '@octokit/request';
import { describeError, GitopsError } from '../errors';
import { requestFailure } from './failures';
import { markerTag } from './marker';
import type { RepoProvider } from './provider';
import type {
  ClosedPullRequest,
  ClosePullRequestOptions,
  PullRequestCommentOptions,
  PullRequestCommentResult,
  PullRequestOptions,
  PullRequestResult,
} from './types';

type GithubProvider = Extract<RepoProvider, { kind: 'github' }>;

interface GithubPull { number: number; html_url: string; requested_reviewers?: { login: string }[] }
interface GithubComment { id: number; body?: string }
interface GithubListedPull extends GithubPull { head?: { ref?: string; label?: string }; base?: { ref?: string } }

export async function createOrUpdateGithubPullRequest(provider: GithubProvider, options: PullRequestOptions): Promise<PullRequestResult> {
  const { logger } = options;
  const api = client(provider, options.token);
  const head = stripRef(options.sourceBranch);
  const base = stripRef(options.targetBranch);
  if (options.autoComplete) logger.warn('autoComplete is supported on Azure Repos only; on GitHub the pull request must be merged by a person or by branch rules');
  if (options.workItemIds?.length) logger.warn('workItemIds are supported on Azure Repos only; mention the work items in the description instead');

  const query = `state=open&head=${encodeURIComponent(`${provider.owner}:${head}`)}&base=${encodeURIComponent(base)}`;
  const open = await api<GithubPull[]>('list pull requests', 'GET', `${repoPath(provider)}/pulls?${query}`);
  let pull: GithubPull;
  let created: boolean;
  if (open.length > 0) {
    pull = await api<GithubPull>('update the pull request', 'PATCH', `${repoPath(provider)}/pulls/${open[0].number}`, { title: options.title, body: options.description });
    created = false;
    logger.info(`Updated pull request #${pull.number} (${head} → ${base})`);
  } else {
    pull = await api<GithubPull>('create the pull request', 'POST', `${repoPath(provider)}/pulls`, { title: options.title, head, base, body: options.description });
    created = true;
    logger.info(`Created pull request #${pull.number} (${head} → ${base})`);
  }
  const present = new Set((pull.requested_reviewers ?? []).map((r) => r.login.toLowerCase()));
  const reviewers = (options.reviewers ?? []).map((r) => r.trim()).filter((r) => r && !present.has(r.toLowerCase()));
  if (reviewers.length > 0) {
    await api('request reviewers', 'POST', `${repoPath(provider)}/pulls/${pull.number}/requested_reviewers`, { reviewers });
  }
  return { id: pull.number, url: pull.html_url, created };
}

export async function postOrUpdateGithubComment(provider: GithubProvider, options: PullRequestCommentOptions): Promise<PullRequestCommentResult> {
  const api = client(provider, options.token);
  const tag = markerTag(options.marker);
  const body = `${tag}\n${options.markdown}`;
  const issue = `${repoPath(provider)}/issues/${options.pullRequestId}`;
  for (let page = 1; ; page++) {
    const comments = await api<GithubComment[]>('read pull request comments', 'GET', `${issue}/comments?per_page=100&page=${page}`);
    const ours = comments.find((c) => c.body?.includes(tag));
    if (ours) {
      await api('update the pull request comment', 'PATCH', `${repoPath(provider)}/issues/comments/${ours.id}`, { body });
      options.logger.info(`Updated comment ${ours.id} on pull request #${options.pullRequestId}`);
      return { threadId: ours.id, created: false };
    }
    if (comments.length < 100) break;
  }
  const comment = await api<GithubComment>('comment on the pull request', 'POST', `${issue}/comments`, { body });
  options.logger.info(`Created comment ${comment.id} on pull request #${options.pullRequestId}`);
  return { threadId: comment.id, created: true };
}

/**
 * Closes the open pull request from exactly `owner:sourceBranch` into `targetBranch`, says why in a
 * comment, then deletes the source branch. Returns undefined when there is no such pull request.
 */
export async function closeGithubPullRequest(provider: GithubProvider, options: ClosePullRequestOptions): Promise<ClosedPullRequest | undefined> {
  const { logger } = options;
  const api = client(provider, options.token);
  const head = stripRef(options.sourceBranch);
  const base = stripRef(options.targetBranch);
  const label = `${provider.owner}:${head}`;
  const query = `state=open&head=${encodeURIComponent(label)}&base=${encodeURIComponent(base)}`;
  const open = await api<GithubListedPull[]>('list pull requests', 'GET', `${repoPath(provider)}/pulls?${query}`);
  // The server filters; checking again means no other branch's (or fork's) pull request is ever touched.
  const stale = open.find((p) => p.head?.ref === head && p.base?.ref === base && p.head.label?.toLowerCase() === label.toLowerCase());
  if (!stale) {
    logger.info(`No open pull request from ${head} to ${base}`);
    return undefined;
  }
  await api('close the pull request', 'PATCH', `${repoPath(provider)}/pulls/${stale.number}`, { state: 'closed' });
  logger.info(`Closed pull request #${stale.number} (${head} → ${base})`);
  try {
    await api('comment on the pull request', 'POST', `${repoPath(provider)}/issues/${stale.number}/comments`, { body: options.comment });
  } catch (error) {
    logger.warn(`Pull request #${stale.number} was closed without a comment: ${describeError(error)}`);
  }
  let branchDeleted = false;
  try {
    const ref = head.split('/').map(encodeURIComponent).join('/');
    await api(`delete the branch ${head}`, 'DELETE', `${repoPath(provider)}/git/refs/heads/${ref}`);
    branchDeleted = true;
  } catch (error) {
    logger.warn(`Branch ${head} left in place: ${describeError(error)}`);
  }
  return { id: stale.number, url: stale.html_url, branchDeleted };
}

type Api = <T = unknown>(action: string, method: string, path: string, body?: unknown) => Promise<T>;

/**
 * GitHub's REST API through @octokit/request, which uses the global fetch (so the proxy and CA of
 * core/network.ts). A redirect is an error, never followed: the token must not travel to another host.
 */
function client(provider: GithubProvider, token: string): Api {
  const github = request.defaults({
    baseUrl: provider.apiUrl,
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
    },
    request: { redirect: 'error' },
  });
  return async <T>(action: string, method: string, path: string, body?: unknown): Promise<T> => {
    let data: unknown;
    try {
      ({ data } = await github(`${method} ${path}`, body === undefined ? {} : { data: body }));
    } catch (error) {
      const failure = error as { status?: number; response?: { data?: unknown }; message?: string };
      // Without a response the request never got an answer (network, TLS, redirect).
      if (!failure.response) throw requestFailure('GitHub', action, undefined, failure.message ?? String(error), token);
      throw requestFailure('GitHub', action, failure.status, githubMessage(failure.response.data), token);
    }
    if (data === '' || data === undefined) return undefined as T;
    // octokit parses only what is labelled JSON; anything else must still be JSON to be used.
    try {
      if (typeof data === 'string') return JSON.parse(data) as T;
    } catch { /* not JSON */ }
    if (typeof data !== 'object' || data === null || data instanceof ArrayBuffer) {
      throw new GitopsError(`GitHub answered ${method} ${path} with a body that is not JSON`);
    }
    return data as T;
  };
}

/** GitHub's error message and the messages of its `errors` list. */
function githubMessage(data: unknown): string {
  if (typeof data === 'string') return data;
  if (typeof data !== 'object' || data === null) return '';
  const parsed = data as { message?: string; errors?: { message?: string }[] };
  return [parsed.message, ...(Array.isArray(parsed.errors) ? parsed.errors : []).map((e) => e?.message)].filter(Boolean).join('; ');
}

function repoPath(provider: GithubProvider): string {
  return `/repos/${encodeURIComponent(provider.owner)}/${encodeURIComponent(provider.repository)}`;
}

function stripRef(branch: string): string {
  return branch.replace(/^refs\/heads\//, '');
}
