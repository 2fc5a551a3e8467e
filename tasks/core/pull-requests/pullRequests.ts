import { closeAzurePullRequest, createOrUpdateAzurePullRequest, postOrUpdateAzureComment } from './azureRepos';
import { closeGithubPullRequest, createOrUpdateGithubPullRequest, postOrUpdateGithubComment } from './github';
import type {
  ClosedPullRequest,
  ClosePullRequestOptions,
  PullRequestCommentOptions,
  PullRequestCommentResult,
  PullRequestOptions,
  PullRequestResult,
} from './types';

/**
 * Keeps one active pull request per source → target branch: updates its title and description
 * when it exists, creates it otherwise. The caller guarantees the source branch differs from the target.
 */
export function createOrUpdatePullRequest(options: PullRequestOptions): Promise<PullRequestResult> {
  return options.provider.kind === 'azure'
    ? createOrUpdateAzurePullRequest(options.provider, options)
    : createOrUpdateGithubPullRequest(options.provider, options);
}

/** Posts a Markdown comment, or rewrites our earlier one (found by its marker) so a PR carries one report. */
export function postOrUpdatePullRequestComment(options: PullRequestCommentOptions): Promise<PullRequestCommentResult> {
  return options.provider.kind === 'azure'
    ? postOrUpdateAzureComment(options.provider, options)
    : postOrUpdateGithubComment(options.provider, options);
}

/**
 * Closes the open pull request from `sourceBranch` into `targetBranch` with a comment saying why
 * (abandoned on Azure Repos) and deletes its source branch; undefined when none is open. Only that
 * exact branch pair is touched. A failure to comment or to delete the branch is a warning.
 */
export function closePullRequestFromBranch(options: ClosePullRequestOptions): Promise<ClosedPullRequest | undefined> {
  return options.provider.kind === 'azure'
    ? closeAzurePullRequest(options.provider, options)
    : closeGithubPullRequest(options.provider, options);
}
