import { backoffDelay } from '../backoff';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { GitopsError } from '../errors';

/** A response body (undici's readable body): read it, stream it or destroy it. */
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

/** Bytes moved so far by a streamed exchange (its upload or its download), for messages about a stall. */
export interface Progress { bytes: number; upload?: boolean }

export interface SendOptions {
  method: string;
  headers?: OutgoingHttpHeaders;
  /** A Buffer, or a stream of bytes (a blob taken from a download) sent once. */
  body?: Buffer | Readable | AsyncIterable<Buffer>;
  /** The keep-alive pools (and proxy, CA) the request goes through: see core/network.ts. */
  dispatcher: Dispatcher;
  /** Idle timeout (default 120 s, never past the deadline). */
  timeoutMs?: number;
  /** Epoch ms by which the whole exchange, body included, must be complete. */
  deadline?: number;
  /** Counted by whoever streams the body, so that a stall names how far it got. */
  progress?: Progress;
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

/** What an exchange was doing when it stalled. */
function stageOf(answered: boolean, method: string, progress?: Progress): string {
  if (!answered) return progress?.upload ? `uploading, ${progress.bytes} bytes sent, no answer yet` : 'waiting for the answer';
  return progress && !progress.upload && method === 'GET' ? `reading the body after ${progress.bytes} bytes` : 'reading the body of the answer';
}

/**
 * One HTTP exchange through undici (keep-alive pools of `dispatcher`), no redirects, no retries;
 * the deadline also covers the body: when it passes, the request or its body fails with a
 * deadline error naming the stage.
 */
export async function send(url: URL, options: SendOptions): Promise<RawResponse> {
  assertHttpUrl(url);
  const started = Date.now();
  let answered = false;
  const controller = new AbortController();
  let deadlineTimer: NodeJS.Timeout | undefined;
  const left = options.deadline ? remainingMs(options.deadline) : Infinity;
  let idleMs = Math.min(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, left);
  if (options.deadline) {
    deadlineTimer = setTimeout(() => controller.abort(deadlineError(url.host, Date.now() - started, stageOf(answered, options.method, options.progress))), left).unref();
  }
  // When the deadline comes first, it (not the idle timer, whose message says less) ends the exchange.
  const idleTimeout = idleMs >= left ? idleMs + 1000 : idleMs;
  idleMs = Math.round(idleMs);
  try {
    const response = await options.dispatcher.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: options.method as Dispatcher.HttpMethod,
      headers: options.headers as Record<string, string>,
      // undici streams async iterables too (its typings list only Readable).
      body: options.body as Buffer | Readable | undefined,
      signal: controller.signal,
      // undici closes the connection after a HEAD by default (for servers that send a body with it);
      // registries answer HEAD for every blob and manifest check, and a connection is only ever
      // shared with the same origin, whose answers are verified anyway: keep it.
      reset: false,
      headersTimeout: idleTimeout,
      bodyTimeout: idleTimeout,
    });
    answered = true;
    const body = response.body;
    // Consumers see body errors through their own iterators; this listener only keeps a connection
    // dying under an unread body from becoming an uncaught exception.
    body.on('error', () => {});
    body.on('close', () => clearTimeout(deadlineTimer));
    return { status: response.statusCode, headers: response.headers as IncomingHttpHeaders, body: withIdleMessage(body, url, idleMs), url };
  } catch (error) {
    clearTimeout(deadlineTimer);
    throw explainTimeout(error, url, idleMs, stageOf(false, options.method, options.progress));
  }
}

/** undici's "Headers/Body Timeout Error" as a message saying who stalled, for how long, at which stage. */
function explainTimeout(error: unknown, url: URL, idleMs: number, stage: string): unknown {
  const code = (error as { code?: string } | undefined)?.code;
  if (code !== 'UND_ERR_HEADERS_TIMEOUT' && code !== 'UND_ERR_BODY_TIMEOUT') return error;
  return Object.assign(new Error(`no data from ${url.host} for ${formatSeconds(idleMs)} (${stage})`, { cause: error }), { code: 'ETIMEDOUT' });
}

/** The body, whose idle-timeout error says what stalled. */
function withIdleMessage(body: Dispatcher.ResponseData['body'], url: URL, idleMs: number): ResponseBody {
  const iterate = body[Symbol.asyncIterator].bind(body);
  return Object.assign(body, {
    async *[Symbol.asyncIterator]() {
      try {
        yield* { [Symbol.asyncIterator]: iterate } as AsyncIterable<Buffer>;
      } catch (error) {
        throw explainTimeout(error, url, idleMs, 'reading the body of the answer');
      }
    },
  }) as unknown as ResponseBody;
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

const RETRYABLE_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ECONNABORTED', 'ENOTFOUND', 'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
]);

export function isRetryableNetworkError(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  if (code && RETRYABLE_CODES.has(code)) return true;
  return error instanceof Error && /socket hang up|aborted|premature close/i.test(error.message);
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Delay before the next attempt: Retry-After when the server gives one, else the shared backoff (equal jitter). */
export function retryDelayMs(attempt: number, retryAfter?: string | string[]): number {
  const header = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
  if (header) {
    const seconds = Number(header);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
    if (Number.isFinite(ms) && ms >= 0) return Math.min(ms, 60_000);
  }
  return backoffDelay(attempt + 1, { baseMs: 200, maxMs: 8_000, jitter: 'equal' });
}

export { sleep } from '../backoff';

const TRANSIENT = Symbol('transient');

/** Marks an error a whole operation (e.g. one blob copy) may retry, because its request could not be. */
export function markTransient<T extends Error>(error: T): T {
  (error as unknown as Record<symbol, boolean>)[TRANSIENT] = true;
  return error;
}

export function isTransient(error: unknown): boolean {
  return !!error && typeof error === 'object' && (error as Record<symbol, boolean>)[TRANSIENT] === true;
}
