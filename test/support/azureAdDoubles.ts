/**
 * Strict local doubles of Azure AD's v2.0 token endpoint and of Azure DevOps' OIDC token endpoint
 * (System.OidcRequestUri), for tasks that reach Azure Container Registry through a service principal.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalHttpDouble, readBody, send } from './localHttpDouble';

/** One request a double answered. */
export interface Call { method: string; path: string; query: Record<string, string>; form: Record<string, string>; authorization?: string; status?: number }

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/**
 * Azure AD's v2.0 token endpoint for one tenant and one application: the client-credentials grant
 * with the application's secret or a federated assertion, for exactly the expected scope.
 * Anything else gets AAD-shaped 400/401 answers.
 */
export class AzureAdDouble extends LocalHttpDouble {
  readonly calls: Call[] = [];
  /** Answer this many requests with 503 first (a transient outage). */
  unavailable = 0;

  constructor(private readonly expected: { tenantId: string; clientId: string; scope: string; secret: string; assertion: string; accessToken: string }) {
    super();
  }

  get authority(): string {
    return `${this.origin}/`;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const form = Object.fromEntries(new URLSearchParams(await readBody(req)));
    const call: Call = { method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), form };
    this.calls.push(call);
    const refuse = (status: number, error: string, description: string) => send(res, call, status, { error, error_description: description, error_codes: [status] });
    if (this.unavailable > 0) {
      this.unavailable--;
      return refuse(503, 'temporarily_unavailable', 'AADSTS90033: A transient error has occurred. Please try again.');
    }
    const e = this.expected;
    if (req.method !== 'POST' || url.pathname !== `/${e.tenantId}/oauth2/v2.0/token` || url.search !== '') {
      return refuse(400, 'invalid_request', `AADSTS900561: The endpoint only accepts POST requests to /${e.tenantId}/oauth2/v2.0/token.`);
    }
    if (!/^application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')) return refuse(400, 'invalid_request', 'AADSTS900144: form body expected');
    if (form.grant_type !== 'client_credentials' || form.client_id !== e.clientId || form.scope !== e.scope) {
      return refuse(400, 'invalid_request', 'AADSTS90014: grant_type, client_id or scope is wrong');
    }
    const fields = Object.keys(form).sort().join(',');
    if (fields === 'client_id,client_secret,grant_type,scope') {
      if (form.client_secret !== e.secret) return refuse(401, 'invalid_client', `AADSTS7000215: Invalid client secret provided for app '${e.clientId}'.`);
    } else if (fields === 'client_assertion,client_assertion_type,client_id,grant_type,scope' && form.client_assertion_type === JWT_BEARER) {
      if (form.client_assertion !== e.assertion) return refuse(401, 'invalid_client', 'AADSTS700213: No matching federated identity record found for presented assertion.');
    } else {
      return refuse(400, 'invalid_request', `AADSTS90014: unexpected form fields ${fields}`);
    }
    send(res, call, 200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: e.accessToken });
  }
}

/** Azure DevOps "Oidctoken - Create" at the job's System.OidcRequestUri, for one connection and one job token. */
export class OidcDouble extends LocalHttpDouble {
  readonly calls: Call[] = [];
  readonly path = '/00000000-0000-0000-0000-0000000000aa/_apis/distributedtask/hubs/build/plans/plan-1/jobs/job-1/oidctoken';

  constructor(private readonly expected: { connectionId: string; systemToken: string; oidcToken: string }) {
    super();
  }

  get requestUri(): string {
    return `${this.origin}${this.path}`;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    await readBody(req);
    const call: Call = { method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), form: {}, authorization: req.headers.authorization };
    this.calls.push(call);
    if (req.headers.authorization !== `Bearer ${this.expected.systemToken}`) return send(res, call, 401, { message: 'TF400813: The user is not authorized.' });
    const query = JSON.stringify(call.query);
    if (req.method !== 'POST' || url.pathname !== this.path || query !== JSON.stringify({ 'api-version': '7.1', serviceConnectionId: this.expected.connectionId })) {
      return send(res, call, 400, { message: `unexpected ${req.method} ${url.pathname} ${query}` });
    }
    send(res, call, 200, { oidcToken: this.expected.oidcToken });
  }
}
