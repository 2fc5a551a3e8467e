/**
 * Credentials as core receives them, whatever their origin (System.AccessToken, a service
 * connection, an environment variable of the CLI). Core turns them into git headers and REST auth.
 */
export type ServiceCredential =
  /** An OAuth/bearer token such as System.AccessToken or a GitHub token. */
  | { kind: 'bearer'; token: string }
  /** User name + password or PAT (Azure Repos accepts any user name with a PAT). */
  | { kind: 'basic'; username: string; password: string };

/** The secret part, for REST clients that take a token. */
export function credentialToken(credential: ServiceCredential): string {
  return credential.kind === 'bearer' ? credential.token : credential.password;
}
