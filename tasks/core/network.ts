/**
 * How this process reaches the network: the agent's (or the user's) forward proxy with its bypass
 * list, extra certificate authorities and a client certificate. One undici dispatcher serves every
 * request made in this process; child processes (git, helm) get the same settings through their
 * standard environment variables, never through argv.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { setFlagsFromString } from 'node:v8';
import { Agent, Dispatcher, ProxyAgent, setGlobalDispatcher } from 'undici';
import { GitopsError } from './errors';
import type { Logger } from './logger';

// undici parses HTTP with a WebAssembly build of llhttp (the only WebAssembly in this code). V8
// compiles it with its baseline compiler, then again, optimised, on a background thread: that
// costs a short task process ~50 ms of CPU and keeps it alive 0.1-0.3 s after its work is done
// (README, performance notes). The baseline code parses the few header bytes of each answer fast
// enough; bodies are handed over in spans, not parsed byte by byte. Read when llhttp is compiled,
// i.e. at the first request, after this module was loaded.
setFlagsFromString('--liftoff-only');

export interface ProxySettings {
  /** `http://host:port` (or https); credentials go in `username`/`password`, never in the URL. */
  url: string;
  username?: string;
  password?: string;
  /**
   * Regular expressions (as the agent's `Agent.ProxyBypassList`): a request whose URL matches one,
   * case-insensitively, goes direct.
   */
  bypass: readonly string[];
  /** NO_PROXY for child processes when the user gave one (the CLI); else derived from `bypass`. */
  noProxy?: string;
}

export interface NetworkSettings {
  proxy?: ProxySettings;
  /** PEM file of certificate authorities trusted besides the system ones (a private CA). */
  caFile?: string;
  /** A client certificate for servers that ask for one (PEM files). */
  clientCertificate?: { certFile: string; keyFile?: string; passphrase?: string };
}

/** The settings' secrets, for masking: the proxy password and the header that carries it. */
export function networkSecrets(settings: NetworkSettings): string[] {
  const proxy = settings.proxy;
  if (!proxy?.password) return [];
  return [proxy.password, encodeURIComponent(proxy.password), basicToken(proxy)];
}

function basicToken(proxy: ProxySettings): string {
  return Buffer.from(`${proxy.username ?? ''}:${proxy.password ?? ''}`).toString('base64');
}

/** Checks the settings once, with errors naming `names.proxy` / `names.caFile`. */
export function validateNetworkSettings(settings: NetworkSettings, names: { proxy: string; caFile: string; bypass: string }): void {
  const proxy = settings.proxy;
  if (proxy) {
    let url: URL;
    try {
      url = new URL(proxy.url);
    } catch {
      throw new GitopsError(`proxy URL ${JSON.stringify(proxy.url)} is not a URL`, { field: names.proxy, hint: 'give it as http://host:port' });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new GitopsError(`proxy URL ${url.protocol}//${url.host} is not http or https`, { field: names.proxy, hint: 'give it as http://host:port' });
    }
    if (url.username || url.password) {
      throw new GitopsError('the proxy URL carries credentials', { field: names.proxy, hint: 'give the user name and password separately, never in the URL' });
    }
    for (const pattern of proxy.bypass) {
      try {
        new RegExp(pattern, 'i');
      } catch {
        throw new GitopsError(`proxy bypass entry ${JSON.stringify(pattern)} is not a regular expression`, { field: names.bypass });
      }
    }
  }
  if (settings.caFile) {
    let pem: string;
    try {
      pem = readFileSync(settings.caFile, 'utf8');
    } catch (error) {
      throw new GitopsError(`cannot read the CA file ${settings.caFile}: ${(error as Error).message}`, { field: names.caFile });
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new GitopsError(`the CA file ${settings.caFile} holds no PEM certificate`, { field: names.caFile, hint: 'give a PEM file (-----BEGIN CERTIFICATE-----)' });
    }
  }
}

/** The bypass entries compiled once per list: every request of a run asks (blob requests included). */
const compiledBypass = new WeakMap<readonly string[], RegExp[]>();
function bypassPatterns(bypass: readonly string[]): RegExp[] {
  let compiled = compiledBypass.get(bypass);
  if (!compiled) {
    compiled = bypass.map((pattern) => new RegExp(pattern, 'i'));
    compiledBypass.set(bypass, compiled);
  }
  return compiled;
}

