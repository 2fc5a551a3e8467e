/**
 * The PromoteContainer job: resolve the pre-production image, prove it runs in pre-production,
 * copy it by digest to the production registry, then write the production registry, tag (and
 * digest) into the HLD through UpdateImageTag's code path. The task adapter and the CLI both run it.
 */
import { join } from 'node:path';
import type { ServiceCredential } from '../credentials';
import { GitopsError, RegistryError } from '../errors';
import type { Logger } from '../logger';
import type { Provenance } from '../provenance';
import { copyImage, formatImageReference, parseImageReference, resolvePromotion, type CopyResult, type ImageReference, type RegistryCredentials, type Resolution } from '../registry';
import { isValidRegistry, isValidTag } from '../registry/reference';
import { escapeMarkdown, renderChangeSummary, type ValueChange } from '../report';
import { expandTemplate } from './commitMessage';
import { assertTagFitsPolicy, type TagPolicy } from './tagPolicy';
import { changeKey, preflightHldUpdate, validateHldUpdate, type HldUpdateOptions, type HldUpdateResult } from './updateHld';
import type { HldTarget, PushOptions } from './types';
import { imageTagValues, keptTagsText, parseSubcomponentLines, updateImageTag, type ImageTagRequest } from './updateImageTag';
import { validateVerification, verifyDeployment, type VerifyDeploymentResult } from './verifyDeployment';
import type { ClusterSource } from '../cluster';
import { verifyInCluster } from '../cluster/verify';
import { previousTagLine } from '../trace/previousTag';

/** Placeholders of the commitMessage template (the last four come from the HLD update itself). */
const TEMPLATE_PLACEHOLDERS = ['image', 'digest', 'sourceImage', 'tag', 'environment', 'subcomponent', 'componentPath', 'branch'];

import type { PinDigest } from '../settings/promoteContainer';

export type { PinDigest };

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
  /** Allow an environment without a config file in the component (default: refused as a typo). */
  createEnvironment?: boolean;
  /** Allow a subcomponent that is not in the component tree (default: refused as a typo). */
  createSubcomponent?: boolean;
  /** Never move a tag backwards (default auto); `any` always writes. */
  tagPolicy?: TagPolicy;
  push: PushOptions;
  /** Template with {image}, {digest}, {sourceImage}, {tag}, {environment}, {subcomponent}. */
  commitMessage?: string;
  author: { name: string; email: string };
}

/** One of several images promoted together, and the subcomponent whose config receives it. */
export interface SourceImageEntry {
  subcomponent: string;
  sourceImage: string;
}

