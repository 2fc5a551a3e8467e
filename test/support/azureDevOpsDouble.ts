import type { IncomingMessage, ServerResponse } from 'node:http';
import { gitResult } from './gitServer';
import { LocalHttpDouble, readBody, send } from './localHttpDouble';

/**
 * A strict stand-in for the few Azure DevOps REST endpoints our pull-request code calls, shaped
 * the way azure-devops-node-api 17 talks to the real service: OPTIONS location discovery per area,
 * the ResourceAreas lookup, then versioned calls with `Accept: application/json;api-version=...`.
 * Anything else is refused loudly and recorded, so tests can assert "no unexpected calls".
 */
export interface RecordedCall {
  method: string;
  path: string;
  query: Record<string, string>;
  apiVersion?: string;
  /** The scheme of the Authorization header that the double accepted: `Bearer` or `Basic`. */
  authScheme?: string;
  body?: unknown;
  status: number;
}

export interface DoubleComment { id: number; parentCommentId: number; content: string; commentType?: unknown; isDeleted: boolean }
export interface DoubleThread { id: number; status?: unknown; comments: DoubleComment[] }
export interface DoublePullRequest {
  pullRequestId: number;
  sourceRefName: string;
  targetRefName: string;
  title: string;
  description: string;
  status: 'active' | 'completed' | 'abandoned';
  createdBy: { id: string; displayName: string };
  reviewers: { id: string; vote: number }[];
  workItemRefs: { id: string }[];
  autoCompleteSetBy?: { id: string };
  completionOptions?: Record<string, unknown>;
  threads: DoubleThread[];
}

export interface AzureDevOpsDoubleOptions {
  organization?: string;
  project?: string;
  repository?: string;
  /** The only credential accepted, as Bearer or as the password of Basic auth (PAT). */
  token: string;
  /** Identity that creates PRs (the build service). */
  creatorId?: string;
  /** Unique names the identities endpoint resolves, e.g. { 'dev@contoso.com': '<guid>' }. */
  identities?: Record<string, string>;
  /** Answer every POST/PATCH with 403, like a build service without "Contribute to pull requests". */
  denyWrites?: boolean;
  /** The bare git repository behind the repository: branch tips (lastMergeSourceCommit) and the refs API. */
  gitDir?: string;
}

const gitAreaId = '4e080c62-fa21-4fbc-8fef-2a10a2b38049';
const resourceAreasLocationId = 'e81700f7-3be2-46de-8624-2eb35882fcaa';
const locations = {
  pullRequests: { id: '9946fd70-0d40-406e-b686-b4744cbbcc37', resourceVersion: 2, route: '{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{pullRequestId}' },
  threads: { id: 'ab6e2e5d-a0b7-4153-b64a-a4efe0d49449', resourceVersion: 1, route: '{project}/_apis/{area}/repositories/{repositoryId}/pullRequests/{pullRequestId}/{resource}/{threadId}' },
  comments: { id: '965a3ec7-5ed8-455a-bdcb-835a5ea7fe7b', resourceVersion: 1, route: '{project}/_apis/{area}/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads/{threadId}/{resource}/{commentId}' },
  reviewers: { id: '4b6702c7-aa35-4b89-9c96-b9abf6d3e540', resourceVersion: 1, route: '{project}/_apis/{area}/repositories/{repositoryId}/pullRequests/{pullRequestId}/{resource}/{reviewerId}' },
  refs: { id: '2d874a60-a811-4f62-9c9f-963a6ea0a55b', resourceVersion: 2, route: '{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{*filter}' },
};

const repositoryId = '6a1a5f2e-0000-4000-8000-000000000001';

class Refusal extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

export class AzureDevOpsDouble extends LocalHttpDouble {
  readonly calls: RecordedCall[] = [];
  /** Calls to routes the double does not implement (404). */
  readonly unexpectedCalls: RecordedCall[] = [];
  readonly pullRequests: DoublePullRequest[] = [];
  readonly organization: string;
  readonly project: string;
  readonly repository: string;
  readonly creatorId: string;
  denyWrites: boolean;
  gitDir?: string;
  private nextId = 100;

