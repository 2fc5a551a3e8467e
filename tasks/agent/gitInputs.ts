/** Inputs the three tasks share for writing to git: HLD checkout, push mode and PR options, author. */
import * as tl from 'azure-pipelines-task-lib/task';
import { resolve } from 'node:path';
import type { PushOptions } from '../core/jobs/updateHld';
import type { Provenance } from '../core/provenance';
import { boolInput, intInput, listInput, optionalInput, pickInput } from './inputs';

export const MERGE_STRATEGIES = ['squash', 'noFastForward', 'rebase', 'rebaseMerge'] as const;

/**
 * The `hldPath` input when the user set it. The agent fills an empty filePath input with the
 * default working directory: the pipeline's own sources, which must not be reset and committed
 * by accident, so that value counts as unset.
 */
export function explicitHldPath(): string | undefined {
  const value = optionalInput('hldPath');
  const defaultDirectory = tl.getVariable('System.DefaultWorkingDirectory');
  if (!value || (defaultDirectory && resolve(value) === resolve(defaultDirectory))) return undefined;
  return value;
}

/** pushMode, maxPushAttempts and the pull-request inputs. */
export function pushInputs(): PushOptions {
  const mode = pickInput('pushMode', ['direct', 'pullRequest'] as const, 'direct');
  const apiUrl = optionalInput('pullRequestApiUrl');
  return {
    mode,
    maxAttempts: intInput('maxPushAttempts', 10, { min: 1, max: 50 }),
    pullRequest: mode === 'pullRequest' ? {
      targetBranch: optionalInput('pullRequestTargetBranch'),
      title: optionalInput('pullRequestTitle'),
      autoComplete: boolInput('autoComplete'),
      mergeStrategy: pickInput('mergeStrategy', MERGE_STRATEGIES, 'squash'),
      deleteSourceBranch: boolInput('deleteSourceBranch', true),
      reviewers: listInput('reviewers', { commas: true }),
      workItemIds: listInput('workItems', { commas: true }),
      azureCollectionUrl: apiUrl,
      githubApiUrl: apiUrl,
    } : undefined,
  };
}

/** gitUserName / gitUserEmail, else the person who queued the run. */
export function commitAuthor(provenance: Provenance): { name: string; email: string } {
  return {
    name: optionalInput('gitUserName') ?? provenance.requestedFor ?? 'Azure Pipelines',
    email: optionalInput('gitUserEmail') ?? provenance.requestedForEmail ?? 'azure-pipelines@noreply.invalid',
  };
}
