/** The one place that picks the pull-request provider of a remote and the token it is called with. */
import { credentialAllowedFor, credentialToken, type ServiceCredential } from '../credentials';
import { GitopsError } from '../errors';
import { displayUrl } from '../exec';
import { detectProvider, type RepoProvider } from './provider';
import type { PullRequestAuth, PullRequestProvider } from './types';

export interface PullRequestConnectionOptions {
  /** URL of the git remote: decides between Azure Repos and GitHub. */
  repositoryUrl: string;
  credential?: ServiceCredential;
  /** The pullRequestApiUrl setting (see detectProvider). */
  apiUrl?: string;
}

/** The provider of the remote, with the credential checked; errors name the input to fix. */
export async function connectPullRequests(options: PullRequestConnectionOptions): Promise<PullRequestProvider> {
  const url = options.repositoryUrl;
  const target = detectProvider(url, options.apiUrl);
  if (!target) {
    throw new GitopsError(`cannot open pull requests for ${displayUrl(url)}: it is neither an Azure Repos nor a GitHub repository`, {
      field: 'pullRequestApiUrl',
      hint: 'set pullRequestApiUrl to the Azure DevOps collection URL or the GitHub API URL, or use pushMode direct',
    });
  }
  if (!options.credential) {
    throw new GitopsError('no token to call the pull request API', {
      field: 'gitConnection',
      hint: 'allow scripts to access the OAuth token (System.AccessToken) or set a git service connection',
    });
  }
  if (!credentialAllowedFor(options.credential, url)) {
    throw new GitopsError(`the job's access token is only sent to its own Azure DevOps organisation, not to ${displayUrl(url)}`, {
      field: 'gitConnection',
      hint: 'set a git service connection (gitConnection) with a token for that host',
    });
  }
  return pullRequestProvider(target, { token: credentialToken(options.credential), tokenKind: options.credential.kind === 'bearer' ? 'bearer' : 'pat' });
}

/**
 * The implementation for `target` (azureRepos.ts, github.ts) behind the PullRequestProvider
 * interface, loaded on use: the Azure DevOps client is most of the bundle.
 */
export async function pullRequestProvider(target: RepoProvider, auth: PullRequestAuth): Promise<PullRequestProvider> {
  if (target.kind === 'azure') {
    const azure = await import('./azureRepos');
    return {
      name: 'Azure DevOps',
      createOrUpdate: (request) => azure.createOrUpdateAzurePullRequest(target, { ...request, ...auth, provider: target }),
      postOrUpdateComment: (request) => azure.postOrUpdateAzureComment(target, { ...request, ...auth, provider: target }),
      closeFromBranch: (request) => azure.closeAzurePullRequest(target, { ...request, ...auth, provider: target }),
    };
  }
  const github = await import('./github');
  return {
    name: 'GitHub',
    createOrUpdate: (request) => github.createOrUpdateGithubPullRequest(target, { ...request, ...auth, provider: target }),
    postOrUpdateComment: (request) => github.postOrUpdateGithubComment(target, { ...request, ...auth, provider: target }),
    closeFromBranch: (request) => github.closeGithubPullRequest(target, { ...request, ...auth, provider: target }),
  };
}
