import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseTagPolicy } from '../../tasks/core/jobs/tagPolicy';
import { keptTagsText, parseImageLines, updateImageTag } from '../../tasks/core/jobs/updateImageTag';
import { updateImageTagSettings as S } from '../../tasks/core/settings';
import { CliCommand, UsageError } from './command';
import { authorFrom, gitCredentialFromEnv, gitEnvironmentHelp, gitWriteHelp, gitWriteOptions, hldTargetFrom, hldTargetOptions, provenanceFromEnv, pushOptionsFrom } from './shared';

export const updateImageTagCommand: CliCommand = {
  name: 'update-image-tag',
  settings: S,
  summary: 'write an image tag into an HLD environment config and push it (with retry) or open a PR',
  help: `Usage: bedrock-gitops update-image-tag --tag TAG --subcomponent a.b (--hld-repo URL | --hld DIR) [options]
       bedrock-gitops update-image-tag --image a=REPO:TAG --image b=TAG ... (--hld-repo URL | --hld DIR) [options]

Edits config/<env>.yaml in place (comments and layout survive), commits with audit trailers and
pushes with retry, re-applying the edit when another writer moved the branch; or pushes the
branch gitops/<env>/<subcomponent> and opens or updates one pull request. Prints the commit or PR.

Image:
  --tag TAG                 the new image tag (required)
  --repository REPO         image repository to write as well, e.g. myacr.azurecr.io/team/api
  --tag-key KEY             default image.tag
  --repository-key KEY      default image.repository
  --set key.path=value      another value to set in the same commit (repeatable)
  --image SUB=REPO:TAG      several images in one commit: subcomponent=repository:tag or
                            subcomponent=tag (repeatable; instead of --tag/--repository/--subcomponent)
  --tag-policy P            auto (default: never move a version or build number backwards),
                            semver, numeric (fail when a tag does not parse), any (always write)
HLD:
  --hld-repo URL            HLD repository to clone, edit and push
  --hld DIR                 or an existing HLD checkout (used when --hld-repo is not given)
  --hld-branch NAME         branch (default: main)
  --component-path DIR      component folder inside the HLD (default: the root)
  --environment ENV         config/<env>.yaml to edit (default: common)
  --subcomponent a.b        subcomponent whose config is edited (required)
  --no-new-keys             fail unless the subcomponent and keys already exist
  --create-environment      allow an environment without a config file in the component
  --create-subcomponent     allow a subcomponent that is not in the component tree
  --dry-run                 clone and edit, commit and push nothing
${gitWriteHelp('{image} {repository} {tag} {environment} {subcomponent} {componentPath} {branch}', 'the HLD branch')}

Environment (credentials never come from arguments):
${gitEnvironmentHelp}`,
  async run(context) {
    const { values } = parseArgs({
      args: context.args,
      options: {
        tag: { type: 'string' },
        repository: { type: 'string' },
        set: { type: 'string', multiple: true },
        image: { type: 'string', multiple: true },
        ...hldTargetOptions,
        'dry-run': { type: 'boolean' },
        ...gitWriteOptions,
      },
      allowPositionals: false,
    });
    const keys = { tagKey: values['tag-key'] ?? S.tagKey.default, repositoryKey: values['repository-key'] ?? S.repositoryKey.default };
    const images = parseImageLines(values.image ?? [], keys, '--image');
    if (images.length > 0 && (values.tag || values.repository || values.subcomponent !== undefined || values.set)) {
      throw new UsageError('--image replaces --tag, --repository, --subcomponent and --set: give one or the other');
    }
    if (images.length === 0 && !values.tag) throw new UsageError('--tag (or --image) is required');
    if (images.length === 0 && values.subcomponent === undefined) throw new UsageError('--subcomponent is required');
    if (!values['hld-repo'] && !values.hld) throw new UsageError('give --hld-repo URL or --hld DIR');
    const tagPolicy = parseTagPolicy(values['tag-policy'], '--tag-policy');
    const push = pushOptionsFrom(values);
    const provenance = provenanceFromEnv(context.env);
    const workDir = mkdtempSync(join(tmpdir(), 'bedrock-gitops-tag-'));
    try {
      const result = await updateImageTag({
        image: images.length > 0 ? undefined : {
          imageTag: values.tag!,
          imageRepository: values.repository,
          ...keys,
          additionalValues: values.set ?? [],
        },
        images: images.length > 0 ? images : undefined,
        tagPolicy,
        createEnvironment: !!values['create-environment'],
        createSubcomponent: !!values['create-subcomponent'],
        subcomponentField: images.length > 0 ? '--image' : '--subcomponent',
        target: hldTargetFrom(values, context.cwd, S.environment.default),
        noNewKeys: !!values['no-new-keys'],
        commit: {
          subject: '',
          messageTemplate: values['commit-message'],
          author: authorFrom(values, provenance),
          trailers: {},
        },
        push,
        credential: gitCredentialFromEnv(context.env),
        provenance,
        workDir,
        dryRun: !!values['dry-run'],
        logger: context.logger,
      });
      const kept = keptTagsText(result);
      if (kept) context.logger.warn(kept);
      if (!result.changed) context.print(kept ? `${result.file}: a newer tag is already there, nothing committed` : `${result.file}: already set, nothing committed`);
      else if (result.pullRequestUrl) context.print(`pull request #${result.pullRequestId}: ${result.pullRequestUrl}`);
      else if (result.commitId) context.print(`commit ${result.commitId} (${result.attempts} attempt${result.attempts === 1 ? '' : 's'})`);
      else context.print(`${result.file}: would change (dry run)`);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  },
};

