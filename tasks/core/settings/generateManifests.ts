/** GenerateManifests (CLI: publish; its render part: generate). */
import { gitWriteSettings } from './git';
import type { SettingGroup } from './setting';

/** The render settings that the `generate` command shares with GenerateManifests. */
export const renderSettings = {
  hldPath: { flag: '--hld' },
  environments: { flag: '--environments', default: 'prod' },
  outputPath: { flag: '--output' },
  allowEnvironmentsWithoutConfig: { flag: '--allow-environments-without-config', default: 'false' },
  helmPath: { flag: '--helm' },
  helmVersion: { flag: '--helm-version' },
  helmDownloadUrl: { flag: '--helm-download-url', default: 'https://get.helm.sh' },
  kustomizePath: { flag: '--kustomize' },
  cacheDirectory: { flag: '--cache' },
  networkTimeoutSeconds: { flag: '--network-timeout', default: '300' },
  // The CLI flag says the opposite of the input.
  runHooks: { flag: '--no-hooks', default: 'true' },
  allowRemoteHooks: { flag: '--allow-remote-hooks', default: 'false' },
} as const satisfies SettingGroup;

/** Limits of networkTimeoutSeconds (GenerateManifests: each fetch of a git or http source). */
export const RENDER_NETWORK_TIMEOUT_SECONDS = { default: 300, min: 1, max: 3600 } as const;

export const generateManifestsSettings = {
  ...renderSettings,
  hldRepositoryUrl: { flag: '--hld-repo' },
  hldBranch: { flag: '--hld-branch', default: 'main' },
  manifestRepositoryUrl: { flag: '--manifest-repo' },
  manifestBranch: { flag: '--branch', default: 'main' },
  manifestPath: { flag: '--path' },
  dryRun: { flag: '--dry-run', default: 'false' },
  allowEmptyOutput: { flag: '--allow-empty', default: 'false' },
  ...gitWriteSettings,
  commitMessage: { flag: '--commit-message', default: 'Generate manifests from HLD {hldShortCommit}: {hldSubject}' },
} as const satisfies SettingGroup;

/**
 * The `generate` command renders one environment set given as words: the render's errors about
 * one environment name (field `environment`) are about its --environments / ENV arguments.
 */
export const generateCommandSettings = {
  ...renderSettings,
  environment: { flag: '--environments' },
} as const satisfies SettingGroup;
