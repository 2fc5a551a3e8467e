import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { GitopsError } from './errors';
import { isLoopbackHost } from './net';

/** Limits every download of the tasks obeys. */
export interface DownloadLimits {
  /** Overall deadline of the whole download (redirects and body included). */
  deadlineMs: number;
  /** Give up when the server sends nothing for this long; default: the deadline. */
  idleTimeoutMs?: number;
  /** Most bytes accepted, counted after any transparent decompression (Content-Encoding). */
  maxBytes: number;
}

export const defaultDownloadLimits: DownloadLimits = { deadlineMs: 5 * 60_000, idleTimeoutMs: 60_000, maxBytes: 64 * 1024 * 1024 };

export interface DownloadRequest {
  url: string;
  /** Sent to the first host only: dropped when a redirect leads to another origin. */
  headers?: Record<string, string>;
  limits: DownloadLimits;
  /** What is downloaded, for messages: `static source`, `helm 3.18.0`. */
  what: string;
  /** Task input or field blamed in errors. */
  field?: string;
  /** Sees every (decompressed) chunk before it is written, e.g. to hash it. */
  onChunk?: (chunk: Uint8Array) => void;
}

export interface DownloadResult {
  /** HTTP status of the final response; the body was written only for 2xx. */
  status: number;
  headers: Headers;
  /** URL after redirects. */
  url: string;
  bytes: number;
}

const MAX_REDIRECTS = 5;

/** Whether a redirect from `from` to `to` keeps the promise of the first URL: https, or plain http to this machine. */
function redirectAllowed(to: URL): boolean {
  return to.protocol === 'https:' || (to.protocol === 'http:' && isLoopbackHost(to.host));
}

function seconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}

/**
 * GETs `url` into `file`, streaming, within the limits: an overall deadline, an idle timeout and
 * a size cap on the decompressed bytes. Redirects are followed by hand: only to https (or http on
 * loopback), at most 5, and request headers (credentials) only go to the first origin. Every
 * failure is a GitopsError naming the server and what went wrong; a partial file is removed.
 */
export async function downloadToFile(request: DownloadRequest, file: string): Promise<DownloadResult> {
  const { limits } = request;
  const deadline = new AbortController();
  const idle = new AbortController();
  let stalled: 'deadline' | 'idle' | undefined;
  const deadlineTimer = setTimeout(() => { stalled ??= 'deadline'; deadline.abort(); }, limits.deadlineMs);
  const idleMs = Math.min(limits.idleTimeoutMs ?? limits.deadlineMs, limits.deadlineMs);
  let idleTimer: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => { stalled ??= 'idle'; idle.abort(); }, idleMs);
  };
  const signal = AbortSignal.any([deadline.signal, idle.signal]);
  const first = new URL(request.url);
  let current = first;
  const fail = (message: string, cause?: unknown): GitopsError =>
    new GitopsError(`${request.what}: ${message}`, { field: request.field, cause });
  const stallMessage = (phase: string): string =>
    stalled === 'deadline'
      ? `${current.origin} did not finish ${phase} of ${current.href} within ${seconds(limits.deadlineMs)}`
      : `no data for ${seconds(idleMs)} from ${current.origin} (${phase} of ${current.href})`;
  try {
    let response: Response | undefined;
    for (let hop = 0; ; hop++) {
      touch();
      const sameOrigin = current.origin === first.origin;
      try {
        response = await fetch(current, { headers: sameOrigin ? request.headers : undefined, redirect: 'manual', signal });
      } catch (error) {
        if (stalled) throw fail(stallMessage('the request'), error);
        const cause = (error as { cause?: { message?: string; code?: string } }).cause;
        throw fail(`could not download ${current.href}: ${cause?.message ?? cause?.code ?? (error as Error).message}`, error);
      }
      if (response.status < 300 || response.status >= 400 || response.status === 304) break;
      await response.body?.cancel().catch(() => undefined);
      const location = response.headers.get('location');
      if (!location) throw fail(`${current.origin} answered HTTP ${response.status} without a Location for ${current.href}`);
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw fail(`${current.origin} redirected to an invalid location ${JSON.stringify(location)}`);
      }
      if (!redirectAllowed(next)) {
        throw fail(`${current.origin} redirected ${current.href} to ${next.protocol}//${next.host}${next.pathname}; only https redirects (or http to this machine) are followed`);
      }
      if (hop + 1 >= MAX_REDIRECTS) throw fail(`${first.origin}: more than ${MAX_REDIRECTS} redirects from ${first.href}`);
      current = next;
    }
    const result = { status: response.status, headers: response.headers, url: current.href, bytes: 0 };
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      return result;
    }
    const declared = Number(response.headers.get('content-length'));
    if (!response.headers.get('content-encoding') && Number.isFinite(declared) && declared > limits.maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw fail(`${current.href} is ${declared} bytes, more than the limit of ${limits.maxBytes} bytes`);
    }
    let tooLarge = false;
    try {
      await pipeline(
        response.body ?? (async function* () { /* empty body */ })(),
        async function* (chunks: AsyncIterable<Uint8Array>) {
          for await (const chunk of chunks) {
            touch();
            result.bytes += chunk.byteLength;
            if (result.bytes > limits.maxBytes) {
              tooLarge = true;
              throw new Error('too large');
            }
            request.onChunk?.(chunk);
            yield chunk;
          }
        },
        createWriteStream(file),
        { signal },
      );
    } catch (error) {
      await rm(file, { force: true });
      if (tooLarge) throw fail(`${current.origin} sent more than the limit of ${limits.maxBytes} bytes (after decompression) for ${current.href}`, error);
      if (stalled) throw fail(stallMessage('the download'), error);
      throw fail(`download of ${current.href} from ${current.origin} failed: ${(error as Error).message}`, error);
    }
    return result;
  } finally {
    clearTimeout(deadlineTimer);
    clearTimeout(idleTimer);
  }
}
