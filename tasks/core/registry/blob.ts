import { createHash } from 'node:crypto';
import { GitopsError } from '../errors';
import { deadlineError, isRetryableNetworkError, markTransient, type Progress, type ResponseBody } from './http';

export interface BlobPace {
  /** Epoch ms the download started. */
  started: number;
  /** No check before this many ms. */
  graceMs: number;
  bytesPerSecond: number;
  host: string;
}

/**
 * A blob download whose bytes pass only as fast as they are consumed. Every byte is hashed on its
 * way; the bytes that complete the blob are handed over only when its digest and size match, so a
 * corrupt or altered blob fails the upload it feeds before the registry can commit it. A failure
 * names the blob, closes the download's connection, and lets the whole blob copy retry it when the
 * network (not the registry's bytes) was at fault.
 */
export class BlobDownload implements AsyncIterable<Buffer> {
  private readonly chunks: AsyncGenerator<Buffer>;
  /** Bytes read beyond the last `take` (chunked uploads), handed to the next one. */
  private rest: Buffer | undefined;
  private taken = 0;
  private paceTimer: NodeJS.Timeout | undefined;

  constructor(private readonly body: ResponseBody, private readonly blob: { digest: string; size: number }, private readonly what: string,
    private readonly progress: Progress, pace?: BlobPace) {
    this.chunks = this.verified();
    if (pace) {
      this.paceTimer = setInterval(() => {
        const elapsed = Date.now() - pace.started;
        if (elapsed > pace.graceMs && progress.bytes < ((elapsed - pace.graceMs) / 1000) * pace.bytesPerSecond) {
          this.destroy(deadlineError(pace.host, elapsed, `reading the body after ${progress.bytes} bytes: slower than ${pace.bytesPerSecond} bytes/s`));
        }
      }, 1000).unref();
    }
  }

  private async *verified(): AsyncGenerator<Buffer> {
    const { digest, size } = this.blob;
    const algorithm = digest.split(':')[0];
    const hash = createHash(algorithm);
    let seen = 0;
    const check = () => {
      const actual = `${algorithm}:${hash.digest('hex')}`;
      if (actual !== digest) {
        throw new GitopsError(`${this.what} does not match its digest: the registry sent bytes hashing to ${actual}`, {
          hint: 'the source blob is corrupt or was altered in transit; nothing was written for it',
        });
      }
    };
    try {
      for await (const chunk of this.body) {
        seen += chunk.length;
        this.progress.bytes = seen;
        if (seen > size) throw new GitopsError(`${this.what} is larger than the ${size} bytes its descriptor declares`);
        hash.update(chunk);
        if (seen === size) check();
        yield chunk;
      }
      if (seen !== size) throw new GitopsError(`${this.what} has ${seen} bytes, its descriptor declares ${size}`);
      if (size === 0) check();
    } catch (error) {
      this.body.destroy();
      throw this.inContext(error);
    } finally {
      clearInterval(this.paceTimer);
    }
  }

  /** Names the blob in a network failure, and lets the whole blob copy retry it. */
  private inContext(error: unknown): Error {
    if (error instanceof GitopsError) return error;
    const failure = new GitopsError(`reading ${this.what} failed: ${(error as Error).message}`, { cause: error });
    return isRetryableNetworkError(error) ? markTransient(failure) : failure;
  }

  /**
   * The next `length` bytes, verified, as a request body. Bytes read beyond `length` wait for the
   * next call (chunked uploads). Fails when the download fails or ends early.
   */
  async *take(length: number, counted?: Progress): AsyncGenerator<Buffer> {
    let left = length;
    while (left > 0) {
      let chunk = this.rest;
      this.rest = undefined;
      if (!chunk) {
        const next = await this.chunks.next();
        if (next.done) throw new GitopsError(`the source ended ${left} bytes before the ${length} bytes to upload`);
        chunk = next.value;
      }
      if (chunk.length > left) {
        this.rest = chunk.subarray(left);
        chunk = chunk.subarray(0, left);
      }
      left -= chunk.length;
      this.taken += chunk.length;
      if (counted) counted.bytes += chunk.length;
      yield chunk;
    }
    // The whole blob went out: read the end of the body, so its connection goes back to the pool.
    if (this.taken === this.blob.size) await this.chunks.next();
  }

  /** The whole blob (small blobs: configs). */
  [Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    return this.take(this.blob.size);
  }

  /** Stops the download and closes its connection. */
  destroy(error?: Error): void {
    clearInterval(this.paceTimer);
    this.body.destroy(error);
  }
}
