import type { Logger } from '../logger';
import type { RepoProvider } from './provider';

import type { MergeStrategy } from '../settings/git';

export type { MergeStrategy };

/** How the token is sent to Azure DevOps: System.AccessToken is a bearer token, a PAT goes as Basic. GitHub always uses Bearer. */
export type TokenKind = 'bearer' | 'pat';

/** What a user chooses about a pull request, whichever job opens it. */
export interface PullRequestSettings {
  /** Azure Repos only: complete the PR once policies pass. Warned about and ignored on GitHub. */
  autoComplete?: boolean;
  mergeStrategy?: MergeStrategy;
  deleteSourceBranch?: boolean;
  /** Azure: identity ids (GUIDs) or unique names (e.g. user@contoso.com); GitHub: user logins. */
  reviewers?: string[];
  /** Azure Repos only: work item ids linked to the PR when it is created. */
  workItemIds?: string[];
}

export interface PullRequestOptions extends PullRequestSettings {
  provider: RepoProvider;
  token: string;
  tokenKind?: TokenKind;
  /** Branch names, with or without `refs/heads/`. */
  sourceBranch: string;
  targetBranch: string;
  title: string;
  description: string;
  logger: Logger;
}

export interface PullRequestResult {
  id: number;
  /** Web page of the pull request, for people. */
  url: string;
  created: boolean;
}

export interface PullRequestCommentOptions {
  provider: RepoProvider;
  token: string;
  tokenKind?: TokenKind;
  pullRequestId: number;
  /** Hidden tag written into the comment so a later run finds and updates the same thread. */
  marker: string;
  markdown: string;
  logger: Logger;
}

export interface PullRequestCommentResult {
  threadId: number;
  created: boolean;
}

export interface ClosePullRequestOptions {
  provider: RepoProvider;
  token: string;
  tokenKind?: TokenKind;
  /** Only an open pull request from exactly this branch into exactly `targetBranch` is closed. */
  sourceBranch: string;
  targetBranch: string;
  /** Markdown posted on the pull request to say why it was closed. */
  comment: string;
  logger: Logger;
}

export interface ClosedPullRequest {
  id: number;
  /** Web page of the pull request, for people. */
  url: string;
  /** False when the source branch was left in place (a warning says why). */
  branchDeleted: boolean;
}
