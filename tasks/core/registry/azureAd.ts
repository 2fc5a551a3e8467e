/**
 * Azure AD (Microsoft Entra ID) access tokens for Azure Container Registry: the client-credentials
 * grant with a service principal's secret or with a federated assertion, and the Azure Pipelines
 * OIDC token that a workload identity federation connection uses as that assertion. The access
 * token goes into `RegistryCredentials.aadAccessToken`; the registry client exchanges it at ACR's
 * `/oauth2/exchange`.
 */
import { GitopsError } from '../errors';
import { redact } from '../exec';
import type { Logger } from '../logger';
import { formatSeconds, isRetryableStatus, remainingMs, retryDelayMs, sleep, TOKEN_LIMIT_BYTES } from './http';
import { isSecureOrLoopback } from '../net';

export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com/';

/** ACR's own audience per Azure cloud (the `environment` of an Azure Resource Manager connection). */
const ACR_SCOPES: Record<string, string> = {
  azurecloud: 'https://containerregistry.azure.net/.default',
  azurechinacloud: 'https://containerregistry.azure.cn/.default',
  azureusgovernment: 'https://containerregistry.azure.us/.default',
};

const ATTEMPTS = 3;

/**
 * The scope to ask Azure AD for. A registry accepts ACR-audience tokens always, ARM-audience tokens
 * only while its "authentication-as-arm" policy is enabled (the default), so the ACR audience is
 * preferred; a cloud without a known ACR audience gets the ARM audience of its management URL.
 */
export function acrTokenScope(environment: string | undefined, managementUrl: string | undefined): string {
  const known = ACR_SCOPES[(environment ?? 'AzureCloud').toLowerCase()];
  if (known) return known;
  if (managementUrl) return `${managementUrl.replace(/\/+$/, '')}/.default`;
  return ACR_SCOPES.azurecloud;
}

export type AzureAdClientCredential =
  | { kind: 'secret'; secret: string }
  /** A federated token (e.g. the pipeline's OIDC token), sent as a JWT bearer client assertion. */
  | { kind: 'assertion'; assertion: string };

export interface AzureAdTokenRequest {
  /** Authority host, e.g. `https://login.microsoftonline.com/`; https, or http on loopback only. */
  authorityHost: string;
  tenantId: string;
  clientId: string;
  credential: AzureAdClientCredential;
  scope: string;
  /** How messages name the identity, e.g. `Azure Resource Manager connection "prod-acr"`. */
  subject: string;
  logger: Logger;
  timeoutMs?: number;
}

export interface AzureAdToken {
  accessToken: string;
  expiresInSeconds?: number;
}

