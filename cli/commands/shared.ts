/**
 * What the git-writing commands (publish, update-image-tag, promote) share, so that they take the
 * same flags as the tasks' shared inputs (tasks/agent/gitInputs.ts) and read credentials and
 * provenance from the environment the same way.
 */
import type { ServiceCredential } from '../../tasks/core/credentials';
import { resolve } from 'node:path';
import type { HldTarget, PushOptions } from '../../tasks/core/jobs/types';
import type { Provenance } from '../../tasks/core/provenance';
import { describeError, GitopsError } from '../../tasks/core/errors';
import { allowLocalGitSourcesFrom } from '../../tasks/core/render/gitFetch';
import { cliFlagOfTaskInput, commitAuthor, DEFAULT_AUTHORS, flagsOf, gitWriteSettings as git, hldTargetSettings, MAX_PUSH_ATTEMPTS, type CommitAuthor, type MergeStrategy, type PushMode, type SettingGroup } from '../../tasks/core/settings';
import { UsageError } from './command';

/** parseArgs specs of the shared flags; spread them into a command's own options. */
export const gitWriteOptions = {
  'push-mode': { type: 'string' },
  'pr-target-branch': { type: 'string' },
  'pr-title': { type: 'string' },
  'auto-complete': { type: 'boolean' },
  'merge-strategy': { type: 'string' },
  'keep-source-branch': { type: 'boolean' },
  reviewer: { type: 'string', multiple: true },
  'work-item': { type: 'string', multiple: true },
  'pr-api-url': { type: 'string' },
  'commit-message': { type: 'string' },
  'author-name': { type: 'string' },
  'author-email': { type: 'string' },
  'max-push-attempts': { type: 'string' },
} as const;

/** parseArgs specs of the flags that name a cloned HLD's image keys (update-image-tag, promote, rollback). */
export const hldImageKeyOptions = {
  'hld-repo': { type: 'string' },
  'hld-branch': { type: 'string' },
  'component-path': { type: 'string' },
  environment: { type: 'string' },
  subcomponent: { type: 'string' },
  'tag-key': { type: 'string' },
  'repository-key': { type: 'string' },
} as const;

/** parseArgs specs of the flags that say which HLD config to edit (update-image-tag, promote). */
export const hldTargetOptions = {
  ...hldImageKeyOptions,
  hld: { type: 'string' },
  'no-new-keys': { type: 'boolean' },
  'create-environment': { type: 'boolean' },
  'create-subcomponent': { type: 'boolean' },
  'tag-policy': { type: 'string' },
} as const;

export interface HldTargetValues {
  'hld-repo'?: string;
  hld?: string;
  'hld-branch'?: string;
  'component-path'?: string;
  environment?: string;
  subcomponent?: string;
  'tag-key'?: string;
  'repository-key'?: string;
  'no-new-keys'?: boolean;
  'create-environment'?: boolean;
  'create-subcomponent'?: boolean;
  'tag-policy'?: string;
}

/** The HLD target of those flags; `defaultEnvironment` differs per command (common, prod). */
export function hldTargetFrom(values: HldTargetValues, cwd: string, defaultEnvironment: string): HldTarget {
  return {
    repositoryUrl: values['hld-repo'],
    checkoutPath: values.hld === undefined ? undefined : resolve(cwd, values.hld),
    branch: values['hld-branch'] ?? hldTargetSettings.hldBranch.default,
    componentPath: values['component-path'] ?? '',
    environment: values.environment ?? defaultEnvironment,
    subcomponent: values.subcomponent ?? '',
  };
}

/** The parsed values of gitWriteOptions. */
export interface GitWriteValues {
  'push-mode'?: string;
  'pr-target-branch'?: string;
  'pr-title'?: string;
  'auto-complete'?: boolean;
  'merge-strategy'?: string;
  'keep-source-branch'?: boolean;
  reviewer?: string[];
  'work-item'?: string[];
  'pr-api-url'?: string;
  'commit-message'?: string;
  'author-name'?: string;
  'author-email'?: string;
  'max-push-attempts'?: string;
}

/**
 * The --help block of the shared flags. `commitMessagePlaceholders` lists the command's own
 * placeholders; `defaultTargetBranch` names the branch a pull request merges into by default.
 */
export function gitWriteHelp(commitMessagePlaceholders: string, defaultTargetBranch: string): string {
  return `Git (the same as the tasks' push and pull request inputs):
  --push-mode MODE          direct (default): commit and push with retry; pullRequest: push a
                            gitops/... branch and open or update one pull request
  --commit-message TEXT     commit message template; placeholders:
${wrapIndented(commitMessagePlaceholders, 28, 100)}
  --author-name NAME        commit author (default: on github.com Actions the actor, else
                            bedrock-gitops)
  --author-email EMAIL      commit author email (default: the actor's noreply address, else
                            bedrock-gitops@noreply.invalid)
  --max-push-attempts N     tries of a push rejected as stale, 1-50 (default 10)
Pull request (with --push-mode pullRequest; Azure Repos or GitHub):
  --pr-target-branch NAME   target branch (default: ${defaultTargetBranch})
  --pr-title TEXT           title (default: describes the change)
  --auto-complete           complete once policies pass (Azure Repos)
  --merge-strategy S        squash (default), noFastForward, rebase, rebaseMerge
  --keep-source-branch      keep the source branch after completion (default: delete it)
  --reviewer ID             reviewer (repeatable, or comma-separated)
  --work-item ID            work item to link (repeatable, or comma-separated; Azure Repos)
  --pr-api-url URL          Azure DevOps collection URL or GitHub API URL (default: from the remote)`;
}

