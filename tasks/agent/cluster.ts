/** PromoteContainer's cluster verification inputs: a Kubernetes service connection (Flux) or a Generic one (Argo CD). */
import * as tl from 'azure-pipelines-task-lib/task';
import { parseArgoName, parseFluxName, parseKubeconfig, type ClusterSource, type KubernetesAccess } from '../core/cluster';
import { GitopsError } from '../core/errors';
import { quietly, type TaskContext } from './runTask';
import { pickInput, stringInput } from './inputs';
import { promoteContainerSettings } from '../core/settings';

/**
 * The API access of a `connectedService:kubernetes` input, read as the Kubernetes tasks read it:
 * authorizationType Kubeconfig (parameter kubeconfig, data clusterContext) or ServiceAccount
 * (endpoint URL, parameters apitoken (base64) and serviceAccountCertificate (base64 CA)).
 */
export function kubernetesAccess(ctx: TaskContext, input: string): KubernetesAccess {
  const connection = stringInput(input, { required: true });
  const read = quietly(() => ({
    type: tl.getEndpointDataParameter(connection, 'authorizationType', true) ?? '',
    kubeconfig: tl.getEndpointAuthorizationParameter(connection, 'kubeconfig', true) ?? '',
    context: tl.getEndpointDataParameter(connection, 'clusterContext', true) ?? '',
    url: tl.getEndpointUrl(connection, true) ?? '',
    apiToken: tl.getEndpointAuthorizationParameter(connection, 'apitoken', true) ?? '',
    ca: tl.getEndpointAuthorizationParameter(connection, 'serviceAccountCertificate', true) ?? '',
    acceptUntrusted: tl.getEndpointDataParameter(connection, 'acceptUntrustedCerts', true) ?? '',
  }));
  if (read.type === 'Kubeconfig' || (!read.type && read.kubeconfig)) {
    // task-lib takes one-line secrets: the kubeconfig's secret parts are registered line by line.
    const access = parseKubeconfig(read.kubeconfig, { field: input, context: read.context || undefined });
    if (access.token) ctx.secret(access.token);
    for (const line of (access.key ?? '').split('\n')) if (line.trim().length >= 8 && !line.startsWith('-----')) ctx.secret(line.trim());
    for (const line of read.kubeconfig.split('\n')) {
      const data = /^\s*(?:client-key-data|token):\s*(\S+)/.exec(line);
      if (data) ctx.secret(data[1]);
    }
    return access;
  }
  if (read.type === 'ServiceAccount') {
    if (!read.apiToken || !read.url) throw new GitopsError(`Kubernetes connection "${connection}" has no server URL or service account token`, { field: input });
    const token = Buffer.from(read.apiToken, 'base64').toString('utf8').trim();
    ctx.secret(read.apiToken);
    ctx.secret(token);
    return { server: read.url.replace(/\/+$/, ''), token, ca: read.ca ? Buffer.from(read.ca, 'base64').toString('utf8') : undefined, insecureSkipVerify: read.acceptUntrusted === 'true' };
  }
  throw new GitopsError(`Kubernetes connection "${connection}" uses authorization type ${JSON.stringify(read.type)}`, {
    field: input, hint: 'use a Kubernetes service connection of type KubeConfig or Service Account',
  });
}

/** The cluster source of PromoteContainer's `cluster` verification. */
export function clusterSource(ctx: TaskContext): ClusterSource {
  const agent = pickInput('clusterAgent', promoteContainerSettings.clusterAgent.allowed, promoteContainerSettings.clusterAgent.default);
  if (agent === 'flux') {
    const name = parseFluxName(stringInput('fluxKustomization', { required: true }), 'fluxKustomization');
    return { kind: 'flux', ...name, access: kubernetesAccess(ctx, 'kubernetesConnection'), field: 'kubernetesConnection' };
  }
  const connection = stringInput('argoCdConnection', { required: true });
  const auth = quietly(() => ({
    url: tl.getEndpointUrl(connection, true) ?? '',
    token: tl.getEndpointAuthorizationParameter(connection, 'password', true) ?? tl.getEndpointAuthorizationParameter(connection, 'apitoken', true) ?? '',
  }));
  if (!auth.url || !auth.token) throw new GitopsError(`Argo CD connection "${connection}" needs the server URL and a token as its password`, { field: 'argoCdConnection' });
  ctx.secret(auth.token);
  return { kind: 'argocd', server: auth.url, token: auth.token, ...parseArgoName(stringInput('argoCdApplication', { required: true }), 'argoCdApplication'), field: 'argoCdConnection' };
}
