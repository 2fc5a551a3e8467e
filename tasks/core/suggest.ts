/**
 * "Did you mean" for names a user typed: the closest of the names that exist, by edit distance
 * (insertions, deletions, substitutions and swaps of two neighbours each cost 1).
 */

/** Optimal string alignment distance between two strings. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[rows - 1][cols - 1];
}

/**
 * The existing name closest to `name` (case-insensitive), when it is close enough to be a typo:
 * at most 2 edits, and at most half the length of the name.
 */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: { name: string; distance: number } | undefined;
  const typed = name.toLowerCase();
  for (const candidate of new Set(candidates)) {
    if (candidate === name) continue;
    const distance = editDistance(typed, candidate.toLowerCase());
    if (distance > 2 || distance * 2 > Math.max(typed.length, 2)) continue;
    if (!best || distance < best.distance || (distance === best.distance && candidate < best.name)) best = { name: candidate, distance };
  }
  return best?.name;
}

/** `did you mean "staging"?` or `existing: a, b, c` (or '' when there is nothing to show). */
export function suggestion(name: string, candidates: Iterable<string>): string {
  const list = [...new Set(candidates)].sort();
  const closest = closestName(name, list);
  if (closest) return `did you mean ${JSON.stringify(closest)}?`;
  if (list.length === 0) return '';
  const shown = list.slice(0, 10);
  return `existing: ${shown.join(', ')}${list.length > shown.length ? ', …' : ''}`;
}
