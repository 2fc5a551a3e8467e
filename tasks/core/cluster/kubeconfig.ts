/**
 * The parts of a kubeconfig this project uses: the current (or named) context's API server, CA,
 * and a bearer token or client certificate. Exec and auth-provider plugins are not run.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { load } from 'js-yaml';
import { GitopsError } from '../errors';
import type { TlsOptions } from './http';

export interface KubernetesAccess extends TlsOptions {
  /** API server, e.g. https://aks-123.hcp.westeurope.azmk8s.io:443 */
  server: string;
  token?: string;
  /** The context's namespace, when set. */
  namespace?: string;
}

type Named<T> = { name?: unknown } & T;
const MAX_KUBECONFIG = 1024 * 1024;

/** Parses kubeconfig text; `baseDir` resolves relative file paths in it. `field` names the setting in errors. */
export function parseKubeconfig(text: string, options: { field: string; context?: string; baseDir?: string }): KubernetesAccess {
  const { field } = options;
  const fail = (message: string, hint?: string) => new GitopsError(`kubeconfig: ${message}`, { field, hint });
  if (text.length > MAX_KUBECONFIG) throw fail('larger than 1 MB');
  let config: Record<string, unknown>;
  try {
    config = load(text, { json: true }) as Record<string, unknown>;
  } catch (error) {
    throw fail(`not YAML (${(error as Error).message.split('\n')[0]})`);
  }
  if (!config || typeof config !== 'object') throw fail('not a kubeconfig');
  const list = (key: string) => (Array.isArray(config[key]) ? (config[key] as Named<Record<string, unknown>>[]) : []);
  const contextName = options.context || (typeof config['current-context'] === 'string' ? config['current-context'] : '');
  const contexts = list('contexts');
  const context = (contextName ? contexts.find((c) => c.name === contextName) : contexts.length === 1 ? contexts[0] : undefined)?.context as Record<string, unknown> | undefined;
  if (!context) throw fail(contextName ? `no context named ${JSON.stringify(contextName)}` : 'no current-context', 'set current-context, or name the context');
  const cluster = list('clusters').find((c) => c.name === context.cluster)?.cluster as Record<string, unknown> | undefined;
  if (!cluster || typeof cluster.server !== 'string') throw fail(`context ${JSON.stringify(contextName)} names no cluster with a server`);
  const user = (list('users').find((u) => u.name === context.user)?.user ?? {}) as Record<string, unknown>;
  const file = (value: unknown) => {
    if (typeof value !== 'string' || !value) return undefined;
    const path = isAbsolute(value) || !options.baseDir ? value : resolve(options.baseDir, value);
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      throw fail(`cannot read ${path}: ${(error as Error).message}`);
    }
  };
  const data = (value: unknown) => (typeof value === 'string' && value ? Buffer.from(value, 'base64').toString('utf8') : undefined);
  if (user.exec || user['auth-provider']) {
    throw fail('the user authenticates through an exec or auth-provider plugin, which is not run here',
      'use a service account token or a client certificate (e.g. `az aks get-credentials --admin`, or a token kubeconfig)');
  }
  const token = typeof user.token === 'string' && user.token ? user.token : file(user.tokenFile)?.trim();
  const access: KubernetesAccess = {
    server: cluster.server.replace(/\/+$/, ''),
    ca: data(cluster['certificate-authority-data']) ?? file(cluster['certificate-authority']),
    cert: data(user['client-certificate-data']) ?? file(user['client-certificate']),
    key: data(user['client-key-data']) ?? file(user['client-key']),
    insecureSkipVerify: cluster['insecure-skip-tls-verify'] === true,
    token,
    namespace: typeof context.namespace === 'string' ? context.namespace : undefined,
  };
  if (!access.token && !(access.cert && access.key)) throw fail('the user has neither a token nor a client certificate and key');
  return access;
}

/** Reads a kubeconfig file. */
export function readKubeconfig(path: string, options: { field: string; context?: string }): KubernetesAccess {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new GitopsError(`cannot read the kubeconfig ${path}: ${(error as Error).message}`, { field: options.field, hint: 'give the path of a kubeconfig file' });
  }
  return parseKubeconfig(text, { ...options, baseDir: dirname(path) });
}
