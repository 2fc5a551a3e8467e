/**
 * The settings every git-writing job shares (GenerateManifests, UpdateImageTag, PromoteContainer):
 * push mode, retries, pull request options, commit message and author, and the HLD target of the
 * two jobs that edit the HLD.
 */
import type { Provenance } from '../provenance';
import type { SettingGroup } from './setting';

export const PUSH_MODES = ['direct', 'pullRequest'] as const;
export type PushMode = (typeof PUSH_MODES)[number];

export const MERGE_STRATEGIES = ['squash', 'noFastForward', 'rebase', 'rebaseMerge'] as const;
export type MergeStrategy = (typeof MERGE_STRATEGIES)[number];

export const TAG_POLICIES = ['auto', 'semver', 'numeric', 'any'] as const;

/** Tries of a push rejected as stale. */
export const MAX_PUSH_ATTEMPTS = { default: 10, min: 1, max: 50 } as const;

export const gitWriteSettings = {
  pushMode: { flag: '--push-mode', default: 'direct', allowed: PUSH_MODES },
  maxPushAttempts: { flag: '--max-push-attempts', default: String(MAX_PUSH_ATTEMPTS.default) },
  commitMessage: { flag: '--commit-message' },
  gitUserName: { flag: '--author-name' },
  gitUserEmail: { flag: '--author-email' },
  pullRequestTargetBranch: { flag: '--pr-target-branch' },
  pullRequestTitle: { flag: '--pr-title' },
  autoComplete: { flag: '--auto-complete', default: 'false' },
  mergeStrategy: { flag: '--merge-strategy', default: 'squash', allowed: MERGE_STRATEGIES },
  // The CLI flag says the opposite of the input: the source branch is deleted unless it is given.
  deleteSourceBranch: { flag: '--keep-source-branch', default: 'true' },
  reviewers: { flag: '--reviewer' },
  workItems: { flag: '--work-item' },
  pullRequestApiUrl: { flag: '--pr-api-url' },
  gitConnection: { flag: 'GITOPS_GIT_TOKEN' },
} as const satisfies SettingGroup;

/** Which HLD config UpdateImageTag and PromoteContainer edit; `environment`'s default is the job's. */
export const hldTargetSettings = {
  hldRepositoryUrl: { flag: '--hld-repo' },
  hldPath: { flag: '--hld' },
  hldBranch: { flag: '--hld-branch', default: 'main' },
  componentPath: { flag: '--component-path' },
  subcomponent: { flag: '--subcomponent' },
  tagKey: { flag: '--tag-key', default: 'image.tag' },
  repositoryKey: { flag: '--repository-key', default: 'image.repository' },
  noNewKeys: { flag: '--no-new-keys', default: 'false' },
  createEnvironment: { flag: '--create-environment', default: 'false' },
  createSubcomponent: { flag: '--create-subcomponent', default: 'false' },
  tagPolicy: { flag: '--tag-policy', default: 'auto', allowed: TAG_POLICIES },
} as const satisfies SettingGroup;

export interface CommitAuthor { name: string; email: string }

/** How a front end picks the author when the user names none. */
export interface AuthorDefaults extends CommitAuthor {
  /**
   * Take the requester's name and email only together (CLI: an identity is never half someone's),
   * or each one that is known (tasks: a classic release knows Release.RequestedFor but no email).
   */
  requesterAsWhole: boolean;
}

/** The author when neither the user nor the CI run names one, per front end. */
export const DEFAULT_AUTHORS = {
  task: { name: 'Azure Pipelines', email: 'azure-pipelines@noreply.invalid', requesterAsWhole: false },
  cli: { name: 'bedrock-gitops', email: 'bedrock-gitops@noreply.invalid', requesterAsWhole: true },
} as const satisfies Record<string, AuthorDefaults>;

/**
 * The commit author: each of gitUserName / gitUserEmail (--author-name / --author-email) when set,
 * else the person the run was for (see requesterAsWhole), else the front end's default.
 */
export function commitAuthor(explicit: Partial<CommitAuthor>, provenance: Provenance, defaults: AuthorDefaults): CommitAuthor {
  const { requestedFor, requestedForEmail } = provenance;
  const requester = !defaults.requesterAsWhole || (requestedFor && requestedForEmail)
    ? { name: requestedFor || defaults.name, email: requestedForEmail || defaults.email }
    : defaults;
  return { name: explicit.name || requester.name, email: explicit.email || requester.email };
}
