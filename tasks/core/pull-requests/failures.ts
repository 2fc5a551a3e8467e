import { GitopsError } from '../errors';
import { redact } from '../exec';

export type ProviderName = 'Azure DevOps' | 'GitHub';

/**
 * Turns an HTTP failure into an error a pipeline author can act on: which permission is missing,
 * never the token (server messages are redacted before they are quoted).
 */
export function requestFailure(provider: ProviderName, action: string, status: number | undefined, serverMessage: string, token: string): GitopsError {
  const quoted = redact(serverMessage, [token]).replace(/\s+/g, ' ').trim().slice(0, 300);
  if (status === 401) {
    return new GitopsError(`${provider} rejected the credentials while trying to ${action} (HTTP 401)`, {
      field: 'token',
      hint: provider === 'Azure DevOps'
        ? 'the token is missing, expired or not valid for this organization: use System.AccessToken (enable "Allow scripts to access the OAuth token" in classic pipelines) or a PAT with Code (Read & Write) scope'
        : 'the token is missing, expired or not valid: use a token with the "pull_requests: write" and "contents: write" permissions',
    });
  }
  if (status === 403) {
    return new GitopsError(`${provider} denied permission to ${action} (HTTP 403)`, {
      field: 'token',
      hint: provider === 'Azure DevOps'
        ? 'grant the identity (e.g. "<Project> Build Service (<org>)") "Contribute to pull requests" on the repository, and "Create branch" for the source branch'
        : 'the token needs "pull_requests: write" (and "contents: write" to push the source branch)',
    });
  }
  const code = status === undefined ? 'no HTTP status' : `HTTP ${status}`;
  return new GitopsError(`${provider} failed to ${action} (${code})${quoted ? `: ${quoted}` : ''}`);
}
