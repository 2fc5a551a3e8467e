import { join } from 'node:path';
import type { ClosedPullRequest, PullRequestProvider, PullRequestSettings } from '../pull-requests';
import type { ServiceCredential } from '../credentials';
import {
  assertGitUrl,
  gitAuthFor,
  displayUrl,
  formatCommitMessage,
  GitWorkspace,
  pushWithRetry,
  type PushWithRetryResult,
  type GitAuthor,
} from '../git';
import { GitopsError, naming } from '../errors';
import type { Logger } from '../logger';
import { provenanceTrailers, runReference, type Provenance } from '../provenance';
import { commitAuthor, DEFAULT_AUTHORS, gitWriteSettings, MAX_PUSH_ATTEMPTS, type PushMode } from '../settings/git';
import { generate, type RenderedEnvironmentSet } from '../render';
import { diffTrees, renderSummaryMarkdown, type TreeDiff } from '../report';
import { expandTemplate } from './commitMessage';
import { assertNoEnvironmentEmptied } from './deletionGuard';
import { openHldSource, type HldLocation, type HldSource } from './hldSource';
import { environmentFolder, normaliseManifestPath, repositoryFiles, syncEnvironmentFolders } from './manifestSync';
import { closeStalePullRequest, pushPullRequest, type PullRequestPushResult } from './pullRequestPush';
import { validatePushSettings } from './updateHld';
import type { NetworkLimits } from '../render/sources';
import { isSupersededBy, recordedRenderPerFolder } from './superseded';
import { assertBranchName, assertSeparateOutput, pullRequestBranchName } from '../names';

export { parseEnvironmentSets } from './manifestSync';

export const defaultManifestCommitMessage = 'Generate manifests from HLD {hldShortCommit}: {hldSubject}';

export interface ManifestRepository {
  url: string;
  /** Created when missing (direct mode). */
  branch: string;
  /** Sub-folder holding the environment folders; '' = the repository root. */
  path?: string;
}

export interface ManifestPullRequestOptions extends PullRequestSettings {
  /** Branch the PR merges into; default the manifest branch. */
  targetBranch?: string;
  /** Default: names the HLD commit and the environments. */
  title?: string;
}

export interface GenerateManifestsOptions {
  hld: HldLocation;
  /** Highest precedence first inside a set: `[['prod-east', 'prod'], ['staging']]`. */
  environmentSets: string[][];
  /** Where the rendered tree is written, one folder per environment set. */
  outputDir: string;
  /** Undefined: render only. */
  manifest?: ManifestRepository;
  pushMode?: PushMode;
  pullRequest?: ManifestPullRequestOptions;
  /** Collection URL of Azure DevOps Server or GitHub API root, for PRs and PR comments. */
  pullRequestApiUrl?: string;
  /** Render and compare, push nothing. */
  dryRun?: boolean;
  /** With dryRun: post or update one comment with the summary on this pull request of the HLD repository. */
  commentOnPullRequest?: { pullRequestId: number; repositoryUrl?: string };
  allowEmptyOutput?: boolean;
  /** Render an environment that no component has a config file for (default: refused as a typo). */
  allowEnvironmentsWithoutConfig?: boolean;
  /** Template with {hldCommit}, {hldShortCommit}, {hldSubject}, {hldRepository}, {environments}. */
  commitMessage?: string;
  /** Default: the requester from provenance, else `Azure Pipelines`. */
  author?: Partial<GitAuthor>;
  /** Sent to http(s) remotes only; local and file:// repositories need none. */
  credential?: ServiceCredential;
  provenance: Provenance;
  maxPushAttempts?: number;
  helmPath?: string;
  /** kubectl or kustomize binary for `type: kustomize` components (default: found on PATH). */
  kustomizePath?: string;
  cacheDir?: string;
  /** Deadline and size cap of each fetch of a component source (git, http). */
  network?: Partial<NetworkLimits>;
  /** Scratch space for the clones; the caller removes it. */
  workDir: string;
  /** Environment for helm, hooks and access.yaml token variables. */
  env: NodeJS.ProcessEnv;
  /** Run component hooks (default true). */
  runHooks?: boolean;
  /** Also run hooks of components fetched from remote git sources (default false). */
  allowRemoteHooks?: boolean;
  /** Accept git component sources that are paths or file:// URLs on the agent (default false). */
  allowLocalGitSources?: boolean;
  logger: Logger;
  progress?: (percent: number, text: string) => void;
}

