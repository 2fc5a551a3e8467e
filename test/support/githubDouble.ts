import type { IncomingMessage, ServerResponse } from 'node:http';
import { gitResult } from './gitServer';
import { LocalHttpDouble, readBody, send } from './localHttpDouble';

/**
 * A strict stand-in for the GitHub REST endpoints our pull-request code calls (API version
 * 2022-11-28): list/create/update/close pulls, request reviewers, list/create/update issue comments,
 * and deleting a branch ref in `gitDir`, the bare repository behind the repository.
 */
export interface GithubRecordedCall {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: unknown;
  status: number;
}

export interface GithubDoublePull {
  number: number;
  title: string;
  body: string;
  head: string;
  base: string;
  state: 'open' | 'closed';
  requestedReviewers: string[];
  comments: { id: number; body: string }[];
}

class Refusal extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

export class GithubDouble extends LocalHttpDouble {
  readonly calls: GithubRecordedCall[] = [];
  readonly unexpectedCalls: GithubRecordedCall[] = [];
  readonly pullRequests: GithubDoublePull[] = [];
  private nextNumber = 1;
  private nextCommentId = 5000;
  gitDir?: string;

  constructor(private readonly options: { token: string; owner?: string; repository?: string; gitDir?: string }) {
    super();
    this.gitDir = options.gitDir;
  }

  get owner(): string { return this.options.owner ?? 'contoso'; }
  get repository(): string { return this.options.repository ?? 'manifests'; }

