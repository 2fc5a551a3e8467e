import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { GitopsError } from '../../tasks/core/errors';
import { assignmentsFromFile, parseAssignment, setValues, type SetValue } from '../../tasks/core/hld/set';
import { CliCommand, UsageError } from './command';

export const setCommand: CliCommand = {
  name: 'set',
  summary: 'write config values into config/<env>.yaml, keeping comments and layout',
  help: `Usage: bedrock-gitops set [--hld DIR] [--environment ENV] [--subcomponent a.b]
                          [--no-new-config-keys] [-f FILE] key.path=value key.path:=typed ...

Like \`fab set\`. \`key=value\` stores a string (an existing number or boolean keeps its kind);
\`key:=value\` stores a YAML-typed value (3, true, null, [a]). Quote a segment that contains
dots: 'annotations."k8s.io/x"=y'. Select list items with name[0] or name[key=value]:
'containers[name=web].image=nginx:1.27'.

Options:
  --hld DIR               component folder (default: current directory)
  --environment ENV       config file to edit (default: common)
  --subcomponent a.b      edit subcomponents.a.subcomponents.b.config (default: the component)
  --no-new-config-keys    fail unless the subcomponent and every key already exist
  -f, --file FILE         also set every value of this YAML file (a map; its numbers and
                          booleans keep their type); key=value arguments apply after it
  -h, --help              show this help`,
  async run(context) {
    const { values, positionals } = parseArgs({
      args: context.args,
      options: {
        hld: { type: 'string' },
        environment: { type: 'string' },
        subcomponent: { type: 'string' },
        'no-new-config-keys': { type: 'boolean' },
        file: { type: 'string', short: 'f' },
      },
      allowPositionals: true,
    });
    if (positionals.length === 0 && values.file === undefined) throw new UsageError('give at least one key=value, or --file');
    const fromFile: SetValue[] = [];
    if (values.file !== undefined) {
      const file = resolve(context.cwd, values.file);
      const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw new GitopsError(`cannot read the values file: ${error.code ?? error.message}`, { file, field: '--file', hint: 'give the path of a YAML file of values' });
      });
      fromFile.push(...assignmentsFromFile(text, file));
    }
    const result = await setValues(
      resolve(context.cwd, values.hld ?? '.'),
      {
        environment: values.environment ?? 'common',
        subcomponent: values.subcomponent ?? '',
        values: [...fromFile, ...positionals.map((text) => parseAssignment(text))],
        noNewKeys: values['no-new-config-keys'] === true,
      },
      // setValues logs each change; the CLI prints them to stdout instead, so each shows once.
      { ...context.logger, info: context.logger.debug },
    );
    if (!result.changed) {
      context.print(`${result.file}: no change`);
      return;
    }
    const place = values.subcomponent ? `${values.subcomponent}: ` : '';
    for (const change of result.changes) {
      context.print(`${result.file}: ${place}${change.key} = ${JSON.stringify(change.newValue)}${'oldValue' in change ? ` (was ${JSON.stringify(change.oldValue)})` : ' (new)'}`);
    }
  },
};
