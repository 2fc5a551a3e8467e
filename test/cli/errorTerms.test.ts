import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateCommand } from '../../cli/commands/generate';
import { installCommand } from '../../cli/commands/install';
import { promoteCommand } from '../../cli/commands/promote';
import { publishCommand } from '../../cli/commands/publish';
import { setCommand } from '../../cli/commands/set';
import { describeForCli, gitEnvironmentHelp } from '../../cli/commands/shared';
import { cliFlagOfTaskInput } from '../../tasks/core/settings';
import { updateImageTagCommand } from '../../cli/commands/update-image-tag';
import { GitopsError } from '../../tasks/core/errors';
import { repoRoot } from '../support/tools';

const helps = [generateCommand, installCommand, promoteCommand, publishCommand, setCommand, updateImageTagCommand].map((c) => c.help).join('\n');

describe('CLI errors in CLI terms (cliFlagOfTaskInput)', () => {
  it('maps only real task inputs, each to a flag some command documents (or the token variable)', () => {
    const inputs = new Set(readdirSync(join(repoRoot, 'tasks')).flatMap((task) => {
      try {
        return (JSON.parse(readFileSync(join(repoRoot, 'tasks', task, 'task.json'), 'utf8')) as { inputs: { name: string }[] }).inputs.map((i) => i.name);
      } catch {
        return [];
      }
    }));
    for (const [input, flag] of Object.entries(cliFlagOfTaskInput)) {
      assert.ok(inputs.has(input), `${input} is not a task input`);
      if (flag.startsWith('--')) assert.match(helps, new RegExp(`\\s${flag}\\b`), `${input} -> ${flag}`);
      else assert.match(gitEnvironmentHelp, new RegExp(flag), `${input} -> ${flag}`);
    }
  });

  it('names the flag in the field, the message and the hint', () => {
    const error = new GitopsError('hldRepositoryUrl "x y" contains spaces', { field: 'hldRepositoryUrl', hint: 'set hldRepositoryUrl or hldPath' });
    assert.equal(describeForCli(error), '--hld-repo: --hld-repo "x y" contains spaces (set --hld-repo or --hld)');
  });

  it('maps a one-word input only as the field, leaving the same word in prose alone', () => {
    const error = new GitopsError('the environment has no config file', { field: 'environment', file: 'config/prod.yaml' });
    assert.equal(describeForCli(error), 'config/prod.yaml: --environment: the environment has no config file');
  });
});