export type GenerateManifestsStatus = 'rendered' | 'unchanged' | 'pushed' | 'pullRequest' | 'dryRun' | 'superseded';

export interface GenerateManifestsResult {
  status: GenerateManifestsStatus;
  /** The render differs from the manifest repository (and was pushed unless dry run or superseded). */
  manifestsChanged: boolean;
  manifestCommitId?: string;
  renderedPath: string;
  pullRequest?: { id: number; url: string };
  hldCommit?: string;
  /** Markdown for the run summary (also the PR comment in dry runs). */
  summary: string;
  /** One line for the task result. */
  message: string;
}

const commentMarker = 'bedrock-gitops:generate-manifests';

/**
 * Renders the HLD and publishes it to the manifest repository: see the flow in the task's README.
 * The steps: prepare (HLD source, manifest clone started) → render → compare (per-folder
 * superseded check, diff, deletion guard) → publish (dry run, direct push with retry, or pull
 * request); `report` turns the outcome into the summary, the outputs and the message.
 */
export async function generateManifests(input: GenerateManifestsOptions): Promise<GenerateManifestsResult> {
  const options = validateGenerateManifests(input);
  const job = await prepare(options);
  const rendered = await render(options, job);
  if (!job.cloning) return report(options, job, { kind: 'rendered', rendered });
  job.progress(55, 'Comparing with the manifest repository');
  const workspace = await job.cloning;
  try {
    const plan = await compare(options, job, rendered, workspace);
    if (plan.supersededBy) return report(options, job, { kind: 'superseded', newer: plan.supersededBy });
    return report(options, job, await publish(options, job, rendered, plan, workspace));
  } finally {
    await workspace.cleanup({ removeDirectory: true });
  }
}

/** What the steps share once the HLD is ready. */
interface Job {
  hld: HldSource;
  manifestPath: string;
  pushMode: PushMode;
  /** The manifest repository and the branch written (the PR target in pull-request mode); undefined: render only. */
  manifest?: ManifestRepository & { targetBranch: string };
  /** The manifest clone, started before the render (the two do not depend on each other). */
  cloning?: Promise<GitWorkspace>;
  progress: (percent: number, text: string) => void;
}

interface Rendered {
  sets: RenderedEnvironmentSet[];
  folders: string[];
}

/** How a run ended; `report` turns it into the result. */
type Outcome =
  | { kind: 'rendered'; rendered: Rendered }
  | { kind: 'superseded'; newer: string }
  | { kind: 'dryRun'; plan: PublishPlan; summary: string }
  | { kind: 'unchanged'; plan: PublishPlan; closed?: ClosedPullRequest }
  | { kind: 'pullRequest'; plan: PublishPlan; pr: PullRequestPushResult }
  | { kind: 'pushed'; plan: PublishPlan; pushed: PushWithRetryResult<PublishPlan> };