export interface PromoteContainerOptions {
  /** `registry/repository:tag` or `...@sha256:...`. */
  sourceImage: string;
  /**
   * Several images promoted together (instead of sourceImage and the HLD target's subcomponent):
   * all are resolved, verified and copied first, then one HLD commit writes them all.
   */
  sourceImages?: SourceImageEntry[];
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

/** The first image's fields (with several images: bytes and blobs summed, alreadyPromoted when all were). */
export interface PromoteContainerResult extends Omit<PromotedImage, 'subcomponent'> {
  blobsUploaded: number;
  blobsMounted: number;
  blobsSkipped: number;
  referrersCopied: number;
  dryRun: boolean;
  verification?: VerifyDeploymentResult;
  hld?: HldUpdateResult;
  /** Every image promoted, in input order (one entry without sourceImages); the fields above are the first one's. */
  images: PromotedImage[];
}

/** What was promoted for one image. */
export interface PromotedImage {
  /** With sourceImages: the subcomponent the image was written to. */
  subcomponent?: string;
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
  /** The target tag already pointed at this digest. */
  alreadyPromoted: boolean;
  platforms: string[];
}

/**
 * The `sourceImages` input (CLI: repeated --source with `subcomponent=`): one
 * `subcomponent=registry/repository:tag` per line; blank lines are skipped.
 */
export function parseSourceImageLines(lines: readonly string[], field = 'sourceImages'): SourceImageEntry[] {
  return parseSubcomponentLines(lines, field, 'registry/repository:tag', 'api=preprod.azurecr.io/team/api:1.2.3')
    .map(({ subcomponent, value }) => ({ subcomponent, sourceImage: value }));
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

function withField<T>(parse: () => T, field: string, prefix = ''): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof GitopsError && (!error.field || prefix)) throw new GitopsError(`${prefix}${error.message}`, { field, hint: error.hint });
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
function hldUpdateRequest(options: PromoteContainerOptions, hld: PromoteHldOptions, plan: PromotionPlan, count: number): Omit<HldUpdateOptions, 'values'> {
  const targetText = formatImageReference(plan.target);
  return {
    target: hld.target,
    noNewKeys: hld.noNewKeys,
    createEnvironment: hld.createEnvironment,
    createSubcomponent: hld.createSubcomponent,
    subcomponentField: count > 1 || options.sourceImages?.length ? 'sourceImages' : undefined,
    commit: {
      subject: count > 1 ? `Promote ${count} images to ${hld.target.environment}` : `Promote ${targetText} to ${hld.target.environment}`,
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

interface ImageRun {
  entry: SourceImageEntry;
  plan: PromotionPlan;
  sourceText: string;
  targetText: string;
  /** Reads source and target, writes nothing: digest, platforms, whether the target has it. */
  resolve: () => Promise<Resolution>;
  /** Copies the resolved digest (a source tag moved meanwhile cannot slip through). */
  copy: (sourceDigest: string) => Promise<CopyResult>;
  resolved?: Resolution;
  copied?: CopyResult;
}

/**
 * The steps: plan (parse every image, derive its target) → check the HLD target before any
 * registry access → resolve each image (digest, platforms, a refused tag overwrite) → verify it
 * runs in pre-production → copy each by digest → write the HLD once → the result.
 */
export async function promoteContainer(options: PromoteContainerOptions): Promise<PromoteContainerResult> {
  const runs = planImages(options);
  const hldRequest = await checkHldTarget(options, runs);
  await resolveImages(runs, options.logger);
  const verification = await verifyImages(options, runs);
  const images = await copyImages(options, runs);
  const hld = hldRequest && options.hld ? await writeHld(options, options.hld, hldRequest, runs, images) : undefined;
  return promotionResult(options, runs, images, verification, hld);
}

const isSeveral = (options: PromoteContainerOptions) => (options.sourceImages?.length ?? 0) > 0;

/** Each image to promote, with its target reference and its copy; errors name the input. */
function planImages(options: PromoteContainerOptions): ImageRun[] {
  const { logger } = options;
  if (options.verification.mode === 'manifestRepo') validateVerification(options.verification);
  const several = isSeveral(options);
  if (several && options.sourceImage?.trim()) {
    throw new GitopsError('set either sourceImages or sourceImage, not both', { field: 'sourceImages', hint: 'put every image into sourceImages as subcomponent=registry/repository:tag' });
  }
  if (several && (options.targetRepository?.trim() || options.targetTag?.trim())) {
    throw new GitopsError('with sourceImages each image keeps its own repository and tag: targetRepository and targetTag must be empty', { field: 'sourceImages' });
  }
  const entries: SourceImageEntry[] = several ? options.sourceImages! : [{ subcomponent: options.hld?.target.subcomponent ?? '', sourceImage: options.sourceImage }];
  const names = { ...TASK_INPUT_NAMES, ...options.names };
  return entries.map((entry, index) => {
    const plan = several
      ? withField(() => planPromotion({ ...options, sourceImage: entry.sourceImage }), 'sourceImages', `sourceImages line ${index + 1}: `)
      : planPromotion(options);
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
    return {
      entry,
      plan,
      sourceText: formatImageReference(plan.source),
      targetText: formatImageReference(plan.target),
      resolve: () => resolvePromotion(copyOptions).catch((error: unknown) => {
        throw explainCopyFailure(error, plan, names);
      }),
      copy: (sourceDigest: string) => copyImage({ ...copyOptions, source: { ...plan.source, digest: sourceDigest } }).catch((error: unknown) => {
        throw explainCopyFailure(error, plan, names);
      }),
    };
  });
}

/**
 * The HLD update's options, checked before any registry or git access so a bad input copies
 * nothing; a typo in the environment or a subcomponent fails now too. Undefined: copy only.
 */
async function checkHldTarget(options: PromoteContainerOptions, runs: readonly ImageRun[]): Promise<Omit<HldUpdateOptions, 'values'> | undefined> {
  if (!options.hld) return undefined;
  const several = isSeveral(options);
  const hldRequest = hldUpdateRequest(options, options.hld, runs[0].plan, several ? runs.length : 1);
  const edits = runs.map((run) => ({ subcomponent: run.entry.subcomponent, values: [] }));
  validateHldUpdate(several ? { ...hldRequest, edits } : hldRequest);
  for (const run of runs) {
    imageTagValues(promotedImageRequest(options.hld, run.plan.target, `sha256:${'0'.repeat(64)}`));
    assertTagFitsPolicy(run.plan.target.tag, options.hld.tagPolicy ?? 'auto', several ? 'sourceImages' : 'targetTag');
  }
  if (hldRequest.commit.messageTemplate) expandTemplate(hldRequest.commit.messageTemplate, Object.fromEntries(TEMPLATE_PLACEHOLDERS.map((p) => [p, ''])));
  await preflightHldUpdate({ ...hldRequest, values: [], edits });
  return hldRequest;
}

/** Resolves every image first, writing nothing: digest, platforms, and a refused tag overwrite fail fast. */
async function resolveImages(runs: ImageRun[], logger: Logger): Promise<void> {
  for (const run of runs) {
    run.resolved = await run.resolve();
    logger.info(`${run.sourceText} is ${run.resolved.sourceDigest} (${run.resolved.platforms.join(', ') || 'no platform recorded'})`);
  }
}

/** Proves each resolved digest runs in pre-production (manifest repository or cluster); the first proof is reported. */
async function verifyImages(options: PromoteContainerOptions, runs: readonly ImageRun[]): Promise<VerifyDeploymentResult | undefined> {
  const { logger } = options;
  const verification = options.verification;
  if (verification.mode === 'none') {
    logger.warn(`verification is off: promoting ${runs.map((r) => r.sourceText).join(', ')} without checking that it runs in pre-production`);
    return undefined;
  }
  let first: VerifyDeploymentResult | undefined;
  for (const [index, run] of runs.entries()) {
    const common = {
      image: run.plan.source,
      digest: run.resolved!.sourceDigest,
      credential: options.gitCredential,
      workDir: join(options.workDir, index === 0 ? 'verify' : `verify-${index}`),
      logger,
    };
    const verified = verification.mode === 'manifestRepo'
      ? await verifyDeployment({
          repositoryUrl: verification.repositoryUrl,
          branch: verification.branch,
          environmentPath: verification.environmentPath,
          syncTag: verification.syncTag,
          ...common,
        })
      : await verifyInCluster({ ...verification, ...common });
    first ??= verified;
  }
  return first;
}

/** Copies every image before the HLD is touched: when one fails, nothing is written to the HLD. */
async function copyImages(options: PromoteContainerOptions, runs: ImageRun[]): Promise<PromotedImage[]> {
  const { logger } = options;
  for (const run of runs) {
    const resolved = run.resolved!;
    const nothingToWrite = options.dryRun || (resolved.alreadyPromoted && !options.copyReferrers);
    run.copied = nothingToWrite ? nothingCopied(resolved) : await run.copy(resolved.sourceDigest);
    if (!options.dryRun && nothingToWrite) logger.info(`${run.targetText} already is ${run.copied.digest}: nothing to copy`);
    if (options.dryRun) {
      logger.info(run.copied.alreadyPromoted ? `dry run: ${run.targetText} already is ${run.copied.digest}` : `dry run: would copy ${run.sourceText} to ${run.targetText} (${run.copied.digest})`);
    }
  }
  const several = isSeveral(options);
  return runs.map((run) => ({
    subcomponent: several ? run.entry.subcomponent : undefined,
    sourceImage: run.sourceText,
    sourceDigest: run.resolved!.sourceDigest,
    targetImage: run.targetText,
    promotedImage: `${run.plan.target.registry}/${run.plan.target.repository}@${run.copied!.digest}`,
    promotedDigest: run.copied!.digest,
    bytesCopied: options.dryRun ? 0 : run.copied!.bytesCopied,
    alreadyPromoted: run.copied!.alreadyPromoted,
    platforms: run.copied!.platforms,
  }));
}

/** The result of a copy that had nothing to write (a dry run, or the target already has the image). */
function nothingCopied(resolved: Resolution): CopyResult {
  return { ...resolved, bytesCopied: 0, blobsUploaded: 0, blobsMounted: 0, blobsSkipped: 0, manifestsWritten: 0, referrersCopied: 0 };
}

/** One HLD commit (or pull request) with every promoted image, through UpdateImageTag's code path. */
function writeHld(options: PromoteContainerOptions, hldOptions: PromoteHldOptions, hldRequest: Omit<HldUpdateOptions, 'values'>, runs: readonly ImageRun[], images: readonly PromotedImage[]): Promise<HldUpdateResult> {
  const several = isSeveral(options);
  const requests = runs.map((run) => ({ ...promotedImageRequest(hldOptions, run.plan.target, run.copied!.digest), subcomponent: run.entry.subcomponent }));
  return updateImageTag({
    ...hldRequest,
    image: several ? undefined : requests[0],
    images: several ? requests : undefined,
    tagPolicy: hldOptions.tagPolicy ?? 'auto',
    commit: {
      ...hldRequest.commit,
      placeholders: {
        image: images.map((i) => i.promotedImage).join(', '),
        digest: images.map((i) => i.promotedDigest).join(', '),
        sourceImage: images.map((i) => i.sourceImage).join(', '),
        tag: runs.map((r) => r.plan.target.tag).join(', '),
      },
      trailers: several
        ? { 'Gitops-Source-Image': images.map((i) => `${i.subcomponent}=${i.sourceImage}@${i.sourceDigest}`) }
        : { 'Gitops-Image': images[0].promotedImage, 'Gitops-Source-Image': `${images[0].sourceImage}@${images[0].sourceDigest}`, 'Gitops-Tag': runs[0].plan.target.tag },
    },
  });
}

/** The first image's fields, with the counts of every image summed. */
function promotionResult(options: PromoteContainerOptions, runs: readonly ImageRun[], images: PromotedImage[], verification: VerifyDeploymentResult | undefined, hld: HldUpdateResult | undefined): PromoteContainerResult {
  const first = images[0];
  const sum = (count: (copied: CopyResult) => number) => runs.reduce((total, r) => total + count(r.copied!), 0);
  return {
    sourceImage: first.sourceImage,
    sourceDigest: first.sourceDigest,
    targetImage: first.targetImage,
    promotedImage: first.promotedImage,
    promotedDigest: first.promotedDigest,
    bytesCopied: images.reduce((total, i) => total + i.bytesCopied, 0),
    blobsUploaded: sum((c) => c.blobsUploaded),
    blobsMounted: sum((c) => c.blobsMounted),
    blobsSkipped: sum((c) => c.blobsSkipped),
    referrersCopied: sum((c) => c.referrersCopied),
    platforms: runs[0].copied!.platforms,
    alreadyPromoted: images.every((i) => i.alreadyPromoted),
    dryRun: options.dryRun,
    verification,
    hld,
    images,
  };
}

/**
 * Registry errors say which registry failed; a user needs to know which setting to fix: the
 * credentials of the source or target connection, or the tag that must not move.
 */
function explainCopyFailure(error: unknown, plan: PromotionPlan, names: SettingNames): unknown {
  if (!(error instanceof RegistryError)) return error;
  if (error.failure === 'tag-moved') {
    return new GitopsError(error.message, {
      field: names.targetTag,
      hint: `tags in a promotion target should not move: use a new ${names.targetTag}, or set ${names.overwriteTag} to replace it`,
      cause: error,
    });
  }
  const { registry } = error;
  const field = plan.source.registry === plan.target.registry ? `${names.sourceCredentials} / ${names.targetCredentials}`
    : registry === plan.target.registry ? names.targetCredentials : names.sourceCredentials;
  const hint = error.failure === 'azure-ad-refused' ? error.hint : `check the user name and password of ${field} for ${registry}`;
  return new GitopsError(error.message, { field, hint, cause: error });
}

/** One line for the task result: what was promoted, and the HLD commit or pull request. */
export function promotionMessage(result: PromoteContainerResult): string {
  const kept = result.hld ? keptTagsText(result.hld) : '';
  const hldText = !result.hld ? '' : result.hld.pullRequestUrl ? `; pull request ${result.hld.pullRequestUrl}`
    : result.hld.changed ? `; HLD commit ${result.hld.commitId}` : kept ? `; ${kept}` : '; HLD already up to date';
  if (result.images.length > 1 && !result.dryRun) {
    return `Promoted ${result.images.length} images (${result.images.map((i) => i.sourceImage).join(', ')})${hldText}`;
  }
  if (result.dryRun) return `Dry run: ${result.alreadyPromoted ? `${result.targetImage} already is ${result.promotedDigest}` : `would promote ${result.sourceImage} to ${result.promotedImage}`}; nothing was changed`;
  return `${result.alreadyPromoted ? 'Already promoted' : 'Promoted'} ${result.sourceImage} to ${result.promotedImage}${hldText}`;
}

/** The Markdown summary: image, digest, bytes copied, platforms, verification, HLD commit or PR. */
export function promotionSummary(result: PromoteContainerResult, hldRepositoryUrl?: string): string {
  const changes: ValueChange[] = (result.hld?.changes ?? []).map((c) => ({
    file: result.hld!.file,
    key: changeKey(c),
    oldValue: c.oldValue === undefined ? undefined : String(c.oldValue),
    newValue: String(c.newValue),
  }));
  const notes: string[] = [];
  if (result.dryRun) notes.push('dry run: nothing was copied, committed or pushed');
  if (result.alreadyPromoted) notes.push(`${result.targetImage} already pointed at ${result.promotedDigest}`);
  if (result.verification) notes.push(`verified in pre-production at ${result.verification.checked} (commit ${result.verification.commit.slice(0, 12)}): ${result.verification.matches.map((m) => m.file).join(', ')}`);
  if (!result.hld) notes.push('no HLD update was asked');
  else if (!result.hld.changed && !result.dryRun) notes.push('the HLD already had these values');
  for (const k of result.hld?.kept ?? []) notes.push(`${k.subcomponent || 'root'} keeps ${k.key} ${k.current}: newer than ${k.tag} (tagPolicy), not written`);
  if (result.images.length > 1) {
    for (const image of result.images) notes.push(`${image.subcomponent}: ${image.sourceImage}@${image.sourceDigest} → ${image.promotedImage}${image.alreadyPromoted ? ' (already promoted)' : ''}`);
  }
  if (result.hld?.closedPullRequest) notes.push(`closed the stale pull request #${result.hld.closedPullRequest.id} (${result.hld.closedPullRequest.url})`);
  const markdown = renderChangeSummary({
    title: `${result.dryRun ? 'Dry run: promote' : 'Promoted'} ${result.images.length > 1 ? `${result.images.length} images` : result.targetImage}`,
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
