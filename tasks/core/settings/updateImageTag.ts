/** UpdateImageTag (CLI: update-image-tag). */
import { gitWriteSettings, hldTargetSettings } from './git';
import type { SettingGroup } from './setting';

export const updateImageTagSettings = {
  imageTag: { flag: '--tag' },
  imageRepository: { flag: '--repository' },
  additionalValues: { flag: '--set' },
  images: { flag: '--image' },
  ...hldTargetSettings,
  environment: { flag: '--environment', default: 'common' },
  ...gitWriteSettings,
  commitMessage: { flag: '--commit-message', default: 'Update {subcomponent} image to {tag} in {environment}' },
} as const satisfies SettingGroup;