/** The --help block of the environment variables every git-writing command reads. */
export const gitEnvironmentHelp = `  GITOPS_GIT_TOKEN          token for http(s) git remotes and the pull request API, sent as a
                            bearer header (never in a URL), or as Basic auth with
                            GITOPS_GIT_USERNAME when that is set (e.g. an Azure Repos PAT)
  GITOPS_PR_TOKEN           used instead when GITOPS_GIT_TOKEN is not set
  GITOPS_BUILD_URL, GITOPS_BUILD_ID, GITOPS_SOURCE_COMMIT, GITOPS_SOURCE_REPOSITORY
                            recorded as commit trailers; by default read from Jenkins (BUILD_URL,
                            BUILD_NUMBER, GIT_COMMIT, GIT_URL) or GitHub Actions (run URL, GITHUB_SHA)`;

/** Push mode, retries and pull request options, validated like the tasks' inputs. */
export function pushOptionsFrom(values: GitWriteValues): PushOptions {
  const mode = values['push-mode'] ?? git.pushMode.default;
  if (!isOneOf(mode, git.pushMode.allowed)) {
    throw new UsageError(`--push-mode must be ${git.pushMode.allowed.join(' or ')}, not ${JSON.stringify(mode)}`);
  }
  const mergeStrategy = values['merge-strategy'] ?? git.mergeStrategy.default;
  if (!isOneOf(mergeStrategy, git.mergeStrategy.allowed)) {
    throw new UsageError(`--merge-strategy must be one of ${git.mergeStrategy.allowed.join(', ')}, not ${JSON.stringify(mergeStrategy)}`);
  }
  const attemptsText = values['max-push-attempts'] ?? git.maxPushAttempts.default;
  const maxAttempts = /^\d+$/.test(attemptsText.trim()) ? Number(attemptsText) : NaN;
  if (!(maxAttempts >= MAX_PUSH_ATTEMPTS.min && maxAttempts <= MAX_PUSH_ATTEMPTS.max)) {
    throw new UsageError(`--max-push-attempts must be a whole number from ${MAX_PUSH_ATTEMPTS.min} to ${MAX_PUSH_ATTEMPTS.max}, not ${JSON.stringify(attemptsText)}`);
  }
  const apiUrl = values['pr-api-url'];
  return {
    mode: mode as PushMode,
    maxAttempts,
    pullRequest: mode === 'pullRequest' ? {
      targetBranch: values['pr-target-branch'],
      title: values['pr-title'],
      autoComplete: !!values['auto-complete'],
      mergeStrategy: mergeStrategy as MergeStrategy,
      deleteSourceBranch: !values['keep-source-branch'],
      reviewers: splitList(values.reviewer),
      workItemIds: splitList(values['work-item']),
      apiUrl,
    } : undefined,
  };
}

/** --author-name / --author-email, else the person the CI run was for, else bedrock-gitops (core/settings commitAuthor). */
export function authorFrom(values: GitWriteValues, provenance: Provenance): CommitAuthor {
  return commitAuthor({ name: values['author-name'], email: values['author-email'] }, provenance, DEFAULT_AUTHORS.cli);
}

/** GITOPS_GIT_TOKEN (else GITOPS_PR_TOKEN) as a bearer token, or Basic with GITOPS_GIT_USERNAME. */
export function gitCredentialFromEnv(env: NodeJS.ProcessEnv): ServiceCredential | undefined {
  const token = env.GITOPS_GIT_TOKEN || env.GITOPS_PR_TOKEN;
  if (!token) return undefined;
  const username = env.GITOPS_GIT_USERNAME;
  return username ? { kind: 'basic', username, password: token } : { kind: 'bearer', token };
}

/**
 * Where this run comes from, for the commit trailers: explicit GITOPS_* variables win; otherwise
 * the CI system's own variables, so a Jenkinsfile or workflow needs no extra environment.
 */
export function provenanceFromEnv(env: NodeJS.ProcessEnv): Provenance {
  const v = (name: string) => env[name]?.trim() || undefined;
  const detected = detectCi(v);
  return {
    ...detected,
    buildUrl: withoutUserInfo(v('GITOPS_BUILD_URL') ?? detected.buildUrl),
    buildId: v('GITOPS_BUILD_ID') ?? detected.buildId,
    sourceCommit: v('GITOPS_SOURCE_COMMIT') ?? detected.sourceCommit,
    sourceRepository: withoutUserInfo(v('GITOPS_SOURCE_REPOSITORY') ?? detected.sourceRepository),
  };
}