/** Refuses an output folder that overlaps the inputs, opens the HLD, and starts the manifest clone. */
async function prepare(options: GenerateManifestsOptions): Promise<Job> {
  const { logger } = options;
  const progress = options.progress ?? (() => {});
  const hldCloneDir = join(options.workDir, 'hld');
  assertSeparateOutput(options.outputDir, 'outputPath', [
    { path: 'dir' in options.hld ? options.hld.dir : hldCloneDir, what: 'HLD checkout', mayContain: true },
    { path: options.workDir, what: 'folder of the clones' },
    { path: options.cacheDir, what: 'cache folder', mayContain: true },
  ]);

  progress(5, 'Preparing the HLD');
  const hld = await openHldSource({
    location: options.hld,
    cloneDir: hldCloneDir,
    authFor: (url) => gitAuthFor(options.credential, url),
    logger,
  });
  if (hld.commit) logger.info(`HLD ${hld.repositoryUrl ?? hld.dir} at ${hld.commit}${hld.subject ? `: ${hld.subject}` : ''}`);

  const pushMode = options.pushMode ?? gitWriteSettings.pushMode.default;
  const job: Job = { hld, manifestPath: normaliseManifestPath(options.manifest?.path), pushMode, progress };
  const manifest = options.manifest;
  const targetBranch = manifest && (pushMode === 'pullRequest' ? options.pullRequest?.targetBranch || manifest.branch : manifest.branch);
  if (!manifest || !targetBranch) return job;
  job.manifest = { ...manifest, targetBranch };
  job.cloning = GitWorkspace.clone({
    url: manifest.url,
    dir: join(options.workDir, 'manifests'),
    branch: targetBranch,
    createBranchIfMissing: pushMode === 'direct',
    auth: gitAuthFor(options.credential, manifest.url),
    logger,
  }).catch((error: unknown) => {
    const branchInput = pushMode === 'pullRequest' && options.pullRequest?.targetBranch ? 'pullRequestTargetBranch' : 'manifestBranch';
    throw naming(error, 'manifestRepositoryUrl', { branch: branchInput, url: 'manifestRepositoryUrl' });
  });
  job.cloning.catch(() => { /* reported where it is awaited */ });
  return job;
}

/** Installs and renders every environment set into the output folder. */
async function render(options: GenerateManifestsOptions, job: Job): Promise<Rendered> {
  job.progress(10, 'Installing and rendering components');
  const rendered = await generate({
    hldDir: job.hld.dir,
    environmentSets: options.environmentSets,
    outputDir: options.outputDir,
    allowEnvironmentsWithoutConfig: options.allowEnvironmentsWithoutConfig,
    cacheDir: options.cacheDir,
    helmPath: options.helmPath,
    kustomizePath: options.kustomizePath,
    network: options.network,
    env: options.env,
    runHooks: options.runHooks,
    allowRemoteHooks: options.allowRemoteHooks,
    allowLocalGitSources: options.allowLocalGitSources,
    logger: options.logger,
  }).catch(async (error: unknown) => {
    // Nothing is pushed after a failed render; let the clone finish and remove it.
    await (await job.cloning?.catch(() => undefined))?.cleanup({ removeDirectory: true });
    throw error;
  });
  const sets = rendered.environmentSets;
  return { sets, folders: sets.map((set) => environmentFolder(job.manifestPath, set)) };
}

/**
 * Compares the render with the manifest checkout. Superseded is per environment folder: a folder
 * whose current render comes from a newer HLD commit is left alone; the others are published. All
 * of them superseded: nothing to do. Refuses to empty an environment (unless allowEmptyOutput).
 */
async function compare(options: GenerateManifestsOptions, job: Job, rendered: Rendered, workspace: GitWorkspace): Promise<PublishPlan> {
  const { hld, manifestPath } = job;
  const { sets, folders } = rendered;
  const skipped = options.dryRun ? [] : await newerRenders(workspace, hld, folders, sets, options.logger);
  const keep = (_: unknown, index: number) => !skipped.some((s) => s.folder === folders[index]);
  const plan = { sets: sets.filter(keep), folders: folders.filter(keep), skipped };
  if (plan.sets.length === 0) return { ...plan, diff: { environments: [], changed: false }, supersededBy: skipped[0].newer };
  const diff = diffTrees(workspace.dir, repositoryFiles(manifestPath, plan.sets), plan.folders);
  if (!options.allowEmptyOutput) assertNoEnvironmentEmptied(diff, plan.sets, plan.folders);
  for (const { folder, newer } of skipped) options.logger.warn(`${folder}: not published; it already holds the render of HLD commit ${newer}, newer than this run's ${hld.commit}`);
  return { ...plan, diff };
}

