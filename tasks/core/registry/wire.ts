import { createHash, type Hash } from 'node:crypto';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { connect as connectTcp, isIP, type OnReadOpts, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { GitopsError } from '../errors';
import { assertHttpUrl, deadlineError, formatSeconds, isRetryableNetworkError, markTransient, remainingMs } from './http';

/**
 * A lean HTTP/1.1 exchange for blob bodies on direct connections (never through the proxy: the
 * registry client uses undici there, see client.ts). undici, like Node's http, reads every socket
 * chunk into a fresh 64 KiB buffer and moves it through streams; for a 200 MB copy that measured
 * about 1.3x the time and 1.5x the peak RSS (README, performance notes). Here sockets read into a
 * small pool of reused buffers (`onread`), the digest is computed on those buffers, and the same
 * bytes are written straight to the upload socket. TLS trusts the same extra CA and presents the
 * same client certificate as every other request (`tls`, from core/network.ts). Connections are
 * kept alive and reused for the next blob to the same origin (no new TCP and TLS handshake per
 * blob); one exchange at a time per connection.
 */

const READ_BUFFER_BYTES = 256 * 1024;
/** Idle read buffers kept for reuse; more than this in flight are left to the garbage collector. */
const POOL_LIMIT = 32;
const MAX_HEAD_BYTES = 64 * 1024;

/** Read buffers with a reference count: one hold by the socket read, one per write still using a slice. */
class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly holds = new WeakMap<Buffer, number>();

  take(): Buffer {
    const buffer = this.free.pop() ?? Buffer.allocUnsafe(READ_BUFFER_BYTES);
    this.holds.set(buffer, 1);
    return buffer;
  }

  retain(buffer: Buffer): void {
    this.holds.set(buffer, (this.holds.get(buffer) ?? 0) + 1);
  }

  release(buffer: Buffer): void {
    const holds = (this.holds.get(buffer) ?? 1) - 1;
    this.holds.set(buffer, holds);
    if (holds === 0 && this.free.length < POOL_LIMIT) this.free.push(buffer);
  }
}

const pool = new BufferPool();

export interface WireHead { status: number; headers: IncomingHttpHeaders }

/** Receives body bytes: `slice` lies in `buffer`, which the consumer must `retain` to use after returning. */
interface BodyConsumer {
  /** Returns false to pause the sender until `resume()`. */
  data(slice: Buffer, buffer: Buffer): boolean;
  end(): void;
  fail(error: Error): void;
}

type Framing = { kind: 'length'; left: number } | { kind: 'chunked' } | { kind: 'close' } | { kind: 'none' };
type ChunkState = 'size' | 'data' | 'data-end' | 'trailer';

/**
 * A connection of the lean path. Its reads and events go to the exchange that holds it (`owner`);
 * between exchanges it waits, unreferenced, in `idle` for at most IDLE_MS.
 */
interface Connection { key: string; socket: Socket; owner?: WireExchange; idleTimer?: NodeJS.Timeout }

/** Registries close idle connections after 30 s or more; a shorter wait keeps stale ones out. */
const IDLE_MS = 4_000;
const idle = new Map<string, Connection[]>();

