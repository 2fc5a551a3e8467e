import { assertSeparateOutput } from '../../tasks/core/names';
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { parseEnvironmentSets } from '../../tasks/core/jobs/manifestSync';
import { generate } from '../../tasks/core/render/generate';
import { generateCommandSettings, RENDER_NETWORK_TIMEOUT_SECONDS as TIMEOUT } from '../../tasks/core/settings';
import { CliCommand, UsageError } from './command';
import { helmHelp, helmOptions, helmPathFrom, toolsDirectory } from './helm';
import { hookHelp, hookOptions, hooksFrom, localSourcesFrom } from './shared';

/** `--network-timeout SECONDS` as the render's network limits. */
export function networkOption(text: string | undefined): { deadlineMs: number } | undefined {
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (!Number.isInteger(seconds) || seconds < TIMEOUT.min || seconds > TIMEOUT.max) throw new UsageError(`--network-timeout must be a whole number of seconds from ${TIMEOUT.min} to ${TIMEOUT.max}`);
  return { deadlineMs: seconds * 1000 };
}

export const generateCommand: CliCommand = {
  name: 'generate',
  settings: generateCommandSettings,
  summary: 'render the HLD into <output>/<env1-env2...>/<path>/<name>.yaml',
  help: `Usage: bedrock-gitops generate [ENV ...] [--environments "prod-east prod,staging"] [--hld DIR] [--output DIR]
                               [--cache DIR] [--helm PATH | --helm-version X] [--concurrency N] [--network-timeout SECONDS]
                               [--kustomize PATH] [--no-hooks] [--allow-remote-hooks]

Renders the HLD for one environment set, like \`fab generate\`: the ENV arguments are layered
in the order given, highest precedence first, over common. \`generate prod-east prod\` writes
<output>/prod-east-prod/. Without ENV (and without --environments) it renders common.

As with \`fab install\` and \`fab generate\`, it renders what \`install\` put in components/<name>
and helm_repos/<name> without fetching again (offline) and without running the install hooks
again; a source not installed yet is installed first; a copy installed for another source or
version is refused: run install again.

Options:
  --environments LIST render more environment sets in the same run (identical renders are
                      shared): sets separated by commas or newlines, names inside a set by
                      spaces, highest precedence first (the syntax of publish)
  --allow-environments-without-config
                      render an environment that has no config/<env>.yaml in any component
                      (default: refused as a likely typo)
  --hld DIR           HLD root (default: current directory)
  --output DIR        output root (default: <hld>/generated); each rendered set's folder is replaced
  --cache DIR         keep fetched sources and renders here across runs
  --concurrency N     components rendered at once (default: number of cores)
  --kustomize PATH    kubectl or kustomize binary for type: kustomize components (default:
                      kustomize, else kubectl, on PATH)
  --network-timeout SECONDS
                      overall deadline of each fetch of a git or http source (default: 300)
${hookHelp}
  -h, --help          show this help
helm:
${helmHelp}`,
  async run(context) {
    const { values, positionals } = parseArgs({
      args: context.args,
      options: {
        hld: { type: 'string' },
        output: { type: 'string' },
        cache: { type: 'string' },
        ...helmOptions,
        concurrency: { type: 'string' },
        kustomize: { type: 'string' },
        'network-timeout': { type: 'string' },
        environments: { type: 'string', multiple: true },
        ...hookOptions,
        'allow-environments-without-config': { type: 'boolean' },
      },
      allowPositionals: true,
    });
    const sets: string[][] = [];
    if (positionals.length > 0) sets.push(positionals);
    if (values.environments) sets.push(...parseEnvironmentSets(values.environments));
    if (sets.length === 0) sets.push([]);
    let concurrency: number | undefined;
    if (values.concurrency !== undefined) {
      concurrency = Number(values.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError('--concurrency must be a positive whole number');
    }
    const hldDir = resolve(context.cwd, values.hld ?? '.');
    const outputDir = values.output ? resolve(context.cwd, values.output) : join(hldDir, 'generated');
    const cacheDir = values.cache && resolve(context.cwd, values.cache);
    assertSeparateOutput(outputDir, 'outputPath', [
      { path: hldDir, what: 'HLD', mayContain: true },
      { path: cacheDir, what: 'cache folder', mayContain: true },
    ]);
    const tree = await generate({
      hldDir,
      environmentSets: sets,
      outputDir,
      allowEnvironmentsWithoutConfig: !!values['allow-environments-without-config'],
      cacheDir,
      helmPath: await helmPathFrom(values, context),
      helmVersionCacheDir: toolsDirectory(context.env),
      kustomizePath: values.kustomize && resolve(context.cwd, values.kustomize),
      concurrency,
      network: networkOption(values['network-timeout']),
      env: context.env,
      ...hooksFrom(values),
      install: false,
      ...localSourcesFrom(context.env),
      logger: context.logger,
    });
    for (const set of tree.environmentSets) {
      context.print(`${join(outputDir, set.name)}: ${set.files.length} files`);
    }
  },
};
