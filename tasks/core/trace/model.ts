/**
 * What the tasks' commit trailers say, read back: HLD commits that set an image for an environment
 * (UpdateImageTag, PromoteContainer, rollback) and manifest commits that rendered HLD commits
 * (GenerateManifests). See README "Audit trail" for the trailers.
 */
import { parseImageReference } from '../registry/reference';
import type { CommitRecord } from './log';

export const TRAILERS = {
  image: 'Gitops-Image',
  imageTag: 'Gitops-Image-Tag',
  environment: 'Gitops-Environment',
  subcomponent: 'Gitops-Subcomponent',
  sourceImage: 'Gitops-Source-Image',
  build: 'Gitops-Build',
  buildNumber: 'Gitops-Build-Number',
  release: 'Gitops-Release',
  pipeline: 'Gitops-Pipeline',
  sourceCommit: 'Gitops-Source-Commit',
  sourceRepository: 'Gitops-Source-Repository',
  hldCommit: 'Gitops-Hld-Commit',
  hldRepository: 'Gitops-Hld-Repository',
  environments: 'Gitops-Environments',
  /** Written by `bedrock-gitops rollback`: the tag the rollback replaced. */
  rollbackFrom: 'Gitops-Rollback-From',
} as const;

export interface BuildRef {
  /** The build id or, when the pipeline recorded one, its URL (Gitops-Build). */
  id: string;
  number?: string;
  url?: string;
  pipeline?: string;
}

export interface CommitRef {
  sha: string;
  time: string;
  author: string;
  subject: string;
}

export interface ImageChange {
  commit: CommitRef;
  /** Position in the HLD history read (0 = newest). */
  index: number;
  environment: string;
  /** Dotted subcomponent path, '' for the component itself. */
  subcomponent: string;
  tag: string;
  /** `registry/repository` when recorded. */
  repository?: string;
  digest?: string;
  /** As recorded in Gitops-Image (or the tag alone). */
  image: string;
  /** For a promotion: the pre-production image it was copied from. */
  source?: { repository: string; tag?: string; digest?: string; text: string };
  build?: BuildRef;
  release?: string;
  sourceCommit?: string;
  sourceRepository?: string;
  /** Set by a rollback: the tag it replaced. */
  rollbackFrom?: string;
}

export interface Render {
  commit: CommitRef;
  /** Position in the manifest history read (0 = newest). */
  index: number;
  hldCommit: string;
  hldRepository?: string;
  /** Environment set folders rendered (`staging`, `prod-east`). */
  sets: string[];
}

function ref(commit: CommitRecord): CommitRef {
  return { sha: commit.sha, time: commit.time, author: commit.author, subject: commit.subject };
}

function parseImage(text: string | undefined): { repository: string; tag?: string; digest?: string } | undefined {
  if (!text) return undefined;
  try {
    const parsed = parseImageReference(text);
    return { repository: `${parsed.registry}/${parsed.repository}`, tag: parsed.tag, digest: parsed.digest };
  } catch {
    return undefined;
  }
}

/** The build that made a commit, from its provenance trailers. */
export function buildOf(trailers: Record<string, string>): BuildRef | undefined {
  const build = trailers[TRAILERS.build];
  if (!build) return undefined;
  const url = /^https?:\/\//i.test(build) ? build : undefined;
  const fromUrl = url && (/[?&]buildId=(\d+)/i.exec(url)?.[1] ?? /\/(?:runs|job\/[^/]+)\/(\d+)\/?$/.exec(url)?.[1] ?? /\/(\d+)\/?$/.exec(url)?.[1]);
  return { id: url ? fromUrl || build : build, number: trailers[TRAILERS.buildNumber], url, pipeline: trailers[TRAILERS.pipeline] };
}

/** Image changes in an HLD history, newest first. */
export function imageChanges(commits: readonly CommitRecord[]): ImageChange[] {
  const changes: ImageChange[] = [];
  commits.forEach((commit, index) => {
    const t = commit.trailers;
    const environment = t[TRAILERS.environment];
    const imageText = t[TRAILERS.image];
    const image = parseImage(imageText);
    const tag = t[TRAILERS.imageTag] || image?.tag;
    if (!environment || !tag) return;
    const sourceParsed = parseImage(t[TRAILERS.sourceImage]);
    changes.push({
      commit: ref(commit),
      index,
      environment,
      subcomponent: t[TRAILERS.subcomponent] ?? '',
      tag: tag.replace(/@sha256:[a-f0-9]{64}$/, ''),
      repository: image?.repository,
      digest: image?.digest ?? /@(sha256:[a-f0-9]{64})$/.exec(tag)?.[1],
      image: imageText || tag,
      source: sourceParsed && { ...sourceParsed, text: t[TRAILERS.sourceImage] },
      build: buildOf(t),
      release: t[TRAILERS.release],
      sourceCommit: t[TRAILERS.sourceCommit],
      sourceRepository: t[TRAILERS.sourceRepository],
      rollbackFrom: t[TRAILERS.rollbackFrom],
    });
  });
  return changes;
}

/** Manifest renders in a manifest history, newest first. */
export function renders(commits: readonly CommitRecord[]): Render[] {
  const result: Render[] = [];
  commits.forEach((commit, index) => {
    const hldCommit = commit.trailers[TRAILERS.hldCommit];
    if (!hldCommit) return;
    result.push({
      commit: ref(commit),
      index,
      hldCommit,
      hldRepository: commit.trailers[TRAILERS.hldRepository],
      sets: (commit.trailers[TRAILERS.environments] ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    });
  });
  return result;
}

/** Whether an environment set folder (`prod-east`) includes the environment (`prod`); common is in every set. */
export function setIncludes(set: string, environment: string): boolean {
  if (environment === 'common' || set === environment) return true;
  return set.startsWith(`${environment}-`) || set.endsWith(`-${environment}`) || set.includes(`-${environment}-`);
}

/** Same repository, ignoring user info, a `.git` suffix, trailing slashes and case. */
export function sameRepositoryUrl(a: string, b: string): boolean {
  const clean = (url: string) => url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1').replace(/\/+$/, '').replace(/\.git$/, '').toLowerCase();
  return clean(a) === clean(b);
}