function openConnection(key: string, url: URL, tls: ConnectionOptions): Connection {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const connection = { key } as Connection;
  const onread: OnReadOpts = {
    buffer: () => pool.take(),
    callback: (length, buffer) => {
      if (connection.owner) return connection.owner.received(length, buffer as Buffer);
      // Bytes nobody asked for: the connection is not in a state to reuse.
      pool.release(buffer as Buffer);
      dropConnection(connection);
      return false;
    },
  };
  // tls.connect documents `onread` (reads into our buffers after decryption); its typings lack it.
  const tlsOptions: ConnectionOptions & { onread: OnReadOpts } = { ...tls, host, port, servername: isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'], onread };
  const socket = url.protocol === 'https:' ? connectTls(tlsOptions) : connectTcp({ host, port, onread });
  socket.setNoDelay(true);
  socket.on('error', (error) => (connection.owner ? connection.owner.destroy(error) : dropConnection(connection)));
  socket.on('end', () => (connection.owner ? connection.owner.ended() : dropConnection(connection)));
  socket.on('close', () => (connection.owner ? connection.owner.destroy(networkError(`connection to ${url.host} closed`, 'ECONNRESET')) : dropConnection(connection)));
  socket.on('timeout', () => connection.owner?.timedOut());
  connection.socket = socket;
  return connection;
}

/** An idle connection to `key`, still open, or undefined. */
function takeConnection(key: string): Connection | undefined {
  const list = idle.get(key);
  while (list && list.length > 0) {
    const connection = list.pop()!;
    clearTimeout(connection.idleTimer);
    const socket = connection.socket;
    if (!socket.destroyed && socket.writable && !socket.readableEnded) {
      socket.ref();
      return connection;
    }
    socket.destroy();
  }
  return undefined;
}

function releaseConnection(connection: Connection): void {
  connection.owner = undefined;
  const socket = connection.socket;
  socket.setTimeout(0);
  // Reading on while idle notices a close (or stray bytes) at once; idle sockets keep no process alive.
  socket.resume();
  socket.unref();
  const list = idle.get(connection.key) ?? [];
  list.push(connection);
  idle.set(connection.key, list);
  connection.idleTimer = setTimeout(() => dropConnection(connection), IDLE_MS).unref();
}

function dropConnection(connection: Connection): void {
  clearTimeout(connection.idleTimer);
  const list = idle.get(connection.key);
  const at = list?.indexOf(connection) ?? -1;
  if (at >= 0) list!.splice(at, 1);
  connection.socket.destroy();
}

/** Where `pipeTo` writes: an upload exchange, or a queue of copies (`take`). */
interface WireSink {
  write(slice: Buffer, buffer: Buffer): boolean;
  onDrain(resume: () => void): void;
}

function networkError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

function headerLines(headers: OutgoingHttpHeaders): string {
  let text = '';
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      const line = `${name}: ${item}`;
      // Header values come from registries (Location, tokens): never let one smuggle a header line.
      if (/[\r\n]/.test(line)) throw new GitopsError(`refusing to send header ${name}: it contains a line break`);
      text += `${line}\r\n`;
    }
  }
  return text;
}

function parseHead(text: string): WireHead {
  const lines = text.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!status) throw networkError(`malformed HTTP status line "${lines[0].slice(0, 60)}"`, 'HPE_INVALID_STATUS');
  const headers: IncomingHttpHeaders = {};
  const target = headers as Record<string, string | string[]>;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw networkError('malformed HTTP header line', 'HPE_INVALID_HEADER_TOKEN');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const previous = target[name];
    if (name === 'set-cookie') target[name] = [...((previous as string[] | undefined) ?? []), value];
    else if (name === 'content-length' && previous !== undefined && previous !== value) throw networkError('conflicting Content-Length headers', 'HPE_UNEXPECTED_CONTENT_LENGTH');
    else target[name] = previous === undefined || name === 'content-length' ? value : `${previous}, ${value}`;
  }
  return { status: Number(status[1]), headers };
}

/**
 * One request and its response on a kept-alive or a fresh connection. The request body (if any)
 * is written with `write`; the response head arrives through `head`, its body through `body`.
 */
export class WireExchange {
  readonly head: Promise<WireHead>;
  readonly body: WireBody;
  private readonly socket: Socket;
  private readonly connection: Connection;
  /** Request body bytes not written yet (a connection is reused only when the whole request went out). */
  private unsent = 0;
  /** Bytes arrived after the end of the response: the connection is not reused. */
  private trailing = false;
  private closeAfter = false;
  private settled = false;
  private readonly idleMessage: () => string;
  private resolveHead!: (head: WireHead) => void;
  private rejectHead!: (error: Error) => void;
  private headBytes: Buffer | undefined = Buffer.alloc(0);
  private framing: Framing = { kind: 'none' };
  private chunkState: ChunkState = 'size';
  private chunkLeft = 0;
  private chunkLine = '';
  private failure: Error | undefined;
  private complete = false;
  private failureListener: ((error: Error) => void) | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private bodyBytes = 0;

