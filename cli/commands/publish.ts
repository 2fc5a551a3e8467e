import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ServiceCredential } from '../../tasks/core/credentials';
import { generateManifests, parseEnvironmentSets } from '../../tasks/core/jobs/generateManifests';
import { CliCommand, UsageError } from './command';

export const publishCommand: CliCommand = {
  name: 'publish',
  summary: 'render the HLD and publish it to the manifest repository (GenerateManifests)',
  help: `Usage: bedrock-gitops publish --manifest-repo URL [--environments "prod-east prod,staging"] [--hld DIR | --hld-repo URL [--hld-branch REF]]
                              [--branch main] [--path DIR] [--output DIR] [--dry-run] [--allow-empty]
                              [--pull-request [--target-branch B] [--pr-api-url URL]] [--message TEMPLATE]
                              [--helm PATH] [--cache DIR] [--max-push-attempts N] [--author-name N --author-email E]

Does what the GenerateManifests task does: renders each environment set, replaces exactly those
environment folders under --path in the manifest repository, commits with a traceable message and
pushes with retry (or opens one pull request). Skips (success) when the manifest repository already
holds a render of a newer HLD commit. Without --manifest-repo it only renders into --output.

Options:
  --environments LIST   sets separated by commas or newlines; names inside a set by spaces,
                        highest precedence first (default: prod)
  --hld DIR             HLD checkout (default: current directory)
  --hld-repo URL        clone the HLD from here instead; --hld-branch: branch, tag or commit (default main)
  --manifest-repo URL   manifest repository; --branch (default main, created if missing), --path (sub-folder)
  --output DIR          where the rendered tree is written (default: a temporary folder)
  --dry-run             compare and print the summary, push nothing
  --allow-empty         allow leaving an environment folder without resources
  --pull-request        push gitops/manifests/<target> and open or update one pull request
  --message TEMPLATE    commit message; {hldCommit} {hldShortCommit} {hldSubject} {hldRepository} {environments}
  --helm PATH, --cache DIR, --max-push-attempts N, --author-name NAME, --author-email EMAIL

Environment:
  GITOPS_GIT_TOKEN      token for http(s) git remotes and the pull request API (sent as a bearer
                        header, never in a URL); GITOPS_GIT_USERNAME makes it basic auth (PAT)
  GITOPS_PR_TOKEN       used instead when GITOPS_GIT_TOKEN is not set`,
  async run(context) {
    const { values } = parseArgs({
      args: context.args,
      options: {
        environments: { type: 'string', multiple: true },
        hld: { type: 'string' },
        'hld-repo': { type: 'string' },
        'hld-branch': { type: 'string' },
        'manifest-repo': { type: 'string' },
        branch: { type: 'string' },
        path: { type: 'string' },
        output: { type: 'string' },
        'dry-run': { type: 'boolean' },
        'allow-empty': { type: 'boolean' },
        'pull-request': { type: 'boolean' },
        'target-branch': { type: 'string' },
        'pr-api-url': { type: 'string' },
        message: { type: 'string' },
        helm: { type: 'string' },
        cache: { type: 'string' },
        'max-push-attempts': { type: 'string' },
        'author-name': { type: 'string' },
        'author-email': { type: 'string' },
      },
    });
    const maxPushAttempts = values['max-push-attempts'] === undefined ? undefined : Number(values['max-push-attempts']);
    if (maxPushAttempts !== undefined && (!Number.isInteger(maxPushAttempts) || maxPushAttempts < 1 || maxPushAttempts > 50)) {
      throw new UsageError('--max-push-attempts must be a whole number from 1 to 50');
    }
    if (values['pull-request'] && !values['manifest-repo']) throw new UsageError('--pull-request needs --manifest-repo');
    const workDir = mkdtempSync(join(tmpdir(), 'bedrock-publish-'));
    try {
      const result = await generateManifests({
        hld: values['hld-repo'] ? { url: values['hld-repo'], branch: values['hld-branch'] ?? 'main' } : { dir: resolve(context.cwd, values.hld ?? '.') },
        environmentSets: parseEnvironmentSets(values.environments ?? ['prod']),
        outputDir: values.output ? resolve(context.cwd, values.output) : join(workDir, 'rendered'),
        manifest: values['manifest-repo'] ? { url: values['manifest-repo'], branch: values.branch ?? 'main', path: values.path } : undefined,
        pushMode: values['pull-request'] ? 'pullRequest' : 'direct',
        pullRequest: { targetBranch: values['target-branch'] },
        pullRequestApiUrl: values['pr-api-url'],
        dryRun: values['dry-run'],
        allowEmptyOutput: values['allow-empty'],
        commitMessage: values.message,
        author: { name: values['author-name'], email: values['author-email'] },
        credential: credentialFrom(context.env),
        provenance: { system: context.env.CI ? 'CI' : 'local', buildUrl: context.env.BUILD_URL, buildId: context.env.BUILD_ID },
        maxPushAttempts,
        helmPath: values.helm && resolve(context.cwd, values.helm),
        cacheDir: values.cache && resolve(context.cwd, values.cache),
        workDir: join(workDir, 'work'),
        env: context.env,
        logger: context.logger,
      });
      if (values['dry-run'] || result.status === 'rendered') context.print(result.summary);
      context.print(result.message);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  },
};

function credentialFrom(env: NodeJS.ProcessEnv): ServiceCredential | undefined {
  const token = env.GITOPS_GIT_TOKEN || env.GITOPS_PR_TOKEN;
  if (!token) return undefined;
  return env.GITOPS_GIT_USERNAME !== undefined ? { kind: 'basic', username: env.GITOPS_GIT_USERNAME, password: token } : { kind: 'bearer', token };
}
