/**
 * The PromoteContainer job: resolve the pre-production image, prove it runs in pre-production,
 * copy it by digest to the production registry, then write the production registry, tag (and
 * digest) into the HLD through UpdateImageTag's code path. The task adapter and the CLI both run it.
 */
import { join } from 'node:path';
import type { ServiceCredential } from '../credentials';
import { GitopsError } from '../errors';
import type { Logger } from '../logger';
import type { Provenance } from '../provenance';
import { copyImage, formatImageReference, parseImageReference, type CopyResult, type ImageReference, type RegistryCredentials } from '../registry';
import { isValidRegistry, isValidTag } from '../registry/reference';
import { escapeMarkdown, renderChangeSummary, type ValueChange } from '../report';
import { expandTemplate } from './commitMessage';
import { validateHldUpdate, type HldTarget, type HldUpdateOptions, type HldUpdateResult, type PushOptions } from './updateHld';
import { imageTagValues, updateImageTag, type ImageTagRequest } from './updateImageTag';
import { validateVerification, verifyDeployment, type VerifyDeploymentResult } from './verifyDeployment';
import type { ClusterSource } from '../cluster';
import { verifyInCluster } from '../cluster/verify';
import { previousTagLine } from '../trace/previousTag';

/** Placeholders of the commitMessage template (the last four come from the HLD update itself). */
const TEMPLATE_PLACEHOLDERS = ['image', 'digest', 'sourceImage', 'tag', 'environment', 'subcomponent', 'componentPath', 'branch'];

export type PinDigest = 'none' | 'digestKey' | 'tagAtDigest';

export type VerificationOptions =
  | { mode: 'none' }
  | { mode: 'manifestRepo'; repositoryUrl: string; branch: string; environmentPath: string; syncTag?: string }
  /** The cluster's GitOps agent (Flux v2 / Argo CD) applied a manifest commit that references the image. */
  | { mode: 'cluster'; cluster: ClusterSource; repositoryUrl: string; branch: string; environmentPath: string };

export interface PromoteHldOptions {
  target: HldTarget;
  tagKey: string;
  repositoryKey: string;
  pinDigest: PinDigest;
  /** Receives the digest with pinDigest `digestKey`. */
  digestKey: string;
  noNewKeys: boolean;
  push: PushOptions;
  /** Template with {image}, {digest}, {sourceImage}, {tag}, {environment}, {subcomponent}. */
  commitMessage?: string;
  author: { name: string; email: string };
}

export interface PromoteContainerOptions {
  /** `registry/repository:tag` or `...@sha256:...`. */
  sourceImage: string;
  sourceCredentials?: RegistryCredentials;
  /** host[:port] of the production registry. */
  targetRegistry: string;
  /** Default: the source repository path. */
  targetRepository?: string;
  /** Default: the source tag (required when the source is given by digest only). */
  targetTag?: string;
  targetCredentials?: RegistryCredentials;
  platforms: 'all' | string[];
  copyReferrers: boolean;
  overwriteTag: boolean;
  verification: VerificationOptions;
  /** Undefined: copy only. */
  hld?: PromoteHldOptions;
  /** Git credentials for the manifest and HLD repositories. */
  gitCredential?: ServiceCredential;
  provenance: Provenance;
  /** Scratch space for checkouts (removed by the caller). */
  workDir: string;
  /** Resolve, verify and report; copy, commit and push nothing. */
  dryRun: boolean;
  /** Plain HTTP to non-loopback registries (a connection URL that says http://). */
  insecure?: boolean;
  /** Overall deadline of each registry operation, retries included (default 300 s). */
  networkTimeoutSeconds?: number;
  /** How the caller names these settings in errors (task inputs by default; the CLI passes its flags). */
  names?: Partial<SettingNames>;
  logger: Logger;
}

export interface SettingNames {
  sourceCredentials: string;
  targetCredentials: string;
  targetTag: string;
  overwriteTag: string;
}

const TASK_INPUT_NAMES: SettingNames = {
  sourceCredentials: 'sourceRegistryConnection',
  targetCredentials: 'targetRegistryConnection',
  targetTag: 'targetTag',
  overwriteTag: 'overwriteTag',
};

export interface PromoteContainerResult {
  /** The source as given, normalised (`registry/repository:tag`). */
  sourceImage: string;
  sourceDigest: string;
  /** `registry/repository:tag` in the target registry. */
  targetImage: string;
  /** `registry/repository@sha256:...` in the target registry. */
  promotedImage: string;
  promotedDigest: string;
  /** Blob and manifest bytes written to the target (0 when already promoted or mounted). */
  bytesCopied: number;
  blobsUploaded: number;
  blobsMounted: number;
  blobsSkipped: number;
  referrersCopied: number;
  platforms: string[];
  /** The target tag already pointed at this digest. */
  alreadyPromoted: boolean;
  dryRun: boolean;
  verification?: VerifyDeploymentResult;
  hld?: HldUpdateResult;
}