  private paceTimer: NodeJS.Timeout | undefined;

  /**
   * `deadline` (epoch ms) bounds the whole exchange; `timeoutMs` is the longest silence; `pace`
   * fails a body that, after `graceMs`, arrives slower than `bytesPerSecond` on average (a drip).
   */
  constructor(url: URL, private readonly method: string, headers: OutgoingHttpHeaders, timeoutMs: number, deadline?: number,
    pace?: { graceMs: number; bytesPerSecond: number }, tls: ConnectionOptions = {}, bodyLength = 0) {
    // Never plain TCP to an ftp:// or file:// Location.
    assertHttpUrl(url);
    this.head = new Promise((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    // A head that nobody awaits (the request already failed) must not become an unhandled rejection.
    this.head.catch(() => {});
    this.body = new WireBody(this);
    const requestHead = `${method} ${url.pathname}${url.search} HTTP/1.1\r\n${headerLines({ host: url.host, ...headers })}\r\n`;
    this.unsent = bodyLength;
    const key = `${url.protocol}//${url.host}`;
    this.connection = takeConnection(key) ?? openConnection(key, url, tls);
    this.connection.owner = this;
    this.socket = this.connection.socket;
    const idleMs = deadline ? Math.min(timeoutMs, remainingMs(deadline)) : timeoutMs;
    this.idleMessage = () => `no data from ${url.host} for ${formatSeconds(idleMs)} (${this.stage()})`;
    this.socket.setTimeout(idleMs);
    if (deadline) {
      const started = Date.now();
      // Unreferenced: the socket keeps the process alive while the exchange runs, the deadline alone must not.
      this.deadlineTimer = setTimeout(() => this.destroy(deadlineError(url.host, Date.now() - started, this.stage())), remainingMs(deadline)).unref();
    }
    if (pace) {
      const started = Date.now();
      this.paceTimer = setInterval(() => {
        const elapsed = Date.now() - started;
        if (elapsed > pace.graceMs && this.bodyBytes < ((elapsed - pace.graceMs) / 1000) * pace.bytesPerSecond) {
          this.destroy(deadlineError(url.host, elapsed, `${this.stage()}: slower than ${pace.bytesPerSecond} bytes/s`));
        }
      }, 1000).unref();
    }
    this.socket.write(requestHead);
  }

  /** The connection was silent for longer than the idle timeout. */
  timedOut(): void {
    this.destroy(networkError(this.idleMessage(), 'ETIMEDOUT'));
  }

  /** Writes a slice of a pooled buffer; false means wait for `onDrain`. */
  write(slice: Buffer, buffer: Buffer): boolean {
    if (this.failure) return false;
    this.bodyBytes += slice.length;
    this.unsent -= slice.length;
    pool.retain(buffer);
    return this.socket.write(slice, () => pool.release(buffer));
  }

  onDrain(resume: () => void): void {
    this.socket.once('drain', resume);
  }

  /** Called once if the exchange fails before its response is complete. */
  onFailure(listener: (error: Error) => void): void {
    this.failureListener = listener;
    if (this.failure) listener(this.failure);
  }

  resume(): void {
    if (!this.failure && !this.complete && this.connection.owner === this) this.socket.resume();
  }

  private stage(): string {
    const download = this.method === 'GET' || this.method === 'HEAD';
    if (this.headBytes !== undefined) return download ? 'waiting for the answer' : `uploading, ${this.bodyBytes} bytes sent, no answer yet`;
    return download ? `reading the body after ${this.bodyBytes} bytes` : 'reading the answer';
  }

  /** Closes the connection; before the response is complete that is a failure of the exchange. */
  destroy(error?: Error): void {
    clearTimeout(this.deadlineTimer);
    clearInterval(this.paceTimer);
    if (!this.failure && !this.complete) {
      this.failure = error ?? networkError('exchange closed', 'ECONNRESET');
      this.rejectHead(this.failure);
      this.body.fail(this.failure);
      this.failureListener?.(this.failure);
    }
    // After a complete response the connection may already serve another exchange.
    if (this.connection.owner === this) {
      this.connection.owner = undefined;
      this.settled = true;
      dropConnection(this.connection);
    }
  }

  /** After the response: back to the idle connections when it can carry another exchange, else closed. */
  private settle(): void {
    if (this.settled || !this.complete || this.connection.owner !== this) return;
    this.settled = true;
    if (this.trailing || this.closeAfter || this.unsent !== 0 || this.failure) dropConnection(this.connection);
    else releaseConnection(this.connection);
  }

  /** onread callback: returns false to stop reading until `resume()`. */
  received(length: number, buffer: Buffer): boolean {
    let more = true;
    try {
      let slice = buffer.subarray(0, length);
      if (this.headBytes !== undefined) {
        const rest = this.readHead(slice);
        if (rest === undefined) return true;
        slice = rest;
      }
      more = this.readBody(slice, buffer);
    } catch (error) {
      this.destroy(error as Error);
      more = false;
    } finally {
      pool.release(buffer);
    }
    if (this.complete && !this.failure) {
      this.settle();
      // Released: read on, so that a close of the idle connection is noticed.
      return !this.socket.destroyed && this.connection.owner === undefined;
    }
    return more;
  }

  /** Collects the response head; returns the bytes after it, or undefined while it is incomplete. */
  private readHead(slice: Buffer): Buffer | undefined {
    const before = this.headBytes!.length;
    const bytes = Buffer.concat([this.headBytes!, slice]);
    const end = bytes.indexOf('\r\n\r\n');
    if (end < 0) {
      if (bytes.length > MAX_HEAD_BYTES) throw networkError('response head is too large', 'HPE_HEADER_OVERFLOW');
      this.headBytes = bytes;
      return undefined;
    }
    const head = parseHead(bytes.subarray(0, end).toString('latin1'));
    const rest = slice.subarray(end + 4 - before);
    if (head.status >= 100 && head.status < 200) {
      // Interim answers (100 Continue, 103 Early Hints) precede the real one.
      this.headBytes = Buffer.alloc(0);
      return rest.length > 0 ? this.readHead(rest) : undefined;
    }
    this.headBytes = undefined;
    const encoding = String(head.headers['transfer-encoding'] ?? '').toLowerCase();
    const length = head.headers['content-length'];
    if (this.method === 'HEAD' || head.status === 204 || head.status === 304) this.framing = { kind: 'none' };
    else if (encoding.includes('chunked')) this.framing = { kind: 'chunked' };
    else if (length !== undefined) {
      if (!/^\d+$/.test(String(length))) throw networkError(`invalid Content-Length "${length}"`, 'HPE_INVALID_CONTENT_LENGTH');
      this.framing = { kind: 'length', left: Number(length) };
    } else this.framing = { kind: 'close' };
    this.closeAfter = this.framing.kind === 'close' || /\bclose\b/i.test(String(head.headers.connection ?? ''));
    this.resolveHead(head);
    if (this.framing.kind === 'none' || (this.framing.kind === 'length' && this.framing.left === 0)) this.finishBody();
    return rest;
  }

  /** The body is complete or failed: bytes after it are ignored. */
  private get bodyDone(): boolean {
    return this.complete || this.body.finished;
  }

  private readBody(slice: Buffer, buffer: Buffer): boolean {
    if (this.bodyDone) {
      if (slice.length > 0) this.trailing = true;
      return false;
    }
    if (slice.length === 0) return true;
    const framing = this.framing;
    this.bodyBytes += slice.length;
    if (framing.kind === 'close') return this.body.push(slice, buffer);
    if (framing.kind === 'length') {
      if (slice.length > framing.left) this.trailing = true;
      const part = slice.length > framing.left ? slice.subarray(0, framing.left) : slice;
      framing.left -= part.length;
      const more = this.body.push(part, buffer);
      if (framing.left === 0) this.finishBody();
      return more;
    }
    if (framing.kind === 'chunked') return this.readChunked(slice, buffer);
    return true;
  }

  private readChunked(slice: Buffer, buffer: Buffer): boolean {
    let more = true;
    let at = 0;
    while (at < slice.length && !this.bodyDone) {
      if (this.chunkState === 'data') {
        const take = Math.min(this.chunkLeft, slice.length - at);
        more = this.body.push(slice.subarray(at, at + take), buffer) && more;
        at += take;
        this.chunkLeft -= take;
        if (this.chunkLeft === 0) this.chunkState = 'data-end';
        continue;
      }
      const newline = slice.indexOf(10, at);
      const end = newline < 0 ? slice.length : newline + 1;
      this.chunkLine += slice.subarray(at, end).toString('latin1');
      at = end;
      if (this.chunkLine.length > 4096) throw networkError('malformed chunked body', 'HPE_INVALID_CHUNK_SIZE');
      if (newline < 0) break;
      const line = this.chunkLine.trim();
      this.chunkLine = '';
      if (this.chunkState === 'data-end') {
        if (line !== '') throw networkError('malformed chunked body', 'HPE_INVALID_CHUNK_SIZE');
        this.chunkState = 'size';
      } else if (this.chunkState === 'size') {
        const size = /^([0-9a-fA-F]+)/.exec(line);
        if (!size) throw networkError('malformed chunk size', 'HPE_INVALID_CHUNK_SIZE');
        this.chunkLeft = parseInt(size[1], 16);
        this.chunkState = this.chunkLeft === 0 ? 'trailer' : 'data';
      } else if (line === '') {
        this.finishBody();
      }
    }
    if (at < slice.length) this.trailing = true;
    return more;
  }

  private finishBody(): void {
    clearTimeout(this.deadlineTimer);
    clearInterval(this.paceTimer);
    this.complete = true;
    this.body.end();
  }

  /** The server closed its side: the end of a body framed by the close, else a failure. */
  ended(): void {
    if (this.headBytes === undefined && this.framing.kind === 'close') {
      this.finishBody();
      this.settle();
    } else this.destroy(networkError('connection closed before the response was complete (premature close)', 'ERR_STREAM_PREMATURE_CLOSE'));
  }
}

interface Expectation { algorithm: string; digest: string; size: number; what: string; hash: Hash; seen: number }

interface Queued { slice: Buffer; buffer: Buffer; checked: boolean }

/**
 * A response body from a WireExchange: pushed to one consumer at a time (`pipeTo`), or read as an
 * async iterable of copies (small bodies). With `expect`, every byte is hashed on its way to the
 * consumer, and the bytes that complete the blob are passed on only when the digest matches.
 */
export class WireBody implements AsyncIterable<Buffer> {
  /** Ended or failed: takes no more bytes. */
  finished = false;
  private consumer: BodyConsumer | undefined;
  /** Bytes read but not yet taken by a consumer (each holds its pooled buffer). */
  private readonly queue: Queued[] = [];
  private paused = false;
  private received = false;
  private error: Error | undefined;
  private expected: Expectation | undefined;

  constructor(private readonly exchange: WireExchange) {}

  /** Fails the body (instead of completing it) when its bytes do not have this digest and size. */
  expect(blob: { digest: string; size: number }, what: string): void {
    const algorithm = blob.digest.split(':')[0];
    this.expected = { algorithm, digest: blob.digest, size: blob.size, what, hash: createHash(algorithm), seen: 0 };
    // An empty blob never reaches the digest check on its bytes: check it here.
    if (blob.size === 0) this.check(Buffer.alloc(0));
  }

  /** Called by the exchange for each body slice; returns false to pause reading. */
  push(slice: Buffer, buffer: Buffer): boolean {
    if (this.finished) return false;
    if (this.consumer && !this.paused && this.queue.length === 0) {
      if (!this.deliver(slice, buffer, false)) this.paused = true;
    } else {
      pool.retain(buffer);
      this.queue.push({ slice, buffer, checked: false });
      this.paused = true;
    }
    return !this.paused && !this.finished;
  }

  /** Called by the exchange when the whole body has been read. */
  end(): void {
    this.received = true;
    this.flush();
  }

  fail(error: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.error = error = this.expected ? this.inContext(error, this.expected.what) : error;
    for (const item of this.queue.splice(0)) pool.release(item.buffer);
    this.exchange.destroy(error);
    this.consumer?.fail(error);
  }

  /** Names the blob in a network failure, and lets the whole blob copy retry it. */
  private inContext(error: Error, what: string): Error {
    if (error instanceof GitopsError) return error;
    const failure = new GitopsError(`reading ${what} failed: ${error.message}`, { cause: error });
    return isRetryableNetworkError(error) ? markTransient(failure) : failure;
  }

  /** Stops the transfer and closes the connection. */
  destroy(error?: Error): void {
    this.fail(error ?? networkError('body discarded', 'ECONNABORTED'));
  }

  /** Hands queued bytes to the consumer and reads on while it keeps up. */
  resume(): void {
    this.paused = false;
    this.flush();
  }

  private flush(): void {
    const consumer = this.consumer;
    if (!consumer || this.finished) return;
    while (!this.paused && this.queue.length > 0) {
      const { slice, buffer, checked } = this.queue.shift()!;
      if (!this.deliver(slice, buffer, checked)) this.paused = true;
      pool.release(buffer);
      if (this.finished) return;
    }
    if (this.paused || this.queue.length > 0) return;
    if (!this.received) {
      this.exchange.resume();
      return;
    }
    const expected = this.expected;
    if (expected && expected.seen !== expected.size) {
      this.fail(new GitopsError(`${expected.what} has ${expected.seen} bytes, its descriptor declares ${expected.size}`));
      return;
    }
    this.finished = true;
    consumer.end();
  }

  /** Verifies (unless already done) and hands one slice to the consumer; false = pause. */
  private deliver(slice: Buffer, buffer: Buffer, checked: boolean): boolean {
    if (!checked && !this.check(slice)) return false;
    return this.consumer!.data(slice, buffer);
  }

  private check(slice: Buffer): boolean {
    const expected = this.expected;
    if (!expected) return true;
    expected.seen += slice.length;
    if (expected.seen > expected.size) {
      this.fail(new GitopsError(`${expected.what} is larger than the ${expected.size} bytes its descriptor declares`));
      return false;
    }
    expected.hash.update(slice);
    if (expected.seen < expected.size) return true;
    const actual = `${expected.algorithm}:${expected.hash.digest('hex')}`;
    if (actual === expected.digest) return true;
    this.fail(new GitopsError(`${expected.what} does not match its digest: the registry sent bytes hashing to ${actual}`, {
      hint: 'the source blob is corrupt or was altered in transit; nothing was written for it',
    }));
    return false;
  }

  private attach(consumer: BodyConsumer): void {
    if (this.consumer) throw new Error('a wire body has one consumer at a time');
    this.consumer = consumer;
    if (this.error) consumer.fail(this.error);
    else this.resume();
  }

  private detach(): void {
    this.consumer = undefined;
    this.paused = true;
  }

  /**
   * Writes the next `length` bytes into `target`, honouring its backpressure. Bytes read beyond
   * `length` stay queued for the next call (chunked uploads). Rejects when the body fails or ends early.
   */
  pipeTo(target: WireSink, length: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let left = length;
      if (left === 0) return resolve();
      const finish = (error?: Error) => {
        this.detach();
        if (error) reject(error);
        else resolve();
      };
      this.attach({
        data: (slice, buffer) => {
          let part = slice;
          if (part.length > left) {
            pool.retain(buffer);
            this.queue.unshift({ slice: part.subarray(left), buffer, checked: true });
            part = part.subarray(0, left);
          }
          left -= part.length;
          const flowing = target.write(part, buffer);
          if (left === 0) {
            finish();
            return false;
          }
          if (!flowing) {
            target.onDrain(() => this.resume());
            return false;
          }
          return true;
        },
        end: () => finish(new GitopsError(`the source ended ${left} bytes before the ${length} bytes to upload`)),
        fail: (error) => finish(error),
      });
    });
  }

