/** Inputs the three tasks share for writing to git: HLD checkout, push mode and PR options, author. */
import * as tl from 'azure-pipelines-task-lib/task';
import { resolve } from 'node:path';
import type { PushOptions } from '../core/jobs/types';
import type { Provenance } from '../core/provenance';
import { commitAuthor as resolveAuthor, DEFAULT_AUTHORS, gitWriteSettings as git, MAX_PUSH_ATTEMPTS, type CommitAuthor } from '../core/settings';
import { boolInput, intInput, listInput, optionalInput, pickInput } from './inputs';

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
  const mode = pickInput('pushMode', git.pushMode.allowed, git.pushMode.default);
  const apiUrl = optionalInput('pullRequestApiUrl');
  return {
    mode,
    maxAttempts: intInput('maxPushAttempts', MAX_PUSH_ATTEMPTS.default, MAX_PUSH_ATTEMPTS),
    pullRequest: mode === 'pullRequest' ? {
      targetBranch: optionalInput('pullRequestTargetBranch'),
      title: optionalInput('pullRequestTitle'),
      autoComplete: boolInput('autoComplete'),
      mergeStrategy: pickInput('mergeStrategy', git.mergeStrategy.allowed, git.mergeStrategy.default),
      deleteSourceBranch: boolInput('deleteSourceBranch', git.deleteSourceBranch.default === 'true'),
      reviewers: listInput('reviewers', { commas: true }),
      workItemIds: listInput('workItems', { commas: true }),
      apiUrl,
    } : undefined,
  };
}

/** gitUserName / gitUserEmail, else the person who queued the run (see commitAuthor in core/settings). */
export function commitAuthor(provenance: Provenance): CommitAuthor {
  return resolveAuthor({ name: optionalInput('gitUserName'), email: optionalInput('gitUserEmail') }, provenance, DEFAULT_AUTHORS.task);
}
