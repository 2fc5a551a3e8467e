/**
 * Pre-production verification for PromoteContainer: proves that the pre-production environment's
 * manifests (in the manifest repository, at a branch tip or at the commit a GitOps agent marked as
 * applied) reference the image about to be promoted, before anything is copied.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isYamlSyntaxError, loadYamlDocuments, readYamlTextSync } from '../yaml/parse';
import type { ServiceCredential } from '../credentials';
import { GitopsError } from '../errors';
import type { Logger } from '../logger';
import { assertBranchName, assertRefName, assertRelativePath } from '../names';
import { assertGitUrl, gitAuthFor, displayUrl, lastLines, remoteUrl, runGit, type GitAuth } from '../git';
import { formatImageReference, parseImageReference, type ImageReference } from '../registry';

export interface VerifyDeploymentOptions {
  repositoryUrl: string;
  branch: string;
  /** Folder of the pre-production environment, relative to the repository root ('' = whole repository). */
  environmentPath: string;
  /** Tag the GitOps agent moves to what it applied; when set, its commit is checked instead of the branch tip. */
  syncTag?: string;
  /** A commit a GitOps agent reports as applied (cluster verification); checked instead of the branch tip or tag. */
  revision?: string;
  /** How that commit is named in messages, e.g. `flux:flux-system/apps applied revision`. */
  revisionLabel?: string;
  /** The image to find: registry and repository, with the tag and/or digest it was given by. */
  image: ImageReference;
  /** The digest the image resolved to in the source registry. */
  digest: string;
  credential?: ServiceCredential;
  /** An empty or missing folder to check out into. */
  workDir: string;
  logger: Logger;
}

export interface ImageUse {
  /** File relative to the repository root. */
  file: string;
  /** The reference as written in the manifest. */
  reference: string;
}

export interface VerifyDeploymentResult {
  /** The commit that was checked. */
  commit: string;
  /** `branch <name>` or `tag <name>`. */
  checked: string;
  /** Where the image is referenced. */
  matches: ImageUse[];
  /** Every image referenced under the environment folder. */
  deployed: ImageUse[];
}

const MANIFEST_FILE = /\.(ya?ml|json)$/i;
const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;
const MAX_LISTED = 20;

export type VerificationTarget = Pick<VerifyDeploymentOptions, 'repositoryUrl' | 'branch' | 'environmentPath' | 'syncTag'>;

/**
 * Checks the verification inputs before anything is fetched or copied (errors name the task
 * input) and returns them normalised: `refs/heads/` and `refs/tags/` stripped, the path cleaned.
 */
export function validateVerification<T extends VerificationTarget>(target: T): T {
  if (!target.repositoryUrl?.trim()) {
    throw new GitopsError('manifestRepo verification needs the pre-production manifest repository', {
      field: 'verifyManifestRepositoryUrl',
      hint: 'set verifyManifestRepositoryUrl, or set verification to none to skip the check',
    });
  }
  return {
    ...target,
    repositoryUrl: assertGitUrl(target.repositoryUrl, 'verifyManifestRepositoryUrl'),
    branch: assertBranchName(target.branch, 'verifyManifestBranch'),
    environmentPath: assertRelativePath(target.environmentPath, 'verifyEnvironmentPath', { field: 'verifyEnvironmentPath' }),
    syncTag: target.syncTag?.trim() ? assertRefName(target.syncTag, 'verifySyncTag', 'tag') : undefined,
  };
}

