/** Every job's settings, and the one table that turns a task input into its CLI flag. */
import { generateManifestsSettings } from './generateManifests';
import { promoteContainerSettings } from './promoteContainer';
import { flagsOf } from './setting';
import { updateImageTagSettings } from './updateImageTag';

export * from './setting';
export * from './git';
export * from './generateManifests';
export * from './updateImageTag';
export * from './promoteContainer';

/**
 * The CLI flag (or environment variable) of each task input of the three jobs, so CLI users read
 * the flag they typed (`--hld-repo`), not the task input (`hldRepositoryUrl`).
 */
export const cliFlagOfTaskInput: Readonly<Record<string, string>> = flagsOf(generateManifestsSettings, promoteContainerSettings, updateImageTagSettings);
