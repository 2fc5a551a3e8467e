/**
 * Azure Container Registry credentials from an Azure Resource Manager service connection: reads the
 * connection through task-lib, gets an Azure AD access token (service principal secret, or workload
 * identity federation through the job's OIDC token) and returns it for ACR's token exchange.
 */
import * as tl from 'azure-pipelines-task-lib/task';
import { GitopsError } from '../core/errors';
import type { RegistryCredentials } from '../core/registry';
import { acrTokenScope, DEFAULT_AUTHORITY_HOST, requestAzureAdToken, requestPipelineOidcToken, type AzureAdClientCredential } from '../core/registry/azureAd';
import { quietly, type TaskContext } from './runTask';

/**
 * `{ aadAccessToken, tenantId }` for the connection named by `input`, or undefined when the input is
 * empty. `timeoutMs` is the overall deadline of each token request (retries included).
 */
export async function azureRmRegistryCredentials(ctx: TaskContext, input: string, timeoutMs?: number): Promise<RegistryCredentials | undefined> {
  const connection = tl.getInput(input, false)?.trim();
  if (!connection) return undefined;
  const named: Connection = { id: connection, input, subject: `Azure Resource Manager connection "${connection}"` };
  const environment = quietly(() => tl.getEndpointDataParameter(connection, 'environment', true)) || undefined;
  const managementUrl = quietly(() => tl.getEndpointUrl(connection, true)) || undefined;
  return azureAdRegistryToken(ctx, named, acrTokenScope(environment, managementUrl), timeoutMs);
}

/**
 * An Azure AD access token for ACR's token exchange from a connection that names a service
 * principal (an Azure Resource Manager connection, or a Docker registry connection of the ACR
 * kind): its secret, or the job's OIDC token for workload identity federation.
 */
export async function azureAdRegistryToken(ctx: TaskContext, named: Connection, scope: string, timeoutMs?: number): Promise<RegistryCredentials> {
  const connection = named.id;
  const endpoint = quietly(() => ({
    scheme: tl.getEndpointAuthorizationScheme(connection, true) ?? '',
    authenticationType: tl.getEndpointAuthorizationParameter(connection, 'authenticationType', true) ?? '',
    clientId: tl.getEndpointAuthorizationParameter(connection, 'serviceprincipalid', true) ?? '',
    tenantId: tl.getEndpointAuthorizationParameter(connection, 'tenantid', true) ?? '',
    secret: tl.getEndpointAuthorizationParameter(connection, 'serviceprincipalkey', true) ?? '',
    // MSAL-era connections carry activeDirectoryAuthority; older ones only environmentAuthorityUrl.
    authorityHost: tl.getEndpointDataParameter(connection, 'activeDirectoryAuthority', true)
      || tl.getEndpointDataParameter(connection, 'environmentAuthorityUrl', true) || DEFAULT_AUTHORITY_HOST,
  }));
  ctx.secret(endpoint.secret);
  if (!endpoint.clientId || !endpoint.tenantId) {
    throw refuse(named, 'has no service principal id or tenant id', 'edit the service connection, or use a Docker registry connection with a user name and password instead');
  }

  const credential = await clientCredential(ctx, named, endpoint, timeoutMs);
  try {
    const token = await requestAzureAdToken({
      authorityHost: endpoint.authorityHost, tenantId: endpoint.tenantId, clientId: endpoint.clientId,
      credential, scope, subject: named.subject, logger: ctx.logger, timeoutMs,
    });
    ctx.secret(token.accessToken);
    ctx.logger.info(`Azure AD token for ACR from ${named.subject} (application ${endpoint.clientId}, tenant ${endpoint.tenantId}, scope ${scope})`);
    return { aadAccessToken: token.accessToken, tenantId: endpoint.tenantId };
  } catch (error) {
    throw withField(error, named.input);
  }
}

export interface Connection { id: string; input: string; subject: string }

const refuse = (connection: Connection, message: string, hint: string) =>
  new GitopsError(`${connection.subject} ${message}`, { field: connection.input, hint });

async function clientCredential(
  ctx: TaskContext,
  connection: Connection,
  endpoint: { scheme: string; authenticationType: string; secret: string },
  timeoutMs?: number,
): Promise<AzureAdClientCredential> {
  const scheme = endpoint.scheme.toLowerCase();
  // Like the Azure tasks, a connection without a scheme is a service principal.
  if (scheme === 'serviceprincipal' || scheme === '') {
    if (endpoint.authenticationType.toLowerCase() === 'spncertificate') {
      throw refuse(connection, 'uses a certificate, which this task does not support', 'use workload identity federation, a service principal secret, or a Docker registry connection instead');
    }
    if (!endpoint.secret) throw refuse(connection, 'has no service principal secret', 'edit the service connection and set the secret');
    return { kind: 'secret', secret: endpoint.secret };
  }
  if (scheme === 'workloadidentityfederation') {
    const job = quietly(() => ({
      oidcRequestUri: tl.getVariable('System.OidcRequestUri') ?? '',
      accessToken: tl.getVariable('System.AccessToken') || tl.getEndpointAuthorizationParameter('SystemVssConnection', 'AccessToken', true) || '',
    }));
    ctx.secret(job.accessToken);
    if (!job.oidcRequestUri) {
      throw refuse(connection, 'uses workload identity federation, but the pipeline variable System.OidcRequestUri is not set', 'run the task on an Azure Pipelines agent recent enough to issue OIDC tokens, or use a Docker registry connection instead');
    }
    if (!job.accessToken) {
      throw refuse(connection, 'uses workload identity federation, but the job\'s access token is not available', 'classic pipelines: enable "Allow scripts to access the OAuth token"');
    }
    try {
      const oidcToken = await requestPipelineOidcToken({
        oidcRequestUri: job.oidcRequestUri, serviceConnectionId: connection.id, systemAccessToken: job.accessToken,
        subject: connection.subject, logger: ctx.logger, timeoutMs,
      });
      ctx.secret(oidcToken);
      return { kind: 'assertion', assertion: oidcToken };
    } catch (error) {
      throw withField(error, connection.input);
    }
  }
  throw refuse(connection, `uses the authentication scheme ${endpoint.scheme}, which this task does not support`,
    'use an Azure Resource Manager connection with workload identity federation or a service principal secret, or a Docker registry connection instead');
}

/** Core errors know nothing of task inputs: name the input the user has to look at. */
function withField(error: unknown, input: string): unknown {
  if (!(error instanceof GitopsError) || error.field) return error;
  return new GitopsError(error.message, { field: input, hint: error.hint, cause: error });
}
