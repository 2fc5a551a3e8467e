import type { ClosedPullRequest, PullRequestSettings, RepoProvider, TokenKind } from '../pull-requests';
import { credentialAllowedFor, credentialToken, type ServiceCredential } from '../credentials';
import { describeError, GitopsError } from '../errors';
import { displayUrl, type GitAuthor, type GitWorkspace } from '../git';
import type { Logger } from '../logger';

export interface PullRequestFields extends PullRequestSettings {
  title: string;
  description: string;
  /** Azure DevOps collection URL override (Azure DevOps Server, test doubles). */
  azureCollectionUrl?: string;
  /** GitHub REST API root override (GitHub Enterprise, test doubles). */
  githubApiUrl?: string;
}

export interface PullRequestPushOptions {
  /** Checked out at the target branch's tip with the change applied to the work tree, not committed. */
  workspace: GitWorkspace;
  /** The deterministic branch the change is force-pushed to, e.g. `gitops/prod/api`. */
  sourceBranch: string;
  targetBranch: string;
  message: string;
  author: GitAuthor;
  /** URL of the remote (used to find Azure Repos or GitHub); defaults to the workspace's remote. */
  repositoryUrl?: string;
  credential?: ServiceCredential;
  pullRequest: PullRequestFields;
  /** Comment on an open pull request that is closed because the target already has the change. */
  staleComment?: string;
  logger: Logger;
}

export interface PullRequestPushResult {
  /** False when the work tree equals the target tip: then no branch is pushed and no PR opened. */
  changed: boolean;
  commitId?: string;
  pullRequestId?: number;
  pullRequestUrl?: string;
  /** True when this run opened the PR, false when it updated the open one. */
  created?: boolean;
  /** The open PR from the source branch that this run closed because the target already has the change. */
  closedPullRequest?: ClosedPullRequest;
}

/** Where and how the pull request API is called. */
export interface PullRequestApiOptions {
  /** URL of the git remote: decides between Azure Repos and GitHub. */
  repositoryUrl: string;
  credential?: ServiceCredential;
  azureCollectionUrl?: string;
  githubApiUrl?: string;
}

export interface StalePullRequestOptions extends PullRequestApiOptions {
  sourceBranch: string;
  targetBranch: string;
  /** Markdown posted on the pull request as it is closed, saying why. */
  comment: string;
  logger: Logger;
}

/**
 * Commits the work tree on top of the target tip, force-pushes it to the deterministic source
 * branch (rebuilt from the target each run, so it never carries stale changes) and opens the one
 * PR for that branch or updates it. Nothing to commit means no push and no PR (never an empty PR),
 * and an open PR from the branch is then stale, so it is closed (see closeStalePullRequest).
 */
export async function pushPullRequest(options: PullRequestPushOptions): Promise<PullRequestPushResult> {
  const { workspace, sourceBranch, targetBranch, logger } = options;
  if (sourceBranch === targetBranch) {
    throw new GitopsError(`the pull request branch "${sourceBranch}" equals its target branch`, {
      field: 'pullRequestTargetBranch',
      hint: 'choose a different target branch',
    });
  }
  const api: PullRequestApiOptions = {
    repositoryUrl: options.repositoryUrl ?? workspace.remoteUrl,
    credential: options.credential,
    azureCollectionUrl: options.pullRequest.azureCollectionUrl,
    githubApiUrl: options.pullRequest.githubApiUrl,
  };
  const commitId = await workspace.commitAll(options.message, options.author);
  if (!commitId) {
    logger.info(`${targetBranch} already has the change: no pull request`);
    const closedPullRequest = await closeStalePullRequest({
      ...api,
      sourceBranch,
      targetBranch,
      comment: options.staleComment ?? `${targetBranch} already has this change.`,
      logger,
    });
    return { changed: false, closedPullRequest };
  }
  const auth = await pullRequestAuth(api);
  await workspace.push(sourceBranch, { force: true });
  logger.info(`Pushed ${commitId} to ${sourceBranch}`);
  const { createOrUpdatePullRequest } = await import('../pull-requests');
  const pr = await createOrUpdatePullRequest({
    ...auth,
    sourceBranch,
    targetBranch,
    title: options.pullRequest.title,
    description: options.pullRequest.description,
    autoComplete: options.pullRequest.autoComplete,
    mergeStrategy: options.pullRequest.mergeStrategy,
    deleteSourceBranch: options.pullRequest.deleteSourceBranch,
    reviewers: options.pullRequest.reviewers,
    workItemIds: options.pullRequest.workItemIds,
    logger,
  });
  logger.info(`${pr.created ? 'Opened' : 'Updated'} pull request #${pr.id}: ${pr.url}`);
  return { changed: true, commitId, pullRequestId: pr.id, pullRequestUrl: pr.url, created: pr.created };
}

