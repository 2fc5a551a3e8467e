/**
 * Credentials as core receives them, whatever their origin (System.AccessToken, a service
 * connection, an environment variable of the CLI). Core turns them into git headers and REST auth.
 */
import { isLoopbackHost } from './net';

export type ServiceCredential = (
  /** An OAuth/bearer token such as System.AccessToken or a GitHub token. */
  | { kind: 'bearer'; token: string }
  /** User name + password or PAT (Azure Repos accepts any user name with a PAT). */
  | { kind: 'basic'; username: string; password: string }
) & {
  /**
   * When set, the credential is sent only to URLs on these hosts (and to loopback, which is this
   * machine). The job's System.AccessToken is meant for its own Azure DevOps organisation only.
   */
  hosts?: readonly string[];
};

/** The secret part, for REST clients that take a token. */
export function credentialToken(credential: ServiceCredential): string {
  return credential.kind === 'bearer' ? credential.token : credential.password;
}

/** Whether `credential` may be sent to `url` (http(s) only; see `hosts`). */
export function credentialAllowedFor(credential: ServiceCredential, url: string): boolean {
  let host: string;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return false;
    host = parsed.hostname.toLowerCase();
  } catch {
    return false;
  }
  if (!credential.hosts || isLoopbackHost(host)) return true;
  return credential.hosts.some((allowed) => allowed.toLowerCase() === host);
}

/**
 * The hosts of an Azure DevOps collection URL: an organisation answers both as
 * dev.azure.com/<org> and <org>.visualstudio.com (and its vssps/vsrm neighbours are not git).
 */
export function azureDevOpsHosts(collectionUri: string): string[] {
  let url: URL;
  try {
    url = new URL(collectionUri);
  } catch {
    return [];
  }
  const host = url.hostname.toLowerCase();
  if (host === 'dev.azure.com') {
    const organisation = url.pathname.split('/').filter(Boolean)[0];
    return organisation ? [host, `${organisation.toLowerCase()}.visualstudio.com`] : [host];
  }
  const visualStudio = /^([a-z0-9-]+)\.visualstudio\.com$/.exec(host);
  return visualStudio ? [host, 'dev.azure.com'] : [host];
}
