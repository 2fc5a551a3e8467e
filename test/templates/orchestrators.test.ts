import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { promoteCommand } from '../../cli/commands/promote';
import { updateImageTagCommand } from '../../cli/commands/update-image-tag';
import { repoRoot } from '../support/tools';

const helpOf: Record<string, string> = { promote: promoteCommand.help, 'update-image-tag': updateImageTagCommand.help };

/** Each `bedrock-gitops <command> ...` call (with `\` continuations joined) and its flags. */
function cliCalls(text: string): { command: string; flags: string[] }[] {
  const joined = text.replace(/\\\n/g, ' ');
  return [...joined.matchAll(/bedrock-gitops ([a-z-]+)([^\n]*)/g)]
    .filter((m) => !m[0].includes('bedrock-gitops-azure-pipelines'))
    .map((m) => ({ command: m[1], flags: [...m[2].matchAll(/(?:^|\s)(--[a-z-]+)/g)].map((f) => f[1]) }));
}

const examples = {
  Jenkinsfile: join(repoRoot, 'examples', 'jenkins', 'Jenkinsfile'),
  'GitHub Actions workflow': join(repoRoot, 'examples', 'github-actions', 'gitops.yml'),
};

describe('Jenkins and GitHub Actions examples', () => {
  for (const [label, file] of Object.entries(examples)) {
    it(`${label} calls update-image-tag and promote with flags the CLI documents`, () => {
      const calls = cliCalls(readFileSync(file, 'utf8'));
      assert.deepEqual([...new Set(calls.map((c) => c.command))].sort(), ['promote', 'update-image-tag']);
      for (const call of calls) {
        for (const flag of call.flags) assert.match(helpOf[call.command], new RegExp(`\\s${flag}\\b`), `${label}: ${call.command} ${flag}`);
      }
    });

    it(`${label} passes no secret on a command line`, () => {
      const text = readFileSync(file, 'utf8');
      for (const line of text.split('\n').filter((l) => /bedrock-gitops (update-image-tag|promote)/.test(l))) {
        assert.doesNotMatch(line, /secrets\.|TOKEN|PASSWORD/, line);
      }
    });
  }

  it('the GitHub Actions workflow hands secrets to steps only through env', () => {
    const workflow = yaml.load(readFileSync(examples['GitHub Actions workflow'], 'utf8')) as {
      jobs: Record<string, { steps: { run?: string }[] }>;
    };
    const runs = Object.values(workflow.jobs).flatMap((job) => job.steps.map((s) => s.run ?? ''));
    assert.ok(runs.length > 0);
    for (const run of runs) assert.doesNotMatch(run, /\$\{\{\s*secrets\./, run);
  });
});
