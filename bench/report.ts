/** Row protocol of bench/run.mjs: one `BENCH {json}` line per measurement. */
export interface BenchRow {
  bench: string;
  metric: string;
  ours: number;
  baseline?: number;
  unit: 's' | 'MB' | 'count' | 'bytes';
  /** ratio: ours/baseline <= target; max: ours <= target; info: no target. */
  kind: 'ratio' | 'max' | 'info';
  target?: number;
}

export function reportRow(row: BenchRow): void {
  process.stdout.write(`BENCH ${JSON.stringify(row)}\n`);
}

/** Wall time of `fn` in seconds. */
export async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}