/** Publishes the plan: as a dry run (and PR comment), by a pull request, or by a direct push with retry. */
async function publish(options: GenerateManifestsOptions, job: Job, rendered: Rendered, first: PublishPlan, workspace: GitWorkspace): Promise<Outcome> {
  const { hld, manifestPath, progress } = job;
  const manifest = job.manifest!;
  const { logger } = options;
  if (options.dryRun) {
    const summary = renderSummaryMarkdown({ diff: first.diff, dryRun: true, title: 'Rendered manifests (dry run)' });
    await commentOnHldPullRequest(options, hld, summary);
    return { kind: 'dryRun', plan: first, summary };
  }
  const pullRequestBranch = pullRequestBranchName(['manifests', manifest.targetBranch, ...(manifestPath ? [manifestPath] : [])]);
  if (!first.diff.changed) {
    // An open pull request from our branch now proposes manifests the target already has (or older ones): stale.
    const closed = job.pushMode === 'pullRequest' ? await closeStalePullRequest({
      repositoryUrl: manifest.url,
      credential: options.credential,
      apiUrl: options.pullRequestApiUrl,
      sourceBranch: pullRequestBranch,
      targetBranch: manifest.targetBranch,
      comment: `${manifest.targetBranch} already has the manifests rendered from HLD ${shortCommit(hld.commit) ?? ''}; closed by ${runReference(options.provenance)}.`,
      logger,
    }) : undefined;
    return { kind: 'unchanged', plan: first, closed };
  }

  const author = authorOf(options);
  if (job.pushMode === 'pullRequest') {
    const message = commitMessage(options, hld, first.sets, first.folders);
    progress(70, 'Syncing the rendered tree');
    await syncEnvironmentFolders(workspace.dir, manifestPath, first.sets);
    progress(80, 'Pushing the pull request branch');
    const pr = await pushPullRequest({
      workspace,
      sourceBranch: pullRequestBranch,
      targetBranch: manifest.targetBranch,
      message,
      author,
      repositoryUrl: manifest.url,
      credential: options.credential,
      pullRequest: {
        title: options.pullRequest?.title || `Generate manifests for ${first.folders.join(', ')} from HLD ${shortCommit(hld.commit) ?? ''}`.trim(),
        description: renderSummaryMarkdown({ diff: first.diff, maxBytes: 3500 }),
        autoComplete: options.pullRequest?.autoComplete,
        mergeStrategy: options.pullRequest?.mergeStrategy,
        deleteSourceBranch: options.pullRequest?.deleteSourceBranch,
        reviewers: options.pullRequest?.reviewers,
        workItemIds: options.pullRequest?.workItemIds,
        apiUrl: options.pullRequestApiUrl,
      },
      logger,
    });
    return { kind: 'pullRequest', plan: first, pr };
  }

  progress(70, 'Syncing and pushing');
  const pushed = await pushWithRetry<PublishPlan>({
    workspace,
    branch: manifest.branch,
    maxAttempts: options.maxPushAttempts,
    author,
    // Written after apply, so it names exactly the folders this attempt publishes.
    message: (_, plan = first) => commitMessage(options, hld, plan.sets, plan.folders),
    logger,
    apply: async (dir, attempt) => {
      // On a retry the branch moved: decide again on the new tip (it may hold a newer render now).
      const plan = attempt > 1 ? await compare(options, job, rendered, workspace) : first;
      if (plan.supersededBy) return { changed: false, result: plan };
      await syncEnvironmentFolders(dir, manifestPath, plan.sets);
      return { changed: true, result: plan };
    },
  });
  const plan = pushed.result ?? first;
  if (plan.supersededBy) return { kind: 'superseded', newer: plan.supersededBy };
  return { kind: 'pushed', plan, pushed };
}

