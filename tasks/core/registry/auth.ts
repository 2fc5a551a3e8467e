import { GitopsError, RegistryError } from '../errors';
import type { Logger } from '../logger';
import { isLoopbackRegistry } from './reference';
import type { Dispatcher } from 'undici';
import { assertHttpUrl, readBody, send, TOKEN_LIMIT_BYTES, type RawResponse } from './http';

/** How to log in to a registry. Nothing set = anonymous. */
export interface RegistryCredentials {
  /** Basic credentials (also an ACR service principal's appId / secret, or a token name / password). */
  username?: string;
  password?: string;
  /** Azure AD access token for ACR: exchanged for an ACR refresh token at `/oauth2/exchange`. */
  aadAccessToken?: string;
  tenantId?: string;
}

export interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** Parses `WWW-Authenticate: Bearer realm="...",service="...",scope="..."` (or Basic). */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const scheme = match[1].toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  const pair = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let m = pair.exec(match[2]); m; m = pair.exec(match[2])) {
    params[m[1].toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3];
  }
  return { scheme, params };
}

interface CachedToken { token: string; expiresAt: number }

/**
 * Authorization for one registry: learns the scheme from the first challenge, then sends the
 * header up front. Bearer tokens are cached per scope set until shortly before `expires_in`.
 */
export class RegistryAuth {
  private challenge?: Challenge;
  private readonly tokens = new Map<string, Promise<CachedToken>>();
  private refreshToken?: Promise<string>;

  constructor(
    private readonly registry: string,
    private readonly credentials: RegistryCredentials | undefined,
    private readonly dispatcher: Dispatcher,
    private readonly logger: Logger,
    private readonly insecure: boolean,
  ) {}

  get scheme(): 'basic' | 'bearer' | undefined {
    return this.challenge?.scheme;
  }

  /** Secrets this object may put on the wire, for redaction by callers. */
  get secrets(): string[] {
    const c = this.credentials ?? {};
    return [c.password, c.aadAccessToken].filter((s): s is string => !!s);
  }

  private basicHeader(): string | undefined {
    const { username, password } = this.credentials ?? {};
    if (username === undefined || password === undefined) return undefined;
    return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }

  /** The Authorization header for a request needing `scopes`, or undefined before any challenge. */
  async authorization(scopes: string[], deadline?: number): Promise<string | undefined> {
    if (!this.challenge) return undefined;
    if (this.challenge.scheme === 'basic') return this.basicHeader();
    const key = [...scopes].sort().join(' ');
    let cached = this.tokens.get(key);
    if (cached) {
      const token = await cached.catch(() => undefined);
      if (token && token.expiresAt > Date.now()) return `Bearer ${token.token}`;
    }
    cached = this.fetchToken(scopes, deadline);
    this.tokens.set(key, cached);
    cached.catch(() => this.tokens.delete(key));
    return `Bearer ${(await cached).token}`;
  }

  /**
   * Handles a 401. Returns true when a retry with new authorization can succeed, false when the
   * request was already authorized the way the challenge asks (wrong credentials or missing access).
   */
  acceptChallenge(header: string | undefined, sentAuthorization: boolean, scopes: string[]): boolean {
    const challenge = parseChallenge(header);
    if (!challenge) {
      throw new GitopsError(`registry ${this.registry} refused access (HTTP 401) without a usable WWW-Authenticate challenge`, {
        hint: 'check the registry URL and the credentials of its service connection',
      });
    }
    const known = this.challenge;
    this.challenge = challenge;
    if (challenge.scheme === 'basic') {
      if (!this.basicHeader()) {
        throw new GitopsError(`registry ${this.registry} requires a username and password`, { hint: 'give the task credentials for this registry' });
      }
      return !(sentAuthorization && known?.scheme === 'basic');
    }
    if (sentAuthorization && known?.scheme === 'bearer') {
      // A fresh token for these scopes was refused: drop it so a later call starts over.
      this.tokens.delete([...scopes].sort().join(' '));
      return false;
    }
    return true;
  }

  private realmUrl(): URL {
    const realm = this.challenge?.params.realm;
    if (!realm) throw new GitopsError(`registry ${this.registry} sent a Bearer challenge without a realm`);
    let url: URL;
    try {
      url = new URL(realm);
      assertHttpUrl(url);
    } catch (error) {
      throw new GitopsError(`registry ${this.registry} sent a Bearer challenge with the unusable realm ${JSON.stringify(realm.slice(0, 100))}: ${(error as Error).message}`);
    }
    if (url.protocol === 'http:' && !this.insecure && !isLoopbackRegistry(url.host)) {
      throw new GitopsError(`registry ${this.registry} asks for credentials at the plain-HTTP address ${url.host}`, {
        hint: 'credentials are only sent over HTTPS; mark the registry insecure only if you trust the network',
      });
    }
    return url;
  }

