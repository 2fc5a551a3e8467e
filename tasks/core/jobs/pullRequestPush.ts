import type { PullRequestSettings } from '../azure-devops';
import { credentialAllowedFor, credentialToken, type ServiceCredential } from '../credentials';
import { GitopsError } from '../errors';
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
}

/**
 * Commits the work tree on top of the target tip, force-pushes it to the deterministic source
 * branch (rebuilt from the target each run, so it never carries stale changes) and opens the one
 * PR for that branch or updates it. Nothing to commit means no push and no PR: never an empty PR.
 */
export async function pushPullRequest(options: PullRequestPushOptions): Promise<PullRequestPushResult> {
  const { workspace, sourceBranch, targetBranch, logger } = options;
  if (sourceBranch === targetBranch) {
    throw new GitopsError(`the pull request branch "${sourceBranch}" equals its target branch`, {
      field: 'pullRequestTargetBranch',
      hint: 'choose a different target branch',
    });
  }
  const url = options.repositoryUrl ?? workspace.remoteUrl;
  // Loaded on demand: the REST client is most of the bundle, and direct pushes never need it.
  const { createOrUpdatePullRequest, detectProvider } = await import('../azure-devops');
  const provider = detectProvider(url, {
    azureCollectionUrl: options.pullRequest.azureCollectionUrl,
    githubApiUrl: options.pullRequest.githubApiUrl,
  });
  if (!provider) {
    throw new GitopsError(`cannot open pull requests for ${workspace.remoteUrl}: it is neither an Azure Repos nor a GitHub repository`, {
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
  const commitId = await workspace.commitAll(options.message, options.author);
  if (!commitId) {
    logger.info(`${targetBranch} already has the change: no pull request`);
    return { changed: false };
  }
  await workspace.push(sourceBranch, { force: true });
  logger.info(`Pushed ${commitId} to ${sourceBranch}`);
  const pr = await createOrUpdatePullRequest({
    provider,
    token: credentialToken(options.credential),
    tokenKind: options.credential.kind === 'bearer' ? 'bearer' : 'pat',
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

/** A branch name git accepts from arbitrary text: `gitops/<segments>` with unsafe characters replaced. */
export function pullRequestBranchName(segments: string[]): string {
  const clean = segments.map((segment) =>
    segment.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/\.{2,}/g, '.').replace(/^[.-]+|[.-]+$/g, '').replace(/\.lock$/i, '-lock') || 'root');
  return ['gitops', ...clean].join('/');
}
