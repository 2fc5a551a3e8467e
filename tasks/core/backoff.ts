/** The one backoff the retries use (git pushes, registry and Azure AD requests), and the one sleep. */
export { setTimeout as sleep } from 'node:timers/promises';

/**
 * Exponential backoff with jitter: the ceiling doubles per attempt from `baseMs` up to `maxMs`.
 * `full` jitter waits uniformly in [0, ceiling] (spreads writers that collide apart best);
 * `equal` jitter in [ceiling/2, ceiling] (a server that failed gets at least half the pause).
 */
export function backoffDelay(attempt: number, options: { baseMs: number; maxMs: number; jitter: 'full' | 'equal'; random?: () => number }): number {
  const random = options.random ?? Math.random;
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** (attempt - 1));
  return options.jitter === 'full' ? Math.round(ceiling * random()) : ceiling / 2 + random() * (ceiling / 2);
}