function detectCi(v: (name: string) => string | undefined): Provenance {
  if (v('JENKINS_URL')) {
    return {
      system: 'Jenkins',
      buildUrl: v('BUILD_URL'),
      buildId: v('BUILD_ID') ?? v('BUILD_NUMBER'),
      buildNumber: v('BUILD_NUMBER'),
      sourceCommit: v('GIT_COMMIT'),
      sourceRepository: v('GIT_URL'),
      sourceBranch: v('BRANCH_NAME') ?? v('GIT_BRANCH'),
    };
  }
  if (v('GITHUB_ACTIONS') === 'true') {
    const server = v('GITHUB_SERVER_URL')?.replace(/\/+$/, '');
    const repository = v('GITHUB_REPOSITORY');
    const runId = v('GITHUB_RUN_ID');
    const actor = v('GITHUB_ACTOR');
    const actorId = v('GITHUB_ACTOR_ID');
    return {
      system: 'GitHub Actions',
      buildUrl: server && repository && runId ? `${server}/${repository}/actions/runs/${runId}` : undefined,
      buildId: runId,
      buildNumber: v('GITHUB_RUN_NUMBER'),
      sourceCommit: v('GITHUB_SHA'),
      sourceRepository: server && repository ? `${server}/${repository}` : undefined,
      sourceBranch: v('GITHUB_REF'),
      // Like the tasks' Build.RequestedFor; GitHub links this noreply address to the actor's account.
      requestedFor: actor,
      requestedForEmail: actor && actorId && server === 'https://github.com' ? `${actorId}+${actor}@users.noreply.github.com` : undefined,
    };
  }
  const ci = v('CI');
  return { system: ci && ci.toLowerCase() !== 'false' ? 'CI' : 'local' };
}

/** Words on lines of at most `width` characters, each indented by `indent` spaces. */
function wrapIndented(text: string, indent: number, width: number): string {
  const lines: string[] = [];
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const last = lines.length - 1;
    if (last >= 0 && indent + lines[last].length + 1 + word.length <= width) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines.map((line) => ' '.repeat(indent) + line).join('\n');
}

function isOneOf<T extends string>(value: string, allowed: readonly T[]): value is T {
  return (allowed as readonly string[]).includes(value);
}

/** Repeated flags, each possibly a comma-separated list, as the tasks' list inputs accept. */
function splitList(values: string[] | undefined): string[] {
  return (values ?? []).flatMap((value) => value.split(',')).map((item) => item.trim()).filter(Boolean);
}

/** A remote URL may carry a user:token pair (Jenkins GIT_URL can); trailers must not. */
function withoutUserInfo(url: string | undefined): string | undefined {
  if (!url) return url;
  try {
    const parsed = new URL(url);
    if (!parsed.username && !parsed.password) return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url;
  }
}

/**
 * One line for a CLI user: the error's field and every camelCase task input name in its message
 * and hint become the CLI flag. (Single-word inputs such as `environment` are only mapped as the
 * field, since the same words are plain English in messages.)
 */
export function describeForCli(error: unknown, commandSettings: SettingGroup = {}): string {
  // The flags of the command's own job (CliCommand.settings) win over the table of every job.
  const flags: Readonly<Record<string, string>> = { ...cliFlagOfTaskInput, ...flagsOf(commandSettings) };
  const flagOf = (name: string) => (Object.hasOwn(flags, name) ? flags[name] : undefined);
  let described = error;
  if (error instanceof GitopsError && error.field && flagOf(error.field)) {
    described = new GitopsError(error.message, { file: error.file, line: error.line, field: flagOf(error.field), hint: error.hint });
  }
  return describeError(described)
    .replace(/\b[a-z]+(?:[A-Z][a-z]*)+\b/g, (word) => flagOf(word) ?? word)
    // "with --helm / the helmPath input" reads "with --helm" once mapped.
    .replace(/(--[a-z-]+) \/ the \1 input/g, '$1');
}

/** `--no-hooks` and `--allow-remote-hooks` of the commands that render or install (install, generate, publish). */
export const hookOptions = {
  'no-hooks': { type: 'boolean' },
  'allow-remote-hooks': { type: 'boolean' },
} as const;

export const hookHelp = `  --no-hooks          run no component hooks (they run as shell commands with this process's environment)
  --allow-remote-hooks  also run hooks of components fetched from remote git sources (skipped by default)`;

export function hooksFrom(values: { 'no-hooks'?: boolean; 'allow-remote-hooks'?: boolean }): { runHooks: boolean; allowRemoteHooks: boolean } {
  return { runHooks: values['no-hooks'] !== true, allowRemoteHooks: values['allow-remote-hooks'] === true };
}

/** Git component sources on this machine (paths, file://) only with BEDROCK_GITOPS_ALLOW_LOCAL_GIT_SOURCES=1. */
export function localSourcesFrom(env: Record<string, string | undefined>): { allowLocalGitSources: boolean } {
  return { allowLocalGitSources: allowLocalGitSourcesFrom(env) };
}
