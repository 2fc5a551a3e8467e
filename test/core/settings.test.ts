import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateCommand } from '../../cli/commands/generate';
import { promoteCommand } from '../../cli/commands/promote';
import { publishCommand } from '../../cli/commands/publish';
import { updateImageTagCommand } from '../../cli/commands/update-image-tag';
import { commitAuthor, DEFAULT_AUTHORS, generateManifestsSettings, promoteContainerSettings, updateImageTagSettings, type SettingGroup } from '../../tasks/core/settings';
import { repoRoot } from '../support/tools';

interface TaskInput { name: string; defaultValue?: string; options?: Record<string, string> }

const inputsOf = (task: string): Map<string, TaskInput> => new Map(
  (JSON.parse(readFileSync(join(repoRoot, 'tasks', task, 'task.json'), 'utf8')) as { inputs: TaskInput[] }).inputs.map((i) => [i.name, i]),
);

const jobs: [string, SettingGroup, { help: string; settings?: SettingGroup }][] = [
  ['GenerateManifests', generateManifestsSettings, publishCommand],
  ['UpdateImageTag', updateImageTagSettings, updateImageTagCommand],
  ['PromoteContainer', promoteContainerSettings, promoteCommand],
];

describe('job settings (tasks/core/settings), the one source of defaults, allowed values and flags', () => {
  for (const [task, settings, command] of jobs) {
    describe(task, () => {
      const inputs = inputsOf(task);
      it('names only inputs of its task.json, with the same default and the same allowed values', () => {
        for (const [name, setting] of Object.entries(settings)) {
          const input = inputs.get(name);
          assert.ok(input, `${name} is not an input of ${task}`);
          if (setting.default !== undefined) assert.equal(setting.default, input.defaultValue, `default of ${name}`);
          if (setting.allowed) assert.deepEqual([...setting.allowed], Object.keys(input.options ?? {}), `allowed values of ${name}`);
          else assert.equal(input.options, undefined, `${name} is a pickList in task.json but has no allowed values here`);
        }
      });

      it('is the settings of its CLI command, and each flag is in that command\'s --help', () => {
        assert.equal(command.settings, settings);
        for (const [name, { flag }] of Object.entries(settings)) {
          assert.ok(command.help.includes(flag), `${name}: ${flag} is not in the --help of the command`);
        }
      });
    });
  }

  it('the generate command renders like GenerateManifests: its flags are those of publish', () => {
    for (const [name, { flag }] of Object.entries(generateCommand.settings ?? {})) {
      if (name === 'environment') continue;
      assert.equal(flag, generateManifestsSettings[name as keyof typeof generateManifestsSettings].flag, name);
    }
  });

  describe('commitAuthor', () => {
    const requester = { system: 'CI', requestedFor: 'Ada', requestedForEmail: 'ada@example.com' };
    const nameOnly = { system: 'CI', requestedFor: 'Ada' };
    it('takes each explicit field, else the requester, else the front end\'s default', () => {
      for (const defaults of [DEFAULT_AUTHORS.task, DEFAULT_AUTHORS.cli]) {
        assert.deepEqual(commitAuthor({}, requester, defaults), { name: 'Ada', email: 'ada@example.com' });
        assert.deepEqual(commitAuthor({ name: 'Bot' }, requester, defaults), { name: 'Bot', email: 'ada@example.com' });
      }
      assert.deepEqual(commitAuthor({}, { system: 'local' }, DEFAULT_AUTHORS.task), { name: 'Azure Pipelines', email: 'azure-pipelines@noreply.invalid' });
      assert.deepEqual(commitAuthor({ email: 'bot@example.com' }, { system: 'local' }, DEFAULT_AUTHORS.cli), { name: 'bedrock-gitops', email: 'bot@example.com' });
    });

    it('tasks take a requester\'s name without an email (classic releases); the CLI takes neither', () => {
      assert.deepEqual(commitAuthor({}, nameOnly, DEFAULT_AUTHORS.task), { name: 'Ada', email: 'azure-pipelines@noreply.invalid' });
      assert.deepEqual(commitAuthor({}, nameOnly, DEFAULT_AUTHORS.cli), { name: 'bedrock-gitops', email: 'bedrock-gitops@noreply.invalid' });
    });
  });
});