  constructor(private readonly options: AzureDevOpsDoubleOptions) {
    super();
    this.organization = options.organization ?? 'fabrikam';
    this.project = options.project ?? 'Platform';
    this.repository = options.repository ?? 'manifests';
    this.creatorId = options.creatorId ?? '0d5c5a1e-6c1f-4c59-9a35-1b4f5e1c0b11';
    this.denyWrites = options.denyWrites ?? false;
    this.gitDir = options.gitDir;
  }

  get collectionUrl(): string {
    return `${this.origin}/${this.organization}`;
  }

  /** The remote URL a pipeline would have for the repository. */
  get remoteUrl(): string {
    return `${this.collectionUrl}/${this.project}/_git/${this.repository}`;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    const query = Object.fromEntries(url.searchParams.entries());
    const raw = await readBody(req);
    const call: RecordedCall = { method: req.method ?? '', path: decodeURIComponent(url.pathname), query, status: 0 };
    this.calls.push(call);
    try {
      let body: unknown;
      if (raw.length > 0) {
        try { body = JSON.parse(raw); } catch { throw new Refusal(400, 'Request body is not JSON'); }
        call.body = body;
      }
      call.authScheme = this.checkAuth(req.headers.authorization);
      call.apiVersion = apiVersionOf(req, query);
      const result = await this.route(call, body);
      send(res, call, 200, result);
    } catch (error) {
      if (error instanceof Refusal) {
        if (error.status === 404) this.unexpectedCalls.push(call);
        send(res, call, error.status, { $id: '1', message: error.message, typeKey: 'DoubleRefusal' });
      } else {
        send(res, call, 500, { message: String(error) });
      }
    }
  }

