import { updateImageTag, imageTagSummary } from '../core/jobs/updateImageTag';
import { boolInput, listInput, optionalInput, stringInput } from '../agent/inputs';
import { commitAuthor, explicitHldPath, pushInputs } from '../agent/gitInputs';
import { gitCredential, pipelineProvenance } from '../agent/pipeline';
import { runTask } from '../agent/runTask';
import * as tl from 'azure-pipelines-task-lib/task';

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
      author: commitAuthor(provenance),
      trailers: {},
    },
    push: pushInputs(),
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