/** Client-credentials grant at `{authority}/{tenant}/oauth2/v2.0/token`. */
export async function requestAzureAdToken(request: AzureAdTokenRequest): Promise<AzureAdToken> {
  if (!/^[A-Za-z0-9.-]+$/.test(request.tenantId)) {
    throw new GitopsError(`${request.subject} has no valid tenant id`, { hint: 'the connection needs its Azure AD tenant (directory) id' });
  }
  const base = secureUrl(request.authorityHost.replace(/\/*$/, '/'), 'Azure AD authority', request.subject);
  const url = new URL(`${request.tenantId}/oauth2/v2.0/token`, base);
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: request.clientId, scope: request.scope });
  const secret = request.credential.kind === 'secret' ? request.credential.secret : request.credential.assertion;
  if (request.credential.kind === 'secret') {
    form.set('client_secret', secret);
  } else {
    form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    form.set('client_assertion', secret);
  }
  request.logger.debug(`Azure AD: client credentials for application ${request.clientId} at ${url.origin}, scope ${request.scope}`);
  const response = await post(url, {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: form.toString(),
  }, 'Azure AD', request.subject, request.timeoutMs);
  const parsed = parseJson(response.text) as { access_token?: string; expires_in?: number | string; error?: string; error_description?: string } | undefined;
  if (response.status !== 200) {
    const detail = [parsed?.error, firstLine(parsed?.error_description)].filter(Boolean).join(': ');
    throw new GitopsError(redact(`Azure AD refused ${request.subject} (HTTP ${response.status}${detail ? ` ${detail}` : ''})`, [secret]), {
      hint: request.credential.kind === 'secret'
        ? 'check the service principal\'s id, tenant and secret in the service connection (secrets expire)'
        : 'check that the app registration or managed identity has a federated credential whose issuer and subject match this service connection',
    });
  }
  if (!parsed?.access_token) throw new GitopsError(`Azure AD returned no access token for ${request.subject}`);
  const expires = Number(parsed.expires_in);
  return { accessToken: parsed.access_token, expiresInSeconds: Number.isFinite(expires) ? expires : undefined };
}

export interface PipelineOidcTokenRequest {
  /** The `System.OidcRequestUri` of the job. */
  oidcRequestUri: string;
  serviceConnectionId: string;
  /** The job's `System.AccessToken`. */
  systemAccessToken: string;
  subject: string;
  logger: Logger;
  timeoutMs?: number;
}

/** Azure DevOps "Oidctoken - Create": an ID token for a workload identity federation connection. */
export async function requestPipelineOidcToken(request: PipelineOidcTokenRequest): Promise<string> {
  const url = secureUrl(request.oidcRequestUri, 'System.OidcRequestUri', request.subject);
  url.searchParams.set('api-version', '7.1');
  url.searchParams.set('serviceConnectionId', request.serviceConnectionId);
  request.logger.debug(`Azure DevOps: OIDC token for service connection ${request.serviceConnectionId} from ${url.origin}`);
  const response = await post(url, {
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: `Bearer ${request.systemAccessToken}` },
    body: '{}',
  }, 'Azure DevOps', request.subject, request.timeoutMs);
  if (response.status !== 200) {
    throw new GitopsError(`Azure DevOps did not issue an OIDC token for ${request.subject} (HTTP ${response.status})`, {
      hint: response.status === 401 || response.status === 403
        ? 'the job\'s access token must be available to the task and the pipeline authorized to use this service connection'
        : 'the service connection must use workload identity federation',
    });
  }
  const token = (parseJson(response.text) as { oidcToken?: string } | undefined)?.oidcToken;
  if (!token) throw new GitopsError(`Azure DevOps returned no oidcToken for ${request.subject}`);
  return token;
}

/** A URL credentials may be sent to: https, or plain http on this machine (tests, proxies). */
function secureUrl(text: string, what: string, subject: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new GitopsError(`${what} "${text}" of ${subject} is not a URL`);
  }
  if (isSecureOrLoopback(url)) return url;
  throw new GitopsError(`${what} ${url.origin} of ${subject} is not https`, { hint: 'credentials are only sent over HTTPS' });
}

/**
 * POST with a few retries on network errors and 429/5xx, all within one deadline (`timeoutMs`); no
 * redirects (they could carry the secret elsewhere); the answer is read up to TOKEN_LIMIT_BYTES.
 */
async function post(url: URL, init: { headers: Record<string, string>; body: string }, service: string, subject: string, timeoutMs = 30_000): Promise<{ status: number; text: string }> {
  const deadline = Date.now() + timeoutMs;
  const failure = (reason: string) => new GitopsError(`could not get a token from ${service} at ${url.host} for ${subject}: ${reason}`, {
    hint: 'the token service stalled, is unreachable or answered too much; nothing was sent to the registry',
  });
  for (let attempt = 0; ; attempt++) {
    const signal = AbortSignal.timeout(remainingMs(deadline));
    let status: number;
    let retryAfter: string | undefined;
    let text: string;
    try {
      const response = await fetch(url, { method: 'POST', redirect: 'manual', signal, ...init });
      status = response.status;
      retryAfter = response.headers.get('retry-after') ?? undefined;
      text = await readCapped(response, TOKEN_LIMIT_BYTES);
    } catch (error) {
      if (error instanceof GitopsError) throw failure(error.message);
      const timedOut = signal.aborted;
      const delay = retryDelayMs(attempt);
      if (!timedOut && attempt + 1 < ATTEMPTS && Date.now() + delay < deadline) {
        await sleep(delay);
        continue;
      }
      const reason = timedOut ? `no complete answer within ${formatSeconds(timeoutMs)} (${attempt + 1} attempt(s))`
        : error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
      throw failure(reason);
    }
    if (isRetryableStatus(status) && attempt + 1 < ATTEMPTS) {
      const delay = retryDelayMs(attempt, retryAfter);
      if (Date.now() + delay < deadline) {
        await sleep(delay);
        continue;
      }
    }
    return { status, text };
  }
}

/** A fetch body as text, refused beyond `limit` bytes as soon as they arrive (after any decompression). */
async function readCapped(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw new GitopsError(`the answer is larger than the ${limit} bytes allowed for a token`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function firstLine(text: string | undefined): string | undefined {
  const line = text?.split(/\r?\n/)[0]?.trim();
  return line && line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