  /** The accepted scheme, `Bearer` or `Basic`; refuses anything else. */
  private checkAuth(header: string | undefined): string {
    if (!header) throw new Refusal(401, 'No Authorization header');
    const [scheme, value = ''] = header.split(' ', 2);
    if (/^bearer$/i.test(scheme) && value === this.options.token) return 'Bearer';
    if (/^basic$/i.test(scheme)) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      if (decoded.slice(decoded.indexOf(':') + 1) === this.options.token) return 'Basic';
    }
    throw new Refusal(401, 'TF400813: The user is not authorized to access this resource.');
  }

  private async route(call: RecordedCall, body: unknown): Promise<unknown> {
    const base = `/${this.organization}`;
    if (!call.path.startsWith(`${base}/`)) throw new Refusal(404, `Unknown route ${call.method} ${call.path}`);
    const rest = call.path.slice(base.length);
    const { method } = call;

    if (method === 'OPTIONS' && (rest === '/_apis/Location' || rest === '/_apis/git')) {
      expectVersion(call, undefined);
      return rest === '/_apis/git' ? this.gitLocations() : this.locationLocations();
    }
    if (method === 'GET' && rest === '/_apis/ResourceAreas') {
      expectVersion(call, '7.2-preview.1');
      expectQuery(call, []);
      return { count: 1, value: [{ id: gitAreaId, name: 'git', locationUrl: `${this.collectionUrl}/` }] };
    }
    if (method === 'GET' && rest === '/_apis/identities') {
      expectVersion(call, '7.1');
      expectQuery(call, ['searchFilter', 'filterValue', 'queryMembership']);
      if (call.query.searchFilter !== 'General') throw new Refusal(400, 'searchFilter must be General');
      const id = this.options.identities?.[call.query.filterValue];
      return id ? { count: 1, value: [{ id, providerDisplayName: call.query.filterValue }] } : { count: 0, value: [] };
    }

    const repositoryBase = `/${this.project}/_apis/git/repositories/${this.repository}`;
    const prefix = `${repositoryBase}/pullRequests`;
    const refsRoute = rest === `${repositoryBase}/refs`;
    if (!rest.startsWith(prefix) && !refsRoute) throw new Refusal(404, `Unknown route ${method} ${call.path}`);
    if ((method === 'POST' || method === 'PATCH') && this.denyWrites) {
      throw new Refusal(403, 'TF401027: You need the Git \'PullRequestContribute\' permission to perform this action.');
    }
    if (refsRoute) {
      if (method !== 'POST') throw new Refusal(404, `Unknown route ${method} ${call.path}`);
      expectVersion(call, '7.2-preview.2');
      expectQuery(call, ['projectId']);
      return this.updateRefs(body);
    }
    const parts = rest.slice(prefix.length).split('/').filter(Boolean);

    if (parts.length === 0 && method === 'GET') {
      expectVersion(call, '7.2-preview.2');
      expectQuery(call, ['searchCriteria.sourceRefName', 'searchCriteria.targetRefName', 'searchCriteria.status']);
      const wantedStatus = call.query['searchCriteria.status'];
      if (wantedStatus !== undefined && wantedStatus !== '1' && wantedStatus.toLowerCase() !== 'active') {
        throw new Refusal(400, `The double only lists active pull requests, got status ${wantedStatus}`);
      }
      const found = this.pullRequests.filter((pr) => pr.status === 'active'
        && (!call.query['searchCriteria.sourceRefName'] || pr.sourceRefName === call.query['searchCriteria.sourceRefName'])
        && (!call.query['searchCriteria.targetRefName'] || pr.targetRefName === call.query['searchCriteria.targetRefName']));
      return { count: found.length, value: await Promise.all(found.map((pr) => this.present(pr))) };
    }
    if (parts.length === 0 && method === 'POST') {
      expectVersion(call, '7.2-preview.2');
      expectQuery(call, ['supportsIterations']);
      return await this.present(this.createPullRequest(body));
    }
    const pr = this.pullRequests.find((p) => String(p.pullRequestId) === parts[0]);
    if (!pr) throw new Refusal(404, `TF401180: The requested pull request was not found: ${parts[0]}`);

    if (parts.length === 1 && method === 'PATCH') {
      expectVersion(call, '7.2-preview.2');
      expectQuery(call, []);
      this.updatePullRequest(pr, body);
      return await this.present(pr);
    }
    if (parts.length === 2 && parts[1] === 'reviewers' && method === 'POST') {
      expectVersion(call, '7.2-preview.1');
      expectQuery(call, []);
      if (!Array.isArray(body) || body.length === 0) throw new Refusal(400, 'Reviewers body must be a non-empty array');
      for (const reviewer of body) {
        strictFields(reviewer, 'reviewer', ['id'], ['id']);
        pr.reviewers.push({ id: String((reviewer as { id: string }).id), vote: 0 });
      }
      return { count: pr.reviewers.length, value: pr.reviewers };
    }
    if (parts.length === 2 && parts[1] === 'threads' && method === 'GET') {
      expectVersion(call, '7.2-preview.1');
      expectQuery(call, []);
      return { count: pr.threads.length, value: pr.threads };
    }
    if (parts.length === 2 && parts[1] === 'threads' && method === 'POST') {
      expectVersion(call, '7.2-preview.1');
      expectQuery(call, []);
      return this.createThread(pr, body);
    }
    if (parts.length === 5 && parts[1] === 'threads' && parts[3] === 'comments' && method === 'PATCH') {
      expectVersion(call, '7.2-preview.1');
      expectQuery(call, []);
      strictFields(body, 'comment', ['content'], ['content']);
      const comment = pr.threads.find((t) => String(t.id) === parts[2])?.comments.find((c) => String(c.id) === parts[4]);
      if (!comment) throw new Refusal(404, `Comment ${parts[4]} not found in thread ${parts[2]}`);
      comment.content = (body as { content: string }).content;
      return comment;
    }
    throw new Refusal(404, `Unknown route ${method} ${call.path}`);
  }

  private createPullRequest(body: unknown): DoublePullRequest {
    strictFields(body, 'pull request', ['sourceRefName', 'targetRefName', 'title'],
      ['sourceRefName', 'targetRefName', 'title', 'description', 'reviewers', 'workItemRefs', 'isDraft']);
    const input = body as { sourceRefName: string; targetRefName: string; title: string; description?: string; reviewers?: unknown[]; workItemRefs?: unknown[] };
    for (const ref of [input.sourceRefName, input.targetRefName]) {
      if (!/^refs\/heads\/.+/.test(ref)) throw new Refusal(400, `Ref name must be a full ref: ${ref}`);
    }
    if (input.sourceRefName === input.targetRefName) throw new Refusal(400, 'Source and target branch are the same');
    if (this.pullRequests.some((pr) => pr.status === 'active' && pr.sourceRefName === input.sourceRefName && pr.targetRefName === input.targetRefName)) {
      throw new Refusal(409, 'TF401179: An active pull request for the source and target branch already exists.');
    }
    if ((input.description ?? '').length > 4000) throw new Refusal(400, 'Description exceeds 4000 characters');
    const reviewers = (input.reviewers ?? []).map((r) => { strictFields(r, 'reviewer', ['id'], ['id']); return { id: String((r as { id: string }).id), vote: 0 }; });
    const workItemRefs = (input.workItemRefs ?? []).map((w) => { strictFields(w, 'work item ref', ['id'], ['id', 'url']); return { id: String((w as { id: string }).id) }; });
    const pr: DoublePullRequest = {
      pullRequestId: this.nextId++,
      sourceRefName: input.sourceRefName,
      targetRefName: input.targetRefName,
      title: input.title,
      description: input.description ?? '',
      status: 'active',
      createdBy: { id: this.creatorId, displayName: `${this.project} Build Service (${this.organization})` },
      reviewers,
      workItemRefs,
      threads: [],
    };
    this.pullRequests.push(pr);
    return pr;
  }

  private updatePullRequest(pr: DoublePullRequest, body: unknown): void {
    strictFields(body, 'pull request update', [], ['title', 'description', 'status', 'autoCompleteSetBy', 'completionOptions']);
    const update = body as Omit<Partial<DoublePullRequest>, 'status'> & { autoCompleteSetBy?: unknown; completionOptions?: unknown; status?: unknown };
    if (Object.keys(update).length === 0) throw new Refusal(400, 'Empty pull request update');
    if (update.status !== undefined) {
      // azure-devops-node-api sends the PullRequestStatus enum as its number (2 = abandoned).
      if (update.status !== 2 && update.status !== 'abandoned') throw new Refusal(400, `The double only abandons pull requests, got status ${String(update.status)}`);
      if (Object.keys(update).length !== 1) throw new Refusal(400, 'Abandon the pull request in an update of its own');
      if (pr.status !== 'active') throw new Refusal(409, `TF401181: The pull request ${pr.pullRequestId} is not active`);
      pr.status = 'abandoned';
      pr.autoCompleteSetBy = undefined;
      return;
    }
    if (update.autoCompleteSetBy !== undefined) {
      strictFields(update.autoCompleteSetBy, 'autoCompleteSetBy', ['id'], ['id']);
      const id = (update.autoCompleteSetBy as { id: string }).id;
      if (id !== this.creatorId) throw new Refusal(400, `autoCompleteSetBy ${id} is not the caller's identity`);
      pr.autoCompleteSetBy = { id };
    }
    if (update.completionOptions !== undefined) {
      strictFields(update.completionOptions, 'completionOptions', [],
        ['mergeStrategy', 'deleteSourceBranch', 'transitionWorkItems', 'squashMerge', 'mergeCommitMessage', 'bypassPolicy', 'bypassReason']);
      const strategy = (update.completionOptions as { mergeStrategy?: unknown }).mergeStrategy;
      if (strategy !== undefined && ![1, 2, 3, 4, 'noFastForward', 'squash', 'rebase', 'rebaseMerge'].includes(strategy as never)) {
        throw new Refusal(400, `Unknown mergeStrategy ${String(strategy)}`);
      }
      pr.completionOptions = update.completionOptions as Record<string, unknown>;
    }
    if (update.title !== undefined) pr.title = update.title;
    if (update.description !== undefined) pr.description = update.description;
  }

  private createThread(pr: DoublePullRequest, body: unknown): DoubleThread {
    strictFields(body, 'thread', ['comments'], ['comments', 'status', 'properties', 'threadContext']);
    const input = body as { comments: unknown[]; status?: unknown };
    if (!Array.isArray(input.comments) || input.comments.length === 0) throw new Refusal(400, 'A thread needs at least one comment');
    const thread: DoubleThread = { id: pr.threads.length + 1, status: input.status, comments: [] };
    for (const c of input.comments) {
      strictFields(c, 'comment', ['content'], ['content', 'parentCommentId', 'commentType']);
      const comment = c as { content: string; parentCommentId?: number; commentType?: unknown };
      thread.comments.push({ id: thread.comments.length + 1, parentCommentId: comment.parentCommentId ?? 0, content: comment.content, commentType: comment.commentType, isDeleted: false });
    }
    pr.threads.push(thread);
    return thread;
  }

  /**
   * The refs API as the pull-request code uses it: deleting a branch, only while it still points at
   * `oldObjectId`. Like the service, a refused update is a 200 with `success: false`.
   */
  private async updateRefs(body: unknown): Promise<unknown> {
    if (!Array.isArray(body) || body.length === 0) throw new Refusal(400, 'Ref updates must be a non-empty array');
    if (!this.gitDir) throw new Refusal(500, 'The double has no gitDir for ref updates');
    const value = [];
    for (const update of body) {
      strictFields(update, 'ref update', ['name', 'oldObjectId', 'newObjectId'], ['name', 'oldObjectId', 'newObjectId']);
      const { name, oldObjectId, newObjectId } = update as { name: string; oldObjectId: string; newObjectId: string };
      if (!/^refs\/heads\/.+/.test(name)) throw new Refusal(400, `Ref name must be a full branch ref: ${name}`);
      if (!/^0+$/.test(newObjectId)) throw new Refusal(400, 'The double only deletes refs (newObjectId of zeros)');
      const deleted = await gitResult(['--git-dir', this.gitDir, 'update-ref', '-d', name, oldObjectId]);
      value.push({
        name, oldObjectId, newObjectId, isLocked: false, repositoryId,
        success: deleted.code === 0,
        updateStatus: deleted.code === 0 ? 'succeeded' : 'staleOldObjectId',
      });
    }
    return { count: value.length, value };
  }

  private async present(pr: DoublePullRequest): Promise<unknown> {
    const { threads: _threads, ...visible } = pr;
    const tip = this.gitDir ? await gitResult(['--git-dir', this.gitDir, 'rev-parse', '--verify', '--quiet', `${pr.sourceRefName}^{commit}`]) : undefined;
    return {
      ...visible,
      ...(tip?.code === 0 ? { lastMergeSourceCommit: { commitId: tip.stdout.trim() } } : {}),
      repository: { id: repositoryId, name: this.repository, project: { name: this.project } },
      url: `${this.collectionUrl}/${this.project}/_apis/git/repositories/${this.repository}/pullRequests/${pr.pullRequestId}`,
    };
  }

  private gitLocations(): unknown {
    const value = Object.entries(locations).map(([resourceName, l]) => ({
      id: l.id, area: 'git', resourceName, routeTemplate: l.route,
      resourceVersion: l.resourceVersion, minVersion: '1.0', maxVersion: '7.2', releasedVersion: '7.1',
    }));
    return { count: value.length, value };
  }

  private locationLocations(): unknown {
    const value = [{
      id: resourceAreasLocationId, area: 'Location', resourceName: 'ResourceAreas', routeTemplate: '_apis/{resource}/{areaId}',
      resourceVersion: 1, minVersion: '5.0', maxVersion: '7.2', releasedVersion: '0.0',
    }];
    return { count: value.length, value };
  }
}

