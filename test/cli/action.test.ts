import { strict as assert } from 'node:assert';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { runProcess } from '../../tasks/core/exec';
import { ensureBundled } from '../support/bundle';
import { tempDir } from '../support/tmp';
import { repoRoot } from '../support/tools';

interface Action {
  inputs: Record<string, { required?: boolean; default?: string }>;
  runs: { using: string; steps: { shell: string; run: string; env: Record<string, string> }[] };
}

const action = yaml.load(readFileSync(join(repoRoot, 'action.yml'), 'utf8')) as Action;
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * Runs the action's step script with bash as the runner does, its inputs in the env the step
 * maps them to. `npx` on PATH is a stand-in that checks the package spec and runs our bundled CLI.
 */
async function runAction(inputs: Record<string, string>, cwd: string) {
  const bin = join(tempDir('bg-action-bin-'), 'bin');
  mkdirSync(bin);
  const npx = join(bin, 'npx');
  writeFileSync(npx, `#!/bin/sh\n[ "$1" = --yes ] && [ "$2" = "bedrock-gitops@${version}" ] || { echo "unexpected npx $1 $2" >&2; exit 99; }\nshift 2\nexec "${process.execPath}" "${join(repoRoot, 'dist', 'cli.js')}" "$@"\n`);
  chmodSync(npx, 0o755);
  const step = action.runs.steps[0];
  const value = (name: string) => inputs[name] ?? action.inputs[name].default ?? '';
  const env: NodeJS.ProcessEnv = { PATH: `${bin}:${process.env.PATH}` };
  for (const [variable, expression] of Object.entries(step.env)) {
    const input = /^\$\{\{ inputs\.([a-z-]+) \}\}$/.exec(expression)![1];
    env[variable] = value(input);
  }
  return runProcess('bash', ['-e', '-c', step.run], { cwd, env });
}

describe('GitHub Action (action.yml) wrapping the CLI', function () {
  this.timeout(60_000);
  before(() => ensureBundled());

  it('is a composite action with a required command and the package version as default CLI', () => {
    assert.equal(action.runs.using, 'composite');
    assert.equal(action.inputs.command.required, true);
    assert.equal(action.inputs['cli-version'].default, version);
    assert.equal(action.runs.steps[0].shell, 'bash');
  });

  it('passes each line of args as one argument, spaces and quotes included, without a shell parsing it', async () => {
    const hld = tempDir('bg-action-hld-');
    writeFileSync(join(hld, 'component.yaml'), 'name: app\n');
    const result = await runAction({ command: 'set', args: `  --subcomponent\napi\n\nmessage=a b "c" $(touch pwned)\n` }, hld);
    assert.equal(result.code, 0, result.stderr);
    const config = readFileSync(join(hld, 'config', 'common.yaml'), 'utf8');
    assert.deepEqual(yaml.load(config), { subcomponents: { api: { config: { message: 'a b "c" $(touch pwned)' } } } });
    assert.match(result.stdout, /api: message = /);
    assert.ok(!existsSync(join(hld, 'pwned')), 'nothing in args was run');
  });

  it('refuses a command the CLI does not have, with an error annotation', async () => {
    const result = await runAction({ command: 'rm -rf' }, tempDir('bg-action-'));
    assert.equal(result.code, 2);
    assert.match(result.stdout, /^::error::bedrock-gitops action: unknown command 'rm -rf'/);
  });
});