interface PromotionPlan {
  source: ImageReference;
  target: ImageReference & { tag: string };
}

/** Parses the source and derives the target reference; errors name the input. */
export function planPromotion(options: Pick<PromoteContainerOptions, 'sourceImage' | 'targetRegistry' | 'targetRepository' | 'targetTag'>): PromotionPlan {
  const source = withField(() => parseImageReference(options.sourceImage), 'sourceImage');
  const registry = options.targetRegistry.trim();
  if (!registry) throw new GitopsError('the target registry is required', { field: 'targetRegistry', hint: 'e.g. prod.azurecr.io or localhost:5000' });
  if (/[/\s]/.test(registry)) {
    throw new GitopsError(`targetRegistry ${JSON.stringify(registry)} must be a host with an optional port, without scheme or path`, {
      field: 'targetRegistry', hint: 'e.g. prod.azurecr.io or localhost:5000; put the repository path into targetRepository',
    });
  }
  if (!isValidRegistry(registry)) {
    throw new GitopsError(`targetRegistry ${JSON.stringify(registry)} is not a registry host[:port]`, {
      field: 'targetRegistry', hint: 'a host name or address with an optional port from 1 to 65535, e.g. prod.azurecr.io or localhost:5000',
    });
  }
  const targetTag = options.targetTag?.trim();
  if (targetTag && !isValidTag(targetTag)) {
    throw new GitopsError(`targetTag ${JSON.stringify(targetTag)} is not a valid image tag`, {
      field: 'targetTag', hint: 'a tag is 1-128 letters, digits, "_", "." and "-", not starting with "." or "-"',
    });
  }
  const targetRepository = options.targetRepository?.trim();
  if (targetRepository && /[:@\s]/.test(targetRepository)) {
    throw new GitopsError(`targetRepository ${JSON.stringify(targetRepository)} must be a repository path without tag or digest`, {
      field: 'targetRepository', hint: 'e.g. team/api; put the tag into targetTag',
    });
  }
  const repository = targetRepository || source.repository;
  const tag = targetTag || source.tag;
  if (!tag) {
    throw new GitopsError(`the source ${options.sourceImage} is given by digest only, so the target needs a tag`, { field: 'targetTag', hint: 'set targetTag' });
  }
  // Registry and tag are valid on their own: what is left to fail is the repository path.
  const target = withField(() => parseImageReference(`${registry}/${repository}:${tag}`), targetRepository ? 'targetRepository' : 'sourceImage');
  const hubAliases = ['docker.io', 'index.docker.io', 'registry-1.docker.io'];
  if (target.registry !== registry && !hubAliases.includes(registry)) {
    throw new GitopsError(`targetRegistry ${JSON.stringify(registry)} is not a registry host`, {
      field: 'targetRegistry', hint: 'a registry host has a dot or a port, or is localhost: e.g. prod.azurecr.io or localhost:5000',
    });
  }
  return { source, target: { ...target, tag: target.tag ?? tag } };
}

function withField<T>(parse: () => T, field: string): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof GitopsError && !error.field) throw new GitopsError(error.message, { field, hint: error.hint });
    throw error;
  }
}

/** The image fields UpdateImageTag writes for the promoted image. */
export function promotedImageRequest(hld: PromoteHldOptions, target: PromotionPlan['target'], digest: string): ImageTagRequest {
  const repository = `${target.registry}/${target.repository}`;
  const base = { imageRepository: repository, tagKey: hld.tagKey, repositoryKey: hld.repositoryKey, additionalValues: [] };
  switch (hld.pinDigest) {
    case 'none':
      return { ...base, imageTag: target.tag };
    case 'digestKey':
      return { ...base, imageTag: target.tag, digest, digestKey: hld.digestKey };
    case 'tagAtDigest':
      return { ...base, imageTag: target.tag, digest, digestInTag: true };
  }
}

