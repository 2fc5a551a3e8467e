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

/** The token a provider sends, and how. */
export interface PullRequestAuth {
  token: string;
  tokenKind: TokenKind;
}

type Bound = 'provider' | 'token' | 'tokenKind';

/**
 * The pull-request API of one repository (Azure Repos in azureRepos.ts, GitHub in github.ts),
 * bound to its remote and token: pick one with connectPullRequests (connect.ts).
 */
export interface PullRequestProvider {
  readonly name: 'Azure DevOps' | 'GitHub';
  /**
   * Keeps one active pull request per source → target branch: updates its title and description
   * when it exists, creates it otherwise. The caller guarantees the source branch differs from the target.
   */
  createOrUpdate(request: Omit<PullRequestOptions, Bound>): Promise<PullRequestResult>;
  /** Posts a Markdown comment, or rewrites our earlier one (found by its marker) so a PR carries one report. */
  postOrUpdateComment(request: Omit<PullRequestCommentOptions, Bound>): Promise<PullRequestCommentResult>;
  /**
   * Closes the open pull request from `sourceBranch` into `targetBranch` with a comment saying why
   * (abandoned on Azure Repos) and deletes its source branch; undefined when none is open. Only that
   * exact branch pair is touched. A failure to comment or to delete the branch is a warning.
   */
  closeFromBranch(request: Omit<ClosePullRequestOptions, Bound>): Promise<ClosedPullRequest | undefined>;
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
