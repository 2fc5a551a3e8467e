import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { environmentHistory } from '../../tasks/core/trace/history';
import { historyTable } from '../../tasks/core/trace/render';
import { CliCommand, UsageError } from './command';
import { historyHelp, historyOptions, readHistories } from './historySource';
import { gitCredentialFromEnv } from './shared';

export const historyCommand: CliCommand = {
  name: 'history',
  summary: 'the image tags an environment ran, newest first, from the HLD commit trailers',
  help: `Usage: bedrock-gitops history --hld-repo URL --environment ENV --subcomponent S [--manifest-repo URL] [--json]

Lists the tags written to config/<ENV>.yaml for the subcomponent (by UpdateImageTag, PromoteContainer
or rollback), newest first, with the HLD commit, the manifest commit that published each (with
--manifest-repo), the build and the time. The current tag is marked with *.

  --environment ENV         environment (required)
  --subcomponent S          dotted subcomponent path (required; '' for the component itself)
${historyHelp}
  --json                    JSON on stdout: { environment, subcomponent, entries: [{ tag, image,
                            hldCommit, manifestCommit, build, time, rollbackFrom, current }] }

Environment:
  GITOPS_GIT_TOKEN          token for http(s) git remotes (Basic with GITOPS_GIT_USERNAME)`,
  async run(context) {
    const { values } = parseArgs({
      args: context.args,
      options: { environment: { type: 'string' }, subcomponent: { type: 'string' }, ...historyOptions },
      allowPositionals: false,
    });
    if (!values['hld-repo']) throw new UsageError('--hld-repo is required');
    if (!values.environment) throw new UsageError('--environment is required');
    if (values.subcomponent === undefined) throw new UsageError('--subcomponent is required');
    const workDir = mkdtempSync(join(tmpdir(), 'bedrock-gitops-history-'));
    try {
      const { hld, manifests } = await readHistories(values, { credential: gitCredentialFromEnv(context.env), workDir, logger: context.logger, manifest: true });
      const history = environmentHistory({ hld, manifests, hldRepository: values['hld-repo'], environment: values.environment, subcomponent: values.subcomponent });
      context.print(values.json ? JSON.stringify(history, null, 2) : historyTable(history));
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  },
};
