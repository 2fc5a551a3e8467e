/** Types the jobs, the task adapters and the CLI share: which HLD config to edit, and how to push. */
import type { PullRequestSettings } from '../pull-requests';
import type { PushMode } from '../settings/git';

export interface HldTarget {
  /** Clone this repository (https, http, file, ssh). Wins over checkoutPath when set. */
  repositoryUrl?: string;
  branch: string;
  /** An existing checkout (pipeline `checkout:` step); used when repositoryUrl is empty. */
  checkoutPath?: string;
  /** Folder inside the HLD whose `config/` is edited; '' for the root component. */
  componentPath: string;
  environment: string;
  /** Dotted subcomponent path (`app.api`); '' edits the component's own config. */
  subcomponent: string;
}

export interface PushOptions {
  mode: PushMode;
  maxAttempts: number;
  /** Smallest backoff base between stale pushes (see pushWithRetry); default tuned for CI contention. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  pullRequest?: PullRequestSettings & {
    targetBranch?: string;
    title?: string;
    /** The pullRequestApiUrl setting: Azure DevOps collection URL or GitHub REST API root. */
    apiUrl?: string;
  };
}
