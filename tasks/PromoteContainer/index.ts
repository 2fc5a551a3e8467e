// PromoteContainer adapter: task inputs -> promoteContainer job options -> outputs and summary.
import * as tl from 'azure-pipelines-task-lib/task';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GitopsError } from '../core/errors';
import { parseTagPolicy } from '../core/jobs/tagPolicy';
import { keptTagsText } from '../core/jobs/updateImageTag';
import { parseSourceImageLines, promoteContainer, promotionMessage, promotionSummary, type PromoteContainerOptions, type PromoteHldOptions, type VerificationOptions } from '../core/jobs/promoteContainer';
import type { RegistryCredentials } from '../core/registry';
import { parseImageReference } from '../core/registry/reference';
import { boolInput, intInput, listInput, optionalInput, pickInput, settingInput, stringInput } from '../agent/inputs';
import { commitAuthor, explicitHldPath, pushInputs } from '../agent/gitInputs';
import type { Provenance } from '../core/provenance';
import { gitCredential, pipelineProvenance, registryConnection } from '../agent/pipeline';
import { runTask, type TaskContext } from '../agent/runTask';
import { azureRmRegistryCredentials } from '../agent/azureAd';
import { clusterSource } from '../agent/cluster';
import { promoteContainerSettings as S, REGISTRY_NETWORK_TIMEOUT_SECONDS } from '../core/settings';

