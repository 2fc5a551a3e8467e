/**
 * Traces an image from build to cluster using only the commit trailers of the HLD and manifest
 * repositories: which HLD commit set it per environment, which manifest commit published it (or
 * what superseded it), the promotion that copied it, and what a cluster has applied.
 */
import { GitopsError } from '../errors';
import { parseImageReference } from '../registry/reference';
import type { ClusterState } from '../cluster/types';
import type { CommitRecord } from './log';
import { imageChanges, renders, sameRepositoryUrl, setIncludes, type BuildRef, type ImageChange, type Render } from './model';

export interface TraceQuery {
  /** `repository:tag` */
  image?: string;
  /** `sha256:...` */
  digest?: string;
  build?: string;
  hldCommit?: string;
}

export type TraceStatus = 'not-published' | 'published' | 'superseded' | 'applied' | 'not-applied';

export interface TimelineEvent {
  time: string;
  kind: 'build' | 'hld' | 'promotion' | 'manifest' | 'cluster' | 'superseded';
  title: string;
  detail?: string;
  url?: string;
}

export interface TraceEnvironment {
  name: string;
  subcomponent: string;
  image: string;
  tag: string;
  digest?: string;
  status: TraceStatus;
  /** One line for people: `published in 3f2a…`, `superseded by 1.4.0`, `not yet published`. */
  statusText: string;
  hldCommit: { sha: string; time: string; author: string; subject: string; url?: string };
  build: BuildRef | null;
  release?: string;
  sourceCommit?: string;
  sourceRepository?: string;
  manifestCommit: { sha: string; time: string; hldCommit: string; url?: string } | null;
  supersededBy: { tag: string; hldCommit: string } | null;
  promotion: { sourceImage: string; sourceDigest?: string; targetImage: string; targetDigest?: string; registry: string } | null;
  cluster: (ClusterState & { applied: boolean | null; reason: string }) | null;
  rollbackFrom?: string;
  timeline: TimelineEvent[];
}

export interface TraceResult {
  query: TraceQuery;
  hldRepository: string;
  manifestRepository: string;
  environments: TraceEnvironment[];
  /** Commits read from each history (the bound applies to both). */
  read: { hldCommits: number; manifestCommits: number };
}

export interface TraceInput {
  query: TraceQuery;
  hldRepository: string;
  manifestRepository: string;
  hld: readonly CommitRecord[];
  manifests: readonly CommitRecord[];
  /** Cluster state per environment name. */
  clusters?: Record<string, ClusterState>;
  /** Browser link of a commit, when the host has one. */
  commitUrl?: (repository: string, sha: string) => string | undefined;
}

