import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { traceImage, validateQuery, type TraceQuery } from '../../tasks/core/trace/trace';
import { traceHtml, traceTable } from '../../tasks/core/trace/render';
import { CliCommand, UsageError } from './command';
import { clusterHelp, clusterOptions, clusterSourcesFrom, commitUrl, historyHelp, historyOptions, readClusterStates, readHistories, settleAll } from './historySource';
import { gitCredentialFromEnv } from './shared';

export const traceCommand: CliCommand = {
  name: 'trace',
  summary: 'where is my build? an image from build to HLD, manifests and cluster, per environment',
  help: `Usage: bedrock-gitops trace --hld-repo URL --manifest-repo URL (--image REPOSITORY:TAG | --digest sha256:... | --build ID | --hld-commit SHA) [options]

Reads the commit trailers the tasks write (no database: the repositories are the record). For each
environment: the HLD commit that set the image (time, author, build, source commit), the manifest
commit that published it (or "not yet published" / "superseded by <tag>"), the promotion that
copied it, and with --cluster whether the cluster has applied it.

What:
  --image REPOSITORY:TAG    e.g. myacr.azurecr.io/api:1.2.3
  --digest sha256:...       an image digest (as promoted or pinned)
  --build ID                a build id, build number or build URL (Gitops-Build trailer)
  --hld-commit SHA          an HLD commit that set an image
${historyHelp}
Output:
  --json                    JSON on stdout: { environments: [{ name, subcomponent, image, status,
                            hldCommit, manifestCommit, build, promotion, cluster, ... }] }
  --html FILE               also write one self-contained HTML page with a timeline per environment
${clusterHelp}

Environment:
  GITOPS_GIT_TOKEN          token for http(s) git remotes (Basic with GITOPS_GIT_USERNAME)
  ARGOCD_AUTH_TOKEN         Argo CD API token (with --cluster ...=argocd:...)`,
  async run(context) {
    const { values } = parseArgs({
      args: context.args,
      options: {
        image: { type: 'string' },
        digest: { type: 'string' },
        build: { type: 'string' },
        'hld-commit': { type: 'string' },
        html: { type: 'string' },
        ...historyOptions,
        ...clusterOptions,
      },
      allowPositionals: false,
    });
    if (!values['hld-repo']) throw new UsageError('--hld-repo is required');
    if (!values['manifest-repo']) throw new UsageError('--manifest-repo is required');
    const query: TraceQuery = { image: values.image, digest: values.digest, build: values.build, hldCommit: values['hld-commit'] };
    try {
      validateQuery(query);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const sources = clusterSourcesFrom(values, context.env);
    const workDir = mkdtempSync(join(tmpdir(), 'bedrock-gitops-trace-'));
    try {
      const [{ hld, manifests }, clusters] = await settleAll([
        readHistories(values, { credential: gitCredentialFromEnv(context.env), workDir, logger: context.logger, manifest: true }),
        readClusterStates(sources),
      ] as const);
      const result = traceImage({
        query,
        hldRepository: values['hld-repo'],
        manifestRepository: values['manifest-repo'],
        hld,
        manifests: manifests ?? [],
        clusters,
        commitUrl,
      });
      if (values.html) {
        writeFileSync(resolve(context.cwd, values.html), traceHtml(result));
        context.logger.info(`wrote ${values.html}`);
      }
      if (values.json) context.print(JSON.stringify(result, null, 2));
      else context.print(traceTable(result));
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  },
};
