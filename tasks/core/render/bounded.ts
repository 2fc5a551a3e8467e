/**
 * Runs `fn` over `items` with at most `limit` in flight, results in input order. Unlike a plain
 * Promise.all, a failure stops new work from starting and waits for the running work to finish
 * before rejecting, so no helm or hook process outlives the run's scratch folder.
 */
export async function runBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let firstError: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!firstError && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index], index);
      } catch (error) {
        firstError ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (firstError) throw firstError.error;
  return results;
}

/**
 * At most `limit` calls of `run` in flight, for work discovered while it runs (a tree walked
 * level by level). After the first failure no new work starts: waiting and later calls reject
 * with that failure, so callers can wait for what is running and stop.
 */
export class WorkLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private failure: { error: unknown } | undefined;

  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    while (!this.failure && this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.failure) throw this.failure.error;
    this.running++;
    try {
      return await fn();
    } catch (error) {
      this.failure ??= { error };
      for (const wake of this.waiting.splice(0)) wake();
      throw error;
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}
