/**
 * Argo CD: an Application's synced revision and health through the Argo CD API with a token.
 * One call: GET {server}/api/v1/applications/{name}[?appNamespace={ns}] (see README "Cluster verification").
 */
import { GitopsError } from '../errors';
import { getJson, type TlsOptions } from './http';
import type { ClusterState } from './types';

export interface ArgoCdSource {
  kind: 'argocd';
  /** https://argocd.example.com */
  server: string;
  token: string;
  application: string;
  /** Apps-in-any-namespace: the Application's namespace. */
  appNamespace?: string;
  tls?: TlsOptions;
  field: string;
}

interface Application {
  spec?: { source?: { repoURL?: string; path?: string; targetRevision?: string } };
  status?: { sync?: { status?: string; revision?: string }; health?: { status?: string; message?: string } };
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** `[namespace/]name` of an Argo CD Application. */
export function parseArgoName(text: string, field: string): { application: string; appNamespace?: string } {
  const parts = text.split('/');
  const [appNamespace, application] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (parts.length > 2 || !NAME.test(application) || (appNamespace !== undefined && !NAME.test(appNamespace))) {
    throw new GitopsError(`${JSON.stringify(text)} is not the name of an Argo CD Application`, { field, hint: 'e.g. staging-apps or argocd/staging-apps' });
  }
  return { application, appNamespace };
}

export async function readArgoCdState(source: ArgoCdSource): Promise<ClusterState> {
  let base: URL;
  try {
    base = new URL(source.server);
  } catch {
    throw new GitopsError(`${JSON.stringify(source.server)} is not the URL of an Argo CD server`, { field: source.field, hint: 'e.g. https://argocd.example.com' });
  }
  if (!source.token) throw new GitopsError('Argo CD needs a token', { field: source.field, hint: 'create one with `argocd account generate-token`' });
  const url = new URL(`${base.pathname.replace(/\/+$/, '')}/api/v1/applications/${encodeURIComponent(source.application)}`, base);
  if (source.appNamespace) url.searchParams.set('appNamespace', source.appNamespace);
  const app = await getJson(url, { ...source.tls, bearerToken: source.token, field: source.field, secrets: [source.token] }) as Application;
  const revision = app.status?.sync?.revision;
  const health = app.status?.health?.status;
  return {
    kind: 'argocd',
    name: `argocd:${source.appNamespace ? `${source.appNamespace}/` : ''}${source.application}`,
    rawRevision: revision,
    revision: revision && /^[0-9a-f]{7,64}$/.test(revision) ? revision : undefined,
    ready: app.status?.sync?.status === 'Synced',
    healthy: health === 'Healthy',
    detail: `${app.status?.sync?.status ?? 'Unknown'}, ${health ?? 'Unknown'}${app.status?.health?.message ? `: ${app.status.health.message.slice(0, 200)}` : ''}`,
    source: { url: app.spec?.source?.repoURL, path: app.spec?.source?.path, branch: app.spec?.source?.targetRevision },
  };
}
