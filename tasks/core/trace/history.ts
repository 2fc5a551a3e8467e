/**
 * An environment's image history from the HLD trailers (and, when given, where each change was
 * published), and the tag a rollback restores.
 */
import { GitopsError } from '../errors';
import type { CommitRecord } from './log';
import { imageChanges, renders, type BuildRef, type ImageChange } from './model';
import { changesOf, publication, rendersOf } from './trace';

export interface HistoryEntry {
  tag: string;
  image: string;
  repository?: string;
  digest?: string;
  hldCommit: string;
  time: string;
  author: string;
  build: BuildRef | null;
  /** The manifest commit that published it; null when not (yet) published or not asked. */
  manifestCommit: string | null;
  /** The tag a rollback replaced, when this entry is a rollback. */
  rollbackFrom?: string;
  /** The image is the environment's current one (newest entry). */
  current: boolean;
}

export interface EnvironmentHistory {
  environment: string;
  subcomponent: string;
  entries: HistoryEntry[];
  read: { hldCommits: number; manifestCommits?: number };
}

export function environmentHistory(options: {
  hld: readonly CommitRecord[];
  manifests?: readonly CommitRecord[];
  hldRepository: string;
  environment: string;
  subcomponent: string;
  /**
   * Only commits in this set count (the commits that changed the environment's config file): a
   * commit whose trailers name an image without changing the file changed nothing.
   */
  changedConfig?: ReadonlySet<string>;
}): EnvironmentHistory {
  const changed = options.changedConfig;
  const timeline = changesOf(imageChanges(options.hld), options.environment, options.subcomponent)
    .filter((change) => !changed || changed.has(change.commit.sha));
  const hldIndex = new Map(options.hld.map((c, i) => [c.sha, i]));
  const envRenders = options.manifests ? rendersOf(renders(options.manifests), options.environment, options.hldRepository) : [];
  const entries = timeline.map((change, i): HistoryEntry => ({
    tag: change.tag,
    image: change.image,
    repository: change.repository,
    digest: change.digest,
    hldCommit: change.commit.sha,
    time: change.commit.time,
    author: change.commit.author,
    build: change.build ?? null,
    manifestCommit: options.manifests ? publication(change, timeline, envRenders, hldIndex).render?.commit.sha ?? null : null,
    rollbackFrom: change.rollbackFrom,
    current: i === 0,
  }));
  return {
    environment: options.environment,
    subcomponent: options.subcomponent,
    entries,
    read: { hldCommits: options.hld.length, manifestCommits: options.manifests?.length },
  };
}

/**
 * The change a `--previous` rollback restores: the newest earlier image that differs from the
 * current one and was not itself rolled back from (so rolling back twice goes further back,
 * not forward again).
 */
export function previousChange(timeline: readonly ImageChange[] | readonly HistoryEntry[]): number {
  if (timeline.length === 0) return -1;
  const current = timeline[0];
  const rolledBack = new Set<string>();
  for (let i = 0; i < timeline.length; i++) {
    const entry = timeline[i];
    if (entry.rollbackFrom) rolledBack.add(entry.rollbackFrom);
    if (i === 0) continue;
    if (entry.tag !== current.tag && !rolledBack.has(entry.tag)) return i;
  }
  return -1;
}

/** The entry to roll back to: `--to TAG` (must be in the history) or `--previous`. */
export function rollbackTarget(history: EnvironmentHistory, to: { tag?: string; previous?: boolean }): HistoryEntry {
  const where = `${history.environment}${history.subcomponent ? ` / ${history.subcomponent}` : ''}`;
  if (history.entries.length === 0) {
    throw new GitopsError(`the HLD history read has no image changes for ${where}`, {
      field: '--subcomponent',
      hint: 'check --environment and --subcomponent, or read further back with --max-commits / --since',
    });
  }
  const current = history.entries[0];
  if (to.tag !== undefined) {
    const entry = history.entries.find((e) => e.tag === to.tag);
    if (!entry) {
      const known = [...new Set(history.entries.map((e) => e.tag))].slice(0, 10).join(', ');
      throw new GitopsError(`${where} never ran ${to.tag} in the history read (tags: ${known})`, { field: '--to', hint: 'pick a tag from `bedrock-gitops history`' });
    }
    if (entry.tag === current.tag) throw new GitopsError(`${where} already runs ${to.tag}`, { field: '--to' });
    return entry;
  }
  const index = previousChange(history.entries);
  if (index < 0) throw new GitopsError(`${where} has no earlier tag to roll back to in the history read`, { field: '--previous', hint: 'read further back with --max-commits / --since, or give --to TAG' });
  return history.entries[index];
}
