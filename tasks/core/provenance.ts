/**
 * Where a change comes from: the build or release that made it. Commit messages carry it as git
 * trailers (the audit trail the seed asks for). Adapters fill it from pipeline variables, the CLI
 * from its CI system's environment.
 */
export interface Provenance {
  /** e.g. `Azure Pipelines`, `Jenkins`, `GitHub Actions`, `local`. */
  system: string;
  buildId?: string;
  buildNumber?: string;
  buildUrl?: string;
  sourceRepository?: string;
  sourceCommit?: string;
  sourceBranch?: string;
  releaseId?: string;
  releaseName?: string;
  releaseUrl?: string;
  environmentName?: string;
  requestedFor?: string;
  requestedForEmail?: string;
  pullRequestId?: string;
}

/** Git trailers for a provenance record; empty values are left out. */
export function provenanceTrailers(p: Provenance): Record<string, string | undefined> {
  return {
    'Gitops-Pipeline': p.system,
    'Gitops-Build': p.buildUrl ?? p.buildId,
    'Gitops-Build-Number': p.buildNumber,
    'Gitops-Release': p.releaseUrl ?? p.releaseId,
    'Gitops-Source-Repository': p.sourceRepository,
    'Gitops-Source-Commit': p.sourceCommit,
  };
}

/** The run that did something, for messages: its web link, else "<system> build <number>". */
export function runReference(p: Provenance): string {
  const link = p.buildUrl || p.releaseUrl;
  if (link) return link;
  const run = p.buildNumber || p.buildId;
  return run ? `${p.system} build ${run}` : 'a later run';
}