/** Checks out the environment's manifests and refuses unless one of them references the image. */
export async function verifyDeployment(input: VerifyDeploymentOptions): Promise<VerifyDeploymentResult> {
  const options = validateVerification(input);
  const { logger } = options;
  const environmentPath = options.environmentPath;
  const where = displayUrl(options.repositoryUrl);
  const checked = options.revision ? `${options.revisionLabel ?? 'revision'} ${options.revision.slice(0, 12)}`
    : options.syncTag ? `tag ${options.syncTag}` : `branch ${options.branch}`;
  const commit = await checkout(options, where, checked);

  const root = join(options.workDir, environmentPath);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new GitopsError(`${where} has no folder "${environmentPath}" at ${checked} (commit ${commit.slice(0, 12)}): nothing is deployed there`, {
      field: 'verifyEnvironmentPath',
      hint: 'set verifyEnvironmentPath to the pre-production environment folder of the manifest repository',
    });
  }
  const deployed = findImages(root, options.workDir, logger);
  const matches = deployed.filter((use) => referencesImage(use.reference, options.image, options.digest));
  const wanted = describeWanted(options.image, options.digest);
  if (matches.length === 0) {
    const seen = [...new Set(deployed.map((d) => d.reference))];
    const listing = seen.length === 0 ? 'no images at all'
      : seen.slice(0, MAX_LISTED).join(', ') + (seen.length > MAX_LISTED ? ` and ${seen.length - MAX_LISTED} more` : '');
    throw new GitopsError(
      `pre-production does not run ${wanted}: no manifest under "${environmentPath || '.'}" in ${where} at ${checked} (commit ${commit.slice(0, 12)}) references it; deployed there: ${listing}`,
      {
        field: 'sourceImage',
        hint: 'promote only what runs in pre-production: deploy this image there first, or fix sourceImage / verifyEnvironmentPath',
      },
    );
  }
  logger.info(`verified: ${wanted} is referenced by ${matches.map((m) => m.file).join(', ')} in ${where} at ${checked} (commit ${commit.slice(0, 12)})`);
  return { commit, checked, matches, deployed };
}

function describeWanted(image: ImageReference, digest: string): string {
  return `${formatImageReference({ registry: image.registry, repository: image.repository, tag: image.tag })}@${digest}`;
}

/** Shallow-fetches the branch or the sync tag into a fresh repository and checks it out. */
async function checkout(options: VerifyDeploymentOptions, where: string, checked: string): Promise<string> {
  const auth = gitAuthFor(options.credential, options.repositoryUrl);
  const dir = options.workDir;
  mkdirSync(dir, { recursive: true });
  if (readdirSync(dir).length > 0) throw new GitopsError(`cannot check out the manifest repository into ${dir}: the folder is not empty`);
  const local = { cwd: dir, logger: options.logger, secrets: auth?.secrets };
  const mustRun = async (args: string[], what: string) => {
    const result = await runGit(args, local);
    if (result.code !== 0) throw new GitopsError(`${what} failed: ${lastLines(result.stderr)}`);
    return result.stdout;
  };
  await mustRun(['init', '--quiet', '--', dir], 'git init');
  await mustRun(['remote', 'add', '--', 'origin', remoteUrl(options.repositoryUrl, !!auth)], 'git remote add');
  const source = options.syncTag ? `refs/tags/${options.syncTag}` : `refs/heads/${options.branch}`;
  options.logger.info(`checking pre-production manifests in ${where} at ${checked}`);
  if (options.revision) return checkoutRevision(options, options.revision, where, checked, local, auth, mustRun);
  const fetched = await runGit(['fetch', '--quiet', '--no-tags', '--depth=1', '--', 'origin', `+${source}:refs/gitops/verify`], {
    ...local, auth, timeoutMs: 10 * 60_000,
  });
  if (fetched.code !== 0) {
    const missing = /couldn't find remote ref|not our ref|Remote branch .* not found/i.test(fetched.stderr);
    const field = missing ? (options.syncTag ? 'verifySyncTag' : 'verifyManifestBranch') : 'verifyManifestRepositoryUrl';
    throw new GitopsError(
      missing ? `${where} has no ${checked}` : `fetching ${checked} of ${where} failed: ${lastLines(fetched.stderr)}`,
      {
        field,
        hint: missing ? (options.syncTag ? 'the GitOps agent has not applied anything yet, or the tag name is wrong' : 'check the branch name')
          : 'check the URL and that the git credentials (gitConnection or System.AccessToken) can read the repository',
      },
    );
  }
  await mustRun(['-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--detach', 'refs/gitops/verify^{commit}'], 'git checkout');
  return (await mustRun(['rev-parse', 'HEAD'], 'git rev-parse')).trim();
}

/**
 * Checks out the commit a GitOps agent applied: fetched by id (protocol v2 servers allow it), else
 * from the branch's history. The id comes from the cluster, so it must be a plain hex commit id.
 */
