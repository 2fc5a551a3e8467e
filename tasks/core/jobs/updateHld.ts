import { existsSync, realpathSync, statSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { MAX_PUSH_ATTEMPTS, MERGE_STRATEGIES, PUSH_MODES } from '../settings/git';
import type { HldTarget, PushOptions } from './types';
import type { ServiceCredential } from '../credentials';
import { GitopsError, naming } from '../errors';
import { assertNoCredentialsInUrl, gitAuthFor, displayUrl, GitWorkspace, pushWithRetry, runGit, type AppliedEdit } from '../git';
import { parse } from 'yaml';
import { formatKeyPath } from '../hld/keypath';
import { environmentConfigFile, setValues, type SetChange, type SetValue } from '../hld/set';
import type { Logger } from '../logger';
import { assertBranchName, assertNotOption, assertPlainName, assertRelativePath, hasControlCharacter, pullRequestBranchName } from '../names';
import { provenanceTrailers, runReference, type Provenance } from '../provenance';
import { renderChangeSummary } from '../report';
import { buildCommitMessage } from './commitMessage';
import { assertHldTargetExists } from './hldTargetCheck';
import { compareTags, type TagPolicy } from './tagPolicy';
import { pushPullRequest } from './pullRequestPush';

/** Write the tag at `path` only when it is not older than the tag already there (see tagPolicy.ts). */
export interface TagGuard {
  /** Key path of the tag inside the subcomponent's config. */
  path: string[];
  tag: string;
  policy: TagPolicy;
}

/** The values set in one subcomponent; several edits of one environment config land in one commit. */
export interface HldEdit {
  /** Dotted subcomponent path; '' for the component itself. */
  subcomponent: string;
  values: SetValue[];
  /** When the HLD already holds a newer tag, this edit is left out (the rest of the commit is not). */
  guard?: TagGuard;
}

export interface HldUpdateOptions {
  target: HldTarget;
  /** The values of `target.subcomponent` (ignored when `edits` is given). */
  values: SetValue[];
  /** Several subcomponents at once; default one edit of `target.subcomponent` with `values` and `tagGuard`. */
  edits?: HldEdit[];
  tagGuard?: TagGuard;
  noNewKeys: boolean;
  /** Allow an environment that has no config file in the component yet (default: refused as a typo). */
  createEnvironment?: boolean;
  /** Allow a subcomponent that is not in the component tree (default: refused as a typo). */
  createSubcomponent?: boolean;
  /** The input that named the subcomponent(s), for errors (default `subcomponent`). */
  subcomponentField?: string;
  commit: {
    subject: string;
    body?: string;
    /** User template (`commitMessage` input); placeholders {environment} {subcomponent} {componentPath} {branch} plus `placeholders`. */
    messageTemplate?: string;
    placeholders?: Record<string, string | undefined>;
    author: { name: string; email: string };
    trailers: Record<string, string | string[] | undefined>;
  };
  push: PushOptions;
  credential?: ServiceCredential;
  provenance: Provenance;
  /** Scratch folder for the clone (e.g. Agent.TempDirectory). */
  workDir: string;
  /** Clone and edit, but commit and push nothing. */
  dryRun?: boolean;
  logger: Logger;
}

export interface HldUpdateResult {
  changed: boolean;
  commitId?: string;
  pullRequestId?: number;
  pullRequestUrl?: string;
  /** Edited config file, relative to the HLD root, with `/` separators. */
  file: string;
  changes: HldChange[];
  /** Edits left out because the HLD already holds a newer tag (tagPolicy); a warning was logged for each. */
  kept: KeptTag[];
  /** Times the edit was applied (1 = no push conflict). */
  attempts: number;
  /** Branch written: the HLD branch (direct) or the pull request branch. */
  branch: string;
  /** Pull-request mode: the open PR that this run closed because the target branch already has every value. */
  closedPullRequest?: { id: number; url: string };
}

/** What one application of the edits did to the environment config. */
interface EditOutcome {
  file: string;
  changes: HldChange[];
  kept: KeptTag[];
}

/** One value changed; `subcomponent` is set when the update edited several subcomponents. */
export type HldChange = SetChange & { subcomponent?: string };

/** A tag not written because the value on the tip is newer under the tag policy. */
export interface KeptTag {
  subcomponent: string;
  key: string;
  /** The newer tag already in the HLD. */
  current: string;
  /** The tag this run would have written. */
  tag: string;
}

/** Backoff base under contention: about one push round-trip, so colliders spread over a few windows. */
const defaultBaseDelayMs = 150;

/**
 * Checks every option that does not need the repository, so a bad input fails before anything
 * is cloned or pushed. Errors name the task input. PromoteContainer calls it before copying images.
 */
export function validateHldUpdate(options: Omit<HldUpdateOptions, 'values' | 'logger' | 'workDir' | 'provenance'>): void {
  const { target, push, commit } = options;
  const url = target.repositoryUrl?.trim() ?? '';
  if (url) {
    assertSingleLine(url, 'hldRepositoryUrl');
    if (/\s/.test(url)) throw new GitopsError(`hldRepositoryUrl ${JSON.stringify(url)} contains spaces`, { field: 'hldRepositoryUrl' });
    assertNoCredentialsInUrl(url, 'hldRepositoryUrl');
    assertNotOption(url, 'hldRepositoryUrl', { field: 'hldRepositoryUrl' });
    if (!/^(https?|file|ssh|git):\/\//i.test(url) && !/^[^@/\s]+@[^:/\s]+:/.test(url)) {
      throw new GitopsError(`hldRepositoryUrl ${JSON.stringify(url)} is not a git URL`, {
        field: 'hldRepositoryUrl',
        hint: 'use https://..., file:///... or an ssh URL',
      });
    }
  } else if (!target.checkoutPath?.trim()) {
    throw new GitopsError('neither hldRepositoryUrl nor hldPath is set', {
      field: 'hldRepositoryUrl',
      hint: 'set hldRepositoryUrl to clone the HLD, or hldPath to an existing checkout',
    });
  } else {
    assertSingleLine(target.checkoutPath, 'hldPath');
  }
  assertBranchName(target.branch, 'hldBranch');
  assertPlainName(target.environment, 'environment', { field: 'environment' });
  assertSingleLine(target.componentPath, 'componentPath');
  assertRelativePath(target.componentPath, 'componentPath', { field: 'componentPath' });
  const field = options.subcomponentField ?? 'subcomponent';
  for (const subcomponent of [target.subcomponent, ...(options.edits ?? []).map((e) => e.subcomponent)]) {
    if (subcomponent === '') continue;
    for (const name of subcomponent.split('.')) assertPlainName(name, 'subcomponent segment', { field });
  }
  validatePushSettings(push, commit.author, commit.messageTemplate);
}

/**
 * The push, pull-request and author settings every git-writing job shares (UpdateImageTag,
 * PromoteContainer, GenerateManifests); errors name the task input.
 */
export function validatePushSettings(push: PushOptions, author: { name: string; email: string }, messageTemplate?: string): void {
  if (!(PUSH_MODES as readonly string[]).includes(push.mode)) {
    throw new GitopsError(`pushMode must be ${PUSH_MODES.join(' or ')}, not ${JSON.stringify(push.mode)}`, { field: 'pushMode' });
  }
  if (!Number.isInteger(push.maxAttempts) || push.maxAttempts < MAX_PUSH_ATTEMPTS.min || push.maxAttempts > MAX_PUSH_ATTEMPTS.max) {
    throw new GitopsError(`maxPushAttempts must be a whole number from ${MAX_PUSH_ATTEMPTS.min} to ${MAX_PUSH_ATTEMPTS.max}, not ${push.maxAttempts}`, { field: 'maxPushAttempts' });
  }
  const pr = push.pullRequest ?? {};
  if (pr.mergeStrategy !== undefined && !(MERGE_STRATEGIES as readonly string[]).includes(pr.mergeStrategy)) {
    throw new GitopsError(`mergeStrategy must be one of ${MERGE_STRATEGIES.join(', ')}, not ${JSON.stringify(pr.mergeStrategy)}`, { field: 'mergeStrategy' });
  }
  if (pr.targetBranch) assertBranchName(pr.targetBranch, 'pullRequestTargetBranch');
  if (pr.title !== undefined) assertSingleLine(pr.title, 'pullRequestTitle');
  for (const reviewer of pr.reviewers ?? []) assertSingleLine(reviewer, 'reviewers');
  for (const id of pr.workItemIds ?? []) {
    if (!/^\d+$/.test(id)) throw new GitopsError(`work item id ${JSON.stringify(id)} is not a number`, { field: 'workItems' });
  }
  if (pr.apiUrl && !/^https?:\/\/[^\s]+$/i.test(pr.apiUrl)) {
    throw new GitopsError(`pullRequestApiUrl ${JSON.stringify(pr.apiUrl)} is not an http(s) URL`, { field: 'pullRequestApiUrl' });
  }
  assertSingleLine(author.name, 'gitUserName');
  assertSingleLine(author.email, 'gitUserEmail');
  if (!author.name.trim() || /[<>]/.test(author.name)) {
    throw new GitopsError(`gitUserName ${JSON.stringify(author.name)} is empty or contains < >`, { field: 'gitUserName' });
  }
  if (!/^[^\s<>@]+@[^\s<>@]+$/.test(author.email)) {
    throw new GitopsError(`gitUserEmail ${JSON.stringify(author.email)} is not an email address`, { field: 'gitUserEmail' });
  }
  if (messageTemplate && hasControlCharacter(messageTemplate, { multiLine: true })) {
    throw new GitopsError('commitMessage contains control characters', { field: 'commitMessage' });
  }
}

/**
 * Edits one environment config of an HLD in git: clone (or use a checkout), apply the in-place
 * `set`, then push with retry (direct) or push a deterministic branch and keep one pull request
 * up to date. The one code path every job uses to write HLD config.
 */
export async function updateHld(input: HldUpdateOptions): Promise<HldUpdateResult> {
  validateHldUpdate(input);
  const options = withPlainBranchNames(input);
  const edits = options.edits ?? [{ subcomponent: options.target.subcomponent, values: options.values, guard: options.tagGuard }];
  if (edits.length === 0 || edits.every((e) => e.values.length === 0)) throw new GitopsError('no values to set', { field: 'imageTag' });
  const { target, push } = options;
  const baseBranch = push.mode === 'pullRequest' ? push.pullRequest?.targetBranch || target.branch : target.branch;
  const { workspace, cloned, repositoryUrl } = await openWorkspace(options, baseBranch);
  try {
    // Runs on every attempt, on the tip the push will land on: the checks and the tag order see that tip.
    const apply = (dir: string, attempt = 1) => applyEdits(options, edits, dir, attempt);
    const published = options.dryRun ? await dryRun(options, apply, workspace, baseBranch)
      : push.mode === 'pullRequest' ? await publishPullRequest(options, edits, apply, workspace, baseBranch, repositoryUrl)
      : await publishDirect(options, apply, workspace);
    return reportHldUpdate(options, edits, published);
  } finally {
    if (cloned) await workspace.cleanup({ removeDirectory: true });
  }
}

type ApplyEdits = (dir: string, attempt?: number) => ReturnType<typeof applyEdits>;

/** What a publish step did, and the edit it applied last (undefined: never applied). */
interface Published {
  result: Omit<HldUpdateResult, 'file' | 'changes' | 'kept'>;
  edit?: EditOutcome;
}

/** Sets the values of every edit in the environment config under `dir`, leaving out tags the HLD already has newer. */
async function applyEdits(options: HldUpdateOptions, edits: readonly HldEdit[], dir: string, attempt: number): Promise<AppliedEdit<EditOutcome> & { result: EditOutcome }> {
  const { target, logger } = options;
  const several = edits.length > 1;
  // The names the user typed are checked once; a retry only re-reads the values (cheaper lost races).
  const component = attempt === 1 ? await checkTargets(dir, options, edits) : componentDir(dir, target.componentPath);
  const configFile = environmentConfigFile(component, target.environment);
  const file = relative(dir, configFile).split(sep).join('/');
  const existed = existsSync(configFile);
  const changes: HldChange[] = [];
  const kept: KeptTag[] = [];
  let changed = false;
  for (const edit of edits) {
    const newer = edit.guard && await newerTagInHld(configFile, file, edit.subcomponent, edit.guard);
    if (newer !== undefined && edit.guard) {
      kept.push({ subcomponent: edit.subcomponent, key: formatKeyPath(edit.guard.path), current: newer, tag: edit.guard.tag });
      continue;
    }
    const result = await setValues(component, {
      environment: target.environment,
      subcomponent: edit.subcomponent,
      values: edit.values,
      noNewKeys: options.noNewKeys,
    }, logger, { root: dir });
    changed ||= result.changed;
    changes.push(...result.changes.map((c) => (several ? { ...c, subcomponent: edit.subcomponent } : c)));
  }
  return { changed, newFiles: changed && !existed ? [file] : [], result: { file, changes, kept } };
}

/** Applies the edits to the checkout and reports; commits and pushes nothing. */
async function dryRun(options: HldUpdateOptions, apply: ApplyEdits, workspace: GitWorkspace, baseBranch: string): Promise<Published> {
  const { changed, result } = await apply(workspace.dir);
  options.logger.info(changed ? 'Dry run: the change above would be committed' : 'Dry run: nothing would change');
  return { result: { changed, attempts: 1, branch: baseBranch }, edit: result };
}

/** Commits and pushes to the HLD branch, re-applying the edits on the new tip when another writer pushed first. */
async function publishDirect(options: HldUpdateOptions, apply: ApplyEdits, workspace: GitWorkspace): Promise<Published> {
  const { target, push } = options;
  const pushed = await pushWithRetry<EditOutcome>({
    workspace,
    branch: target.branch,
    apply,
    message: commitMessage(options),
    author: options.commit.author,
    maxAttempts: push.maxAttempts,
    baseDelayMs: push.baseDelayMs ?? defaultBaseDelayMs,
    maxDelayMs: push.maxDelayMs,
    logger: options.logger,
  });
  return { result: { changed: pushed.changed, commitId: pushed.commit, attempts: pushed.attempts, branch: target.branch }, edit: pushed.result };
}

/** Pushes the deterministic branch gitops/<env>/<subcomponent> and keeps one pull request up to date. */
async function publishPullRequest(options: HldUpdateOptions, edits: readonly HldEdit[], apply: ApplyEdits, workspace: GitWorkspace, baseBranch: string, repositoryUrl: string): Promise<Published> {
  const { target, push } = options;
  const sourceBranch = pullRequestBranchName([
    target.environment,
    ...(target.componentPath ? [assertRelativePath(target.componentPath, 'componentPath').replace(/\//g, '-')] : []),
    edits.length > 1 ? edits.map((e) => e.subcomponent || 'root').join('+') : edits[0].subcomponent || 'root',
  ]);
  const { changed, result: edit } = await apply(workspace.dir);
  if (!changed && edit.kept.length > 0) {
    // Every image is older than what the target branch holds: nothing to propose, and an open PR stays as it is.
    return { result: { changed: false, attempts: 1, branch: sourceBranch }, edit };
  }
  const pr = push.pullRequest ?? {};
  // Said on an open PR from sourceBranch when it is closed because the target already has the values.
  const staleComment = `${baseBranch} already has these values (${edit.file}: ${valuesText(edits.flatMap((e) => e.values))}); closed by ${runReference(options.provenance)}.`;
  const title = pr.title?.trim() || options.commit.subject;
  const description = renderChangeSummary({
    title,
    changes: edit.changes.map((c) => ({ file: edit.file, key: changeKey(c), oldValue: 'oldValue' in c ? String(c.oldValue) : undefined, newValue: String(c.newValue) })),
  }) + provenanceLines(options.provenance);
  const opened = await pushPullRequest({
    workspace,
    sourceBranch,
    targetBranch: baseBranch,
    message: commitMessage(options),
    author: options.commit.author,
    repositoryUrl,
    credential: options.credential,
    pullRequest: { ...pr, title, description },
    staleComment,
    logger: options.logger,
  });
  return {
    result: {
      changed: opened.changed,
      commitId: opened.commitId,
      pullRequestId: opened.pullRequestId,
      pullRequestUrl: opened.pullRequestUrl,
      attempts: 1,
      branch: sourceBranch,
      closedPullRequest: opened.closedPullRequest ? { id: opened.closedPullRequest.id, url: opened.closedPullRequest.url } : undefined,
    },
    edit,
  };
}

/** The result, with a warning for each tag kept because the HLD already holds a newer one. */
function reportHldUpdate(options: HldUpdateOptions, edits: readonly HldEdit[], published: Published): HldUpdateResult {
  const edit = published.edit ?? { file: configFileName(options.target), changes: [], kept: [] };
  for (const k of edit.kept) {
    options.logger.warn(`${edit.file}: ${k.subcomponent || 'root'} ${k.key} stays ${k.current}: it is newer than ${k.tag} (tagPolicy ${edits.find((e) => e.subcomponent === k.subcomponent)?.guard?.policy}); use tagPolicy any to roll back on purpose`);
  }
  return { ...published.result, ...edit };
}

/** The component folder in the checkout, after refusing an unknown environment or subcomponent (typos). */
async function checkTargets(dir: string, options: HldUpdateOptions, edits: readonly HldEdit[]): Promise<string> {
  const { target } = options;
  const component = componentDir(dir, target.componentPath);
  await assertHldTargetExists(component, target.componentPath ? `component ${target.componentPath}` : 'the root component', target.environment, edits.map((e) => e.subcomponent), {
    createEnvironment: options.createEnvironment,
    createSubcomponent: options.createSubcomponent,
    subcomponentField: options.subcomponentField,
    root: dir,
  });
  return component;
}

/**
 * Opens the HLD as updateHld would and runs its checks of the environment and subcomponents,
 * writing nothing: PromoteContainer calls it before copying, so a typo copies no image.
 */
export async function preflightHldUpdate(options: HldUpdateOptions): Promise<void> {
  validateHldUpdate(options);
  const edits = options.edits ?? [{ subcomponent: options.target.subcomponent, values: options.values }];
  const baseBranch = options.push.mode === 'pullRequest' ? options.push.pullRequest?.targetBranch || options.target.branch : options.target.branch;
  const { workspace, cloned } = await openWorkspace(options, baseBranch);
  try {
    await checkTargets(workspace.dir, options, edits);
  } finally {
    if (cloned) await workspace.cleanup({ removeDirectory: true });
  }
}

/** The options with `refs/heads/` stripped from the branch names (validated before). */
function withPlainBranchNames(options: HldUpdateOptions): HldUpdateOptions {
  const pullRequest = options.push.pullRequest;
  return {
    ...options,
    target: { ...options.target, branch: assertBranchName(options.target.branch, 'hldBranch') },
    push: pullRequest?.targetBranch
      ? { ...options.push, pullRequest: { ...pullRequest, targetBranch: assertBranchName(pullRequest.targetBranch, 'pullRequestTargetBranch') } }
      : options.push,
  };
}

function commitMessage(options: HldUpdateOptions): string {
  const { target, commit } = options;
  return buildCommitMessage({
    subject: commit.subject,
    body: commit.body,
    template: commit.messageTemplate,
    placeholders: {
      environment: target.environment,
      subcomponent: target.subcomponent || 'root',
      componentPath: target.componentPath,
      branch: target.branch,
      ...commit.placeholders,
    },
    trailers: { ...commit.trailers, ...provenanceTrailers(options.provenance) },
  });
}

/** `api: image.tag` when the update edited several subcomponents, else the key alone. */
export function changeKey(change: HldChange): string {
  return change.subcomponent !== undefined ? `${change.subcomponent || 'root'}: ${change.key}` : change.key;
}

/**
 * The tag at the guard's key in the config file as it is now, when it is newer than the guard's
 * tag under its policy; undefined when the tag may be written (no value yet, same, older, unordered).
 */
async function newerTagInHld(configFile: string, displayFile: string, subcomponent: string, guard: TagGuard): Promise<string | undefined> {
  if (guard.policy === 'any' || !existsSync(configFile)) return undefined;
  let node: unknown;
  try {
    node = parse(await readFile(configFile, 'utf8'), { maxAliasCount: 100 });
  } catch {
    return undefined; // setValues reports a file it cannot parse, with the line
  }
  const path = [...(subcomponent ? subcomponent.split('.').flatMap((name) => ['subcomponents', name]) : []), 'config', ...guard.path];
  for (const key of path) {
    if (!node || typeof node !== 'object' || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  if (typeof node !== 'string' && typeof node !== 'number') return undefined;
  const current = String(node);
  try {
    return compareTags(current, guard.tag, guard.policy) === 'older' ? current : undefined;
  } catch (error) {
    if (error instanceof GitopsError) throw new GitopsError(error.message, { file: displayFile, field: 'tagPolicy', hint: error.hint });
    throw error;
  }
}

function provenanceLines(p: Provenance): string {
  const rows = [
    p.buildUrl ? `Build: ${p.buildUrl}` : p.buildId ? `Build: ${p.buildId}` : undefined,
    p.sourceRepository ? `Source repository: ${p.sourceRepository}` : undefined,
    p.sourceCommit ? `Source commit: ${p.sourceCommit}` : undefined,
  ].filter(Boolean);
  return rows.length ? `\n${rows.map((r) => `- ${r}`).join('\n')}\n` : '';
}

/** `image.tag = v2, image.repository = reg/app`, at most a few, for a one-line explanation. */
function valuesText(values: readonly SetValue[]): string {
  const shown = values.slice(0, 5).map((v) => `${formatKeyPath(v.path)} = ${v.value}`);
  return values.length > shown.length ? `${shown.join(', ')}, …` : shown.join(', ');
}

/** The run that closes a stale pull request, as a link when there is one. */
function configFileName(target: HldTarget): string {
  const dir = assertRelativePath(target.componentPath, 'componentPath');
  return `${dir ? `${dir}/` : ''}config/${target.environment}.yaml`;
}

/** The component folder inside the checkout; it must exist and must not leave the checkout through a symlink. */
function componentDir(root: string, componentPath: string): string {
  const dir = join(root, assertRelativePath(componentPath, 'componentPath', { field: 'componentPath' }));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new GitopsError(`componentPath ${JSON.stringify(componentPath)} is not a folder of the HLD`, {
      field: 'componentPath',
      hint: 'give the folder (relative to the repository root) that holds component.yaml and config/',
    });
  }
  const realRoot = realpathSync(root);
  const realDir = realpathSync(dir);
  if (realDir !== realRoot && !realDir.startsWith(realRoot + sep)) {
    throw new GitopsError(`componentPath ${JSON.stringify(componentPath)} leads outside the HLD (symbolic link)`, { field: 'componentPath' });
  }
  return dir;
}

async function openWorkspace(options: HldUpdateOptions, branch: string): Promise<{ workspace: GitWorkspace; cloned: boolean; repositoryUrl: string }> {
  const { target, logger } = options;
  const url = target.repositoryUrl?.trim();
  if (url) {
    if (target.checkoutPath?.trim()) logger.info('hldRepositoryUrl is set: cloning it (hldPath is ignored)');
    const dir = await mkdtemp(join(options.workDir, 'hld-'));
    const workspace = await GitWorkspace.clone({ url, dir, branch, auth: gitAuthFor(options.credential, url), logger, networkTimeoutMs: 5 * 60_000 })
      .catch((error: unknown) => {
        const branchInput = branch === target.branch ? 'hldBranch' : 'pullRequestTargetBranch';
        throw naming(error, 'hldRepositoryUrl', { branch: branchInput, url: 'hldRepositoryUrl' });
      });
    return { workspace, cloned: true, repositoryUrl: url };
  }
  const dir = target.checkoutPath!.trim();
  const local = { cwd: dir, logger };
  if (!existsSync(dir) || (await runGit(['rev-parse', '--is-inside-work-tree'], local)).code !== 0) {
    throw new GitopsError(`hldPath ${JSON.stringify(dir)} is not a git checkout`, { field: 'hldPath', hint: 'check out the HLD repository first (- checkout: hld)' });
  }
  const shallow = (await runGit(['rev-parse', '--is-shallow-repository'], local)).stdout.trim() === 'true';
  // A checkout with persistCredentials already sends its own header; a second one would be rejected.
  const persisted = (await runGit(['config', '--get-regexp', '^http\\..*extraheader$'], local)).stdout.trim() !== '';
  const origin = (await runGit(['remote', 'get-url', 'origin'], local)).stdout.trim();
  const workspace = await GitWorkspace.open(dir, { branch, auth: persisted ? undefined : gitAuthFor(options.credential, origin), logger, depth: shallow ? 1 : 0, networkTimeoutMs: 5 * 60_000 });
  // Pipeline checkouts are detached and may be behind: edit the branch's current tip.
  logger.info(`Resetting the checkout ${dir} to the tip of ${branch} of ${displayUrl(workspace.remoteUrl)}`);
  await workspace.fetchAndReset(branch).catch((error: unknown) => {
    throw naming(error, 'hldPath', { branch: branch === target.branch ? 'hldBranch' : 'pullRequestTargetBranch' });
  });
  return { workspace, cloned: false, repositoryUrl: (await runGit(['remote', 'get-url', 'origin'], local)).stdout.trim() };
}

function assertSingleLine(value: string, field: string): void {
  if (hasControlCharacter(value)) {
    throw new GitopsError(`${field} contains a newline or control character`, { field, hint: 'use a single line of printable text' });
  }
}