/** UpdateImageTag's options for the promoted image, except the image fields. */
function hldUpdateRequest(options: PromoteContainerOptions, hld: PromoteHldOptions, plan: PromotionPlan): Omit<HldUpdateOptions, 'values'> {
  const targetText = formatImageReference(plan.target);
  return {
    target: hld.target,
    noNewKeys: hld.noNewKeys,
    commit: {
      subject: `Promote ${targetText} to ${hld.target.environment}`,
      messageTemplate: hld.commitMessage,
      author: hld.author,
      trailers: {},
    },
    push: hld.push,
    credential: options.gitCredential,
    provenance: options.provenance,
    workDir: options.workDir,
    dryRun: options.dryRun,
    logger: options.logger,
  };
}

export async function promoteContainer(options: PromoteContainerOptions): Promise<PromoteContainerResult> {
  const { logger } = options;
  const plan = planPromotion(options);
  if (options.verification.mode === 'manifestRepo') validateVerification(options.verification);
  const sourceText = formatImageReference(plan.source);
  const targetText = formatImageReference(plan.target);
  const copyOptions = {
    source: plan.source,
    target: plan.target,
    sourceCredentials: options.sourceCredentials,
    targetCredentials: options.targetCredentials,
    platforms: options.platforms,
    copyReferrers: options.copyReferrers,
    overwriteTag: options.overwriteTag,
    insecure: options.insecure,
    networkTimeoutSeconds: options.networkTimeoutSeconds,
    logger,
  };

  const hldRequest = options.hld && hldUpdateRequest(options, options.hld, plan);
  // HLD inputs are checked before any registry or git access, so a bad input copies nothing.
  if (hldRequest && options.hld) {
    validateHldUpdate(hldRequest);
    imageTagValues(promotedImageRequest(options.hld, plan.target, `sha256:${'0'.repeat(64)}`));
    if (hldRequest.commit.messageTemplate) expandTemplate(hldRequest.commit.messageTemplate, Object.fromEntries(TEMPLATE_PLACEHOLDERS.map((p) => [p, ''])));
  }

  const names = { ...TASK_INPUT_NAMES, ...options.names };
  // The resolving pass logs its "dry run" lines at debug level: for the user it is not a dry run.
  const quiet: Logger = { ...logger, info: (message) => logger.debug(message) };
  const copy = (dryRun: boolean, sourceDigest?: string) => copyImage({
    ...copyOptions,
    // The real copy names the verified digest, so a source tag moved meanwhile cannot slip through.
    source: sourceDigest ? { ...plan.source, digest: sourceDigest } : plan.source,
    dryRun,
    logger: dryRun ? quiet : logger,
  }).catch((error: unknown) => {
    throw explainCopyFailure(error, plan, names);
  });

  // Resolve first, writing nothing: digest, platforms, and a refused tag overwrite fail fast.
  const resolved = await copy(true);
  logger.info(`${sourceText} is ${resolved.sourceDigest} (${resolved.platforms.join(', ') || 'no platform recorded'})`);

  let verification: VerifyDeploymentResult | undefined;
  if (options.verification.mode === 'manifestRepo') {
    verification = await verifyDeployment({
      repositoryUrl: options.verification.repositoryUrl,
      branch: options.verification.branch,
      environmentPath: options.verification.environmentPath,
      syncTag: options.verification.syncTag,
      image: plan.source,
      digest: resolved.sourceDigest,
      credential: options.gitCredential,
      workDir: join(options.workDir, 'verify'),
      logger,
    });
  } else if (options.verification.mode === 'cluster') {
    verification = await verifyInCluster({ ...options.verification, image: plan.source, digest: resolved.sourceDigest, credential: options.gitCredential, workDir: join(options.workDir, 'verify'), logger });
  } else {
    logger.warn(`verification is off: promoting ${sourceText} without checking that it runs in pre-production`);
  }

  const nothingToWrite = options.dryRun || (resolved.alreadyPromoted && !options.copyReferrers);
  const copied: CopyResult = nothingToWrite ? resolved : await copy(false, resolved.sourceDigest);
  if (!options.dryRun && nothingToWrite) logger.info(`${targetText} already is ${copied.digest}: nothing to copy`);
  const promotedImage = `${plan.target.registry}/${plan.target.repository}@${copied.digest}`;
  if (options.dryRun) {
    logger.info(copied.alreadyPromoted ? `dry run: ${targetText} already is ${copied.digest}` : `dry run: would copy ${sourceText} to ${targetText} (${copied.digest})`);
  }

  let hld: HldUpdateResult | undefined;
  if (hldRequest && options.hld) {
    hld = await updateImageTag({
      ...hldRequest,
      image: promotedImageRequest(options.hld, plan.target, copied.digest),
      commit: {
        ...hldRequest.commit,
        placeholders: { image: promotedImage, digest: copied.digest, sourceImage: sourceText, tag: plan.target.tag },
        trailers: { 'Gitops-Image': promotedImage, 'Gitops-Source-Image': `${sourceText}@${resolved.sourceDigest}`, 'Gitops-Tag': plan.target.tag },
      },
    });
  }

  return {
    sourceImage: sourceText,
    sourceDigest: resolved.sourceDigest,
    targetImage: targetText,
    promotedImage,
    promotedDigest: copied.digest,
    bytesCopied: options.dryRun ? 0 : copied.bytesCopied,
    blobsUploaded: copied.blobsUploaded,
    blobsMounted: copied.blobsMounted,
    blobsSkipped: copied.blobsSkipped,
    referrersCopied: copied.referrersCopied,
    platforms: copied.platforms,
    alreadyPromoted: copied.alreadyPromoted,
    dryRun: options.dryRun,
    verification,
    hld,
  };
}

