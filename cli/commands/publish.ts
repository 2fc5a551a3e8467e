import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateManifests, parseEnvironmentSets } from '../../tasks/core/jobs/generateManifests';
import { helmHelp, helmOptions, helmPathFrom } from './helm';
import { generateManifestsSettings as S } from '../../tasks/core/settings';
import { CliCommand, UsageError } from './command';
import { networkOption } from './generate';
import { authorFrom, gitCredentialFromEnv, gitEnvironmentHelp, gitWriteHelp, gitWriteOptions, hookHelp, hookOptions, hooksFrom, localSourcesFrom, provenanceFromEnv, pushOptionsFrom } from './shared';

export const publishCommand: CliCommand = {
  name: 'publish',
  summary: 'render the HLD and publish it to the manifest repository (GenerateManifests)',
  settings: S,
  help: `Usage: bedrock-gitops publish [--manifest-repo URL] [--environments "prod-east prod,staging"]
                              [--hld DIR | --hld-repo URL] [options]

Does what the GenerateManifests task does: renders each environment set, replaces exactly those
environment folders under --path in the manifest repository, commits with a traceable message and
pushes with retry (or opens one pull request). An environment folder that already holds the render
of a newer HLD commit is skipped (success; all skipped: "superseded"). Without --manifest-repo it
only renders into --output.

Render:
  --environments LIST       sets separated by commas or newlines (repeatable); names inside a set
                            by spaces, highest precedence first (default: prod)
  --hld DIR                 HLD checkout (default: current directory)
  --hld-repo URL            clone the HLD from here instead
  --hld-branch REF          its branch, tag or commit (default: main)
  --output DIR              where the rendered tree is written (default: a temporary folder)
  --allow-empty             allow leaving an environment folder without resources
  --allow-environments-without-config
                            render an environment that has no config/<env>.yaml in any
                            component (default: refused as a likely typo)
${helmHelp}
  --kustomize PATH          kubectl or kustomize binary for type: kustomize components
                            (default: kustomize, else kubectl, on PATH)
  --cache DIR               keep fetched sources and renders here across runs
  --network-timeout SECONDS overall deadline of each fetch of a git or http source (default: 300)
${hookHelp}
Manifest repository:
  --manifest-repo URL       manifest repository to publish to
  --branch NAME             its branch (default: main; created if missing in direct mode)
  --path DIR                sub-folder holding the environment folders (default: the root)
  --dry-run                 render, compare and print the summary; push nothing
${gitWriteHelp('{hldCommit} {hldShortCommit} {hldSubject} {hldRepository} {environments}', 'the manifest branch, --branch')}

Environment (credentials never come from arguments):
${gitEnvironmentHelp}`,
  async run(context) {
    const { values } = parseArgs({
      args: context.args,
      options: {
        environments: { type: 'string', multiple: true },
        'allow-environments-without-config': { type: 'boolean' },
        hld: { type: 'string' },
        'hld-repo': { type: 'string' },
        'hld-branch': { type: 'string' },
        'manifest-repo': { type: 'string' },
        branch: { type: 'string' },
        path: { type: 'string' },
        output: { type: 'string' },
        'dry-run': { type: 'boolean' },
        'allow-empty': { type: 'boolean' },
        ...helmOptions,
        kustomize: { type: 'string' },
        cache: { type: 'string' },
        'network-timeout': { type: 'string' },
        ...hookOptions,
        ...gitWriteOptions,
      },
      allowPositionals: false,
    });
    const push = pushOptionsFrom(values);
    if (push.mode === 'pullRequest' && !values['manifest-repo']) throw new UsageError('--push-mode pullRequest needs --manifest-repo');
    const provenance = provenanceFromEnv(context.env);
    const workDir = mkdtempSync(join(tmpdir(), 'bedrock-publish-'));
    try {
      const result = await generateManifests({
        hld: values['hld-repo'] ? { url: values['hld-repo'], branch: values['hld-branch'] ?? S.hldBranch.default } : { dir: resolve(context.cwd, values.hld ?? '.') },
        environmentSets: parseEnvironmentSets(values.environments ?? [S.environments.default]),
        outputDir: values.output ? resolve(context.cwd, values.output) : join(workDir, 'rendered'),
        manifest: values['manifest-repo'] ? { url: values['manifest-repo'], branch: values.branch ?? S.manifestBranch.default, path: values.path } : undefined,
        pushMode: push.mode,
        pullRequest: push.pullRequest,
        pullRequestApiUrl: values['pr-api-url'],
        dryRun: values['dry-run'],
        allowEmptyOutput: values['allow-empty'],
        allowEnvironmentsWithoutConfig: !!values['allow-environments-without-config'],
        commitMessage: values['commit-message'],
        author: authorFrom(values, provenance),
        credential: gitCredentialFromEnv(context.env),
        provenance,
        maxPushAttempts: push.maxAttempts,
        helmPath: await helmPathFrom(values, context),
        kustomizePath: values.kustomize && resolve(context.cwd, values.kustomize),
        cacheDir: values.cache && resolve(context.cwd, values.cache),
        network: networkOption(values['network-timeout']),
        workDir: join(workDir, 'work'),
        env: context.env,
        ...hooksFrom(values),
        ...localSourcesFrom(context.env),
        logger: context.logger,
      });
      if (values['dry-run'] || result.status === 'rendered') context.print(result.summary);
      context.print(result.message);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  },
};