  get apiUrl(): string {
    return this.origin;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    const call: GithubRecordedCall = { method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams.entries()), status: 0 };
    this.calls.push(call);
    const raw = await readBody(req);
    try {
      if (raw) {
        try { call.body = JSON.parse(raw); } catch { throw new Refusal(400, 'Problems parsing JSON'); }
      }
      if (req.headers.authorization !== `Bearer ${this.options.token}`) throw new Refusal(401, 'Bad credentials');
      if (req.headers['x-github-api-version'] !== '2022-11-28') throw new Refusal(400, 'X-GitHub-Api-Version must be 2022-11-28');
      if (req.headers.accept !== 'application/vnd.github+json') throw new Refusal(400, 'Accept must be application/vnd.github+json');
      const [status, body] = await this.route(call);
      if (status === 204) {
        call.status = status;
        res.writeHead(204);
        res.end();
        return;
      }
      send(res, call, status, body);
    } catch (error) {
      const refusal = error instanceof Refusal ? error : new Refusal(500, String(error));
      if (refusal.status === 404) this.unexpectedCalls.push(call);
      send(res, call, refusal.status, { message: refusal.message, documentation_url: 'https://docs.github.com/rest' });
    }
  }

  private async route(call: GithubRecordedCall): Promise<[number, unknown]> {
    const repo = `/repos/${this.owner}/${this.repository}`;
    if (!call.path.startsWith(`${repo}/`)) throw new Refusal(404, 'Not Found');
    const parts = call.path.slice(repo.length + 1).split('/');
    const { method, body } = call;

    if (parts.join('/') === 'pulls' && method === 'GET') {
      expectQuery(call, ['state', 'head', 'base', 'per_page', 'page']);
      const found = this.pullRequests.filter((p) => (!call.query.state || call.query.state === 'all' || p.state === call.query.state)
        && (!call.query.head || `${this.owner}:${p.head}` === call.query.head)
        && (!call.query.base || p.base === call.query.base));
      return [200, found.map((p) => this.present(p))];
    }
    if (parts.join('/') === 'pulls' && method === 'POST') {
      expectQuery(call, []);
      strictFields(body, ['title', 'head', 'base'], ['title', 'head', 'base', 'body', 'draft', 'maintainer_can_modify']);
      const input = body as { title: string; head: string; base: string; body?: string };
      if (this.pullRequests.some((p) => p.state === 'open' && p.head === input.head && p.base === input.base)) {
        throw new Refusal(422, `A pull request already exists for ${this.owner}:${input.head}.`);
      }
      const pull: GithubDoublePull = { number: this.nextNumber++, title: input.title, body: input.body ?? '', head: input.head, base: input.base, state: 'open', requestedReviewers: [], comments: [] };
      this.pullRequests.push(pull);
      return [201, this.present(pull)];
    }
    if (parts[0] === 'pulls' && parts.length === 2 && method === 'PATCH') {
      expectQuery(call, []);
      strictFields(body, [], ['title', 'body', 'state', 'base', 'maintainer_can_modify']);
      const pull = this.pull(parts[1]);
      const input = body as { title?: string; body?: string; state?: unknown };
      if (input.state !== undefined && input.state !== 'open' && input.state !== 'closed') throw new Refusal(422, `state must be open or closed, not ${String(input.state)}`);
      if (input.title !== undefined) pull.title = input.title;
      if (input.body !== undefined) pull.body = input.body;
      if (input.state !== undefined) pull.state = input.state;
      return [200, this.present(pull)];
    }
    if (parts[0] === 'pulls' && parts.length === 3 && parts[2] === 'requested_reviewers' && method === 'POST') {
      expectQuery(call, []);
      strictFields(body, [], ['reviewers', 'team_reviewers']);
      const pull = this.pull(parts[1]);
      pull.requestedReviewers.push(...((body as { reviewers?: string[] }).reviewers ?? []));
      return [201, this.present(pull)];
    }
    if (parts[0] === 'issues' && parts.length === 3 && parts[2] === 'comments' && method === 'GET') {
      expectQuery(call, ['per_page', 'page']);
      const perPage = Number(call.query.per_page ?? 30);
      const page = Number(call.query.page ?? 1);
      return [200, this.pull(parts[1]).comments.slice((page - 1) * perPage, page * perPage)];
    }
    if (parts[0] === 'issues' && parts.length === 3 && parts[2] === 'comments' && method === 'POST') {
      expectQuery(call, []);
      strictFields(body, ['body'], ['body']);
      const comment = { id: this.nextCommentId++, body: (body as { body: string }).body };
      this.pull(parts[1]).comments.push(comment);
      return [201, comment];
    }
    if (parts[0] === 'issues' && parts[1] === 'comments' && parts.length === 3 && method === 'PATCH') {
      expectQuery(call, []);
      strictFields(body, ['body'], ['body']);
      const comment = this.pullRequests.flatMap((p) => p.comments).find((c) => String(c.id) === parts[2]);
      if (!comment) throw new Refusal(404, 'Not Found');
      comment.body = (body as { body: string }).body;
      return [200, comment];
    }
    if (parts[0] === 'git' && parts[1] === 'refs' && parts[2] === 'heads' && parts.length > 3 && method === 'DELETE') {
      expectQuery(call, []);
      if (body !== undefined) throw new Refusal(400, 'DELETE takes no body');
      if (!this.gitDir) throw new Refusal(500, 'The double has no gitDir for ref deletion');
      const ref = `refs/heads/${parts.slice(3).map(decodeURIComponent).join('/')}`;
      const tip = await gitResult(['--git-dir', this.gitDir, 'rev-parse', '--verify', '--quiet', ref]);
      if (tip.code !== 0) throw new Refusal(422, 'Reference does not exist');
      const deleted = await gitResult(['--git-dir', this.gitDir, 'update-ref', '-d', ref, tip.stdout.trim()]);
      if (deleted.code !== 0) throw new Refusal(409, 'Conflict');
      return [204, undefined];
    }
    throw new Refusal(404, 'Not Found');
  }

  private pull(number: string): GithubDoublePull {
    const pull = this.pullRequests.find((p) => String(p.number) === number);
    if (!pull) throw new Refusal(404, 'Not Found');
    return pull;
  }

  private present(p: GithubDoublePull): unknown {
    return {
      number: p.number, title: p.title, body: p.body, state: p.state,
      head: { ref: p.head, label: `${this.owner}:${p.head}` }, base: { ref: p.base },
      html_url: `https://github.com/${this.owner}/${this.repository}/pull/${p.number}`,
      requested_reviewers: p.requestedReviewers.map((login) => ({ login })),
    };
  }
}

function expectQuery(call: GithubRecordedCall, allowed: string[]): void {
  const unknown = Object.keys(call.query).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw new Refusal(400, `Unexpected query parameters: ${unknown.join(', ')}`);
}

function strictFields(value: unknown, required: string[], allowed: string[]): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Refusal(400, 'Body must be a JSON object');
  const unknown = Object.keys(value).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw new Refusal(422, `Unknown fields: ${unknown.join(', ')}`);
  const missing = required.filter((k) => typeof (value as Record<string, unknown>)[k] !== 'string' || (value as Record<string, string>)[k] === '');
  if (missing.length > 0) throw new Refusal(422, `Missing required fields: ${missing.join(', ')}`);
}
