// Only the Git client and the two token handlers: the package's WebApi entry point loads every
// client of every service area (2.8 MB bundled).
import { GitApi } from 'azure-devops-node-api/GitApi';
import { restClientNetwork } from '../network';
import { BearerCredentialHandler } from 'azure-devops-node-api/handlers/bearertoken';
import { PersonalAccessTokenCredentialHandler } from 'azure-devops-node-api/handlers/personalaccesstoken';
import {
  CommentThreadStatus,
  CommentType,
  GitPullRequestMergeStrategy,
  GitRefUpdateStatus,
  PullRequestStatus,
  type GitPullRequest,
  type GitPullRequestCompletionOptions,
} from 'azure-devops-node-api/interfaces/GitInterfaces';
import { describeError, GitopsError } from '../errors';
import { requestFailure } from './failures';
import { markerTag } from './marker';
import type { RepoProvider } from './provider';
import type {
  ClosedPullRequest,
  ClosePullRequestOptions,
  MergeStrategy,
  PullRequestCommentOptions,
  PullRequestCommentResult,
  PullRequestOptions,
  PullRequestResult,
  TokenKind,
} from './types';

type AzureProvider = Extract<RepoProvider, { kind: 'azure' }>;

/** Azure Repos rejects longer descriptions. */
const maxDescriptionLength = 4000;

const mergeStrategies: Record<MergeStrategy, GitPullRequestMergeStrategy> = {
  squash: GitPullRequestMergeStrategy.Squash,
  noFastForward: GitPullRequestMergeStrategy.NoFastForward,
  rebase: GitPullRequestMergeStrategy.Rebase,
  rebaseMerge: GitPullRequestMergeStrategy.RebaseMerge,
};

const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function createOrUpdateAzurePullRequest(provider: AzureProvider, options: PullRequestOptions): Promise<PullRequestResult> {
  const { logger } = options;
  const git = connect(provider, options.token, options.tokenKind);
  const call = callWith(options.token);
  const sourceRefName = toRef(options.sourceBranch);
  const targetRefName = toRef(options.targetBranch);
  const description = fitDescription(options.description, logger.warn.bind(logger));

  const open = await call('list pull requests', () =>
    git.getPullRequests(provider.repository, { sourceRefName, targetRefName, status: PullRequestStatus.Active }, provider.project));
  const existing = open?.[0];
  const reviewerIds = await resolveReviewers(git, provider, options, call);

  if (existing?.pullRequestId !== undefined) {
    const id = existing.pullRequestId;
    logger.info(`Updating pull request ${id} (${options.sourceBranch} → ${options.targetBranch})`);
    const update: GitPullRequest = { title: options.title, description, ...autoCompleteFields(options, existing) };
    await call('update the pull request', () => git.updatePullRequest(update, provider.repository, id, provider.project));
    const present = new Set((existing.reviewers ?? []).map((r) => r.id?.toLowerCase()));
    const missing = reviewerIds.filter((r) => !present.has(r.toLowerCase()));
    if (missing.length > 0) {
      await call('add reviewers', () => git.createPullRequestReviewers(missing.map((reviewerId) => ({ id: reviewerId })), provider.repository, id, provider.project));
    }
    if (options.workItemIds?.length) logger.debug('Work items are linked only when the pull request is created');
    return { id, url: webUrl(provider, id), created: false };
  }

  const toCreate: GitPullRequest = {
    sourceRefName,
    targetRefName,
    title: options.title,
    description,
    ...(reviewerIds.length ? { reviewers: reviewerIds.map((id) => ({ id })) } : {}),
    ...(options.workItemIds?.length ? { workItemRefs: options.workItemIds.map((id) => ({ id: String(id) })) } : {}),
  };
  const created = await call('create the pull request', () => git.createPullRequest(toCreate, provider.repository, provider.project));
  const id = created.pullRequestId;
  if (id === undefined) throw new GitopsError('Azure DevOps created a pull request but returned no pullRequestId');
  logger.info(`Created pull request ${id} (${options.sourceBranch} → ${options.targetBranch})`);
  const autoComplete = autoCompleteFields(options, created);
  if (autoComplete.autoCompleteSetBy) {
    await call('set auto-complete on the pull request', () => git.updatePullRequest(autoComplete, provider.repository, id, provider.project));
  }
  return { id, url: webUrl(provider, id), created: true };
}

