export { detectProvider, type RepoProvider, type ProviderOverrides } from './provider';
export { createOrUpdatePullRequest, postOrUpdatePullRequestComment } from './pullRequests';
export type {
  MergeStrategy,
  PullRequestSettings,
  TokenKind,
  PullRequestOptions,
  PullRequestResult,
  PullRequestCommentOptions,
  PullRequestCommentResult,
} from './types';
