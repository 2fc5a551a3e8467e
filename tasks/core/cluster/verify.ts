/**
 * PromoteContainer's `cluster` verification: ask the GitOps agent (Flux v2 or Argo CD) which
 * manifest commit it has applied, then check that the pre-production folder at exactly that commit
 * references the image; Argo CD must also report the application Healthy.
 */
import { GitopsError } from '../errors';
import type { ServiceCredential } from '../credentials';
import type { Logger } from '../logger';
import type { ImageReference } from '../registry';
import { verifyDeployment, type VerifyDeploymentResult } from '../jobs/verifyDeployment';
import { readClusterState, type ClusterSource } from './index';
import type { ClusterState } from './types';

export interface ClusterVerificationOptions {
  cluster: ClusterSource;
  repositoryUrl: string;
  branch: string;
  environmentPath: string;
  image: ImageReference;
  digest: string;
  credential?: ServiceCredential;
  workDir: string;
  logger: Logger;
}

export async function verifyInCluster(options: ClusterVerificationOptions): Promise<VerifyDeploymentResult & { cluster: ClusterState }> {
  const field = options.cluster.field;
  const state = await readClusterState(options.cluster);
  options.logger.info(`${state.name}: applied revision ${state.rawRevision ?? 'none'}${state.detail ? ` (${state.detail})` : ''}`);
  if (!state.revision) {
    throw new GitopsError(`${state.name} reports no applied revision${state.rawRevision ? ` it can use (${state.rawRevision})` : ''}: nothing is proven to run in pre-production`, {
      field, hint: 'wait until the GitOps agent has applied the manifests, or check the name',
    });
  }
  if (state.kind === 'argocd' && state.healthy !== true) {
    throw new GitopsError(`${state.name} is not healthy (${state.detail ?? 'unknown'}): promote only what runs healthy in pre-production`, {
      field, hint: 'fix the application in pre-production first',
    });
  }
  const result = await verifyDeployment({
    repositoryUrl: options.repositoryUrl,
    branch: options.branch,
    environmentPath: options.environmentPath,
    revision: state.revision,
    revisionLabel: `${state.name} applied revision`,
    image: options.image,
    digest: options.digest,
    credential: options.credential,
    workDir: options.workDir,
    logger: options.logger,
  });
  return { ...result, cluster: state };
}
