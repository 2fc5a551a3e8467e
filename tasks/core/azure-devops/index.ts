export { detectProvider, type RepoProvider, type ProviderOverrides } from './provider';
export { createOrUpdatePullRequest, postOrUpdatePullRequestComment } from './pullRequests';
export type {
  MergeStrategy,
  TokenKind,
  PullRequestOptions,
  PullRequestResult,
  PullRequestCommentOptions,
  PullRequestCommentResult,
} from './types';
