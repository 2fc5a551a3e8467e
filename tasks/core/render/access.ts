import { loadAccess, resolveAccessTokens } from '../hld/config';
import { Logger } from '../logger';
import { HelmCredentials } from './helm';
import { normalizeUrl } from './sources';

/**
 * Tokens for private sources, from `access.yaml` files (source URL → name of an environment
 * variable holding the token), as Fabrikate read them. The first file that names a source wins.
 */
export class AccessTokens {
  private readonly tokens = new Map<string, string>();
  private readonly loaded = new Set<string>();

  constructor(private readonly env: NodeJS.ProcessEnv, private readonly logger: Logger) {}

  /** Reads `<dir>/access.yaml` once, if present. */
  async load(dir: string, root: string): Promise<void> {
    if (this.loaded.has(dir)) return;
    this.loaded.add(dir);
    const resolved = resolveAccessTokens(await loadAccess(dir, { root, logger: this.logger }), this.env);
    for (const { source, variable } of resolved.missing) {
      this.logger.warn(`access.yaml in ${dir}: environment variable ${variable} for ${source} is not set; fetching it without credentials`);
    }
    for (const [source, token] of Object.entries(resolved.tokens)) {
      const key = normalizeUrl(source);
      if (!this.tokens.has(key)) this.tokens.set(key, token);
    }
  }

  tokenFor(source: string): string | undefined {
    return this.tokens.get(normalizeUrl(source));
  }

  /** Chart repository credentials: the variable holds `user:password`, or a bare token (user `token`). */
  credentialsFor(source: string): HelmCredentials | undefined {
    const token = this.tokenFor(source);
    if (!token) return undefined;
    const colon = token.indexOf(':');
    return colon > 0 ? { username: token.slice(0, colon), password: token.slice(colon + 1) } : { username: 'token', password: token };
  }
}