/** The one place an outcome becomes the result: status, outputs, Markdown summary and message. */
function report(options: GenerateManifestsOptions, job: Job, outcome: Outcome): GenerateManifestsResult {
  const { hld, progress } = job;
  const base = { renderedPath: options.outputDir, hldCommit: hld.commit };
  const skippedNote = (plan: PublishPlan) => (plan.skipped.length ? `; ${plan.skipped.map((s) => s.folder).join(', ')} skipped (newer render present)` : '');
  const url = job.manifest ? displayUrl(job.manifest.url) : '';
  switch (outcome.kind) {
    case 'rendered': {
      const { sets, folders } = outcome.rendered;
      const summary = renderSummaryMarkdown({ diff: diffTrees(undefined, repositoryFiles(job.manifestPath, sets), folders), title: 'Rendered manifests (render only)' });
      progress(100, 'Rendered');
      return { ...base, status: 'rendered', manifestsChanged: false, summary, message: `Rendered ${folders.join(', ')} into ${options.outputDir}` };
    }
    case 'superseded': {
      const manifest = job.manifest!;
      progress(100, 'Superseded');
      const message = `Superseded: ${manifest.branch} of ${url} already holds manifests of HLD commit ${outcome.newer}, which is newer than this run's ${hld.commit}; nothing pushed`;
      const summary = `## Rendered manifests\n\n**Superseded:** the manifest branch \`${manifest.branch}\` already holds the render of HLD commit \`${outcome.newer}\`, a descendant of this run's \`${hld.commit}\`. Nothing was pushed.\n`;
      return { ...base, status: 'superseded', manifestsChanged: false, summary, message };
    }
    case 'dryRun': {
      const { diff } = outcome.plan;
      progress(100, 'Dry run done');
      return {
        ...base,
        status: 'dryRun',
        manifestsChanged: diff.changed,
        summary: outcome.summary,
        message: diff.changed ? `Dry run: ${changedFolders(diff)} would change; nothing pushed` : 'Dry run: the manifest repository is up to date',
      };
    }
    case 'unchanged': {
      progress(100, 'No changes');
      const summary = renderSummaryMarkdown({ diff: outcome.plan.diff });
      const closedText = outcome.closed ? `; closed the stale pull request #${outcome.closed.id} (${outcome.closed.url})` : '';
      return { ...base, status: 'unchanged', manifestsChanged: false, summary, message: `Manifests in ${url} are up to date${closedText}${skippedNote(outcome.plan)}` };
    }
    case 'pullRequest': {
      const { pr, plan } = outcome;
      progress(100, 'Done');
      const pullRequest = pr.pullRequestId !== undefined ? { id: pr.pullRequestId, url: pr.pullRequestUrl ?? '' } : undefined;
      const summary = renderSummaryMarkdown({ diff: plan.diff, commit: pr.commitId ? { sha: pr.commitId } : undefined, pullRequest });
      return {
        ...base,
        status: pr.changed ? 'pullRequest' : 'unchanged',
        manifestsChanged: pr.changed,
        manifestCommitId: pr.commitId,
        pullRequest,
        summary,
        message: (pullRequest ? `Pull request #${pullRequest.id} holds the manifests: ${pullRequest.url}` : 'No changes: no pull request') + skippedNote(plan),
      };
    }
    case 'pushed': {
      const { pushed, plan } = outcome;
      progress(100, 'Pushed');
      const summary = renderSummaryMarkdown({ diff: plan.diff, commit: pushed.commit ? { sha: pushed.commit } : undefined });
      return {
        ...base,
        status: pushed.changed ? 'pushed' : 'unchanged',
        manifestsChanged: pushed.changed,
        manifestCommitId: pushed.commit,
        summary,
        message: pushed.changed
          ? `Pushed ${pushed.commit} to ${job.manifest!.branch} of ${url} (${changedFolders(plan.diff)})${skippedNote(plan)}`
          : `Manifests in ${url} are up to date${skippedNote(plan)}`,
      };
    }
  }
}

