import { connectPullRequests, type ClosedPullRequest, type PullRequestConnectionOptions, type PullRequestSettings } from '../pull-requests';
import type { ServiceCredential } from '../credentials';
import { describeError, GitopsError } from '../errors';
import type { GitAuthor, GitWorkspace } from '../git';
import type { Logger } from '../logger';

export interface PullRequestFields extends PullRequestSettings {
  title: string;
  description: string;
  /** The pullRequestApiUrl setting: Azure DevOps collection URL or GitHub REST API root (see detectProvider). */
  apiUrl?: string;
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

export interface StalePullRequestOptions extends PullRequestConnectionOptions {
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
  const api: PullRequestConnectionOptions = {
    repositoryUrl: options.repositoryUrl ?? workspace.remoteUrl,
    credential: options.credential,
    apiUrl: options.pullRequest.apiUrl,
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
  const provider = await connectPullRequests(api);
  await workspace.push(sourceBranch, { force: true });
  logger.info(`Pushed ${commitId} to ${sourceBranch}`);
  const pr = await provider.createOrUpdate({
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
    const provider = await connectPullRequests(options);
    const closed = await provider.closeFromBranch({ sourceBranch: options.sourceBranch, targetBranch: options.targetBranch, comment: options.comment, logger });
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
