/** Cluster state from Flux v2 or Argo CD, shared by PromoteContainer's `cluster` verification and `trace`. */
import { readArgoCdState, type ArgoCdSource } from './argocd';
import { readFluxState, type FluxSource } from './flux';
import type { ClusterState } from './types';

export type ClusterSource = FluxSource | ArgoCdSource;
export type { ClusterState } from './types';
export { parseArgoName } from './argocd';
export { parseFluxName, revisionCommit } from './flux';
export { parseKubeconfig, readKubeconfig, type KubernetesAccess } from './kubeconfig';

export function readClusterState(source: ClusterSource): Promise<ClusterState> {
  return source.kind === 'flux' ? readFluxState(source) : readArgoCdState(source);
}
