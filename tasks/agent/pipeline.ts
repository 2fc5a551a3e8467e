/** Reads the pipeline's predefined variables (YAML builds and classic releases) into core's types. */
import * as tl from 'azure-pipelines-task-lib/task';
import { GitopsError } from '../core/errors';
import { azureDevOpsHosts, ServiceCredential } from '../core/credentials';
import { Provenance } from '../core/provenance';
import { quietly, TaskContext } from './runTask';

const v = (name: string) => tl.getVariable(name) || undefined;

export function pipelineProvenance(): Provenance {
  const collection = v('System.CollectionUri') ?? v('System.TeamFoundationCollectionUri');
  const project = v('System.TeamProject');
  const base = collection && project ? `${collection.replace(/\/+$/, '')}/${encodeURIComponent(project)}` : undefined;
  const buildId = v('Build.BuildId');
  const releaseId = v('Release.ReleaseId');
  const isRelease = (v('System.HostType') ?? '').toLowerCase() === 'release' || releaseId !== undefined;
  return {
    system: 'Azure Pipelines',
    buildId,
    buildNumber: v('Build.BuildNumber') ?? v('Release.Artifacts.' + (v('Release.PrimaryArtifactSourceAlias') ?? '') + '.BuildNumber'),
    buildUrl: base && buildId ? `${base}/_build/results?buildId=${buildId}` : undefined,
    sourceRepository: v('Build.Repository.Name'),
    sourceCommit: v('Build.SourceVersion'),
    sourceBranch: v('Build.SourceBranch'),
    releaseId: isRelease ? releaseId : undefined,
    releaseName: v('Release.ReleaseName'),
    releaseUrl: base && releaseId ? `${base}/_releaseProgress?releaseId=${releaseId}` : undefined,
    environmentName: v('Release.EnvironmentName') ?? v('Environment.Name'),
    requestedFor: v('Build.RequestedFor') ?? v('Release.RequestedFor') ?? v('Release.Deployment.RequestedFor'),
    requestedForEmail: v('Build.RequestedForEmail') ?? v('Release.RequestedForEmail') ?? v('Release.Deployment.RequestedForEmail'),
    pullRequestId: v('System.PullRequest.PullRequestId'),
  };
}

/**
 * Credentials for git and the Azure DevOps / GitHub REST APIs: the `connectionInput` service
 * connection (Generic: URL, user name, password/token) when set, else the job's
 * System.AccessToken (YAML: the variable; classic: the SystemVssConnection endpoint).
 * Returns undefined when neither exists; every derived value is registered as a secret.
 */
export function gitCredential(ctx: TaskContext, connectionInput: string): ServiceCredential | undefined {
  const connection = tl.getInput(connectionInput, false)?.trim();
  if (connection) {
    const { username, password } = quietly(() => ({
      username: tl.getEndpointAuthorizationParameter(connection, 'username', true) ?? '',
      password: tl.getEndpointAuthorizationParameter(connection, 'password', true) ?? '',
    }));
    if (!password) {
      throw new GitopsError(`service connection "${connection}" has no password or token`, {
        field: connectionInput,
        hint: 'edit the Generic service connection and set its password/token',
      });
    }
    ctx.secret(password);
    ctx.secret(Buffer.from(`${username}:${password}`).toString('base64'));
    return { kind: 'basic', username: username || 'gitops', password };
  }
  const token = quietly(
    () => tl.getVariable('System.AccessToken') || tl.getEndpointAuthorizationParameter('SystemVssConnection', 'AccessToken', true),
  );
  if (!token) return undefined;
  ctx.secret(token);
  // The job token belongs to this organisation: never send it to another host.
  const collection = v('System.CollectionUri') ?? v('System.TeamFoundationCollectionUri');
  return { kind: 'bearer', token, hosts: collection ? azureDevOpsHosts(collection) : undefined };
}

/** Credentials of a `connectedService:dockerregistry` input, or undefined for anonymous access. */
export function registryConnection(ctx: TaskContext, connectionInput: string): { url?: string; username: string; password: string } | undefined {
  const connection = tl.getInput(connectionInput, false)?.trim();
  if (!connection) return undefined;
  const auth = quietly(() => ({
    url: tl.getEndpointAuthorizationParameter(connection, 'registry', true) || tl.getEndpointUrl(connection, true),
    username: tl.getEndpointAuthorizationParameter(connection, 'username', true) ?? '',
    password: tl.getEndpointAuthorizationParameter(connection, 'password', true) ?? '',
  }));
  if (!auth.username && !auth.password) {
    throw new GitopsError(`docker registry connection "${connection}" has no user name or password`, { field: connectionInput });
  }
  ctx.secret(auth.password);
  ctx.secret(Buffer.from(`${auth.username}:${auth.password}`).toString('base64'));
  return auth;
}
