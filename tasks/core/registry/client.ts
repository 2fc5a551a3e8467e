import type { OutgoingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { GitopsError, RegistryError } from '../errors';
import type { Logger } from '../logger';
import { RegistryAuth, type RegistryCredentials } from './auth';
import { isLoopbackHost } from '../net';
import { directConnection, networkDispatcher } from '../network';
import { BlobDownload } from './blob';
import {
  DEFAULT_NETWORK_TIMEOUT_SECONDS, DEFAULT_TIMEOUT_MS, drain, formatSeconds, isDeadlineError, isRetryableNetworkError, isRetryableStatus, isTransient,
  MANIFEST_LIMIT_BYTES, markTransient, readBody, retryDelayMs, send, sleep, type Progress, type RawResponse,
} from './http';
import { digestAlgorithm, digestOf, MANIFEST_ACCEPT, parseReferrers, type Descriptor } from './manifest';
import { isDigest, isLoopbackRegistry, isTag, registryEndpoint, type Digest } from './reference';
import { sendWire, WireBody } from './wire';

export interface RegistryClientOptions {
  /** Registry as in the image reference (`docker.io` is reached at registry-1.docker.io). */
  registry: string;
  credentials?: RegistryCredentials;
  /**
   * Plain HTTP to a non-loopback registry. A loopback registry is tried over https first and
   * spoken to over plain HTTP when it does not speak TLS.
   */
  insecure?: boolean;
  logger: Logger;
  /** Extra attempts after a 408/429/5xx or a connection reset (default 4). */
  retries?: number;
  userAgent?: string;
  /** Actions requested for every repository this client touches: `pull` (default) or `pull,push`. */
  actions?: 'pull' | 'pull,push';
  /** Blobs larger than this are uploaded in PATCH chunks of this size (default 512 MiB). */
  chunkSize?: number;
  /** Open (keep-alive) connections per origin (default 16). */
  maxSockets?: number;
  /**
   * The undici dispatcher requests go through. Default: a dispatcher of its own with this process's
   * network (proxy, bypass list, CA, client certificate: core/network.ts), closed by `close()`.
   */
  dispatcher?: Dispatcher;
  /** Overall deadline of each operation (one request with its retries, or one blob transfer), default 300 s. */
  networkTimeoutSeconds?: number;
}

export interface ManifestData { bytes: Buffer; mediaType: string; digest: Digest }
export interface ManifestHead { digest?: string; mediaType: string; size: number }

interface RequestSpec {
  method: string;
  /** A path below the registry root, or an absolute URL (upload locations). */
  path: string | URL;
  /** Repositories the request touches; the first gets the client's actions, the rest `pull`. */
  repos: string[];
  headers?: OutgoingHttpHeaders;
  /** A Buffer can be re-sent; bytes streamed from a download cannot, so such requests are not retried. */
  body?: Buffer | StreamedBody;
  /** Blob bodies: over a lean connection (wire.ts) when the URL goes direct, else through undici. */
  wire?: boolean;
  /** Counted while a blob body streams through undici, so that a stall says how far it got. */
  progress?: Progress;
  /** Blob downloads: fail a body slower than this on average, after a grace of networkTimeoutSeconds. */
  minBytesPerSecond?: number;
  /** Statuses that are answers, not errors. */
  expect: number[];
  what: string;
  /** Epoch ms by which the operation (retries and body included) must be done; default now + networkTimeoutSeconds. */
  deadline?: number;
}

/** A blob download: lean (direct connection) or through undici. */
export type BlobSource = WireBody | BlobDownload;

/** The next `length` bytes of a blob download, as a request body. */
interface StreamedBody { source: BlobSource; length: number }

const MAX_REDIRECTS = 5;
const DEADLINE_HINT = 'the registry stalled or is too slow; retries count against the same deadline (networkTimeoutSeconds raises it)';
/** Blobs up to this size go in one streamed PUT: every extra PATCH costs a round trip and a pause of the source stream. */
const DEFAULT_CHUNK_SIZE = 512 * 1024 * 1024;

/** One registry's HTTP API (OCI distribution spec v1.1), with auth, retries and streaming. */
export class RegistryClient {
  readonly registry: string;
  private base: URL;
  /** Settles once the scheme of a loopback registry is known (https when it speaks TLS). */
  private schemeKnown: Promise<void> | undefined;
  private readonly dispatcher: Dispatcher;
  /** Created its own dispatcher: closes it, and may use the lean blob path on direct connections. */
  private readonly ownsDispatcher: boolean;
  private readonly auth: RegistryAuth;
  private readonly logger: Logger;
  private readonly retries: number;
  private readonly userAgent: string;
  private readonly actions: string;
  private readonly insecure: boolean;
  readonly chunkSize: number;
  /** Overall deadline of one operation, in ms. */
  readonly timeoutMs: number;

  constructor(options: RegistryClientOptions) {
    this.registry = options.registry;
    const loopback = isLoopbackRegistry(options.registry);
    this.base = new URL(`${options.insecure ? 'http' : 'https'}://${registryEndpoint(options.registry)}`);
    this.ownsDispatcher = !options.dispatcher;
    this.dispatcher = options.dispatcher ?? networkDispatcher({ connections: options.maxSockets ?? 16 });
    this.logger = options.logger;
    this.retries = options.retries ?? 4;
    this.userAgent = options.userAgent ?? 'bedrock-gitops';
    this.actions = options.actions ?? 'pull';
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    this.insecure = !!options.insecure;
    const seconds = options.networkTimeoutSeconds ?? DEFAULT_NETWORK_TIMEOUT_SECONDS;
    if (!(seconds > 0)) throw new GitopsError(`the network timeout must be a positive number of seconds, not ${seconds}`, { field: 'networkTimeoutSeconds' });
    this.timeoutMs = seconds * 1000;
    this.auth = new RegistryAuth(options.registry, options.credentials, this.dispatcher, this.logger, !!options.insecure);
    this.schemeKnown = loopback && !options.insecure ? undefined : Promise.resolve();
  }

  /** Closes the keep-alive connections (of a dispatcher this client made). */
  close(): void {
    if (this.ownsDispatcher) void this.dispatcher.destroy().catch(() => {});
  }

  /**
   * A registry on this machine may speak plain HTTP (a local test or mirror registry) or TLS (with
   * a certificate the agent must trust): it is tried over https first, once per client, and
   * spoken to over http only when it does not speak TLS at all. A TLS error (an untrusted
   * certificate) fails here, naming the registry: never a fallback. Other registries are https
   * unless marked insecure, and are never downgraded.
   */
  private knowScheme(deadline: number): Promise<void> {
    if (!this.schemeKnown) {
      this.schemeKnown = (async () => {
        const url = new URL('/v2/', this.base);
        try {
          const response = await send(url, { method: 'GET', headers: { 'user-agent': this.userAgent }, dispatcher: this.dispatcher, deadline });
          await drain(response);
        } catch (error) {
          if (failedVerification(error)) throw this.networkError(error, `GET ${url.href}`);
          this.base = new URL(`http://${this.base.host}`);
          this.logger.debug(`registry ${this.registry} does not speak TLS; it is on this machine, so plain HTTP is used`);
        }
      })();
      this.schemeKnown.catch(() => { this.schemeKnown = undefined; });
    }
    return this.schemeKnown;
  }

  private scopes(repos: string[]): string[] {
    return repos.map((repo, i) => `repository:${repo}:${i === 0 ? this.actions : 'pull'}`);
  }

  /**
   * Where this client may send a request: https, or plain http when the registry itself is plain
   * http and the address is this machine (or the user marked the registry insecure). Upload
   * locations and redirects are checked too: a registry cannot send the agent to ftp:// or file://,
   * nor from https down to http.
   */
  private checkUrl(url: URL, what: string): void {
    if (url.protocol === 'https:') return;
    const plainAllowed = url.protocol === 'http:' && this.base.protocol === 'http:' && (this.insecure || isLoopbackHost(url.host));
    if (plainAllowed) return;
    throw new GitopsError(`registry ${this.registry} sent ${what} to ${url.protocol}//${url.host}; refusing (only ${this.base.protocol === 'https:' ? 'https' : 'https, or http to this machine,'} is followed)`, {
      hint: 'the registry, or something between it and the agent, redirects to an address the agent does not trust',
    });
  }

  /**
   * Sends a request with auth, redirects and retries, all within one deadline. Authorization goes
   * only to the registry's own origin (scheme, host and port): never along a redirect elsewhere.
   */
  private async request(spec: RequestSpec): Promise<RawResponse> {
    const scopes = this.scopes(spec.repos);
    const replayable = !isStreamed(spec.body);
    const deadline = spec.deadline ?? Date.now() + this.timeoutMs;
    const started = Date.now();
    let authRetried = false;
    /** Whether a retry after `delay` ms still ends before the deadline. */
    const timeLeftFor = (delay: number) => Date.now() + delay < deadline;
    for (let attempt = 0; ; attempt++) {
      let url: URL;
      let response: RawResponse;
      let sentAuthorization = false;
      try {
        await this.knowScheme(deadline);
        url = spec.path instanceof URL ? spec.path : new URL(spec.path, this.base);
        this.checkUrl(url, spec.what);
        let authorization = await this.auth.authorization(scopes, deadline);
        for (let redirects = 0; ; redirects++) {
          const headers: OutgoingHttpHeaders = { 'user-agent': this.userAgent, ...spec.headers };
          if (authorization && url.origin === this.base.origin) headers.authorization = authorization;
          sentAuthorization = !!headers.authorization;
          const streamed = isStreamed(spec.body) ? spec.body : undefined;
          const progress = streamed ? { bytes: 0, upload: true } : spec.progress;
          // A stalled source fails the upload it feeds with its own deadline error, which says more.
          const until = streamed ? deadline + 250 : deadline;
          // The lean path: only for a direct connection, and for uploads only from a lean download.
          const tls = spec.wire && this.ownsDispatcher && (!streamed || streamed.source instanceof WireBody) ? directConnection(url) : undefined;
          if (tls) {
            response = await sendWire(url, {
              method: spec.method, headers, body: streamed as { source: WireBody; length: number } | undefined, timeoutMs: DEFAULT_TIMEOUT_MS, deadline: until, tls,
              pace: spec.minBytesPerSecond ? { graceMs: this.timeoutMs, bytesPerSecond: spec.minBytesPerSecond } : undefined,
            });
          } else response = await send(url, {
            method: spec.method, headers, dispatcher: this.dispatcher, timeoutMs: DEFAULT_TIMEOUT_MS, progress,
            body: streamed ? streamed.source.take(streamed.length, progress) : spec.body as Buffer | undefined,
            deadline: until,
          });
          const location = response.headers.location;
          const redirect = [301, 302, 303, 307, 308].includes(response.status) && location && (spec.method === 'GET' || spec.method === 'HEAD');
          if (!redirect) break;
          if (redirects >= MAX_REDIRECTS) throw new GitopsError(`registry ${this.registry}: too many redirects for ${spec.what}`);
          await drain(response);
          url = new URL(location, url);
          this.checkUrl(url, `a redirect for ${spec.what}`);
          // Once off the registry's origin, the credentials stay behind for good.
          if (url.origin !== this.base.origin) authorization = undefined;
        }
      } catch (error) {
        if (replayable && attempt < this.retries && isRetryableNetworkError(error) && !isDeadlineError(error)) {
          const delay = retryDelayMs(attempt);
          if (timeLeftFor(delay)) {
            this.logger.debug(`registry ${this.registry}: ${spec.what} failed (${(error as Error).message}); retrying in ${Math.round(delay)} ms`);
            await sleep(delay);
            continue;
          }
        }
        const failure = this.networkError(error, spec.what, attempt + 1, Date.now() - started);
        throw !replayable && isRetryableNetworkError(error) ? markTransient(failure) : failure;
      }
      if (response.status === 401 && !authRetried) {
        await drain(response);
        if (this.auth.acceptChallenge(headerText(response.headers['www-authenticate']), sentAuthorization, scopes) && replayable) {
          authRetried = true;
          attempt--;
          continue;
        }
        throw this.errorFor(response, Buffer.alloc(0), spec.what);
      }
      if (spec.expect.includes(response.status)) return response;
      if (replayable && attempt < this.retries && isRetryableStatus(response.status)) {
        const delay = retryDelayMs(attempt, response.headers['retry-after']);
        await drain(response);
        if (timeLeftFor(delay)) {
          this.logger.debug(`registry ${this.registry}: ${spec.what} answered HTTP ${response.status}; retrying in ${Math.round(delay)} ms`);
          await sleep(delay);
          continue;
        }
        throw new GitopsError(`registry ${this.registry}: ${spec.what} answered HTTP ${response.status} ${attempt + 1} time(s) within ${formatSeconds(Date.now() - started)}; no time left to retry before the ${formatSeconds(this.timeoutMs)} deadline`, {
          hint: DEADLINE_HINT,
        });
      }
      const body = await readBody(response, 64 * 1024).catch(() => Buffer.alloc(0));
      const failure = this.errorFor(response, body, spec.what);
      throw !replayable && isRetryableStatus(response.status) ? markTransient(failure) : failure;
    }
  }

  /** Reads a small answer within its operation's deadline; failures name the registry and the object. */
  private async readAnswer(response: RawResponse, limit: number, what: string): Promise<Buffer> {
    try {
      return await readBody(response, limit);
    } catch (error) {
      throw this.networkError(error, what);
    }
  }

  private networkError(error: unknown, what: string, attempts = 1, elapsedMs?: number): Error {
    const message = (error as Error)?.message ?? String(error);
    if (error instanceof GitopsError) {
      // Errors from deeper layers (body limits, redirects) get the registry and the object named.
      if (message.startsWith(`registry ${this.registry}`) || message.startsWith('token service') || message.includes(what)) return error;
      const wrapped = new GitopsError(`registry ${this.registry}: ${what}: ${message}`, { cause: error, hint: error.hint, field: error.field });
      return isTransient(error) ? markTransient(wrapped) : wrapped;
    }
    const code = (error as { code?: string }).code;
    const tries = attempts > 1 ? ` after ${attempts} attempts in ${formatSeconds(elapsedMs ?? 0)}` : '';
    const failed = isDeadlineError(error) ? `did not complete within its ${formatSeconds(this.timeoutMs)} deadline${tries}` : `failed${tries}`;
    return new GitopsError(`registry ${this.registry}: ${what} ${failed}: ${message}${code && !message.includes(code) && code !== 'EDEADLINE' ? ` (${code})` : ''}`, {
      cause: error,
      hint: isDeadlineError(error) ? DEADLINE_HINT
        : failedVerification(error) ? 'the registry\'s TLS certificate is not trusted: add its certificate authority to the agent\'s CA setting (Agent.CAInfo) or give it with --ca-file'
        : 'check that the registry is reachable from the agent; transient failures were retried',
    });
  }

  /** Turns a registry error answer (`{errors:[{code,message}]}`) into a message for people. */
  private errorFor(response: RawResponse, body: Buffer, what: string): GitopsError {
    let detail = '';
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
      detail = (parsed.errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
    } catch {
      detail = body.toString('utf8').slice(0, 200).trim();
    }
    const status = response.status;
    const hint = status === 401 ? 'check the credentials of the service connection for this registry'
      : status === 403 ? 'the identity needs pull rights on the source and push rights on the target repository'
      : status === 404 ? 'check the repository name and tag or digest'
      : undefined;
    const login = status === 401 ? ` rejected the credentials${this.auth.scheme === 'basic' ? ' (Basic)' : ''}:` : '';
    const message = `registry ${this.registry}${login} ${what} answered HTTP ${status}${detail ? ` (${detail})` : ''}`;
    return status === 401 || status === 403 ? new RegistryError('access-denied', this.registry, message, { hint }) : new GitopsError(message, { hint });
  }

  /** How messages name a manifest or blob: `repo:tag` or `repo@digest`. */
  private static object(repo: string, reference: string): string {
    return `${repo}${isDigest(reference) ? '@' : ':'}${reference}`;
  }

  /** A manifest by tag or validated digest: read with a size cap, checked against the digest it was asked by. */
  async getManifest(repo: string, reference: string, deadline?: number): Promise<ManifestData> {
    const object = RegistryClient.object(repo, reference);
    if (!isDigest(reference) && !isTag(reference)) throw new GitopsError(`registry ${this.registry}: refusing to fetch manifest ${object}: not a tag or digest`);
    const what = `GET manifest ${object}`;
    const response = await this.request({ method: 'GET', path: `/v2/${repo}/manifests/${reference}`, repos: [repo], headers: { accept: MANIFEST_ACCEPT }, expect: [200], what, deadline });
    const bytes = await this.readAnswer(response, MANIFEST_LIMIT_BYTES, what);
    const algorithm = isDigest(reference) ? digestAlgorithm(reference) : 'sha256';
    const digest = digestOf(bytes, algorithm);
    const pinned = isDigest(reference) ? reference : headerText(response.headers['docker-content-digest']);
    if (pinned && pinned.split(':')[0] === algorithm && pinned !== digest) {
      throw new GitopsError(`registry ${this.registry}: manifest ${repo}@${pinned} does not match its digest (received bytes hash to ${digest})`, {
        hint: 'the registry or something between it and the agent altered the manifest',
      });
    }
    let mediaType = (headerText(response.headers['content-type']) ?? '').split(';')[0].trim();
    try {
      const declared = (JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown } | null)?.mediaType;
      if (typeof declared === 'string') mediaType = declared;
    } catch { /* parseManifest reports malformed JSON with context */ }
    return { bytes, mediaType, digest };
  }

  /** Digest, media type and size of a manifest, or undefined when it does not exist. */
  async headManifest(repo: string, reference: string, deadline?: number): Promise<ManifestHead | undefined> {
    const what = `HEAD manifest ${RegistryClient.object(repo, reference)}`;
    const response = await this.request({ method: 'HEAD', path: `/v2/${repo}/manifests/${reference}`, repos: [repo], headers: { accept: MANIFEST_ACCEPT }, expect: [200, 404], what, deadline });
    await drain(response);
    if (response.status === 404) return undefined;
    const digest = headerText(response.headers['docker-content-digest']);
    if (digest !== undefined && !isDigest(digest)) {
      throw new GitopsError(`registry ${this.registry}: ${what} answered with the invalid Docker-Content-Digest ${JSON.stringify(digest.slice(0, 80))}`);
    }
    return {
      digest,
      mediaType: (headerText(response.headers['content-type']) ?? '').split(';')[0].trim(),
      size: Number(response.headers['content-length'] ?? 0),
    };
  }

  /**
   * PUTs manifest bytes under their own digest (children, referrers). Only a validated digest that
   * the bytes hash to is accepted: a server-supplied string can never become a tag or a path here.
   */
  async putManifestByDigest(repo: string, digest: Digest, bytes: Buffer, mediaType: string): Promise<Digest> {
    if (!isDigest(digest) || digestOf(bytes, digestAlgorithm(digest)) !== digest) {
      throw new GitopsError(`registry ${this.registry}: refusing to PUT manifest ${repo}@${String(digest as unknown).slice(0, 80)}: not the digest of its bytes`);
    }
    return this.putManifest(repo, digest, bytes, mediaType);
  }

  /** PUTs manifest bytes under a tag: the requested target tag (and the referrers fallback tag derived from a verified digest). */
  async putManifestAtTag(repo: string, tag: string, bytes: Buffer, mediaType: string): Promise<Digest> {
    if (!isTag(tag)) throw new GitopsError(`registry ${this.registry}: refusing to PUT manifest ${repo}:${tag.slice(0, 80)}: not a valid tag`);
    return this.putManifest(repo, tag, bytes, mediaType);
  }

  /** PUTs manifest bytes unchanged with Content-Type = their media type; returns the stored digest. */
  private async putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<Digest> {
    const object = RegistryClient.object(repo, reference);
    const response = await this.request({
      method: 'PUT', path: `/v2/${repo}/manifests/${reference}`, repos: [repo], headers: { 'content-type': mediaType, 'content-length': bytes.length },
      body: bytes, expect: [201, 200], what: `PUT manifest ${object}`,
    });
    await drain(response);
    const digest = digestOf(bytes);
    const stored = headerText(response.headers['docker-content-digest']);
    if (stored && stored !== digest) {
      throw new GitopsError(`registry ${this.registry} stored manifest ${object} as ${stored.slice(0, 80)}, expected ${digest}`, {
        hint: 'the registry rewrote the manifest; the copy would not keep its digest',
      });
    }
    return digest;
  }

  async blobExists(repo: string, digest: Digest, deadline?: number): Promise<boolean> {
    const response = await this.request({ method: 'HEAD', path: `/v2/${repo}/blobs/${digest}`, repos: [repo], expect: [200, 404], what: `HEAD blob ${repo}@${digest}`, deadline });
    await drain(response);
    return response.status === 200;
  }

  /**
   * Opens a blob download: the body arrives only as fast as it is consumed, and fails (instead of
   * ending) when its bytes do not match the digest or size.
   */
  async openBlob(repo: string, blob: { digest: Digest; size: number }, deadline?: number, minBytesPerSecond?: number): Promise<BlobSource> {
    const started = Date.now();
    const progress: Progress = { bytes: 0 };
    const what = `blob ${repo}@${blob.digest} from ${this.registry}`;
    const response = await this.request({
      method: 'GET', path: `/v2/${repo}/blobs/${blob.digest}`, repos: [repo], expect: [200], what: `GET blob ${repo}@${blob.digest}`, wire: true, deadline, progress, minBytesPerSecond,
    });
    if (response.body instanceof WireBody) {
      response.body.expect(blob, what);
      return response.body;
    }
    const pace = minBytesPerSecond ? { started, graceMs: this.timeoutMs, bytesPerSecond: minBytesPerSecond, host: response.url.host } : undefined;
    return new BlobDownload(response.body, blob, what, progress, pace);
  }

  /** A small blob (config) in memory, verified. */
  async getBlob(repo: string, blob: { digest: Digest; size: number }, limit = 8 * 1024 * 1024): Promise<Buffer> {
    if (blob.size > limit) throw new GitopsError(`registry ${this.registry}: blob ${repo}@${blob.digest} is ${blob.size} bytes, more than the ${limit} expected here`);
    const chunks: Buffer[] = [];
    for await (const chunk of await this.openBlob(repo, blob)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  /**
   * Cross-repository mount. Returns true when mounted (201); otherwise the upload session the
   * registry opened instead (202), to upload into.
   */
  async mountBlob(repo: string, digest: Digest, fromRepo: string, deadline?: number): Promise<{ mounted: true } | { mounted: false; location: URL }> {
    const query = new URLSearchParams({ mount: digest, from: fromRepo });
    const response = await this.request({
      method: 'POST', path: `/v2/${repo}/blobs/uploads/?${query}`, repos: [repo, fromRepo], headers: { 'content-length': 0 },
      body: Buffer.alloc(0), expect: [201, 202], what: `mount blob ${digest} from ${fromRepo} into ${repo}`, deadline,
    });
    await drain(response);
    if (response.status === 201) return { mounted: true };
    return { mounted: false, location: this.location(response, `mount into ${repo}`) };
  }

  async startUpload(repo: string, deadline?: number): Promise<URL> {
    const response = await this.request({
      method: 'POST', path: `/v2/${repo}/blobs/uploads/`, repos: [repo], headers: { 'content-length': 0 },
      body: Buffer.alloc(0), expect: [202], what: `start blob upload to ${repo}`, deadline,
    });
    await drain(response);
    return this.location(response, `upload to ${repo}`);
  }

  private location(response: RawResponse, what: string): URL {
    const location = headerText(response.headers.location);
    if (!location) throw new GitopsError(`registry ${this.registry} gave no Location for ${what}`);
    try {
      return new URL(location, response.url);
    } catch {
      throw new GitopsError(`registry ${this.registry} gave the unusable Location ${JSON.stringify(location.slice(0, 100))} for ${what}`);
    }
  }

  /**
   * Streams a download (exactly blob.size bytes) into an upload session: one PUT for blobs up to
   * chunkSize, else PATCH chunks with Content-Range, then PUT `digest=` (keeping Location's query).
   * The download is closed when the upload fails.
   */
  async uploadBlob(repo: string, blob: { digest: Digest; size: number }, source: BlobSource, location?: URL, deadline?: number): Promise<void> {
    try {
      let url = location ?? await this.startUpload(repo, deadline);
      const what = `upload blob ${blob.digest} to ${repo}`;
      const headers = { 'content-type': 'application/octet-stream' };
      if (blob.size <= this.chunkSize) {
        url.searchParams.set('digest', blob.digest);
        const response = await this.request({
          method: 'PUT', path: url, repos: [repo], body: { source, length: blob.size }, wire: true, expect: [201],
          headers: { ...headers, 'content-length': blob.size }, what, deadline,
        });
        await drain(response);
        return;
      }
      for (let offset = 0; offset < blob.size; offset += this.chunkSize) {
        const length = Math.min(this.chunkSize, blob.size - offset);
        const range = `${offset}-${offset + length - 1}`;
        const response = await this.request({
          method: 'PATCH', path: url, repos: [repo], body: { source, length }, wire: true, expect: [202],
          headers: { ...headers, 'content-length': length, 'content-range': range }, what: `${what} (bytes ${range})`, deadline,
        });
        await drain(response);
        url = this.location(response, what);
      }
      // The download verified the digest before it handed over its last bytes.
      url.searchParams.set('digest', blob.digest);
      const response = await this.request({ method: 'PUT', path: url, repos: [repo], headers: { 'content-length': 0 }, body: Buffer.alloc(0), expect: [201, 404], what, deadline });
      const answer = await readBody(response, 64 * 1024).catch(() => Buffer.alloc(0));
      // A retried commit finds its session gone when the first attempt went through and only its answer was lost.
      if (response.status === 404 && !(await this.blobExists(repo, blob.digest, deadline))) throw this.errorFor(response, answer, what);
    } catch (error) {
      source.destroy(error as Error);
      throw error;
    }
  }

  /**
   * The referrers API answer: its descriptors, validated (digests, sizes, at most LIMITS.referrers),
   * or undefined when the registry does not offer the API.
   */
  async getReferrers(repo: string, digest: Digest): Promise<Descriptor[] | undefined> {
    const what = `GET referrers of ${repo}@${digest}`;
    const response = await this.request({ method: 'GET', path: `/v2/${repo}/referrers/${digest}`, repos: [repo], headers: { accept: 'application/vnd.oci.image.index.v1+json' }, expect: [200, 404], what });
    if (response.status === 404) {
      await drain(response);
      return undefined;
    }
    const type = headerText(response.headers['content-type']) ?? '';
    const body = await this.readAnswer(response, MANIFEST_LIMIT_BYTES, what);
    if (!type.includes('json')) return undefined;
    return parseReferrers(body, `the referrers list of ${this.registry}/${repo}@${digest}`);
  }
}

function isStreamed(body: RequestSpec['body']): body is StreamedBody {
  return body !== undefined && !Buffer.isBuffer(body);
}

function headerText(value: string | string[] | number | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value[0] : String(value);
}

/**
 * The TLS connection failed on the certificates (the server's was not trusted, or ours was
 * refused), or the deadline passed: the registry speaks TLS (or stalls), so this is the answer.
 * Anything else (a plain-HTTP answer to the handshake, a connection closed during it) means a
 * loopback registry that does not speak TLS.
 */
function failedVerification(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code ?? '';
  return isDeadlineError(error) || /CERT|SELF_SIGNED|UNABLE_TO_|ALERT|^ERR_TLS_/.test(code);
}