export async function postOrUpdateAzureComment(provider: AzureProvider, options: PullRequestCommentOptions): Promise<PullRequestCommentResult> {
  const git = connect(provider, options.token, options.tokenKind);
  const call = callWith(options.token);
  const tag = markerTag(options.marker);
  const content = `${tag}\n${options.markdown}`;
  const threads = await call('read pull request comments', () => git.getThreads(provider.repository, options.pullRequestId, provider.project));
  for (const thread of threads ?? []) {
    const ours = thread.comments?.find((c) => !c.isDeleted && c.content?.includes(tag));
    if (ours?.id !== undefined && thread.id !== undefined) {
      await call('update the pull request comment', () =>
        git.updateComment({ content }, provider.repository, options.pullRequestId, thread.id!, ours.id!, provider.project));
      options.logger.info(`Updated comment thread ${thread.id} on pull request ${options.pullRequestId}`);
      return { threadId: thread.id, created: false };
    }
  }
  // Closed: a report is not a question to resolve, and an active thread can block auto-complete policies.
  const thread = await call('comment on the pull request', () =>
    git.createThread(
      { comments: [{ parentCommentId: 0, content, commentType: CommentType.Text }], status: CommentThreadStatus.Closed },
      provider.repository,
      options.pullRequestId,
      provider.project,
    ));
  if (thread.id === undefined) throw new GitopsError('Azure DevOps created a comment thread but returned no id');
  options.logger.info(`Created comment thread ${thread.id} on pull request ${options.pullRequestId}`);
  return { threadId: thread.id, created: true };
}

/**
 * Abandons the active pull request from exactly `sourceBranch` into `targetBranch` (abandoning also
 * cancels its auto-complete), says why in a closed comment thread, then deletes the source branch.
 * Returns undefined when there is no such pull request.
 */
export async function closeAzurePullRequest(provider: AzureProvider, options: ClosePullRequestOptions): Promise<ClosedPullRequest | undefined> {
  const { logger } = options;
  const call = callWith(options.token);
  const git = connect(provider, options.token, options.tokenKind);
  const sourceRefName = toRef(options.sourceBranch);
  const targetRefName = toRef(options.targetBranch);
  const open = await call('list pull requests', () =>
    git.getPullRequests(provider.repository, { sourceRefName, targetRefName, status: PullRequestStatus.Active }, provider.project));
  // The server filters; checking again means no other branch's pull request is ever touched.
  const stale = (open ?? []).find((pr) => pr.sourceRefName === sourceRefName && pr.targetRefName === targetRefName && pr.pullRequestId !== undefined);
  if (stale?.pullRequestId === undefined) {
    logger.info(`No open pull request from ${options.sourceBranch} to ${options.targetBranch}`);
    return undefined;
  }
  const id = stale.pullRequestId;
  await call('abandon the pull request', () =>
    git.updatePullRequest({ status: PullRequestStatus.Abandoned }, provider.repository, id, provider.project));
  logger.info(`Abandoned pull request ${id} (${options.sourceBranch} → ${options.targetBranch})`);
  try {
    await call('comment on the pull request', () =>
      git.createThread(
        { comments: [{ parentCommentId: 0, content: options.comment, commentType: CommentType.Text }], status: CommentThreadStatus.Closed },
        provider.repository,
        id,
        provider.project,
      ));
  } catch (error) {
    logger.warn(`Pull request ${id} was abandoned without a comment: ${describeError(error)}`);
  }
  const branchDeleted = await deleteAzureBranch(git, provider, sourceRefName, stale.lastMergeSourceCommit?.commitId, call, logger.warn.bind(logger));
  return { id, url: webUrl(provider, id), branchDeleted };
}

/**
 * Deletes the branch only while it still points at the commit the pull request showed, so a newer
 * push by another run is never thrown away. The refs API answers 200 even when it refuses.
 */
