import { GitopsError } from '../core/errors';
import { parseTagPolicy } from '../core/jobs/tagPolicy';
import { imageTagMessage, parseImageLines, updateImageTag, imageTagSummary } from '../core/jobs/updateImageTag';
import { boolInput, listInput, optionalInput, settingInput, stringInput } from '../agent/inputs';
import { commitAuthor, explicitHldPath, pushInputs } from '../agent/gitInputs';
import { gitCredential, pipelineProvenance } from '../agent/pipeline';
import { runTask } from '../agent/runTask';
import * as tl from 'azure-pipelines-task-lib/task';
import { updateImageTagSettings as S } from '../core/settings';

runTask('UpdateImageTag', async (ctx) => {
  const keys = {
    tagKey: settingInput(S, 'tagKey'),
    repositoryKey: settingInput(S, 'repositoryKey'),
  };
  const images = parseImageLines(listInput('images'), keys);
  const single = images.length === 0;
  if (!single && (optionalInput('imageTag') || optionalInput('imageRepository') || optionalInput('subcomponent'))) {
    throw new GitopsError('set either images or imageTag, imageRepository and subcomponent, not both', { field: 'images', hint: 'put every image into images as subcomponent=repository:tag' });
  }
  const image = single ? {
    imageTag: stringInput('imageTag', { required: true }),
    imageRepository: optionalInput('imageRepository'),
    ...keys,
    additionalValues: listInput('additionalValues'),
  } : undefined;
  if (!single && listInput('additionalValues').length > 0) {
    throw new GitopsError('additionalValues cannot be combined with images', { field: 'additionalValues', hint: 'set additional values in a separate step, or give one image with imageTag' });
  }
  const provenance = pipelineProvenance();
  const repositoryUrl = optionalInput('hldRepositoryUrl');
  const result = await updateImageTag({
    image,
    images: single ? undefined : images,
    tagPolicy: parseTagPolicy(stringInput('tagPolicy')),
    target: {
      repositoryUrl,
      branch: settingInput(S, 'hldBranch'),
      checkoutPath: explicitHldPath(),
      componentPath: stringInput('componentPath'),
      environment: settingInput(S, 'environment'),
      subcomponent: single ? stringInput('subcomponent', { required: true }) : '',
    },
    noNewKeys: boolInput('noNewKeys'),
    createEnvironment: boolInput('createEnvironment'),
    createSubcomponent: boolInput('createSubcomponent'),
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
  ctx.summary('Image tag update', imageTagSummary(result, image ?? images, repositoryUrl));
  return imageTagMessage(result, image ?? images);
});