/**
 * Checks every input that reaches git before anything is cloned (errors name the task input) and
 * returns the options with `refs/heads/` stripped from the branch names.
 */
export function validateGenerateManifests(options: GenerateManifestsOptions): GenerateManifestsOptions {
  const hld: HldLocation = 'url' in options.hld
    ? { url: assertGitUrl(options.hld.url, 'hldRepositoryUrl'), branch: assertBranchName(options.hld.branch, 'hldBranch') }
    : options.hld;
  const manifest = options.manifest && {
    ...options.manifest,
    url: assertGitUrl(options.manifest.url, 'manifestRepositoryUrl'),
    branch: assertBranchName(options.manifest.branch, 'manifestBranch'),
  };
  normaliseManifestPath(options.manifest?.path);
  const targetBranch = options.pullRequest?.targetBranch;
  const pullRequest = options.pullRequest && {
    ...options.pullRequest,
    targetBranch: targetBranch ? assertBranchName(targetBranch, 'pullRequestTargetBranch') : targetBranch,
  };
  const validated = { ...options, hld, manifest, pullRequest };
  if (manifest) {
    validatePushSettings({
      mode: options.pushMode ?? gitWriteSettings.pushMode.default,
      maxAttempts: options.maxPushAttempts ?? MAX_PUSH_ATTEMPTS.default,
      pullRequest: pullRequest && { ...pullRequest, apiUrl: options.pullRequestApiUrl },
    }, authorOf(validated), options.commitMessage);
    // A typo in the template fails now, not after rendering.
    if (options.commitMessage) expandTemplate(options.commitMessage, templatePlaceholders({}, []));
  }
  return validated;
}

interface PublishPlan {
  /** The environment sets (and their folders) this attempt publishes. */
  sets: RenderedEnvironmentSet[];
  folders: string[];
  /** Folders left alone: they hold the render of a newer HLD commit. */
  skipped: { folder: string; newer: string }[];
  diff: TreeDiff;
  /** Set when every folder is skipped: the newer HLD commit to name. */
  supersededBy?: string;
}

/**
 * The folders of this run that already hold the render of a newer HLD commit (a descendant of
 * this run's): per folder, the newest manifest commit that published it says which HLD commit.
 */
async function newerRenders(workspace: GitWorkspace, hld: HldSource, folders: readonly string[], sets: readonly RenderedEnvironmentSet[], logger: Logger): Promise<{ folder: string; newer: string }[]> {
  if (!hld.commit || !(await workspace.head())) return [];
  const targets = folders.map((folder, index) => ({ folder, setName: sets[index].name }));
  // Renders of another HLD repository (sharing the manifest repository) cannot be compared.
  const sameHld = (trailers: Record<string, string>) => {
    const recordedRepository = trailers['Gitops-Hld-Repository'];
    return !(recordedRepository && hld.repositoryUrl && sameRepository(recordedRepository, hld.repositoryUrl) === false);
  };
  const recorded = await recordedRenderPerFolder((limit) => workspace.recentTrailers(limit), targets, sameHld);
  const verdicts = new Map<string, boolean>();
  const newer: { folder: string; newer: string }[] = [];
  for (const { folder } of targets) {
    const commit = recorded.get(folder);
    if (!commit) continue;
    if (!verdicts.has(commit)) verdicts.set(commit, await isSupersededBy(hld, commit, logger));
    if (verdicts.get(commit)) newer.push({ folder, newer: commit });
  }
  return newer;
}

