/** Where pull requests for a git remote are opened: Azure Repos (Services or Server) or GitHub. */
export type RepoProvider =
  | { kind: 'azure'; collectionUrl: string; project: string; repository: string }
  | { kind: 'github'; apiUrl: string; owner: string; repository: string };

const githubApi = 'https://api.github.com';

/**
 * Works out the pull-request provider from a git remote URL (https or ssh).
 * Returns undefined when the remote is neither Azure Repos nor GitHub.
 * `apiUrl` (the pullRequestApiUrl setting) replaces the API root: for a `/_git/` remote the Azure
 * DevOps collection URL (Azure DevOps Server, test doubles), for any other `owner/repo` remote the
 * GitHub REST API root (GitHub Enterprise, test doubles).
 */
export function detectProvider(remoteUrl: string, apiUrl?: string): RepoProvider | undefined {
  const trimmed = remoteUrl.trim();
  return azureFromSsh(trimmed, apiUrl) ?? azureFromHttp(trimmed, apiUrl) ?? githubFrom(trimmed, apiUrl);
}

/** git@ssh.dev.azure.com:v3/org/project/repo and org@vs-ssh.visualstudio.com:v3/org/project/repo */
function azureFromSsh(url: string, apiUrl: string | undefined): RepoProvider | undefined {
  const match = /^(?:ssh:\/\/)?[^@/]+@(ssh\.dev\.azure\.com|vs-ssh\.visualstudio\.com)(?::\d+)?[:/]v3\/([^/]+)\/([^/]+)\/([^/]+?)\/?$/.exec(url);
  if (!match) return undefined;
  const [, host, org, project, repository] = match;
  const collectionUrl = host === 'ssh.dev.azure.com' ? `https://dev.azure.com/${org}` : `https://${org}.visualstudio.com`;
  return {
    kind: 'azure',
    collectionUrl: apiUrl ? stripSlash(apiUrl) : collectionUrl,
    project: decode(project),
    repository: decode(repository),
  };
}

/** Any http(s) remote with `/_git/`: the collection is what precedes `/<project>/_git/<repo>`. */
function azureFromHttp(url: string, apiUrl: string | undefined): RepoProvider | undefined {
  const parsed = parseHttpUrl(url);
  if (!parsed) return undefined;
  const segments = parsed.pathname.split('/').filter(Boolean);
  const gitIndex = segments.indexOf('_git');
  if (gitIndex < 0 || gitIndex !== segments.length - 2) return undefined;
  const repository = decode(segments[gitIndex + 1]);
  const origin = `${parsed.protocol}//${parsed.host}`;
  const onDevAzure = parsed.hostname.toLowerCase() === 'dev.azure.com';
  // The project segment may be omitted when the repository is named like its project.
  const collectionDepth = onDevAzure ? 1 : isVisualStudioHost(parsed.hostname) ? countDefaultCollection(segments) : gitIndex - 1;
  const projectOmitted = gitIndex === collectionDepth;
  const project = projectOmitted ? repository : decode(segments[gitIndex - 1]);
  const collectionPath = segments.slice(0, projectOmitted ? gitIndex : gitIndex - 1).join('/');
  const collectionUrl = apiUrl
    ? stripSlash(apiUrl)
    : collectionPath ? `${origin}/${collectionPath}` : origin;
  return { kind: 'azure', collectionUrl, project, repository };
}

function githubFrom(url: string, apiUrl: string | undefined): RepoProvider | undefined {
  const ssh = /^(?:ssh:\/\/)?[^@/]+@([^:/]+)(?::\d+)?[:/]([^/]+)\/([^/]+?)(?:\.git)?\/?$/.exec(url);
  if (ssh) {
    const [, host, owner, repository] = ssh;
    return githubProvider(host, owner, repository, apiUrl);
  }
  const parsed = parseHttpUrl(url);
  if (!parsed) return undefined;
  const segments = parsed.pathname.split('/').filter(Boolean);
  if (segments.length !== 2) return undefined;
  return githubProvider(parsed.hostname, segments[0], segments[1].replace(/\.git$/, ''), apiUrl);
}

function githubProvider(host: string, owner: string, repository: string, override: string | undefined): RepoProvider | undefined {
  const apiUrl = override ? stripSlash(override) : host.toLowerCase() === 'github.com' ? githubApi : undefined;
  if (!apiUrl) return undefined;
  return { kind: 'github', apiUrl, owner: decode(owner), repository: decode(repository) };
}

function parseHttpUrl(url: string): URL | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function isVisualStudioHost(hostname: string): boolean {
  return hostname.toLowerCase().endsWith('.visualstudio.com');
}

/** org.visualstudio.com URLs may carry the legacy `DefaultCollection` segment. */
function countDefaultCollection(segments: string[]): number {
  return segments[0]?.toLowerCase() === 'defaultcollection' ? 1 : 0;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