  /**
   * Copies of the next `length` bytes, as the body of a request on another stack (an upload that
   * goes through the proxy while its download did not). Bytes beyond `length` stay queued.
   */
  async *take(length: number, counted?: { bytes: number }): AsyncGenerator<Buffer> {
    const copies: Buffer[] = [];
    let wake: (() => void) | undefined;
    let resume: (() => void) | undefined;
    let over = false;
    let failure: Error | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    const sink: WireSink = {
      write: (slice) => {
        copies.push(Buffer.from(slice));
        notify();
        return copies.length < 4;
      },
      onDrain: (next) => { resume = next; },
    };
    this.pipeTo(sink, length).then(() => { over = true; notify(); }, (error: Error) => { failure = error; over = true; notify(); });
    while (true) {
      const copy = copies.shift();
      if (copy) {
        if (copies.length === 0 && resume) {
          const next = resume;
          resume = undefined;
          next();
        }
        if (counted) counted.bytes += copy.length;
        yield copy;
        continue;
      }
      if (failure) throw failure;
      if (over) return;
      await new Promise<void>((resolve) => { wake = resolve; });
    }
  }

  /** Copies of the body's bytes, for small bodies (error answers, config blobs). */
  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    const copies: Buffer[] = [];
    let wake: (() => void) | undefined;
    let over = false;
    let failure: Error | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    this.attach({
      data: (slice) => {
        copies.push(Buffer.from(slice));
        notify();
        return true;
      },
      end: () => {
        over = true;
        notify();
      },
      fail: (error) => {
        failure = error;
        over = true;
        notify();
      },
    });
    try {
      while (true) {
        if (copies.length > 0) {
          yield copies.shift()!;
          continue;
        }
        if (failure) throw failure;
        if (over) return;
        await new Promise<void>((resolve) => { wake = resolve; });
      }
    } finally {
      this.detach();
      if (!this.finished) this.destroy();
    }
  }
}

export interface WireResponse extends WireHead { body: WireBody; url: URL }

export interface WireRequest {
  method: string;
  headers: OutgoingHttpHeaders;
  timeoutMs: number;
  /** Epoch ms by which the exchange must be complete. */
  deadline?: number;
  /** The slowest acceptable body, after a grace period. */
  pace?: { graceMs: number; bytesPerSecond: number };
  /** Streams `length` bytes of another response body as this request's body. */
  body?: { source: WireBody; length: number };
  /** TLS options of a direct connection (extra CA, client certificate): `directConnection()` of core/network.ts. */
  tls?: ConnectionOptions;
}

/** One exchange on a fresh connection; resolves with the response head, the body still unread. */
export async function sendWire(url: URL, request: WireRequest): Promise<WireResponse> {
  const exchange = new WireExchange(url, request.method, request.headers, request.timeoutMs, request.deadline, request.pace, request.tls, request.body?.length ?? 0);
  const upload = request.body;
  if (upload) {
    exchange.onFailure((error) => upload.source.destroy(error));
    upload.source.pipeTo(exchange, upload.length).catch((error: Error) => exchange.destroy(error));
  }
  const head = await exchange.head;
  return { ...head, body: exchange.body, url };
}
