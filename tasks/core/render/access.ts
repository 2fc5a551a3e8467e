import { join } from 'node:path';
import { loadAccess, resolveAccessTokens } from '../hld/config';
import { GitopsError } from '../errors';
import { displayUrl } from '../exec';
import { Logger } from '../logger';
import { urlAmbiguity } from '../net';
import { exists } from './cache';
import { tokenMayTravelTo } from './gitFetch';
import { HelmCredentials } from './helm';
import { normalizeUrl } from './sources';

/**
 * Tokens for private sources, from `access.yaml` files (source URL → name of an environment
 * variable holding the token), as Fabrikate read them. The first file that names a source wins.
 *
 * Only the HLD's own files count: the access.yaml of a component fetched from a remote git source
 * (and of anything below it) is ignored with a warning, so a third party cannot pick which
 * variable goes to which host. The tool's, the proxy's and the agent's own variables are never
 * read (reservedAccessVariable), and a token travels only over https (or plain http to this machine).
 */
export class AccessTokens {
  private readonly tokens = new Map<string, { token: string; file: string; source: string }>();
  private readonly loaded = new Set<string>();

  constructor(private readonly env: NodeJS.ProcessEnv, private readonly logger: Logger) {}

  /**
   * Reads `<dir>/access.yaml` once, if present. `remoteSource`: the git source `dir` was fetched
   * from (or lies below); then the file is ignored.
   */
  async load(dir: string, root: string, remoteSource?: string): Promise<void> {
    if (this.loaded.has(dir)) return;
    this.loaded.add(dir);
    if (remoteSource) {
      for (const name of ['access.yaml', 'access.json']) {
        if (await exists(join(dir, name))) {
          this.logger.warn(`${join(dir, name)} ignored: it comes from the remote git source ${displayUrl(remoteSource)}; `
            + 'only the HLD\'s own access.yaml files give tokens (name that component\'s private sources in the HLD\'s access.yaml)');
        }
      }
      return;
    }
    const file = join(dir, 'access.yaml');
    const resolved = resolveAccessTokens(await loadAccess(dir, { root, logger: this.logger }), this.env);
    for (const { source, variable } of resolved.refused) {
      this.logger.warn(`access.yaml in ${dir}: ${variable} (for ${displayUrl(source)}) is one of this tool's, the proxy's or the agent's own variables `
        + '(GITOPS_*, BEDROCK_*, ARGOCD_*, *_PROXY, SYSTEM_*, AGENT_*, ENDPOINT_*, SECRET_*, INPUT_*, VSTS_*) and is never sent; '
        + 'fetching it without credentials. Put the token in a variable of its own (e.g. GIT_SOURCE_TOKEN) and name that');
    }
    for (const { source, variable } of resolved.missing) {
      this.logger.warn(`access.yaml in ${dir}: environment variable ${variable} for ${displayUrl(source)} is not set; fetching it without credentials`);
    }
    for (const [source, token] of Object.entries(resolved.tokens)) {
      const key = normalizeUrl(source);
      if (!this.tokens.has(key)) this.tokens.set(key, { token, file, source });
    }
  }

  /** The token for `source`; refuses one that would travel over plain http to another machine. */
  tokenFor(source: string): string | undefined {
    const entry = this.tokens.get(normalizeUrl(source));
    if (!entry) return undefined;
    const ambiguity = urlAmbiguity(source);
    if (ambiguity) {
      throw new GitopsError(`access.yaml gives a token for ${displayUrl(source)}, which contains ${ambiguity}: git or helm could send it to another host than this check reads`, {
        file: entry.file,
        field: entry.source,
        hint: 'write the source plainly (https://host/path, forward slashes only, at most one user name before @) in the component and in access.yaml',
      });
    }
    if (!tokenMayTravelTo(source)) {
      throw new GitopsError(`access.yaml gives a token for ${displayUrl(source)}, which is plain http to another machine: the token would cross the network unencrypted`, {
        file: entry.file,
        field: entry.source,
        hint: 'use the https:// URL of the source (plain http is accepted only for 127.0.0.1/localhost), or remove its access.yaml entry',
      });
    }
    return entry.token;
  }

  /** Chart repository credentials: the variable holds `user:password`, or a bare token (user `token`). */
  credentialsFor(source: string): HelmCredentials | undefined {
    const token = this.tokenFor(source);
    if (!token) return undefined;
    const colon = token.indexOf(':');
    return colon > 0 ? { username: token.slice(0, colon), password: token.slice(colon + 1) } : { username: 'token', password: token };
  }
}