async function deleteAzureBranch(git: GitApi, provider: AzureProvider, refName: string, commitId: string | undefined, call: Call, warn: (message: string) => void): Promise<boolean> {
  const branch = refName.replace(/^refs\/heads\//, '');
  if (!commitId) {
    warn(`Branch ${branch} left in place: Azure DevOps did not say which commit the pull request is at`);
    return false;
  }
  try {
    const [result] = await call(`delete the branch ${branch}`, () =>
      git.updateRefs([{ name: refName, oldObjectId: commitId, newObjectId: '0'.repeat(commitId.length) }], provider.repository, provider.project));
    if (result?.success) return true;
    const status = result?.updateStatus === undefined ? 'no status' : GitRefUpdateStatus[result.updateStatus] ?? String(result.updateStatus);
    const why = result?.updateStatus === GitRefUpdateStatus.StaleOldObjectId ? 'it moved since the pull request was last updated' : result?.customMessage || status;
    warn(`Branch ${branch} left in place: ${why}`);
  } catch (error) {
    warn(`Branch ${branch} left in place: ${describeError(error)}`);
  }
  return false;
}

/**
 * The Git REST client of the collection. Git's resource area is the collection itself on Azure
 * DevOps Services and Server, so no location lookup is needed first.
 */
function connect(provider: AzureProvider, token: string, tokenKind: TokenKind = 'bearer'): GitApi {
  // allowCrossOriginAuthentication=false: never forward the token to a redirect on another host.
  const handler = tokenKind === 'pat' ? new PersonalAccessTokenCredentialHandler(token, false) : new BearerCredentialHandler(token, false);
  return new GitApi(provider.collectionUrl, [handler], { allowRetries: true, maxRetries: 3, ...restClientNetwork() }, 'bedrock-gitops');
}

type Call = <T>(action: string, run: () => Promise<T>) => Promise<T>;

function callWith(token: string): Call {
  return async (action, run) => {
    try {
      return await run();
    } catch (error) {
      if (error instanceof GitopsError) throw error;
      const status = (error as { statusCode?: number }).statusCode;
      const message = error instanceof Error ? error.message : String(error);
      throw requestFailure('Azure DevOps', action, status, message, token);
    }
  };
}

function autoCompleteFields(options: PullRequestOptions, pullRequest: GitPullRequest): GitPullRequest {
  if (!options.autoComplete) return {};
  const creatorId = pullRequest.createdBy?.id;
  if (!creatorId) {
    options.logger.warn('Auto-complete not set: Azure DevOps did not say who created the pull request');
    return {};
  }
  const completionOptions: GitPullRequestCompletionOptions = {
    mergeStrategy: mergeStrategies[options.mergeStrategy ?? 'squash'],
    deleteSourceBranch: options.deleteSourceBranch ?? false,
    transitionWorkItems: Boolean(options.workItemIds?.length),
  };
  return { autoCompleteSetBy: { id: creatorId }, completionOptions };
}

/** Unique names are resolved to identity ids: the pull request API only takes ids. */
async function resolveReviewers(connection: GitApi, provider: AzureProvider, options: PullRequestOptions, call: Call): Promise<string[]> {
  const ids: string[] = [];
  for (const reviewer of options.reviewers ?? []) {
    const wanted = reviewer.trim();
    if (!wanted) continue;
    if (guidPattern.test(wanted)) {
      ids.push(wanted);
      continue;
    }
    const query = `searchFilter=General&filterValue=${encodeURIComponent(wanted)}&queryMembership=None`;
    const response = await call(`look up the reviewer "${wanted}"`, () =>
      connection.rest.get<{ count?: number; value?: { id: string }[] }>(`${identityBaseUrl(provider)}/_apis/identities?${query}`, {
        acceptHeader: 'application/json;api-version=7.1',
      }));
    const found = response.result?.value ?? [];
    if (found.length !== 1) {
      throw new GitopsError(`Reviewer "${wanted}" matches ${found.length} identities in Azure DevOps`, {
        field: 'reviewers',
        hint: 'use the identity id (a GUID) or the exact unique name, e.g. user@contoso.com or [Project]\\Team',
      });
    }
    ids.push(found[0].id);
  }
  return ids;
}

/** On Azure DevOps Services identities live on vssps.dev.azure.com; on a server, on the collection. */
function identityBaseUrl(provider: AzureProvider): string {
  const services = /^https:\/\/dev\.azure\.com\/([^/]+)/i.exec(provider.collectionUrl);
  return services ? `https://vssps.dev.azure.com/${services[1]}` : provider.collectionUrl;
}

function fitDescription(description: string, warn: (message: string) => void): string {
  if (description.length <= maxDescriptionLength) return description;
  warn(`Pull request description cut to ${maxDescriptionLength} characters (Azure Repos limit)`);
  const note = '\n\n…(description truncated)';
  return description.slice(0, maxDescriptionLength - note.length) + note;
}

function toRef(branch: string): string {
  return branch.startsWith('refs/') ? branch : `refs/heads/${branch}`;
}

function webUrl(provider: AzureProvider, id: number): string {
  return `${provider.collectionUrl}/${encodeURIComponent(provider.project)}/_git/${encodeURIComponent(provider.repository)}/pullrequest/${id}`;
}