/** Whether a request to `url` goes through the proxy. */
export function usesProxy(settings: NetworkSettings, url: string | URL): boolean {
  const proxy = settings.proxy;
  if (!proxy) return false;
  const text = String(url);
  return !bypassPatterns(proxy.bypass).some((pattern) => pattern.test(text));
}

/** The CA certificates to trust: the system's plus the extra file's, or undefined for the default. */
function trustedCertificates(settings: NetworkSettings): string[] | undefined {
  if (!settings.caFile) return undefined;
  return [...rootCertificates, readFileSync(settings.caFile, 'utf8')];
}

/**
 * TLS options for every connection: one secure context (extra CA, client certificate) built once,
 * not per connection (parsing the system's CAs costs milliseconds each time); none by default.
 */
function tlsOptions(settings: NetworkSettings): { secureContext?: SecureContext } {
  const client = settings.clientCertificate;
  const ca = trustedCertificates(settings);
  if (!ca && !client) return {};
  try {
    return {
      secureContext: createSecureContext({
        ca,
        cert: client ? readFileSync(client.certFile) : undefined,
        key: client?.keyFile ? readFileSync(client.keyFile) : undefined,
        passphrase: client?.passphrase,
      }),
    };
  } catch (error) {
    throw new GitopsError(`cannot use the ${client ? 'client certificate or CA file' : 'CA file'}: ${(error as Error).message}`, {
      hint: 'check the certificate and key files (PEM) and the key\'s passphrase',
    });
  }
}

/**
 * The dispatcher for this process's requests: direct for URLs on the bypass list (or with no
 * proxy), through the proxy otherwise (CONNECT for https), trusting the extra CA either way.
 */
export function createDispatcher(settings: NetworkSettings, options: { connections?: number } = {}): Dispatcher {
  const tls = tlsOptions(settings);
  const direct = new Agent({ connect: tls, connections: options.connections });
  const proxy = settings.proxy;
  if (!proxy) return direct;
  const proxied = new ProxyAgent({
    uri: proxy.url,
    token: proxy.username || proxy.password ? `Basic ${basicToken(proxy)}` : undefined,
    requestTls: tls,
    proxyTls: tls,
    connections: options.connections,
  });
  return new RoutingDispatcher(settings, direct, proxied);
}

/** Sends each request direct or through the proxy, by the bypass list. */
class RoutingDispatcher extends Dispatcher {
  constructor(private readonly settings: NetworkSettings, private readonly direct: Dispatcher, private readonly proxied: Dispatcher) {
    super();
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const url = new URL(options.path, String(options.origin));
    return (usesProxy(this.settings, url) ? this.proxied : this.direct).dispatch(options, handler);
  }

  override async close(): Promise<void> {
    await Promise.all([this.direct.close(), this.proxied.close()]);
  }

  override async destroy(): Promise<void> {
    await Promise.all([this.direct.destroy(), this.proxied.destroy()]);
  }
}

/**
 * Environment variables that give git and helm the same network: `HTTPS_PROXY`/`HTTP_PROXY` with
 * the proxy credentials (environment, not argv), `NO_PROXY` from the bypass entries that name
 * hosts, and a CA bundle (system CAs plus the extra file) in `GIT_SSL_CAINFO` and `SSL_CERT_FILE`.
 * A bypass entry that is a pattern rather than a host cannot be told to them: it is logged.
 */
export function childNetworkEnvironment(settings: NetworkSettings, workDir: string, logger: Logger): Record<string, string> {
  const env: Record<string, string> = {};
  const proxy = settings.proxy;
  if (proxy) {
    const url = new URL(proxy.url);
    if (proxy.username || proxy.password) {
      url.username = encodeURIComponent(proxy.username ?? '');
      url.password = encodeURIComponent(proxy.password ?? '');
    }
    const value = url.toString().replace(/\/$/, '');
    for (const name of ['HTTPS_PROXY', 'HTTP_PROXY', 'https_proxy', 'http_proxy']) env[name] = value;
    const hosts: string[] = [];
    for (const pattern of proxy.noProxy === undefined ? proxy.bypass : []) {
      const host = bypassHost(pattern);
      if (host) hosts.push(host);
      else logger.warn(`The proxy bypass entry ${JSON.stringify(pattern)} is not a host name: git and helm use the proxy for it`);
    }
    env.NO_PROXY = env.no_proxy = proxy.noProxy ?? hosts.join(',');
  }
  if (settings.caFile) {
    const bundle = join(workDir, `bedrock-gitops-ca-${process.pid}.pem`);
    writeFileSync(bundle, `${trustedCertificates(settings)!.join('\n')}\n`);
    env.GIT_SSL_CAINFO = bundle;
    env.SSL_CERT_FILE = bundle;
  }
  if (settings.clientCertificate) {
    env.GIT_SSL_CERT = settings.clientCertificate.certFile;
    if (settings.clientCertificate.keyFile) env.GIT_SSL_KEY = settings.clientCertificate.keyFile;
  }
  return env;
}