async function checkoutRevision(options: VerifyDeploymentOptions, revision: string, where: string, checked: string,
  local: { cwd: string; logger: Logger; secrets?: readonly string[] }, auth: GitAuth | undefined, mustRun: (args: string[], what: string) => Promise<string>): Promise<string> {
  if (!/^[0-9a-f]{40}$|^[0-9a-f]{64}$/.test(revision)) {
    throw new GitopsError(`the applied revision ${JSON.stringify(revision)} is not a full commit id`, { field: 'verification' });
  }
  const network = { ...local, auth, timeoutMs: 10 * 60_000 };
  let fetched = await runGit(['fetch', '--quiet', '--no-tags', '--depth=1', '--', 'origin', revision], network);
  if (fetched.code !== 0) {
    fetched = await runGit(['fetch', '--quiet', '--no-tags', '--', 'origin', `+refs/heads/${options.branch}:refs/gitops/verify`], network);
    if (fetched.code !== 0) throw new GitopsError(`fetching ${where} failed: ${lastLines(fetched.stderr)}`, { field: 'verifyManifestRepositoryUrl' });
  }
  const present = await runGit(['cat-file', '-e', `${revision}^{commit}`], local);
  if (present.code !== 0) {
    throw new GitopsError(`${where} has no commit ${revision} (the ${checked}) on ${options.branch}`, {
      field: 'verifyManifestRepositoryUrl',
      hint: 'the cluster applies another repository or branch than the one given: check verifyManifestRepositoryUrl and verifyManifestBranch',
    });
  }
  await mustRun(['-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--detach', revision], 'git checkout');
  return (await mustRun(['rev-parse', 'HEAD'], 'git rev-parse')).trim();
}

/** Every image referenced by the YAML/JSON manifests below `dir`, in file order. */
function findImages(dir: string, repoRoot: string, logger: Logger): ImageUse[] {
  const uses: ImageUse[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== '.git') walk(path);
      } else if (entry.isFile() && MANIFEST_FILE.test(entry.name) && statSync(path).size <= MAX_MANIFEST_BYTES) {
        const file = relative(repoRoot, path);
        let documents: unknown[];
        try {
          documents = loadYamlDocuments(readYamlTextSync(path, `verification repository: ${file}`), `verification repository: ${file}`);
        } catch (error) {
          if (!isYamlSyntaxError(error)) throw error;
          logger.debug(`skipping ${file}: not YAML (${(error as Error).message.split('\n')[0]})`);
          continue;
        }
        for (const document of documents) collectImages(document, (reference) => uses.push({ file, reference }));
      }
    }
  };
  walk(dir);
  return uses;
}

/**
 * Images in a manifest: `image: <reference>` (containers, init containers, CronJobs, anything
 * shaped like a pod) and Helm-style `image: { registry?, repository, tag?, digest? }` maps
 * (HelmRelease values).
 */
function collectImages(node: unknown, found: (reference: string) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) collectImages(item, found);
    return;
  }
  if (!node || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    if (key === 'image' && typeof value === 'string' && value.trim()) {
      found(value.trim());
    } else if (key === 'image' && value && typeof value === 'object' && !Array.isArray(value)) {
      const map = value as Record<string, unknown>;
      if (typeof map.repository === 'string') {
        const repository = typeof map.registry === 'string' && map.registry ? `${map.registry}/${map.repository}` : map.repository;
        const tag = typeof map.tag === 'string' || typeof map.tag === 'number' ? `:${map.tag}` : '';
        const digest = typeof map.digest === 'string' && map.digest ? `@${map.digest}` : '';
        found(`${repository}${tag}${digest}`);
      }
      collectImages(value, found);
    } else {
      collectImages(value, found);
    }
  }
}

/**
 * Whether a manifest's image reference is the wanted image: same registry and repository, and
 * the digest when the manifest pins one, else the tag the image was given by.
 */
export function referencesImage(reference: string, image: ImageReference, digest: string): boolean {
  let parsed: ImageReference;
  try {
    // A tag written as `tag@sha256:...` in a values file yields the same form here.
    parsed = parseImageReference(reference);
  } catch {
    return false;
  }
  if (parsed.registry !== image.registry || parsed.repository !== image.repository) return false;
  if (parsed.digest) return parsed.digest === digest;
  return (parsed.tag ?? 'latest') === image.tag;
}
