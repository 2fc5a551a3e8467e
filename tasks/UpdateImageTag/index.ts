import { updateImageTag, imageTagSummary } from '../core/jobs/updateImageTag';
import { boolInput, intInput, listInput, optionalInput, pickInput, stringInput } from '../agent/inputs';
import { gitCredential, pipelineProvenance } from '../agent/pipeline';
import { runTask } from '../agent/runTask';
import * as tl from 'azure-pipelines-task-lib/task';
import { resolve } from 'node:path';

runTask('UpdateImageTag', async (ctx) => {
  const image = {
    imageTag: stringInput('imageTag', { required: true }),
    imageRepository: optionalInput('imageRepository'),
    tagKey: stringInput('tagKey', { defaultValue: 'image.tag' }),
    repositoryKey: stringInput('repositoryKey', { defaultValue: 'image.repository' }),
    additionalValues: listInput('additionalValues'),
  };
  const provenance = pipelineProvenance();
  const repositoryUrl = optionalInput('hldRepositoryUrl');
  const apiUrl = optionalInput('pullRequestApiUrl');
  const pushMode = pickInput('pushMode', ['direct', 'pullRequest'] as const, 'direct');
  const result = await updateImageTag({
    image,
    target: {
      repositoryUrl,
      branch: stringInput('hldBranch', { defaultValue: 'main' }),
      checkoutPath: explicitHldPath(),
      componentPath: stringInput('componentPath'),
      environment: stringInput('environment', { defaultValue: 'common' }),
      subcomponent: stringInput('subcomponent', { required: true }),
    },
    noNewKeys: boolInput('noNewKeys'),
    commit: {
      subject: '',
      messageTemplate: tl.getInput('commitMessage', false) || undefined,
      author: {
        name: stringInput('gitUserName') || provenance.requestedFor || 'Azure Pipelines',
        email: stringInput('gitUserEmail') || provenance.requestedForEmail || 'azure-pipelines@noreply.invalid',
      },
      trailers: {},
    },
    push: {
      mode: pushMode,
      maxAttempts: intInput('maxPushAttempts', 10, { min: 1, max: 50 }),
      pullRequest: pushMode === 'pullRequest' ? {
        targetBranch: optionalInput('pullRequestTargetBranch'),
        title: optionalInput('pullRequestTitle'),
        autoComplete: boolInput('autoComplete'),
        mergeStrategy: pickInput('mergeStrategy', ['squash', 'noFastForward', 'rebase', 'rebaseMerge'] as const, 'squash'),
        deleteSourceBranch: boolInput('deleteSourceBranch', true),
        reviewers: listInput('reviewers', { commas: true }),
        workItemIds: listInput('workItems', { commas: true }),
        azureCollectionUrl: apiUrl,
        githubApiUrl: apiUrl,
      } : undefined,
    },
    credential: gitCredential(ctx, 'gitConnection'),
    provenance,
    workDir: ctx.tempDirectory,
    logger: ctx.logger,
  });
  ctx.output('hldCommitId', result.commitId ?? '');
  ctx.output('hldChanged', result.changed);
  ctx.output('pullRequestId', result.pullRequestId ?? '');
  ctx.output('pullRequestUrl', result.pullRequestUrl ?? '');
  ctx.summary('Image tag update', imageTagSummary(result, image, repositoryUrl));
  if (!result.changed) return `${result.file} already has image tag ${image.imageTag}: nothing to commit`;
  if (result.pullRequestUrl) return `Pull request #${result.pullRequestId} sets image tag ${image.imageTag} in ${result.file}: ${result.pullRequestUrl}`;
  return `Set image tag ${image.imageTag} in ${result.file} (commit ${result.commitId}, ${result.attempts} attempt${result.attempts === 1 ? '' : 's'})`;
});

/**
 * The agent fills an empty filePath input with the default working directory; that is the
 * pipeline's own sources, which must not be reset and committed by accident, so it counts as unset.
 */
function explicitHldPath(): string | undefined {
  const value = optionalInput('hldPath');
  const defaultDirectory = tl.getVariable('System.DefaultWorkingDirectory');
  if (!value || (defaultDirectory && resolve(value) === resolve(defaultDirectory))) return undefined;
  return value;
}
