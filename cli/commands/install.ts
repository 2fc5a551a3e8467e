import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { install } from '../../tasks/core/render/installTree';
import { CliCommand } from './command';
import { helmHelp, helmOptions, helmPathFrom } from './helm';
import { hookHelp, hookOptions, hooksFrom, localSourcesFrom } from './shared';

export const installCommand: CliCommand = {
  name: 'install',
  summary: 'fetch git components, remote charts and http statics of an HLD (cached)',
  help: `Usage: bedrock-gitops install [--hld DIR] [--cache DIR] [--helm PATH | --helm-version X] [--no-hooks] [--allow-remote-hooks]

Fetches every remote source of the HLD into its Fabrikate place (components/<name>,
helm_repos/<name>) and runs the install hooks. A copy installed earlier for another source or
version is replaced (each records its source in components/.<name>.source). \`generate\` then
renders these copies without fetching them again.

Options:
  --hld DIR     HLD root (default: current directory)
  --cache DIR   keep fetched sources here across runs (unchanged sources are not fetched again)
${hookHelp}
  -h, --help    show this help
helm:
${helmHelp}`,
  async run(context) {
    const { values } = parseArgs({
      args: context.args,
      options: { hld: { type: 'string' }, cache: { type: 'string' }, ...helmOptions, ...hookOptions },
      allowPositionals: false,
    });
    const result = await install({
      hldDir: resolve(context.cwd, values.hld ?? '.'),
      cacheDir: values.cache && resolve(context.cwd, values.cache),
      helmPath: await helmPathFrom(values, context),
      env: context.env,
      ...hooksFrom(values),
      ...localSourcesFrom(context.env),
      logger: context.logger,
    });
    const f = result.fetches;
    context.print(`installed ${result.components} components (fetched: ${f.gitClones} git, ${f.chartPulls} charts, ${f.httpDownloads} files)`);
  },
};
