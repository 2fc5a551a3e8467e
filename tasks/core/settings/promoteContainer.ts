/** PromoteContainer (CLI: promote). */
import { gitWriteSettings, hldTargetSettings } from './git';
import type { SettingGroup } from './setting';

export const VERIFICATION_MODES = ['none', 'manifestRepo', 'cluster'] as const;

/** How the promoted digest is written into the HLD besides the tag. */
export const PIN_DIGEST_MODES = ['none', 'digestKey', 'tagAtDigest'] as const;
export type PinDigest = (typeof PIN_DIGEST_MODES)[number];

export const CLUSTER_AGENTS = ['flux', 'argocd'] as const;

/** Limits of networkTimeoutSeconds (PromoteContainer: each registry operation, retries included). */
export const REGISTRY_NETWORK_TIMEOUT_SECONDS = { default: 300, min: 5, max: 86_400 } as const;

export const promoteContainerSettings = {
  sourceImage: { flag: '--source' },
  sourceImages: { flag: '--source' },
  targetRegistry: { flag: '--target-registry' },
  targetRepository: { flag: '--target-repository' },
  targetTag: { flag: '--target-tag' },
  overwriteTag: { flag: '--overwrite-tag', default: 'false' },
  platforms: { flag: '--platforms', default: 'all' },
  // The CLI flags say the opposite of the inputs.
  copyReferrers: { flag: '--no-referrers', default: 'true' },
  verification: { flag: '--no-verify', default: 'manifestRepo', allowed: VERIFICATION_MODES },
  verifyManifestRepositoryUrl: { flag: '--verify-repo' },
  verifyManifestBranch: { flag: '--verify-branch', default: 'main' },
  verifyEnvironmentPath: { flag: '--verify-path' },
  verifySyncTag: { flag: '--verify-sync-tag' },
  clusterAgent: { flag: '--verify-cluster', default: 'flux', allowed: CLUSTER_AGENTS },
  ...hldTargetSettings,
  environment: { flag: '--environment', default: 'prod' },
  pinDigest: { flag: '--pin-digest', default: 'none', allowed: PIN_DIGEST_MODES },
  digestKey: { flag: '--digest-key', default: 'image.digest' },
  dryRun: { flag: '--dry-run', default: 'false' },
  networkTimeoutSeconds: { flag: '--network-timeout', default: String(REGISTRY_NETWORK_TIMEOUT_SECONDS.default) },
  ...gitWriteSettings,
  commitMessage: { flag: '--commit-message', default: 'Promote {image} to {environment}' },
} as const satisfies SettingGroup;