function apiVersionOf(req: IncomingMessage, query: Record<string, string>): string | undefined {
  const fromAccept = /api-version=([^;,\s]+)/.exec(req.headers.accept ?? '')?.[1];
  return fromAccept ?? query['api-version'];
}

function expectVersion(call: RecordedCall, wanted: string | undefined): void {
  if (call.apiVersion === wanted) return;
  throw new Refusal(400, wanted
    ? `VS800075: api-version ${call.apiVersion ?? '(missing)'} is not supported here; expected ${wanted}`
    : `Unexpected api-version ${call.apiVersion} on ${call.method} ${call.path}`);
}

function expectQuery(call: RecordedCall, allowed: string[]): void {
  const unknown = Object.keys(call.query).filter((k) => k !== 'api-version' && !allowed.includes(k));
  if (unknown.length > 0) throw new Refusal(400, `Unexpected query parameters: ${unknown.join(', ')}`);
}

function strictFields(value: unknown, what: string, required: string[], allowed: string[]): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Refusal(400, `${what} must be an object`);
  const keys = Object.keys(value);
  const unknown = keys.filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw new Refusal(400, `Unknown fields in ${what}: ${unknown.join(', ')}`);
  const missing = required.filter((k) => (value as Record<string, unknown>)[k] === undefined || (value as Record<string, unknown>)[k] === '');
  if (missing.length > 0) throw new Refusal(400, `Missing required fields in ${what}: ${missing.join(', ')}`);
}
