/** Reads the pipeline's predefined variables (YAML builds and classic releases) into core's types. */
import * as tl from 'azure-pipelines-task-lib/task';
import { GitopsError } from '../core/errors';
import { azureDevOpsHosts, ServiceCredential } from '../core/credentials';
import { Provenance } from '../core/provenance';
import type { RegistryCredentials } from '../core/registry';
import { acrTokenScope } from '../core/registry/azureAd';
import { azureAdRegistryToken } from './azureAd';
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
    // GitHub pull requests have an internal id besides the number people and the REST API use.
    pullRequestId: v('System.PullRequest.PullRequestNumber') ?? v('System.PullRequest.PullRequestId'),
  };
}

/**
 * Credentials for git and the Azure DevOps / GitHub REST APIs: the `gitHubConnection` service
 * connection (GitHub: personal access token, OAuth or GitHub App token), else the `connectionInput`
 * service connection (Generic: URL, user name, password/token), else the job's System.AccessToken
 * (YAML: the variable; classic: the SystemVssConnection endpoint).
 * Returns undefined when none exists; every derived value is registered as a secret.
 */
export function gitCredential(ctx: TaskContext, connectionInput: string): ServiceCredential | undefined {
  const github = gitHubCredential(ctx, GITHUB_CONNECTION_INPUT);
  if (github) return github;
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
    return basicGitCredential(ctx, username || 'gitops', password);
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

const GITHUB_CONNECTION_INPUT = 'gitHubConnection';

/** The token parameter of each GitHub service connection scheme. */
const GITHUB_TOKEN_PARAMETERS: Record<string, string> = {
  personalaccesstoken: 'accessToken',
  oauth: 'AccessToken',
  token: 'AccessToken',
};

/**
 * The token of a GitHub service connection, for git (Basic `x-access-token`, as GitHub documents
 * for tokens) and the GitHub REST API (the same token as Bearer).
 */
function gitHubCredential(ctx: TaskContext, input: string): ServiceCredential | undefined {
  const connection = tl.getInput(input, false)?.trim();
  if (!connection) return undefined;
  const { scheme, token } = quietly(() => {
    const scheme = tl.getEndpointAuthorizationScheme(connection, true) ?? '';
    const parameter = GITHUB_TOKEN_PARAMETERS[scheme.toLowerCase()];
    return { scheme, token: parameter ? tl.getEndpointAuthorizationParameter(connection, parameter, true) ?? '' : '' };
  });
  if (!GITHUB_TOKEN_PARAMETERS[scheme.toLowerCase()]) {
    throw new GitopsError(`GitHub service connection "${connection}" uses the authentication scheme ${scheme || '(none)'}, which this task does not support`, {
      field: input,
      hint: 'use a GitHub connection authorized with a personal access token or OAuth',
    });
  }
  if (!token) {
    throw new GitopsError(`GitHub service connection "${connection}" has no token`, { field: input, hint: 'edit the service connection and authorize it again' });
  }
  return basicGitCredential(ctx, 'x-access-token', token);
}

function basicGitCredential(ctx: TaskContext, username: string, password: string): ServiceCredential {
  ctx.secret(password);
  ctx.secret(Buffer.from(`${username}:${password}`).toString('base64'));
  return { kind: 'basic', username, password };
}

/** A registry connection as core needs it: where the registry is, and how to log in. */
export interface RegistryConnection {
  url?: string;
  credentials: RegistryCredentials;
}

/**
 * Credentials of a `connectedService:dockerregistry` input, or undefined for anonymous access.
 * Docker Hub and "Others" connections carry a user name and password. Connections of the Azure
 * Container Registry kind (`registrytype: ACR`) name a login server and a service principal: its
 * id and secret log in as Basic credentials (ACR accepts them), and workload identity federation
 * trades the job's OIDC token for an Azure AD token that ACR exchanges at `/oauth2/exchange`.
 */
export async function registryConnection(ctx: TaskContext, connectionInput: string, registryHost?: string, timeoutMs?: number): Promise<RegistryConnection | undefined> {
  const connection = tl.getInput(connectionInput, false)?.trim();
  if (!connection) return undefined;
  const registryType = quietly(() => tl.getEndpointDataParameter(connection, 'registrytype', true)) ?? '';
  if (registryType.toLowerCase() === 'acr') return acrConnection(ctx, connection, connectionInput, registryHost, timeoutMs);
  const auth = quietly(() => ({
    url: tl.getEndpointAuthorizationParameter(connection, 'registry', true) || tl.getEndpointUrl(connection, true),
    username: tl.getEndpointAuthorizationParameter(connection, 'username', true) ?? '',
    password: tl.getEndpointAuthorizationParameter(connection, 'password', true) ?? '',
  }));
  if (!auth.username && !auth.password) {
    throw new GitopsError(`docker registry connection "${connection}" has no user name or password`, { field: connectionInput });
  }
  return { url: auth.url || undefined, credentials: basicCredentials(ctx, auth.username, auth.password) };
}

function basicCredentials(ctx: TaskContext, username: string, password: string): RegistryCredentials {
  ctx.secret(password);
  ctx.secret(Buffer.from(`${username}:${password}`).toString('base64'));
  return { username, password };
}

async function acrConnection(ctx: TaskContext, connection: string, input: string, registryHost: string | undefined, timeoutMs: number | undefined): Promise<RegistryConnection> {
  const subject = `Docker registry connection "${connection}" (Azure Container Registry)`;
  const endpoint = quietly(() => ({
    scheme: (tl.getEndpointAuthorizationScheme(connection, true) ?? '').toLowerCase(),
    loginServer: (tl.getEndpointAuthorizationParameter(connection, 'loginServer', true) ?? '').trim().toLowerCase(),
    clientId: tl.getEndpointAuthorizationParameter(connection, 'serviceprincipalid', true) ?? '',
    secret: tl.getEndpointAuthorizationParameter(connection, 'serviceprincipalkey', true) ?? '',
  }));
  if (!endpoint.loginServer) {
    throw new GitopsError(`${subject} has no login server`, { field: input, hint: 'edit the service connection and pick the registry again' });
  }
  const loginServer = endpoint.loginServer.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  // The service principal belongs to one registry: its credentials never go to another.
  if (registryHost !== undefined && registryHost.toLowerCase() !== loginServer) {
    throw new GitopsError(`${subject} logs in to ${loginServer}, but the registry here is ${registryHost}`, {
      field: input,
      hint: 'pick the connection of that registry, or change the image or registry to match the connection',
    });
  }
  const url = `https://${loginServer}`;
  if (endpoint.scheme === 'workloadidentityfederation' || endpoint.scheme === 'managedserviceidentity') {
    // No cloud is named in an ACR-kind connection: ACR's audience in the public cloud.
    return { url, credentials: await azureAdRegistryToken(ctx, { id: connection, input, subject }, acrTokenScope(undefined, undefined), timeoutMs) };
  }
  if (!endpoint.clientId || !endpoint.secret) {
    throw new GitopsError(`${subject} has no service principal id or secret`, { field: input, hint: 'edit the service connection, or use workload identity federation' });
  }
  return { url, credentials: basicCredentials(ctx, endpoint.clientId, endpoint.secret) };
}
