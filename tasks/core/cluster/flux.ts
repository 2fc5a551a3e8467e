/**
 * Flux v2: what a Kustomization has applied, read from the Kubernetes API. Calls (all GET, see
 * README "Cluster verification"):
 *   /apis/kustomize.toolkit.fluxcd.io/v1/namespaces/{ns}/kustomizations/{name}
 *   /apis/source.toolkit.fluxcd.io/v1/namespaces/{sourceNs}/gitrepositories/{sourceName}
 */
import { GitopsError } from '../errors';
import { getJson } from './http';
import type { KubernetesAccess } from './kubeconfig';
import type { ClusterState } from './types';

export interface FluxSource {
  kind: 'flux';
  namespace: string;
  name: string;
  access: KubernetesAccess;
  /** Names the setting in errors. */
  field: string;
}

interface Condition { type?: string; status?: string; reason?: string; message?: string }
interface Kustomization {
  spec?: { path?: string; sourceRef?: { kind?: string; name?: string; namespace?: string } };
  status?: { lastAppliedRevision?: string; conditions?: Condition[] };
}
interface GitRepository {
  spec?: { url?: string; ref?: { branch?: string; tag?: string; commit?: string } };
  status?: { artifact?: { revision?: string } };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** `main@sha1:<sha>` (Flux 2.0+), `main/<sha>` (older), or a bare sha: the commit. */
export function revisionCommit(revision: string | undefined): string | undefined {
  if (!revision) return undefined;
  const match = /(?:@sha1:|\/|^)([0-9a-f]{40}|[0-9a-f]{64})$/.exec(revision.trim());
  return match?.[1];
}

/** `namespace/name` of a Kustomization (namespace defaults to flux-system). */
export function parseFluxName(text: string, field: string): { namespace: string; name: string } {
  const [namespace, name] = text.includes('/') ? text.split('/', 2) : ['flux-system', text];
  if (!DNS_LABEL.test(namespace) || !DNS_SUBDOMAIN.test(name) || text.split('/').length > 2) {
    throw new GitopsError(`${JSON.stringify(text)} is not NAMESPACE/NAME of a Kustomization`, { field, hint: 'e.g. flux-system/apps' });
  }
  return { namespace, name };
}

export async function readFluxState(source: FluxSource): Promise<ClusterState> {
  const { access, field } = source;
  const get = (path: string) => getJson(new URL(path, `${access.server}/`), {
    ...access, bearerToken: access.token, field, secrets: access.token ? [access.token] : [],
  });
  const base = access.server.replace(/\/+$/, '');
  const kustomization = await get(`${base}/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${source.namespace}/kustomizations/${source.name}`) as Kustomization;
  const ready = kustomization.status?.conditions?.find((c) => c.type === 'Ready');
  const state: ClusterState = {
    kind: 'flux',
    name: `flux:${source.namespace}/${source.name}`,
    rawRevision: kustomization.status?.lastAppliedRevision,
    revision: revisionCommit(kustomization.status?.lastAppliedRevision),
    ready: ready ? ready.status === 'True' : undefined,
    detail: ready ? `${ready.reason ?? ready.status}${ready.message ? `: ${ready.message.slice(0, 200)}` : ''}` : undefined,
    source: { path: kustomization.spec?.path },
  };
  const ref = kustomization.spec?.sourceRef;
  if (ref?.kind === 'GitRepository' && ref.name && DNS_SUBDOMAIN.test(ref.name)) {
    const namespace = ref.namespace && DNS_LABEL.test(ref.namespace) ? ref.namespace : source.namespace;
    const repository = await get(`${base}/apis/source.toolkit.fluxcd.io/v1/namespaces/${namespace}/gitrepositories/${ref.name}`) as GitRepository;
    state.source = { ...state.source, url: repository.spec?.url, branch: repository.spec?.ref?.branch };
  }
  return state;
}
