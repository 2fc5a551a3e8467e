import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { MergeStrategy } from '../../tasks/core/azure-devops';
import type { ServiceCredential } from '../../tasks/core/credentials';
import { updateImageTag } from '../../tasks/core/jobs/updateImageTag';
import { CliCommand, UsageError } from './command';

export const updateImageTagCommand: CliCommand = {
  name: 'update-image-tag',
  summary: 'write an image tag into an HLD environment config and push it (with retry) or open a PR',
  help: `Usage: bedrock-gitops update-image-tag --tag TAG --subcomponent a.b (--hld-repo URL | --hld DIR) [options]

Edits config/<env>.yaml in place (comments and layout survive), commits with audit trailers and
pushes with retry, re-applying the edit when another writer moved the branch; or pushes the
branch gitops/<env>/<subcomponent> and opens or updates one pull request. Prints the commit or PR.

Image:
  --tag TAG                 the new image tag (required)
  --repository REPO         image repository to write as well, e.g. myacr.azurecr.io/team/api
  --tag-key KEY             default image.tag
  --repository-key KEY      default image.repository
  --set key.path=value      another value to set in the same commit (repeatable)
HLD:
  --hld-repo URL            HLD repository to clone, edit and push
  --hld DIR                 or an existing HLD checkout (used when --hld-repo is not given)
  --hld-branch NAME         branch (default: main)
  --component-path DIR      component folder inside the HLD (default: the root)
  --environment ENV         config/<env>.yaml to edit (default: common)
  --subcomponent a.b        subcomponent whose config is edited (required)
  --no-new-keys             fail unless the subcomponent and keys already exist
Git:
  --commit-message TEXT     template: {image} {repository} {tag} {environment} {subcomponent}
  --author-name NAME        commit author (default: bedrock-gitops)
  --author-email EMAIL      commit author email (default: bedrock-gitops@noreply.invalid)
  --max-push-attempts N     retries of a push rejected as stale, 1-50 (default 10)
  --push-mode MODE          direct (default) or pullRequest
Pull request:
  --pr-target-branch NAME   target branch (default: the HLD branch)
  --pr-title TEXT           title (default: the commit subject)
  --auto-complete           complete once policies pass (Azure Repos)
  --merge-strategy S        squash (default), noFastForward, rebase, rebaseMerge
  --keep-source-branch      do not delete the branch on auto-complete
  --reviewer ID             reviewer (repeatable)
  --work-item ID            work item to link (repeatable, Azure Repos)
  --pr-api-url URL          Azure DevOps collection URL or GitHub API URL (default: from the remote)
  --dry-run                 clone and edit, commit and push nothing

Environment (credentials never come from arguments):
  GITOPS_GIT_TOKEN          token for git and the pull request API (bearer, or Basic with
                            GITOPS_GIT_USERNAME when that is set, e.g. for a PAT)
  GITOPS_BUILD_URL, GITOPS_SOURCE_COMMIT, GITOPS_SOURCE_REPOSITORY   recorded as commit trailers`,
  async run(context) {
    const { values } = parseArgs({
      args: context.args,
      options: {
        tag: { type: 'string' },
        repository: { type: 'string' },
        'tag-key': { type: 'string' },
        'repository-key': { type: 'string' },
        set: { type: 'string', multiple: true },
        'hld-repo': { type: 'string' },
        hld: { type: 'string' },
        'hld-branch': { type: 'string' },
        'component-path': { type: 'string' },
        environment: { type: 'string' },
        subcomponent: { type: 'string' },
        'no-new-keys': { type: 'boolean' },
        'commit-message': { type: 'string' },
        'author-name': { type: 'string' },
        'author-email': { type: 'string' },
        'max-push-attempts': { type: 'string' },
        'push-mode': { type: 'string' },
        'pr-target-branch': { type: 'string' },
        'pr-title': { type: 'string' },
        'auto-complete': { type: 'boolean' },
        'merge-strategy': { type: 'string' },
        'keep-source-branch': { type: 'boolean' },
        reviewer: { type: 'string', multiple: true },
        'work-item': { type: 'string', multiple: true },
        'pr-api-url': { type: 'string' },
        'dry-run': { type: 'boolean' },
      },
      allowPositionals: false,
    });
    if (!values.tag) throw new UsageError('--tag is required');
    if (values.subcomponent === undefined) throw new UsageError('--subcomponent is required');
    if (!values['hld-repo'] && !values.hld) throw new UsageError('give --hld-repo URL or --hld DIR');
    const attempts = values['max-push-attempts'] === undefined ? 10 : Number(values['max-push-attempts']);
    const mode = values['push-mode'] ?? 'direct';
    if (mode !== 'direct' && mode !== 'pullRequest') throw new UsageError('--push-mode must be direct or pullRequest');
    const env = context.env;
    const workDir = mkdtempSync(join(tmpdir(), 'bedrock-gitops-tag-'));
    try {
      const result = await updateImageTag({
        image: {
          imageTag: values.tag,
          imageRepository: values.repository,
          tagKey: values['tag-key'] ?? 'image.tag',
          repositoryKey: values['repository-key'] ?? 'image.repository',
          additionalValues: values.set ?? [],
        },
        target: {
          repositoryUrl: values['hld-repo'],
          checkoutPath: values.hld === undefined ? undefined : resolve(context.cwd, values.hld),
          branch: values['hld-branch'] ?? 'main',
          componentPath: values['component-path'] ?? '',
          environment: values.environment ?? 'common',
          subcomponent: values.subcomponent,
        },
        noNewKeys: !!values['no-new-keys'],
        commit: {
          subject: '',
          messageTemplate: values['commit-message'],
          author: { name: values['author-name'] ?? 'bedrock-gitops', email: values['author-email'] ?? 'bedrock-gitops@noreply.invalid' },
          trailers: {},
        },
        push: {
          mode,
          maxAttempts: attempts,
          pullRequest: {
            targetBranch: values['pr-target-branch'],
            title: values['pr-title'],
            autoComplete: !!values['auto-complete'],
            mergeStrategy: (values['merge-strategy'] ?? 'squash') as MergeStrategy,
            deleteSourceBranch: !values['keep-source-branch'],
            reviewers: values.reviewer ?? [],
            workItemIds: values['work-item'] ?? [],
            azureCollectionUrl: values['pr-api-url'],
            githubApiUrl: values['pr-api-url'],
          },
        },
        credential: gitCredential(env),
        provenance: {
          system: 'bedrock-gitops CLI',
          buildUrl: env.GITOPS_BUILD_URL || undefined,
          sourceCommit: env.GITOPS_SOURCE_COMMIT || undefined,
          sourceRepository: env.GITOPS_SOURCE_REPOSITORY || undefined,
        },
        workDir,
        dryRun: !!values['dry-run'],
        logger: context.logger,
      });
      if (!result.changed) context.print(`${result.file}: already set, nothing committed`);
      else if (result.pullRequestUrl) context.print(`pull request #${result.pullRequestId}: ${result.pullRequestUrl}`);
      else if (result.commitId) context.print(`commit ${result.commitId} (${result.attempts} attempt${result.attempts === 1 ? '' : 's'})`);
      else context.print(`${result.file}: would change (dry run)`);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  },
};

function gitCredential(env: NodeJS.ProcessEnv): ServiceCredential | undefined {
  const token = env.GITOPS_GIT_TOKEN;
  if (!token) return undefined;
  return env.GITOPS_GIT_USERNAME !== undefined ? { kind: 'basic', username: env.GITOPS_GIT_USERNAME, password: token } : { kind: 'bearer', token };
}
