import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseTagPolicy } from '../../tasks/core/jobs/tagPolicy';
import { keptTagsText } from '../../tasks/core/jobs/updateImageTag';
import { parseSourceImageLines, promoteContainer, type PinDigest, type PromoteHldOptions } from '../../tasks/core/jobs/promoteContainer';
import type { Provenance } from '../../tasks/core/provenance';
import type { RegistryCredentials } from '../../tasks/core/registry';
import { promoteContainerSettings as S, REGISTRY_NETWORK_TIMEOUT_SECONDS as TIMEOUT } from '../../tasks/core/settings';
import { CliCommand, UsageError } from './command';
import { clusterSourceFrom } from './historySource';
import { authorFrom, gitCredentialFromEnv, gitEnvironmentHelp, gitWriteHelp, gitWriteOptions, hldTargetFrom, hldTargetOptions, provenanceFromEnv, pushOptionsFrom, type GitWriteValues, type HldTargetValues } from './shared';

export const promoteCommand: CliCommand = {
  name: 'promote',
  settings: S,
  summary: 'verify an image runs in pre-production, copy it by digest to another registry, update the HLD',
  help: `Usage: bedrock-gitops promote --source REGISTRY/REPO:TAG --target-registry HOST[:PORT] [options]

Copies the image (all platforms, signatures and SBOMs) registry to registry without pulling it,
after checking that the pre-production manifests reference it; then writes the target registry,
tag (and digest) into the HLD like update-image-tag. Prints the promoted image by digest.

Image:
  --source REF              image to promote: registry/repository:tag or ...@sha256:...
  --source SUB=REF          several images promoted together (repeat it): each is verified and
                            copied first, then one HLD commit writes each to its subcomponent
  --target-registry HOST    production registry host[:port]
  --target-repository PATH  repository in the target (default: the source repository)
  --target-tag TAG          tag in the target and the HLD (default: the source tag)
  --platforms LIST          all (default) or e.g. linux/amd64,linux/arm64
  --no-referrers            do not copy signatures, SBOMs and other referrers
  --overwrite-tag           replace a target tag that points at a different digest
  --insecure                plain HTTP to non-loopback registries
  --network-timeout SECONDS deadline of each registry operation, retries included, 5-86400
                            (default 300; a blob transfer gets one more second per MiB)
Verification:
  --no-verify               skip the pre-production check
  --verify-repo URL         manifest repository with the pre-production manifests
  --verify-branch NAME      its branch (default: main)
  --verify-path DIR         the pre-production environment folder in it
  --verify-sync-tag TAG     check the commit this tag (moved by the GitOps agent) points at
  --verify-cluster SOURCE   check the commit the cluster applied: flux:NAMESPACE/KUSTOMIZATION
                            (Kubernetes API, --kubeconfig) or argocd:[NAMESPACE/]APPLICATION
                            (--argocd-server, token in ARGOCD_AUTH_TOKEN; must be Healthy)
  --kubeconfig FILE         default $KUBECONFIG, else ~/.kube/config
  --kube-context NAME       default: the kubeconfig's current-context
  --argocd-server URL       Argo CD server, e.g. https://argocd.example.com
HLD update (omit --hld-repo and --hld to copy only):
  --hld-repo URL            HLD repository to clone, edit and push
  --hld DIR                 or an existing HLD checkout
  --hld-branch NAME         branch (default: main)
  --component-path DIR      component folder inside the HLD (default: the root)
  --environment ENV         config/<env>.yaml to edit (default: prod)
  --subcomponent a.b        subcomponent whose config is edited (default: the component)
  --tag-key KEY             default image.tag
  --repository-key KEY      default image.repository
  --pin-digest MODE         none (default), digestKey or tagAtDigest
  --digest-key KEY          default image.digest
  --no-new-keys             fail unless the subcomponent and keys already exist
  --create-environment      allow an environment without a config file in the component
  --create-subcomponent     allow a subcomponent that is not in the component tree
  --tag-policy P            auto (default: never move a version or build number backwards),
                            semver, numeric (fail when a tag does not parse), any (always write)
  --dry-run                 resolve, verify and report; copy, commit and push nothing
${gitWriteHelp('{image} {digest} {sourceImage} {tag} {environment} {subcomponent} {componentPath} {branch}', 'the HLD branch')}

Credentials come from the environment, never from arguments:
  GITOPS_SOURCE_REGISTRY_USERNAME / GITOPS_SOURCE_REGISTRY_PASSWORD   source registry (else anonymous)
  GITOPS_TARGET_REGISTRY_USERNAME / GITOPS_TARGET_REGISTRY_PASSWORD   target registry
${gitEnvironmentHelp}
  (the git token serves both the pre-production manifest repository and the HLD repository)`,
  async run(context) {
    const { values } = parseArgs({
      args: context.args,
      options: {
        source: { type: 'string', multiple: true },
        'target-registry': { type: 'string' },
        'target-repository': { type: 'string' },
        'target-tag': { type: 'string' },
        platforms: { type: 'string' },
        'no-referrers': { type: 'boolean' },
        'overwrite-tag': { type: 'boolean' },
        insecure: { type: 'boolean' },
        'network-timeout': { type: 'string' },
        'no-verify': { type: 'boolean' },
        'verify-repo': { type: 'string' },
        'verify-branch': { type: 'string' },
        'verify-path': { type: 'string' },
        'verify-sync-tag': { type: 'string' },
        'verify-cluster': { type: 'string' },
        kubeconfig: { type: 'string' },
        'kube-context': { type: 'string' },
        'argocd-server': { type: 'string' },
        ...hldTargetOptions,
        'pin-digest': { type: 'string' },
        'digest-key': { type: 'string' },
        'dry-run': { type: 'boolean' },
        ...gitWriteOptions,
      },
      allowPositionals: false,
    });
    const sources = values.source ?? [];
    if (sources.length === 0) throw new UsageError('--source is required');
    const several = sources.length > 1 || sources.some((s) => s.includes('='));
    const sourceImages = several ? parseSourceImageLines(sources, '--source') : undefined;
    if (several && values.subcomponent !== undefined) throw new UsageError('--source SUB=REF names each subcomponent: drop --subcomponent');
    if (!values['target-registry']) throw new UsageError('--target-registry is required');
    if (!values['no-verify'] && !values['verify-repo']) throw new UsageError('give --verify-repo (and --verify-path), or --no-verify');
    const timeoutText = values['network-timeout'] ?? S.networkTimeoutSeconds.default;
    const networkTimeoutSeconds = /^\d+$/.test(timeoutText.trim()) ? Number(timeoutText) : NaN;
    if (!(networkTimeoutSeconds >= TIMEOUT.min && networkTimeoutSeconds <= TIMEOUT.max)) {
      throw new UsageError(`--network-timeout must be a whole number of seconds from ${TIMEOUT.min} to ${TIMEOUT.max}, not ${JSON.stringify(timeoutText)}`);
    }
    const env = context.env;
    const provenance = provenanceFromEnv(env);
    const hld = hldOptions(values, context.cwd, provenance);
    if (hld) hld.tagPolicy = parseTagPolicy(values['tag-policy'], '--tag-policy');
    const workDir = mkdtempSync(join(tmpdir(), 'bedrock-gitops-promote-'));
    try {
      const result = await promoteContainer({
        sourceImage: several ? '' : sources[0],
        sourceImages,
        sourceCredentials: registryCredentials(env, 'SOURCE'),
        targetRegistry: values['target-registry'],
        targetRepository: values['target-repository'],
        targetTag: values['target-tag'],
        targetCredentials: registryCredentials(env, 'TARGET'),
        platforms: !values.platforms || values.platforms === 'all' ? 'all' : values.platforms.split(',').map((p) => p.trim()).filter(Boolean),
        copyReferrers: !values['no-referrers'],
        overwriteTag: !!values['overwrite-tag'],
        verification: values['no-verify'] ? { mode: 'none' } : values['verify-cluster'] ? {
          mode: 'cluster',
          cluster: clusterSourceFrom(values['verify-cluster'], values, env, '--verify-cluster'),
          repositoryUrl: values['verify-repo']!,
          branch: values['verify-branch'] ?? S.verifyManifestBranch.default,
          environmentPath: values['verify-path'] ?? '',
        } : {
          mode: 'manifestRepo',
          repositoryUrl: values['verify-repo']!,
          branch: values['verify-branch'] ?? S.verifyManifestBranch.default,
          environmentPath: values['verify-path'] ?? '',
          syncTag: values['verify-sync-tag'],
        },
        hld,
        gitCredential: gitCredentialFromEnv(env),
        provenance,
        workDir,
        dryRun: !!values['dry-run'],
        insecure: !!values.insecure,
        networkTimeoutSeconds,
        names: {
          sourceCredentials: 'GITOPS_SOURCE_REGISTRY_USERNAME/PASSWORD',
          targetCredentials: 'GITOPS_TARGET_REGISTRY_USERNAME/PASSWORD',
          targetTag: '--target-tag',
          overwriteTag: '--overwrite-tag',
        },
        logger: context.logger,
      });
      for (const image of result.images) context.print(image.promotedImage);
      if (result.hld?.kept.length) context.logger.warn(keptTagsText(result.hld));
      if (result.hld?.pullRequestUrl) context.print(`pull request: ${result.hld.pullRequestUrl}`);
      else if (result.hld?.commitId) context.print(`HLD commit: ${result.hld.commitId}`);
      context.logger.info(`${result.dryRun ? 'dry run, nothing copied' : `${result.bytesCopied} bytes copied`}${result.alreadyPromoted ? ' (already promoted)' : ''}; HLD ${result.hld ? (result.hld.changed ? 'changed' : 'unchanged') : 'not updated'}`);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  },
};

function registryCredentials(env: NodeJS.ProcessEnv, which: 'SOURCE' | 'TARGET'): RegistryCredentials | undefined {
  const username = env[`GITOPS_${which}_REGISTRY_USERNAME`];
  const password = env[`GITOPS_${which}_REGISTRY_PASSWORD`];
  if (!username && !password) return undefined;
  return { username: username ?? '', password: password ?? '' };
}

interface HldValues extends GitWriteValues, HldTargetValues {
  'pin-digest'?: string;
  'digest-key'?: string;
}

function hldOptions(values: HldValues, cwd: string, provenance: Provenance): PromoteHldOptions | undefined {
  // Validate the shared flags even when the HLD is not updated: a typo should not pass silently.
  const push = pushOptionsFrom(values);
  const repositoryUrl = values['hld-repo'];
  const checkout = values.hld;
  if (!repositoryUrl && !checkout) return undefined;
  const pinDigest = values['pin-digest'] ?? S.pinDigest.default;
  if (!isPinDigest(pinDigest)) throw new UsageError(`--pin-digest must be one of ${S.pinDigest.allowed.join(', ')}`);
  return {
    target: hldTargetFrom(values, cwd, S.environment.default),
    tagKey: values['tag-key'] ?? S.tagKey.default,
    repositoryKey: values['repository-key'] ?? S.repositoryKey.default,
    pinDigest,
    digestKey: values['digest-key'] ?? S.digestKey.default,
    noNewKeys: !!values['no-new-keys'],
    createEnvironment: !!values['create-environment'],
    createSubcomponent: !!values['create-subcomponent'],
    push,
    commitMessage: values['commit-message'],
    author: authorFrom(values, provenance),
  };
}

function isPinDigest(value: string): value is PinDigest {
  return (S.pinDigest.allowed as readonly string[]).includes(value);
}
