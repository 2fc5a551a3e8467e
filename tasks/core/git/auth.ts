import { GitopsError } from '../errors';
import { credentialAllowedFor, type ServiceCredential } from '../credentials';

/**
 * How git authenticates to the remote: the value git sends as `http.extraheader`, exactly as
 * Azure Pipelines does it. Kept only in memory and in the git child's environment.
 */
export interface GitAuth {
  /** The full header line, e.g. `AUTHORIZATION: bearer <token>`. */
  readonly header: string;
  /** Every string derived from the secret (raw secret, base64 form, header), for redaction. */
  readonly secrets: readonly string[];
}

function requireSecret(secret: string, what: string): void {
  if (!secret || !secret.trim()) {
    throw new GitopsError(`The ${what} for git is empty`, {
      hint: 'pass System.AccessToken (map it as an env variable in YAML) or a service connection',
    });
  }
}

/** `AUTHORIZATION: bearer <token>` — System.AccessToken against Azure Repos. */
export function bearerAuth(token: string): GitAuth {
  requireSecret(token, 'token');
  const header = `AUTHORIZATION: bearer ${token}`;
  return { header, secrets: [token, header, `bearer ${token}`] };
}

/** `AUTHORIZATION: basic base64(user:secret)` — a PAT (user may be empty) or a username/password. */
export function basicAuth(user: string, secret: string): GitAuth {
  requireSecret(secret, 'password or PAT');
  const encoded = Buffer.from(`${user}:${secret}`, 'utf8').toString('base64');
  const header = `AUTHORIZATION: basic ${encoded}`;
  return { header, secrets: [secret, encoded, header, `basic ${encoded}`] };
}

/** Every derived string to redact or to pass to task-lib's setSecret. */
export function secretsOf(auth: GitAuth | undefined): string[] {
  return auth ? [...auth.secrets] : [];
}

/**
 * The git auth for a service credential, sent only to http(s) remotes the credential is meant
 * for (a file:// or local remote needs none; the job token stays in its organisation). The one place that maps core's credentials to git headers.
 */
export function gitAuthFor(credential: ServiceCredential | undefined, url?: string): GitAuth | undefined {
  if (!credential) return undefined;
  if (url !== undefined && !credentialAllowedFor(credential, url)) return undefined;
  return credential.kind === 'bearer' ? bearerAuth(credential.token) : basicAuth(credential.username, credential.password);
}
