export { detectProvider, type RepoProvider } from './provider';
export { connectPullRequests, pullRequestProvider, type PullRequestConnectionOptions } from './connect';
export type {
  MergeStrategy,
  PullRequestSettings,
  PullRequestAuth,
  PullRequestProvider,
  TokenKind,
  PullRequestOptions,
  PullRequestResult,
  PullRequestCommentOptions,
  PullRequestCommentResult,
  ClosePullRequestOptions,
  ClosedPullRequest,
} from './types';
