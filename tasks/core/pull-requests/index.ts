export { detectProvider, type RepoProvider, type ProviderOverrides } from './provider';
export { closePullRequestFromBranch, createOrUpdatePullRequest, postOrUpdatePullRequestComment } from './pullRequests';
export type {
  MergeStrategy,
  PullRequestSettings,
  TokenKind,
  PullRequestOptions,
  PullRequestResult,
  PullRequestCommentOptions,
  PullRequestCommentResult,
  ClosePullRequestOptions,
  ClosedPullRequest,
} from './types';
