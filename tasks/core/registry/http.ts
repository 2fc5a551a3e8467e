import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

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

export const DEFAULT_TIMEOUT_MS = 120_000;

export interface SendOptions {
  method: string;
  headers?: OutgoingHttpHeaders;
  body?: Buffer;
  agents: Agents;
  timeoutMs?: number;
}

export interface Agents { http: HttpAgent; https: HttpsAgent }

export function createAgents(maxSockets: number): Agents {
  return {
    http: new HttpAgent({ keepAlive: true, maxSockets }),
    https: new HttpsAgent({ keepAlive: true, maxSockets }),
  };
}

/** One HTTP exchange through Node's http (keep-alive), no redirects, no retries. */
export function send(url: URL, options: SendOptions): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const secure = url.protocol === 'https:';
    const request = (secure ? httpsRequest : httpRequest)(url, {
      method: options.method,
      headers: options.headers,
      agent: secure ? options.agents.https : options.agents.http,
    }, (response) => {
      // Consumers see body errors through their own iterators or pipes; this listener only keeps a
      // connection dying under an unread body from becoming an uncaught exception.
      response.on('error', () => {});
      resolve({ status: response.statusCode ?? 0, headers: response.headers, body: response, url });
    });
    let settled = false;
    request.on('error', (error) => {
      if (settled) return;
      settled = true;
      reject(error);
    });
    request.on('response', () => { settled = true; });
    // Idle timeout, not a total one.
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    request.setTimeout(timeoutMs, () => request.destroy(Object.assign(new Error(`no data from ${url.host} for ${timeoutMs / 1000}s`), { code: 'ETIMEDOUT' })));
    request.end(options.body);
  });
}

/** Reads a whole (small) body; refuses more than `limit` bytes. */
export async function readBody(response: RawResponse, limit = 8 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response.body) {
    total += chunk.length;
    if (total > limit) {
      response.body.destroy();
      throw new Error(`response from ${response.url.host} is larger than ${limit} bytes`);
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