  private async fetchToken(scopes: string[], deadline?: number): Promise<CachedToken> {
    const realm = this.realmUrl();
    const service = this.challenge?.params.service;
    const requested = scopes.length > 0 ? scopes : (this.challenge?.params.scope ? [this.challenge.params.scope] : []);
    const started = Date.now();
    const what = `token for ${requested.join(' ') || 'no scope'}`;
    let response: RawResponse;
    if (this.credentials?.aadAccessToken) {
      const refresh = await this.acrRefreshToken(realm, service, deadline);
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refresh });
      if (service) form.set('service', service);
      if (requested.length) form.set('scope', requested.join(' '));
      response = await this.tokenCall(realm, what, () => send(realm, {
        method: 'POST', dispatcher: this.dispatcher, body: Buffer.from(form.toString()), deadline,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }));
    } else {
      const url = new URL(realm);
      if (service) url.searchParams.set('service', service);
      for (const scope of requested) url.searchParams.append('scope', scope);
      const basic = this.basicHeader();
      response = await this.tokenCall(realm, what, () => send(url, { method: 'GET', dispatcher: this.dispatcher, headers: basic ? { authorization: basic } : {}, deadline }));
    }
    const body = await this.tokenCall(realm, what, () => readBody(response, TOKEN_LIMIT_BYTES));
    if (response.status === 401 || response.status === 403) {
      throw new RegistryError('access-denied', this.registry, `registry ${this.registry} rejected the credentials${this.credentials?.username ? ` of user "${this.credentials.username}"` : ''} (token service ${realm.host} answered HTTP ${response.status})`, {
        hint: 'check the username and password (or token) of the service connection for this registry',
      });
    }
    if (response.status !== 200) {
      throw new GitopsError(`token service ${realm.host} of registry ${this.registry} answered HTTP ${response.status} for the ${what}`);
    }
    const parsed = parseJsonObject(body) as { token?: unknown; access_token?: unknown; expires_in?: unknown } | undefined;
    const token = parsed?.token ?? parsed?.access_token;
    if (typeof token !== 'string' || !token || /[\r\n]/.test(token)) throw new GitopsError(`token service ${realm.host} of registry ${this.registry} returned no usable ${what}`);
    // The spec's default lifetime is 60 s; renew 10 s early so no request carries an expiring token.
    const lifetime = Math.max(10, typeof parsed?.expires_in === 'number' && Number.isFinite(parsed.expires_in) ? parsed.expires_in : 60);
    this.logger.debug(`registry ${this.registry}: token for ${requested.join(' ') || 'no scope'} (valid ${lifetime}s)`);
    return { token, expiresAt: started + (lifetime - 10) * 1000 };
  }

  /** Runs one step of a token request; failures (stall, deadline, oversize answer) name the token service, the registry and the token. */
  private async tokenCall<T>(service: URL, what: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      if (error instanceof GitopsError && (error.message.startsWith('token service') || error.message.startsWith(`registry ${this.registry}`))) throw error;
      throw new GitopsError(`token service ${service.host} of registry ${this.registry} failed to give the ${what}: ${(error as Error).message}`, {
        cause: error,
        hint: 'the token service stalled, is unreachable or answered too much; retries count against networkTimeoutSeconds',
      });
    }
  }

  /** ACR: AAD access token → ACR refresh token, once per client. */
  private acrRefreshToken(realm: URL, service: string | undefined, deadline?: number): Promise<string> {
    // The Azure AD token is good for every registry of the tenant: it goes only to the registry's
    // own host (ACR's token service is the login server), never to one a challenge names.
    const registryHost = new URL(`https://${this.registry}`).hostname.toLowerCase();
    if (realm.hostname.toLowerCase() !== registryHost) {
      return Promise.reject(new GitopsError(`registry ${this.registry} named the token service ${realm.host}; the Azure AD token is only sent to ${registryHost}`, {
        hint: 'Azure AD (ACR) credentials work with Azure Container Registry, whose token service is the registry itself',
      }));
    }
    if (!this.refreshToken) {
      this.refreshToken = (async () => {
        const form = new URLSearchParams({ grant_type: 'access_token', access_token: this.credentials!.aadAccessToken! });
        form.set('service', service ?? this.registry);
        if (this.credentials?.tenantId) form.set('tenant', this.credentials.tenantId);
        const exchange = new URL('/oauth2/exchange', realm);
        const what = 'refresh token from /oauth2/exchange';
        const response = await this.tokenCall(exchange, what, () => send(exchange, {
          method: 'POST', dispatcher: this.dispatcher, body: Buffer.from(form.toString()), deadline,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }));
        const body = await this.tokenCall(exchange, what, () => readBody(response, TOKEN_LIMIT_BYTES));
        if (response.status !== 200) {
          throw new RegistryError('azure-ad-refused', this.registry, `registry ${this.registry} refused the Azure AD token at /oauth2/exchange (HTTP ${response.status})`, {
            hint: 'the service principal or managed identity needs AcrPull on the source and AcrPush on the target registry',
          });
        }
        const refresh = (parseJsonObject(body) as { refresh_token?: unknown } | undefined)?.refresh_token;
        if (typeof refresh !== 'string' || !refresh) throw new GitopsError(`registry ${this.registry} returned no refresh token from /oauth2/exchange`);
        return refresh;
      })();
      this.refreshToken.catch(() => { this.refreshToken = undefined; });
    }
    return this.refreshToken;
  }
}

function parseJsonObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}
