import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { GitopsError } from '../errors';

/** A response body: Node's IncomingMessage, or a blob body on a lean connection (wire.ts). */
export interface ResponseBody extends AsyncIterable<Buffer> {
  destroy(error?: Error): void;
}

/** A response whose body has not been read yet: callers stream it, read it or drain it. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: ResponseBody;
  url: URL;
}

/** Longest silence on a connection before it counts as stalled. */
export const DEFAULT_TIMEOUT_MS = 120_000;
/** Overall deadline of one registry operation, retries included (`networkTimeoutSeconds`). */
export const DEFAULT_NETWORK_TIMEOUT_SECONDS = 300;
/** Manifests and referrers lists: the distribution spec's guidance for the largest manifest a registry must accept. */
export const MANIFEST_LIMIT_BYTES = 4 * 1024 * 1024;
/** Token answers (registry Bearer tokens, ACR exchange, Azure AD): a few KiB in practice. */
export const TOKEN_LIMIT_BYTES = 256 * 1024;

export interface SendOptions {
  method: string;
  headers?: OutgoingHttpHeaders;
  body?: Buffer;
  agents: Agents;
  /** Idle timeout (default 120 s, never past the deadline). */
  timeoutMs?: number;
  /** Epoch ms by which the whole exchange, body included, must be complete. */
  deadline?: number;
}

export interface Agents { http: HttpAgent; https: HttpsAgent }

export function createAgents(maxSockets: number): Agents {
  return {
    http: new HttpAgent({ keepAlive: true, maxSockets }),
    https: new HttpsAgent({ keepAlive: true, maxSockets }),
  };
}

/** Only http and https are spoken; anything else (ftp:, file:) is refused before a connection opens. */
export function assertHttpUrl(url: URL): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new GitopsError(`refusing to contact ${url.protocol}//${url.host}: only https (or http to this machine) is spoken to registries`);
  }
}

/**
 * A deadline expired: not retryable (retries count against the same deadline). `stage` says what
 * stalled: waiting for the answer, or reading its body.
 */
export function deadlineError(host: string, ms: number, stage: string): Error {
  return Object.assign(new Error(`${host} stalled ${stage} (deadline reached after ${formatSeconds(ms)})`), { code: 'EDEADLINE' });
}

export function isDeadlineError(error: unknown): boolean {
  return (error as { code?: string } | undefined)?.code === 'EDEADLINE';
}

export const formatSeconds = (ms: number) => `${Math.round(ms / 100) / 10}s`;

/** Milliseconds left before `deadline` (at least 1, so timers still fire). */
export const remainingMs = (deadline: number) => Math.max(1, deadline - Date.now());

/** One HTTP exchange through Node's http (keep-alive), no redirects, no retries; the deadline also covers the body. */
export function send(url: URL, options: SendOptions): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    assertHttpUrl(url);
    const secure = url.protocol === 'https:';
    const started = Date.now();
    let answered = false;
    let deadlineTimer: NodeJS.Timeout | undefined;
    let incoming: IncomingMessage | undefined;
    const request = (secure ? httpsRequest : httpRequest)(url, {
      method: options.method,
      headers: options.headers,
      agent: secure ? options.agents.https : options.agents.http,
    }, (response) => {
      answered = true;
      incoming = response;
      // Consumers see body errors through their own iterators or pipes; this listener only keeps a
      // connection dying under an unread body from becoming an uncaught exception.
      response.on('error', () => {});
      response.on('close', () => clearTimeout(deadlineTimer));
      resolve({ status: response.statusCode ?? 0, headers: response.headers, body: response, url });
    });
    // (A 'data' listener would start the body flowing before its reader is there: no byte count here.)
    const stage = () => answered ? 'reading the body of the answer' : 'waiting for the answer';
    const fail = (error: Error) => {
      clearTimeout(deadlineTimer);
      // Destroying the response hands the error to whoever reads its body.
      incoming?.destroy(error);
      request.destroy(error);
    };
    let settled = false;
    request.on('error', (error) => {
      clearTimeout(deadlineTimer);
      if (settled) return;
      settled = true;
      reject(error);
    });
    request.on('response', () => { settled = true; });
    const idleMs = Math.min(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, options.deadline ? remainingMs(options.deadline) : Infinity);
    request.setTimeout(idleMs, () => fail(Object.assign(new Error(`no data from ${url.host} for ${formatSeconds(idleMs)} (${stage()})`), { code: 'ETIMEDOUT' })));
    if (options.deadline) {
      const total = remainingMs(options.deadline);
      deadlineTimer = setTimeout(() => fail(deadlineError(url.host, Date.now() - started, stage())), total).unref();
    }
    request.end(options.body);
  });
}

/** Reads a whole (small) body; refuses more than `limit` bytes as soon as they arrive. */
export async function readBody(response: RawResponse, limit = 8 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    response.body.destroy();
    throw new GitopsError(`the answer from ${response.url.host} declares ${declared} bytes, more than the ${limit} bytes allowed here`);
  }
  for await (const chunk of response.body) {
    total += chunk.length;
    if (total > limit) {
      response.body.destroy();
      throw new GitopsError(`the answer from ${response.url.host} is larger than the ${limit} bytes allowed here`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Discards a body so the keep-alive connection can be reused. */
export async function drain(response: RawResponse): Promise<void> {
  try {
    for await (const _chunk of response.body) { /* discard */ }
  } catch {
    // A broken body of an answer we do not use is not an error.
  }
}

const RETRYABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ECONNABORTED', 'ENOTFOUND', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE']);

export function isRetryableNetworkError(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  if (code && RETRYABLE_CODES.has(code)) return true;
  return error instanceof Error && /socket hang up|aborted|premature close/i.test(error.message);
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Delay before the next attempt: Retry-After when the server gives one, else jittered exponential backoff. */
export function retryDelayMs(attempt: number, retryAfter?: string | string[]): number {
  const header = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
  if (header) {
    const seconds = Number(header);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
    if (Number.isFinite(ms) && ms >= 0) return Math.min(ms, 60_000);
  }
  const base = Math.min(200 * 2 ** attempt, 8_000);
  return base / 2 + Math.random() * (base / 2);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const TRANSIENT = Symbol('transient');

/** Marks an error a whole operation (e.g. one blob copy) may retry, because its request could not be. */
export function markTransient<T extends Error>(error: T): T {
  (error as unknown as Record<symbol, boolean>)[TRANSIENT] = true;
  return error;
}

export function isTransient(error: unknown): boolean {
  return !!error && typeof error === 'object' && (error as Record<symbol, boolean>)[TRANSIENT] === true;
}
