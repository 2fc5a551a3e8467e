/**
 * The CLI's network: the conventional HTTPS_PROXY / HTTP_PROXY / NO_PROXY variables (credentials
 * may sit in the proxy URL there, as curl and Go accept them) and `--ca-file` (or
 * BEDROCK_GITOPS_CA_FILE) for a private certificate authority.
 */
import { GitopsError } from '../tasks/core/errors';
import { validateNetworkSettings, type NetworkSettings } from '../tasks/core/network';

export function cliNetworkSettings(env: NodeJS.ProcessEnv, caFile: string | undefined): NetworkSettings {
  const proxyText = env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy;
  const settings: NetworkSettings = { caFile: caFile || env.BEDROCK_GITOPS_CA_FILE || undefined };
  if (proxyText) {
    let url: URL;
    try {
      url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(proxyText) ? proxyText : `http://${proxyText}`);
    } catch {
      throw new GitopsError('HTTPS_PROXY is not a URL', { field: 'HTTPS_PROXY', hint: 'set it to http://[user:password@]host:port' });
    }
    const username = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    url.username = '';
    url.password = '';
    settings.proxy = {
      url: url.origin,
      username: username || undefined,
      password: password || undefined,
      bypass: noProxyPatterns(env.NO_PROXY ?? env.no_proxy ?? ''),
      noProxy: env.NO_PROXY ?? env.no_proxy ?? '',
    };
  }
  validateNetworkSettings(settings, { proxy: 'HTTPS_PROXY', caFile: '--ca-file', bypass: 'NO_PROXY' });
  return settings;
}

/** NO_PROXY entries (`host`, `.suffix`, `host:port`, `*`) as the URL patterns core matches. */
export function noProxyPatterns(noProxy: string): string[] {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return noProxy.split(',').map((entry) => entry.trim().toLowerCase()).filter(Boolean).map((entry) => {
    if (entry === '*') return '.';
    const [host, port] = entry.replace(/^\*?\./, '.').split(':');
    const hostPattern = host.startsWith('.') ? `[^/@]*${escape(host)}` : `(?:[^/@]*\\.)?${escape(host)}`;
    return `^[a-z]+://${hostPattern}${port ? `:${port}` : '(?::\\d+)?'}(?:/|$)`;
  });
}