/**
 * Registry errors say which registry failed; a user needs to know which setting to fix: the
 * credentials of the source or target connection, or the tag that must not move.
 */
function explainCopyFailure(error: unknown, plan: PromotionPlan, names: SettingNames): unknown {
  if (!(error instanceof GitopsError)) return error;
  if (/already points at/.test(error.message)) {
    return new GitopsError(error.message, {
      field: names.targetTag,
      hint: `tags in a promotion target should not move: use a new ${names.targetTag}, or set ${names.overwriteTag} to replace it`,
      cause: error,
    });
  }
  const denied = /^registry (\S+)(?: rejected the credentials| refused the Azure AD token|.* answered HTTP (?:401|403))/.exec(error.message);
  if (!denied) return error;
  const registry = denied[1];
  const field = plan.source.registry === plan.target.registry ? `${names.sourceCredentials} / ${names.targetCredentials}`
    : registry === plan.target.registry ? names.targetCredentials : names.sourceCredentials;
  const hint = /Azure AD token/.test(error.message) ? error.hint : `check the user name and password of ${field} for ${registry}`;
  return new GitopsError(error.message, { field, hint, cause: error });
}

/** The Markdown summary: image, digest, bytes copied, platforms, verification, HLD commit or PR. */
export function promotionSummary(result: PromoteContainerResult, hldRepositoryUrl?: string): string {
  const changes: ValueChange[] = (result.hld?.changes ?? []).map((c) => ({
    file: result.hld!.file,
    key: c.key,
    oldValue: c.oldValue === undefined ? undefined : String(c.oldValue),
    newValue: String(c.newValue),
  }));
  const notes: string[] = [];
  if (result.dryRun) notes.push('dry run: nothing was copied, committed or pushed');
  if (result.alreadyPromoted) notes.push(`${result.targetImage} already pointed at ${result.promotedDigest}`);
  if (result.verification) notes.push(`verified in pre-production at ${result.verification.checked} (commit ${result.verification.commit.slice(0, 12)}): ${result.verification.matches.map((m) => m.file).join(', ')}`);
  if (!result.hld) notes.push('no HLD update was asked');
  else if (!result.hld.changed && !result.dryRun) notes.push('the HLD already had these values');
  if (result.hld?.closedPullRequest) notes.push(`closed the stale pull request #${result.hld.closedPullRequest.id} (${result.hld.closedPullRequest.url})`);
  const markdown = renderChangeSummary({
    title: `${result.dryRun ? 'Dry run: promote' : 'Promoted'} ${result.targetImage}`,
    changes,
    promotion: {
      sourceImage: `${result.sourceImage}@${result.sourceDigest}`,
      targetImage: result.promotedImage,
      digest: result.promotedDigest,
      bytesCopied: result.bytesCopied,
      blobsCopied: result.blobsUploaded + result.blobsMounted,
      blobsSkipped: result.blobsSkipped,
      platforms: result.platforms,
    },
    commit: result.hld?.commitId ? { sha: result.hld.commitId } : undefined,
    pullRequest: result.hld?.pullRequestId !== undefined && result.hld.pullRequestUrl ? { id: result.hld.pullRequestId, url: result.hld.pullRequestUrl } : undefined,
    note: notes.join('; ') || undefined,
  });
  const previous = result.hld && previousTagLine(result.hld.changes, result.targetImage.slice(result.targetImage.lastIndexOf(':') + 1), result.hld.file, { repositoryUrl: hldRepositoryUrl, branch: result.hld.branch });
  const withNotes = changes.length > 0 && notes.length > 0 ? `${markdown}\n${notes.map((n) => `- ${escapeMarkdown(n)}`).join('\n')}\n` : markdown;
  return previous ? `${withNotes}\n${previous}\n` : withNotes;
}
