import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { rollbackImageTag } from '../../tasks/core/jobs/rollback';
import { CliCommand, UsageError } from './command';
import { boundsFrom } from './historySource';
import { authorFrom, gitCredentialFromEnv, gitEnvironmentHelp, gitWriteHelp, gitWriteOptions, hldTargetFrom, provenanceFromEnv, pushOptionsFrom, hldImageKeyOptions } from './shared';
import { hldTargetSettings } from '../../tasks/core/settings';

export const rollbackCommand: CliCommand = {
  name: 'rollback',
  summary: 'write an environment\'s earlier image tag back into the HLD (direct or pull request)',
  help: `Usage: bedrock-gitops rollback --hld-repo URL --environment ENV --subcomponent S (--to TAG | --previous) [options]

Finds the tag in the environment's history (the HLD commit trailers, as \`bedrock-gitops history\`
shows it) and writes it the way update-image-tag does, whatever the tag policy, with the trailer
Gitops-Rollback-From: <the tag it replaced>. --previous restores the newest earlier tag that was
not itself rolled back from. The repository recorded with that tag is written too.

  --to TAG                  the tag to restore (must be in the history read)
  --previous                the tag before the current one
  --hld-repo URL            HLD repository (required)
  --hld-branch NAME         default main
  --component-path DIR      component folder inside the HLD (default: the root)
  --environment ENV         environment (required)
  --subcomponent S          dotted subcomponent path (required)
  --tag-key KEY             default image.tag
  --repository-key KEY      default image.repository
  --digest-key KEY          also restore the recorded digest into this key (e.g. image.digest)
  --max-commits N           read at most N HLD commits (default 10000)
  --since DATE              read only HLD commits after DATE
  --dry-run                 clone and edit, commit and push nothing
${gitWriteHelp('{image} {repository} {tag} {environment} {subcomponent} {componentPath} {branch}', 'the HLD branch')}

Environment (credentials never come from arguments):
${gitEnvironmentHelp}`,
  async run(context) {
    const { values } = parseArgs({
      args: context.args,
      options: {
        to: { type: 'string' },
        previous: { type: 'boolean' },
        ...hldImageKeyOptions,
        'digest-key': { type: 'string' },
        'max-commits': { type: 'string' },
        since: { type: 'string' },
        'dry-run': { type: 'boolean' },
        ...gitWriteOptions,
      },
      allowPositionals: false,
    });
    if (!values['hld-repo']) throw new UsageError('--hld-repo is required');
    if (!values.environment) throw new UsageError('--environment is required');
    if (values.subcomponent === undefined) throw new UsageError('--subcomponent is required');
    if ((values.to === undefined) === !values.previous) throw new UsageError('give exactly one of --to TAG and --previous');
    const provenance = provenanceFromEnv(context.env);
    const workDir = mkdtempSync(join(tmpdir(), 'bedrock-gitops-rollback-'));
    try {
      const result = await rollbackImageTag({
        to: { tag: values.to, previous: values.previous },
        tagKey: values['tag-key'] ?? hldTargetSettings.tagKey.default,
        repositoryKey: values['repository-key'] ?? hldTargetSettings.repositoryKey.default,
        digestKey: values['digest-key'],
        bounds: boundsFrom(values),
        target: hldTargetFrom(values, context.cwd, values.environment),
        noNewKeys: true,
        commit: { subject: '', messageTemplate: values['commit-message'], author: authorFrom(values, provenance), trailers: {} },
        push: pushOptionsFrom(values),
        credential: gitCredentialFromEnv(context.env),
        provenance,
        workDir,
        dryRun: !!values['dry-run'],
        logger: context.logger,
      });
      const { hld } = result;
      const what = `${result.from.tag} -> ${result.to.tag}`;
      if (!hld.changed) context.print(`${hld.file}: already ${result.to.tag}, nothing committed`);
      else if (hld.pullRequestUrl) context.print(`rollback ${what}: pull request #${hld.pullRequestId}: ${hld.pullRequestUrl}`);
      else if (hld.commitId) context.print(`rollback ${what}: commit ${hld.commitId}`);
      else context.print(`rollback ${what}: ${hld.file} would change (dry run)`);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  },
};