runTask('PromoteContainer', async (ctx) => {
  const provenance = pipelineProvenance();
  const sourceImages = parseSourceImageLines(listInput('sourceImages'));
  const sourceImage = stringInput('sourceImage', { required: sourceImages.length === 0 });
  const networkTimeoutSeconds = intInput('networkTimeoutSeconds', REGISTRY_NETWORK_TIMEOUT_SECONDS.default, REGISTRY_NETWORK_TIMEOUT_SECONDS);
  const sourceHosts = new Set([sourceImage, ...sourceImages.map((s) => s.sourceImage)].filter(Boolean).map(registryHostOf));
  const source = await registryConnection(ctx, 'sourceRegistryConnection', [...sourceHosts].join(', ') || undefined, networkTimeoutSeconds * 1000);
  const target = await targetCredentials(ctx, networkTimeoutSeconds * 1000);
  const platformsText = settingInput(S, 'platforms');
  const verificationMode = pickInput('verification', S.verification.allowed, S.verification.default);
  const verification: VerificationOptions = verificationMode === 'none' ? { mode: 'none' } : verificationMode === 'cluster' ? {
    mode: 'cluster',
    cluster: clusterSource(ctx),
    repositoryUrl: stringInput('verifyManifestRepositoryUrl', { required: true }),
    branch: settingInput(S, 'verifyManifestBranch'),
    environmentPath: stringInput('verifyEnvironmentPath'),
  } : {
    mode: 'manifestRepo',
    repositoryUrl: stringInput('verifyManifestRepositoryUrl', { required: true }),
    branch: settingInput(S, 'verifyManifestBranch'),
    environmentPath: stringInput('verifyEnvironmentPath'),
    syncTag: optionalInput('verifySyncTag'),
  };
  const hld = hldOptions(provenance, sourceImages.length > 0);
  const credential = verification.mode !== 'none' || hld ? gitCredential(ctx, 'gitConnection') : undefined;
  const workDir = mkdtempSync(join(ctx.tempDirectory, 'promote-'));
  const options: PromoteContainerOptions = {
    sourceImage,
    sourceImages: sourceImages.length > 0 ? sourceImages : undefined,
    sourceCredentials: source?.credentials,
    targetRegistry: stringInput('targetRegistry', { required: true }),
    targetRepository: optionalInput('targetRepository'),
    targetTag: optionalInput('targetTag'),
    targetCredentials: target.credentials,
    // Credential errors name the input the user actually filled in.
    names: target.input ? { targetCredentials: target.input } : undefined,
    platforms: platformsText.toLowerCase() === 'all' ? 'all' : listInput('platforms', { commas: true }),
    copyReferrers: boolInput('copyReferrers', S.copyReferrers.default === 'true'),
    overwriteTag: boolInput('overwriteTag', false),
    verification,
    hld,
    gitCredential: credential,
    provenance,
    workDir,
    dryRun: boolInput('dryRun', false),
    networkTimeoutSeconds,
    // A connection whose URL says http:// is how a user marks a non-loopback registry as plain HTTP.
    insecure: [source?.url, target.url].some((url) => /^http:\/\//i.test(url ?? '')),
    logger: ctx.logger,
  };
  try {
    const result = await promoteContainer(options);
    // Several images: the outputs list them in input order, separated by commas.
    ctx.output('promotedImage', result.images.map((i) => i.promotedImage).join(','));
    ctx.output('promotedDigest', result.images.map((i) => i.promotedDigest).join(','));
    ctx.output('bytesCopied', result.bytesCopied);
    ctx.output('hldCommitId', result.hld?.commitId ?? '');
    ctx.output('hldChanged', !!result.hld?.changed && !result.dryRun);
    ctx.output('pullRequestId', result.hld?.pullRequestId ?? '');
    ctx.output('pullRequestUrl', result.hld?.pullRequestUrl ?? '');
    ctx.summary('Container promotion', promotionSummary(result, options.hld?.target.repositoryUrl));
    const kept = result.hld ? keptTagsText(result.hld) : '';
    if (kept) ctx.logger.warn(kept);
    return promotionMessage(result);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
});

/**
 * The target registry's credentials: a Docker registry connection, or an Azure AD token for ACR's
 * token exchange from an Azure Resource Manager connection (workload identity federation or a
 * service principal secret).
 */
async function targetCredentials(ctx: TaskContext, timeoutMs: number): Promise<{ credentials?: RegistryCredentials; url?: string; input?: string }> {
  const docker = await registryConnection(ctx, 'targetRegistryConnection', tl.getInput('targetRegistry', false)?.trim().replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, ''), timeoutMs);
  if (docker) return { ...docker, input: 'targetRegistryConnection' };
  const azure = await azureRmRegistryCredentials(ctx, 'targetAzureSubscription', timeoutMs);
  return azure ? { credentials: azure, input: 'targetAzureSubscription' } : {};
}

/** The registry host of an image reference, when it parses (core reports a bad reference itself). */
function registryHostOf(image: string): string | undefined {
  try {
    return parseImageReference(image).registry;
  } catch {
    return undefined;
  }
}

function hldOptions(provenance: Provenance, several: boolean): PromoteHldOptions | undefined {
  const repositoryUrl = optionalInput('hldRepositoryUrl');
  const checkoutPath = explicitHldPath();
  if (!repositoryUrl && !checkoutPath) return undefined;
  if (several && stringInput('subcomponent')) {
    throw new GitopsError('with sourceImages each line names its subcomponent: leave subcomponent empty', { field: 'subcomponent' });
  }
  return {
    target: {
      repositoryUrl,
      checkoutPath,
      branch: settingInput(S, 'hldBranch'),
      componentPath: stringInput('componentPath'),
      environment: settingInput(S, 'environment'),
      subcomponent: several ? '' : stringInput('subcomponent'),
    },
    tagKey: settingInput(S, 'tagKey'),
    repositoryKey: settingInput(S, 'repositoryKey'),
    pinDigest: pickInput('pinDigest', S.pinDigest.allowed, S.pinDigest.default),
    digestKey: settingInput(S, 'digestKey'),
    noNewKeys: boolInput('noNewKeys', false),
    createEnvironment: boolInput('createEnvironment', false),
    createSubcomponent: boolInput('createSubcomponent', false),
    tagPolicy: parseTagPolicy(stringInput('tagPolicy')),
    push: pushInputs(),
    commitMessage: tl.getInput('commitMessage', false) ?? undefined,
    author: commitAuthor(provenance),
  };
}
