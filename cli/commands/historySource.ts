/** Flags and reading shared by trace, history and rollback: the repositories, bounds and cluster sources. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgoName, parseFluxName, readClusterState, readKubeconfig, type ClusterSource, type ClusterState, type KubernetesAccess } from '../../tasks/core/cluster';
import type { ServiceCredential } from '../../tasks/core/credentials';
import type { Logger } from '../../tasks/core/logger';
import { DEFAULT_MAX_COMMITS, readHistory, type CommitRecord } from '../../tasks/core/trace/log';
import { commitWebUrl } from '../../tasks/core/jobs/updateImageTag';
import { UsageError } from './command';
import { generateManifestsSettings, hldTargetSettings } from '../../tasks/core/settings';

export const historyOptions = {
  'hld-repo': { type: 'string' },
  'hld-branch': { type: 'string' },
  'manifest-repo': { type: 'string' },
  'manifest-branch': { type: 'string' },
  'max-commits': { type: 'string' },
  since: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const historyHelp = `History (read with git log, commits only, no checkout):
  --hld-repo URL            HLD repository (required)
  --hld-branch NAME         default main
  --manifest-repo URL       manifest repository
  --manifest-branch NAME    default main
  --max-commits N           read at most N commits of each history (default ${DEFAULT_MAX_COMMITS})
  --since DATE              read only commits after DATE (e.g. 2026-01-31, "30 days ago")`;

export const clusterOptions = {
  cluster: { type: 'string', multiple: true },
  kubeconfig: { type: 'string' },
  'kube-context': { type: 'string' },
  'argocd-server': { type: 'string' },
} as const;

export const clusterHelp = `Cluster (optional; whether the cluster has applied it):
  --cluster ENV=flux:NAMESPACE/KUSTOMIZATION
                            read a Flux v2 Kustomization through the Kubernetes API (repeatable)
  --cluster ENV=argocd:[NAMESPACE/]APPLICATION
                            read an Argo CD Application through the Argo CD API (repeatable)
  --kubeconfig FILE         default $KUBECONFIG, else ~/.kube/config (token or client certificate)
  --kube-context NAME       default: the kubeconfig's current-context
  --argocd-server URL       Argo CD server, e.g. https://argocd.example.com; token in ARGOCD_AUTH_TOKEN`;

interface HistoryValues {
  'hld-repo'?: string;
  'hld-branch'?: string;
  'manifest-repo'?: string;
  'manifest-branch'?: string;
  'max-commits'?: string;
  since?: string;
}

export function boundsFrom(values: HistoryValues): { maxCommits: number; since?: string } {
  const text = values['max-commits'] ?? String(DEFAULT_MAX_COMMITS);
  const maxCommits = /^\d{1,7}$/.test(text.trim()) ? Number(text) : NaN;
  if (!(maxCommits >= 1)) throw new UsageError(`--max-commits must be a whole number above 0, not ${JSON.stringify(text)}`);
  return { maxCommits, since: values.since };
}

/** Reads the HLD history and, when `manifest` is set, the manifest history, in parallel. */
export async function readHistories(values: HistoryValues, options: { credential?: ServiceCredential; workDir: string; logger: Logger; manifest: boolean }): Promise<{ hld: CommitRecord[]; manifests?: CommitRecord[] }> {
  const bounds = boundsFrom(values);
  const read = (url: string, branch: string, field: string) => readHistory({ url, branch, field, credential: options.credential, workDir: options.workDir, logger: options.logger, ...bounds });
  const [hld, manifests] = await settleAll([
    read(values['hld-repo']!, values['hld-branch'] ?? hldTargetSettings.hldBranch.default, '--hld-repo'),
    options.manifest && values['manifest-repo'] ? read(values['manifest-repo'], values['manifest-branch'] ?? generateManifestsSettings.manifestBranch.default, '--manifest-repo') : Promise.resolve(undefined),
  ] as const);
  return { hld, manifests };
}

/**
 * Like Promise.all, but rejects only once every promise has settled: the callers remove their
 * scratch folder afterwards, which must not happen while another git process still writes there.
 */
export async function settleAll<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** Browser links for commits on Azure Repos and GitHub. */
export const commitUrl = (repository: string, sha: string) => commitWebUrl(repository, sha);

interface ClusterValues { cluster?: string[]; kubeconfig?: string; 'kube-context'?: string; 'argocd-server'?: string }

/** One cluster source, `flux:NAMESPACE/NAME` or `argocd:[NAMESPACE/]APPLICATION`; `flag` names it in errors. */
export function clusterSourceFrom(spec: string, values: ClusterValues, env: NodeJS.ProcessEnv, flag: string, kube?: { access?: KubernetesAccess }): ClusterSource {
  const match = /^(flux|argocd):(.+)$/.exec(spec);
  if (!match) throw new UsageError(`${flag} ${JSON.stringify(spec)} is not flux:NAMESPACE/NAME or argocd:APPLICATION`);
  const [, kind, name] = match;
  if (kind === 'flux') {
    const path = values.kubeconfig ?? env.KUBECONFIG?.split(':')[0] ?? join(homedir(), '.kube', 'config');
    const access = kube?.access ?? readKubeconfig(path, { field: '--kubeconfig', context: values['kube-context'] });
    if (kube) kube.access = access;
    return { kind: 'flux', ...parseFluxName(name, flag), access, field: flag };
  }
  const server = values['argocd-server'];
  if (!server) throw new UsageError(`${flag} argocd:... needs --argocd-server URL`);
  const token = env.ARGOCD_AUTH_TOKEN;
  if (!token) throw new UsageError(`${flag} argocd:... needs the token in ARGOCD_AUTH_TOKEN`);
  return { kind: 'argocd', server, token, ...parseArgoName(name, flag), field: flag };
}

/** The --cluster ENV=SOURCE sources per environment. */
export function clusterSourcesFrom(values: ClusterValues, env: NodeJS.ProcessEnv): Record<string, ClusterSource> {
  const sources: Record<string, ClusterSource> = {};
  const kube: { access?: KubernetesAccess } = {};
  for (const spec of values.cluster ?? []) {
    const match = /^([A-Za-z0-9._-]+)=(.+)$/.exec(spec);
    if (!match) throw new UsageError(`--cluster ${JSON.stringify(spec)} is not ENV=flux:NAMESPACE/NAME or ENV=argocd:APPLICATION`);
    sources[match[1]] = clusterSourceFrom(match[2], values, env, '--cluster', kube);
  }
  return sources;
}

export async function readClusterStates(sources: Record<string, ClusterSource>): Promise<Record<string, ClusterState>> {
  const entries = await Promise.all(Object.entries(sources).map(async ([environment, source]) => [environment, await readClusterState(source)] as const));
  return Object.fromEntries(entries);
}