async function commentOnHldPullRequest(options: GenerateManifestsOptions, hld: HldSource, summary: string): Promise<void> {
  const target = options.commentOnPullRequest;
  if (!target) return;
  const url = target.repositoryUrl ?? hld.repositoryUrl;
  let provider: PullRequestProvider;
  try {
    if (!url) throw new GitopsError('the HLD repository is not known');
    // Loaded on use: the pull-request client is most of the bundle and most runs never need it.
    const { connectPullRequests } = await import('../pull-requests');
    provider = await connectPullRequests({ repositoryUrl: url, credential: options.credential, apiUrl: options.pullRequestApiUrl });
  } catch (error) {
    if (!(error instanceof GitopsError)) throw error;
    options.logger.warn(`cannot comment on pull request ${target.pullRequestId}: ${error.message}`);
    return;
  }
  const result = await provider.postOrUpdateComment({
    pullRequestId: target.pullRequestId,
    marker: commentMarker,
    markdown: summary,
    logger: options.logger,
  });
  options.logger.info(`${result.created ? 'Posted' : 'Updated'} the manifest diff on pull request ${target.pullRequestId}`);
}

function commitMessage(options: GenerateManifestsOptions, hld: HldSource, sets: readonly RenderedEnvironmentSet[], folders: readonly string[]): string {
  const environments = sets.map((s) => s.name).join(', ');
  const template = options.commitMessage?.trim() || defaultManifestCommitMessage;
  const expanded = expandTemplate(template, templatePlaceholders(hld, sets)).replace(/\r\n/g, '\n').trim();
  const [subject, ...rest] = (expanded || `Generate manifests for ${environments}`).split('\n');
  const p = options.provenance;
  const record = [
    `Rendered ${environments} from ${hld.repositoryUrl ?? 'the HLD'}${hld.commit ? ` at ${hld.commit}` : ''}${hld.dirty ? ' with uncommitted changes in the checkout' : ''}.`,
    p.buildUrl || p.buildId ? `Build: ${p.buildNumber ?? p.buildId} ${p.buildUrl ?? ''}`.trim() : undefined,
    p.releaseId ? `Release: ${p.releaseName ?? p.releaseId} ${p.releaseUrl ?? ''}`.trim() : undefined,
  ].filter(Boolean);
  return formatCommitMessage({
    subject,
    body: [rest.join('\n').trim(), record.join('\n')].filter(Boolean).join('\n\n'),
    trailers: {
      'Gitops-Hld-Repository': hld.repositoryUrl,
      'Gitops-Hld-Commit': hld.commit,
      'Gitops-Hld-Dirty': hld.dirty ? 'true' : undefined,
      'Gitops-Environments': environments,
      // Which folders this commit replaced: how later runs tell, per environment, whether they are superseded.
      'Gitops-Environment-Folders': folders.join(', '),
      ...provenanceTrailers(p),
    },
  });
}

/** The placeholders of the commitMessage template. */
function templatePlaceholders(hld: Partial<HldSource>, sets: readonly RenderedEnvironmentSet[]): Record<string, string> {
  return {
    hldCommit: hld.commit ?? 'unknown',
    hldShortCommit: shortCommit(hld.commit) ?? 'unknown',
    hldSubject: hld.subject ?? '',
    hldRepository: hld.repositoryUrl ?? '',
    environments: sets.map((s) => s.name).join(', '),
  };
}


/** The author the caller gave, else the task's rule (the CLI passes its own, already resolved). */
function authorOf(options: GenerateManifestsOptions): GitAuthor {
  return commitAuthor(options.author ?? {}, options.provenance, DEFAULT_AUTHORS.task);
}

function sameRepository(a: string, b: string): boolean {
  const clean = (url: string) => displayUrl(url).replace(/\.git$/, '').replace(/\/+$/, '').toLowerCase();
  return clean(a) === clean(b);
}

function shortCommit(commit: string | undefined): string | undefined {
  return commit?.slice(0, 12);
}

function changedFolders(diff: TreeDiff): string {
  return diff.environments.filter((e) => e.files.length > 0).map((e) => e.folder).join(', ') || 'nothing';
}
