import * as tl from 'azure-pipelines-task-lib/task';
import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateManifests, parseEnvironmentSets } from '../core/jobs/generateManifests';
import { installHelm } from '../core/tools/helm';
import { boolInput, intInput, listInput, optionalInput, settingInput, stringInput } from '../agent/inputs';
import { allowLocalGitSourcesFrom } from '../core/render/gitFetch';
import { commitAuthor, pushInputs } from '../agent/gitInputs';
import { gitCredential, pipelineProvenance } from '../agent/pipeline';
import { runTask } from '../agent/runTask';
import { generateManifestsSettings as S, RENDER_NETWORK_TIMEOUT_SECONDS } from '../core/settings';

runTask('GenerateManifests', async (ctx) => {
  const provenance = pipelineProvenance();
  const hldRepositoryUrl = optionalInput('hldRepositoryUrl');
  const manifestRepositoryUrl = optionalInput('manifestRepositoryUrl');
  const push = pushInputs();
  const dryRun = boolInput('dryRun');
  const environments = listInput('environments', { commas: true });
  const pullRequestId = Number(provenance.pullRequestId);
  const workDir = mkdtempSync(join(ctx.tempDirectory, 'generate-manifests-'));
  const outputDir = resolve(optionalInput('outputPath') ?? join(ctx.tempDirectory, 'bedrock-gitops-manifests'));
  ctx.output('renderedPath', outputDir);

  const networkDeadlineMs = intInput('networkTimeoutSeconds', RENDER_NETWORK_TIMEOUT_SECONDS.default, RENDER_NETWORK_TIMEOUT_SECONDS) * 1000;
  let helmPath = optionalInput('helmPath');
  const helmVersion = optionalInput('helmVersion');
  const kustomizePath = optionalInput('kustomizePath');
  ctx.progress(2, 'Locating helm');
  if (!helmPath && helmVersion) {
    helmPath = await installHelm({
      version: helmVersion,
      downloadUrl: optionalInput('helmDownloadUrl'),
      deadlineMs: networkDeadlineMs,
      toolsDirectory: tl.getVariable('Agent.ToolsDirectory') || join(ctx.tempDirectory, 'tools'),
      logger: ctx.logger,
    });
  }

  try {
    const result = await generateManifests({
      hld: hldRepositoryUrl
        ? { url: hldRepositoryUrl, branch: settingInput(S, 'hldBranch') }
        : { dir: resolve(stringInput('hldPath', { defaultValue: tl.getVariable('System.DefaultWorkingDirectory') || process.cwd() })) },
      environmentSets: parseEnvironmentSets(environments.length ? environments : [S.environments.default]),
      outputDir,
      manifest: manifestRepositoryUrl
        ? { url: manifestRepositoryUrl, branch: settingInput(S, 'manifestBranch'), path: optionalInput('manifestPath') }
        : undefined,
      pushMode: push.mode,
      pullRequest: push.pullRequest,
      pullRequestApiUrl: optionalInput('pullRequestApiUrl'),
      dryRun,
      commentOnPullRequest:
        dryRun && boolInput('commentOnPullRequest') && Number.isInteger(pullRequestId) && pullRequestId > 0
          ? { pullRequestId, repositoryUrl: tl.getVariable('Build.Repository.Uri') || undefined }
          : undefined,
      allowEmptyOutput: boolInput('allowEmptyOutput'),
      allowEnvironmentsWithoutConfig: boolInput('allowEnvironmentsWithoutConfig'),
      commitMessage: optionalInput('commitMessage'),
      author: commitAuthor(provenance),
      credential: gitCredential(ctx, 'gitConnection'),
      provenance,
      maxPushAttempts: push.maxAttempts,
      helmPath: helmPath && resolve(helmPath),
      kustomizePath: kustomizePath && resolve(kustomizePath),
      cacheDir: resolve(optionalInput('cacheDirectory') ?? join(ctx.tempDirectory, 'bedrock-gitops-cache')),
      network: { deadlineMs: networkDeadlineMs },
      workDir,
      env: process.env,
      runHooks: boolInput('runHooks', S.runHooks.default === 'true'),
      allowRemoteHooks: boolInput('allowRemoteHooks'),
      allowLocalGitSources: allowLocalGitSourcesFrom(process.env),
      logger: ctx.logger,
      progress: (percent, text) => ctx.progress(percent, text),
    });
    ctx.output('manifestCommitId', result.manifestCommitId);
    ctx.output('manifestsChanged', result.manifestsChanged);
    ctx.output('pullRequestId', result.pullRequest?.id);
    ctx.output('pullRequestUrl', result.pullRequest?.url);
    ctx.summary('Generated manifests', result.summary);
    return result.message;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
});
