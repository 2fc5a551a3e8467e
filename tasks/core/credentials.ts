/**
 * Credentials as core receives them, whatever their origin (System.AccessToken, a service
 * connection, an environment variable of the CLI). Core turns them into git headers and REST auth.
 */
import { isLoopbackHost, urlAmbiguity } from './net';

export type ServiceCredential = (
  /** An OAuth/bearer token such as System.AccessToken or a GitHub token. */
  | { kind: 'bearer'; token: string }
  /** User name + password or PAT (Azure Repos accepts any user name with a PAT). */
  | { kind: 'basic'; username: string; password: string }
) & {
  /**
   * When set, the credential is sent only to URLs these entries allow (and to loopback, which is
   * this machine). An entry is `host` or `host/first-path-segment` (`dev.azure.com/fabrikam`: that
   * organisation only), optionally prefixed `http://` when plain http to that host is acceptable
   * (an on-premises collection the agent itself reaches over http). The job's System.AccessToken is
   * meant for its own Azure DevOps organisation only.
   */
  hosts?: readonly string[];
};

/** The secret part, for REST clients that take a token. */
export function credentialToken(credential: ServiceCredential): string {
  return credential.kind === 'bearer' ? credential.token : credential.password;
}

/**
 * Whether `credential` may be sent to `url`: https (plain http only to loopback, or to a host an
 * `http://` entry of `hosts` names), and when `hosts` is set only where one of its entries allows.
 * Never to a URL that git or curl could read as another host (urlAmbiguity); git is given the same
 * WHATWG parse this decides on (git/git.ts remoteUrl).
 */
export function credentialAllowedFor(credential: ServiceCredential, url: string): boolean {
  if (urlAmbiguity(url)) return false;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return false;
  const host = parsed.hostname.toLowerCase();
  if (isLoopbackHost(host)) return true;
  const https = parsed.protocol === 'https:';
  if (!credential.hosts) return https;
  const segment = parsed.pathname.split('/').find(Boolean)?.toLowerCase();
  return credential.hosts.some((entry) => {
    const allowed = /^(http:\/\/)?([^/]+)(?:\/([^/]+))?\/?$/i.exec(entry);
    if (!allowed || allowed[2].toLowerCase() !== host) return false;
    if (!https && !allowed[1]) return false;
    return allowed[3] === undefined || allowed[3].toLowerCase() === segment;
  });
}

/**
 * Where an Azure DevOps collection's token may go (entries for `ServiceCredential.hosts`): an
 * organisation answers as dev.azure.com/<org> (that path only: dev.azure.com hosts every
 * organisation) and <org>.visualstudio.com (its vssps/vsrm neighbours are not git). An on-premises
 * collection allows its own host, over http too when the collection URL itself is http.
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
    const organisation = url.pathname.split('/').filter(Boolean)[0]?.toLowerCase();
    // Without an organisation there is nothing this token may safely be sent to on dev.azure.com.
    return organisation ? [`${host}/${organisation}`, `${organisation}.visualstudio.com`] : [];
  }
  const visualStudio = /^([a-z0-9-]+)\.visualstudio\.com$/.exec(host);
  if (visualStudio) return [host, `dev.azure.com/${visualStudio[1]}`];
  return [url.protocol === 'http:' ? `http://${host}` : host];
}