/**
 * Closes the open pull request from the deterministic `sourceBranch` when the target already has
 * what it proposes: a pull request mirrors the latest request, so an older one is stale (and on
 * Azure Repos would still auto-complete). Never fails the run, whose goal (the value on the
 * target) is met: every problem, including rejected credentials, is a warning naming the input.
 */
export async function closeStalePullRequest(options: StalePullRequestOptions): Promise<ClosedPullRequest | undefined> {
  const { logger } = options;
  try {
    const auth = await pullRequestAuth(options);
    const { closePullRequestFromBranch } = await import('../pull-requests');
    const closed = await closePullRequestFromBranch({ ...auth, sourceBranch: options.sourceBranch, targetBranch: options.targetBranch, comment: options.comment, logger });
    if (closed) {
      const branch = closed.branchDeleted ? `; deleted ${options.sourceBranch}` : '';
      logger.info(`Closed the stale pull request #${closed.id} (${options.targetBranch} already has its change${branch}): ${closed.url}`);
    }
    return closed;
  } catch (error) {
    const field = error instanceof GitopsError ? error.field : undefined;
    const input = field === 'token' ? ' (check gitConnection, or the job token System.AccessToken)' : '';
    logger.warn(`Could not close a stale pull request from ${options.sourceBranch}${input}: ${describeError(error)}`);
    return undefined;
  }
}

/** Detects the provider and checks the credential; errors name the input to fix. */
async function pullRequestAuth(options: PullRequestApiOptions): Promise<{ provider: RepoProvider; token: string; tokenKind: TokenKind }> {
  const url = options.repositoryUrl;
  // Loaded on demand: the REST client is most of the bundle, and direct pushes never need it.
  const { detectProvider } = await import('../pull-requests');
  const provider = detectProvider(url, { azureCollectionUrl: options.azureCollectionUrl, githubApiUrl: options.githubApiUrl });
  if (!provider) {
    throw new GitopsError(`cannot open pull requests for ${displayUrl(url)}: it is neither an Azure Repos nor a GitHub repository`, {
      field: 'pullRequestApiUrl',
      hint: 'set pullRequestApiUrl to the Azure DevOps collection URL or the GitHub API URL, or use pushMode direct',
    });
  }
  if (options.credential && !credentialAllowedFor(options.credential, url)) {
    throw new GitopsError(`the job's access token is only sent to its own Azure DevOps organisation, not to ${displayUrl(url)}`, {
      field: 'gitConnection',
      hint: 'set a git service connection (gitConnection) with a token for that host',
    });
  }
  if (!options.credential) {
    throw new GitopsError('pull-request mode needs a token to call the pull request API', {
      field: 'gitConnection',
      hint: 'allow scripts to access the OAuth token (System.AccessToken) or set a git service connection',
    });
  }
  return { provider, token: credentialToken(options.credential), tokenKind: options.credential.kind === 'bearer' ? 'bearer' : 'pat' };
}

/** A branch name git accepts from arbitrary text: `gitops/<segments>` with unsafe characters replaced. */
export function pullRequestBranchName(segments: string[]): string {
  const clean = segments.map((segment) =>
    segment.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/\.{2,}/g, '.').replace(/^[.-]+|[.-]+$/g, '').replace(/\.lock$/i, '-lock') || 'root');
  return ['gitops', ...clean].join('/');
}