/** Checks the query: exactly one of image, digest, build, hldCommit; errors name the flag. */
export function validateQuery(query: TraceQuery): void {
  const given = (['image', 'digest', 'build', 'hldCommit'] as const).filter((k) => query[k] !== undefined && query[k] !== '');
  if (given.length !== 1) {
    throw new GitopsError(given.length === 0 ? 'say what to trace' : `give only one of ${given.map(flagOf).join(', ')}`, {
      field: '--image',
      hint: 'use one of --image REPOSITORY:TAG, --digest sha256:..., --build ID, --hld-commit SHA',
    });
  }
  if (query.image !== undefined) {
    const parsed = (() => {
      try {
        return parseImageReference(query.image!);
      } catch (error) {
        throw new GitopsError(`--image: ${(error as Error).message}`, { field: '--image', hint: 'e.g. myacr.azurecr.io/api:1.2.3' });
      }
    })();
    if (!parsed.tag) throw new GitopsError(`--image ${query.image} has no tag`, { field: '--image', hint: 'give REPOSITORY:TAG, or use --digest' });
  }
  if (query.digest !== undefined && !/^sha256:[a-f0-9]{64}$/.test(query.digest)) {
    throw new GitopsError(`--digest ${JSON.stringify(query.digest)} is not sha256:<64 lowercase hex>`, { field: '--digest' });
  }
  if (query.hldCommit !== undefined && !/^[0-9a-f]{7,40}$/.test(query.hldCommit)) {
    throw new GitopsError(`--hld-commit ${JSON.stringify(query.hldCommit)} is not a commit id`, { field: '--hld-commit', hint: '7 to 40 lowercase hex digits' });
  }
  if (query.build !== undefined && !/^[A-Za-z0-9._:/?&=#%+-]{1,300}$/.test(query.build)) {
    throw new GitopsError(`--build ${JSON.stringify(query.build)} is not a build id or URL`, { field: '--build' });
  }
}

function flagOf(key: string): string {
  return key === 'hldCommit' ? '--hld-commit' : `--${key}`;
}

const keyOf = (repository: string | undefined, tag: string | undefined) => (repository && tag ? `${repository}:${tag}` : undefined);

function buildMatches(build: BuildRef | undefined, wanted: string): boolean {
  if (!build) return false;
  return build.id === wanted || build.number === wanted || build.url === wanted;
}

/** The image changes the query names, and every change linked to them by tag or digest (promotions). */
export function matchChanges(changes: readonly ImageChange[], query: TraceQuery): ImageChange[] {
  const keys = new Set<string>();
  const digests = new Set<string>();
  const tagsOnly = new Set<string>();
  const matched = new Set<ImageChange>();
  if (query.image) {
    const parsed = parseImageReference(query.image);
    keys.add(`${parsed.registry}/${parsed.repository}:${parsed.tag}`);
    tagsOnly.add(parsed.tag!);
  }
  if (query.digest) digests.add(query.digest);
  for (const change of changes) {
    if ((query.build && buildMatches(change.build, query.build)) || (query.hldCommit && change.commit.sha.startsWith(query.hldCommit))) matched.add(change);
  }
  const absorb = (change: ImageChange) => {
    const own = keyOf(change.repository, change.tag);
    if (own) keys.add(own);
    const source = keyOf(change.source?.repository, change.source?.tag);
    if (source) keys.add(source);
    if (change.digest) digests.add(change.digest);
    if (change.source?.digest) digests.add(change.source.digest);
  };
  for (const change of matched) absorb(change);
  for (let grew = true; grew;) {
    grew = false;
    for (const change of changes) {
      if (matched.has(change)) continue;
      const own = keyOf(change.repository, change.tag);
      const source = keyOf(change.source?.repository, change.source?.tag);
      const hit = (own && keys.has(own)) || (source && keys.has(source))
        || (change.digest && digests.has(change.digest)) || (change.source?.digest && digests.has(change.source.digest))
        // A commit that recorded only a tag (no repository) matches by tag.
        || (!change.repository && !change.source && tagsOnly.has(change.tag));
      if (hit) {
        matched.add(change);
        absorb(change);
        grew = true;
      }
    }
  }
  return changes.filter((c) => matched.has(c));
}

/** Image changes of one environment and subcomponent, newest first. */
export function changesOf(changes: readonly ImageChange[], environment: string, subcomponent: string): ImageChange[] {
  return changes.filter((c) => c.environment === environment && c.subcomponent === subcomponent);
}

/** Renders of the HLD repository that include the environment, newest first. */
export function rendersOf(all: readonly Render[], environment: string, hldRepository: string): Render[] {
  return all.filter((r) => (!r.hldRepository || sameRepositoryUrl(r.hldRepository, hldRepository)) && r.sets.some((s) => setIncludes(s, environment)));
}

/**
 * The image change in effect at an HLD commit: the newest change at or before it. HLD positions
 * come from `git log --topo-order`, so "before" is "later in that order". A commit outside the
 * history read counts as older than all of it.
 */
export function effectiveChange(timeline: readonly ImageChange[], hldIndex: number): ImageChange | undefined {
  return timeline.find((c) => c.index >= hldIndex);
}

export interface Publication {
  /** The oldest render whose HLD commit had this change in effect. */
  render?: Render;
  /** The next change with another tag, if any. */
  next?: ImageChange;
}

/** Where a change was published and what replaced it. */
export function publication(change: ImageChange, timeline: readonly ImageChange[], envRenders: readonly Render[], hldIndex: Map<string, number>): Publication {
  const position = timeline.indexOf(change);
  const next = timeline.slice(0, Math.max(position, 0)).reverse().find((c) => c.tag !== change.tag || c.repository !== change.repository);
  let render: Render | undefined;
  for (let i = envRenders.length - 1; i >= 0; i--) {
    const r = envRenders[i];
    const index = hldIndex.get(r.hldCommit) ?? Number.POSITIVE_INFINITY;
    if (effectiveChange(timeline, index) === change || (effectiveSame(effectiveChange(timeline, index), change) && index <= change.index && (!next || index > next.index))) {
      render = r;
      break;
    }
  }
  return { render, next };
}

function effectiveSame(a: ImageChange | undefined, b: ImageChange): boolean {
  return !!a && a.tag === b.tag && a.repository === b.repository;
}

/** Builds the trace. Pure: the histories and cluster states are read by the caller. */
export function traceImage(input: TraceInput): TraceResult {
  validateQuery(input.query);
  const changes = imageChanges(input.hld);
  const allRenders = renders(input.manifests);
  const hldIndex = new Map(input.hld.map((c, i) => [c.sha, i]));
  const manifestIndex = new Map(input.manifests.map((c, i) => [c.sha, i]));
  const url = (repository: string, sha: string) => input.commitUrl?.(repository, sha);
  const matched = matchChanges(changes, input.query);

  // The newest matching change per environment and subcomponent, oldest environment first.
  // Environments in pipeline order: by the oldest matching change of each.
  const chosen = new Map<string, ImageChange>();
  const oldest = new Map<string, number>();
  for (const change of matched) {
    const key = `${change.environment}\0${change.subcomponent}`;
    if (!chosen.has(key)) chosen.set(key, change);
    oldest.set(key, change.index);
  }
  const order = (c: ImageChange) => oldest.get(`${c.environment}\0${c.subcomponent}`)!;
  const environments = [...chosen.values()].sort((a, b) => order(b) - order(a)).map((change) => {
    const timeline = changesOf(changes, change.environment, change.subcomponent);
    const envRenders = rendersOf(allRenders, change.environment, input.hldRepository);
    const { render, next } = publication(change, timeline, envRenders, hldIndex);
    const events: TimelineEvent[] = [];
    const promotion = change.source ? {
      sourceImage: change.source.text.replace(/@sha256:[a-f0-9]{64}$/, ''),
      sourceDigest: change.source.digest,
      targetImage: `${change.repository ?? ''}:${change.tag}`,
      targetDigest: change.digest,
      registry: (change.repository ?? '').split('/')[0],
    } : null;
    // Earlier matching changes of this environment (e.g. the build before a rollback to it), oldest first.
    const earlier = matched.filter((c) => c !== change && c.environment === change.environment && c.subcomponent === change.subcomponent).reverse();
    for (const c of [...earlier, change]) {
      const shown = c === change ? render : publication(c, timeline, envRenders, hldIndex).render;
      events.push(...changeEvents(c, shown, input.hldRepository, input.manifestRepository, url));
    }
    if (next) events.push({ time: next.commit.time, kind: 'superseded', title: `Superseded by ${next.tag}`, detail: `HLD commit ${next.commit.sha.slice(0, 12)}${next.rollbackFrom ? ` (rollback from ${next.rollbackFrom})` : ''}`, url: url(input.hldRepository, next.commit.sha) });

    let status: TraceStatus = render ? (next ? 'superseded' : 'published') : next ? 'superseded' : 'not-published';
    let statusText = render ? (next ? `superseded by ${next.tag}` : 'published') : next ? `superseded by ${next.tag}` : 'not yet published';
    const state = input.clusters?.[change.environment];
    let cluster: TraceEnvironment['cluster'] = null;
    if (state) {
      const applied = appliedCheck(state, render, timeline, envRenders, hldIndex, manifestIndex, change);
      cluster = { ...state, ...applied };
      events.push({ time: '', kind: 'cluster', title: `${state.name}: ${applied.applied ? 'applied' : applied.applied === false ? 'not applied' : 'unknown'}`, detail: applied.reason });
      if (applied.applied === true) {
        status = 'applied';
        statusText = `applied (${state.name})`;
      } else if (applied.applied === false && status !== 'superseded') {
        status = render ? 'not-applied' : status;
        statusText = render ? `published, not applied (${applied.reason})` : statusText;
      }
    }
    const entry: TraceEnvironment = {
      name: change.environment,
      subcomponent: change.subcomponent,
      image: change.image,
      tag: change.tag,
      digest: change.digest,
      status,
      statusText,
      hldCommit: { ...change.commit, url: url(input.hldRepository, change.commit.sha) },
      build: change.build ?? null,
      release: change.release,
      sourceCommit: change.sourceCommit,
      sourceRepository: change.sourceRepository,
      manifestCommit: render ? { sha: render.commit.sha, time: render.commit.time, hldCommit: render.hldCommit, url: url(input.manifestRepository, render.commit.sha) } : null,
      supersededBy: next ? { tag: next.tag, hldCommit: next.commit.sha } : null,
      promotion,
      cluster,
      rollbackFrom: change.rollbackFrom,
      timeline: events,
    };
    return entry;
  });
  return {
    query: input.query,
    hldRepository: input.hldRepository,
    manifestRepository: input.manifestRepository,
    environments,
    read: { hldCommits: input.hld.length, manifestCommits: input.manifests.length },
  };
}

function changeEvents(change: ImageChange, render: Render | undefined, hldRepository: string, manifestRepository: string,
  url: (repository: string, sha: string) => string | undefined): TimelineEvent[] {
  const events: TimelineEvent[] = [];
  if (change.build && !change.source) {
    events.push({ time: change.commit.time, kind: 'build', title: `Build ${change.build.number ?? change.build.id}`, detail: [change.build.pipeline, change.sourceCommit && `source ${change.sourceCommit.slice(0, 12)}`].filter(Boolean).join(', ') || undefined, url: change.build.url });
  }
  if (change.source) {
    const target = `${change.repository ?? ''}:${change.tag}`;
    events.push({ time: change.commit.time, kind: 'promotion', title: `Promoted to ${(change.repository ?? '').split('/')[0]}`, detail: `${change.source.text.replace(/@sha256:[a-f0-9]{64}$/, '')} → ${target}${change.digest ? ` (${change.digest.slice(0, 19)}…)` : ''}`, url: change.build?.url ?? change.release });
  }
  events.push({ time: change.commit.time, kind: 'hld', title: `HLD commit ${change.commit.sha.slice(0, 12)}`, detail: `${change.commit.subject} — ${change.commit.author}`, url: url(hldRepository, change.commit.sha) });
  if (render) events.push({ time: render.commit.time, kind: 'manifest', title: `Manifest commit ${render.commit.sha.slice(0, 12)}`, detail: `rendered ${render.sets.join(', ')} from HLD ${render.hldCommit.slice(0, 12)}`, url: url(manifestRepository, render.commit.sha) });
  return events;
}

/**
 * Whether the cluster runs the change: the newest render of the environment at or before the
 * applied revision had this change in effect (and, for Argo CD, the application is healthy).
 */
function appliedCheck(state: ClusterState, render: Render | undefined, timeline: readonly ImageChange[], envRenders: readonly Render[],
  hldIndex: Map<string, number>, manifestIndex: Map<string, number>, change: ImageChange): { applied: boolean | null; reason: string } {
  if (!state.revision) return { applied: null, reason: `${state.name} reports no applied revision` };
  const sha = [...manifestIndex.keys()].find((s) => s.startsWith(state.revision!));
  if (sha === undefined) return { applied: null, reason: `revision ${state.revision.slice(0, 12)} is not in the manifest history read` };
  const at = manifestIndex.get(sha)!;
  const current = envRenders.find((r) => r.index >= at);
  const running = current && effectiveChange(timeline, hldIndex.get(current.hldCommit) ?? Number.POSITIVE_INFINITY);
  if (!current) return { applied: false, reason: `applied revision ${sha.slice(0, 12)} has no render of this environment` };
  if (!running) return { applied: false, reason: `applied revision ${sha.slice(0, 12)} has an image set before the history read or not by the tasks` };
  if (!render || running.tag !== change.tag || running.repository !== change.repository) {
    return { applied: false, reason: `applied revision ${sha.slice(0, 12)} has ${running.tag}` };
  }
  if (state.kind === 'argocd' && state.healthy !== true) return { applied: false, reason: `synced at ${sha.slice(0, 12)} but not healthy (${state.detail ?? 'unknown'})` };
  return { applied: true, reason: `applied revision ${sha.slice(0, 12)}` };
}
