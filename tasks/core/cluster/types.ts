/** What a GitOps agent in a cluster reports it has applied, read through its API. */
export interface ClusterState {
  kind: 'flux' | 'argocd';
  /** `flux:namespace/name` or `argocd:name`, for messages. */
  name: string;
  /** The applied manifest commit (a full or abbreviated sha), when the agent reports one. */
  revision?: string;
  /** The revision as the agent wrote it (`main@sha1:...`). */
  rawRevision?: string;
  /** Flux: the Kustomization's Ready condition; Argo CD: sync status Synced. */
  ready?: boolean;
  /** Argo CD: health status Healthy (undefined for Flux). */
  healthy?: boolean;
  /** Argo CD health or Flux Ready reason/message, shortened. */
  detail?: string;
  /** The git source the agent reads, when reported. */
  source?: { url?: string; path?: string; branch?: string };
}