/**
 * The host a bypass regular expression names, for NO_PROXY: `^?(https?://)?host$?` with `\.` for
 * dots, and `.*\.example\.com` as the suffix `.example.com`; undefined for any other pattern.
 */
export function bypassHost(pattern: string): string | undefined {
  let text = pattern.trim().replace(/^\^/, '').replace(/\$$/, '');
  text = text.replace(/^https?\??:(\\?\/){2}/, '');
  const suffix = text.startsWith('.*\\.');
  if (suffix) text = text.slice(4);
  const host = text.replace(/\\\./g, '.');
  if (!/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/.test(host)) return undefined;
  return `${suffix ? '.' : ''}${host.toLowerCase()}`;
}

/** The network this process was set up with (see `useNetwork`), for clients that need it spelt out. */
let processNetwork: { settings: NetworkSettings; caBundle?: string; tls?: ReturnType<typeof tlsOptions> } = { settings: {} };

/**
 * Sets up this process's network once, at its edge (the task adapter or the CLI): every `fetch`
 * goes through `createDispatcher(settings)`, and `env` (the environment children inherit) gets
 * `childNetworkEnvironment`. Core clients with their own HTTP stack ask `restClientNetwork()`.
 */
export function useNetwork(settings: NetworkSettings, options: { workDir: string; env: NodeJS.ProcessEnv; logger: Logger }): void {
  if (!settings.proxy && !settings.caFile && !settings.clientCertificate) return;
  setGlobalDispatcher(createDispatcher(settings));
  const childEnv = childNetworkEnvironment(settings, options.workDir, options.logger);
  Object.assign(options.env, childEnv);
  processNetwork = { settings, caBundle: childEnv.SSL_CERT_FILE };
  if (settings.proxy) {
    const bypass = settings.proxy.bypass.length ? `; direct for ${settings.proxy.bypass.join(', ')}` : '';
    options.logger.info(`Using the proxy ${new URL(settings.proxy.url).origin}${settings.proxy.username ? ` as ${settings.proxy.username}` : ''}${bypass}`);
  }
  if (settings.caFile) options.logger.info(`Trusting the certificate authorities in ${settings.caFile} besides the system ones`);
}

/**
 * A new dispatcher with this process's network (the one `useNetwork` set up, else direct), for a
 * client that owns its keep-alive pools: `connections` per origin, closed by that client.
 */
export function networkDispatcher(options: { connections?: number } = {}): Dispatcher {
  return createDispatcher(processNetwork.settings, options);
}

/**
 * For a client that opens its own sockets (the registry's lean blob path, core/registry/wire.ts):
 * the TLS options of this process's network (extra CA, client certificate) when `url` goes direct,
 * or undefined when it goes through the proxy, so such requests must use `networkDispatcher()`.
 */
export function directConnection(url: URL): { secureContext?: SecureContext } | undefined {
  const { settings } = processNetwork;
  if (usesProxy(settings, url)) return undefined;
  processNetwork.tls ??= tlsOptions(settings);
  return processNetwork.tls;
}

/** Proxy and certificate options in the shape azure-devops-node-api's REST clients take. */
export function restClientNetwork(): {
  proxy?: { proxyUrl: string; proxyUsername?: string; proxyPassword?: string; proxyBypassHosts?: string[] };
  cert?: { caFile?: string; certFile?: string; keyFile?: string; passphrase?: string };
} {
  const { settings, caBundle } = processNetwork;
  const proxy = settings.proxy;
  const client = settings.clientCertificate;
  return {
    proxy: proxy && { proxyUrl: proxy.url, proxyUsername: proxy.username, proxyPassword: proxy.password, proxyBypassHosts: [...proxy.bypass] },
    // Their `ca` replaces the system roots, so they get the whole bundle.
    cert: caBundle || client ? { caFile: caBundle, certFile: client?.certFile, keyFile: client?.keyFile, passphrase: client?.passphrase } : undefined,
  };
}
