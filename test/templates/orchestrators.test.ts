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
  return [...joined.matchAll(/bedrock-gitops ([a-z][a-z-]*)([^\n]*)/g)]
    .filter((m) => !m[0].includes('bedrock-gitops-azure-pipelines'))
    .map((m) => ({ command: m[1], flags: [...m[2].matchAll(/(?:^|\s)(--[a-z-]+)/g)].map((f) => f[1]) }));
}

/** This repository's GitHub Action (action.yml at its root), as workflows reference it. */
const ourAction = /^bedrock-gitops\/bedrock-gitops-azure-pipelines@v\d+$/;

type Workflow = { jobs: Record<string, { steps: { run?: string; uses?: string; with?: Record<string, string>; env?: Record<string, string> }[] }> };

/** The `uses:` steps of our action in a workflow, as CLI calls (flags are the args lines starting with --). */
function actionCalls(text: string): { command: string; flags: string[] }[] {
  const workflow = yaml.load(text) as Workflow;
  return Object.values(workflow.jobs).flatMap((job) => job.steps)
    .filter((step) => step.uses?.startsWith('bedrock-gitops/'))
    .map((step) => {
      assert.match(step.uses!, ourAction);
      return { command: step.with!.command, flags: step.with!.args.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('--')) };
    });
}

const examples = {
  Jenkinsfile: { file: join(repoRoot, 'examples', 'jenkins', 'Jenkinsfile'), calls: cliCalls },
  'GitHub Actions workflow': { file: join(repoRoot, 'examples', 'github-actions', 'gitops.yml'), calls: actionCalls },
};

describe('Jenkins and GitHub Actions examples', () => {
  for (const [label, { file, calls: callsOf }] of Object.entries(examples)) {
    it(`${label} calls update-image-tag and promote with flags the CLI documents`, () => {
      const calls = callsOf(readFileSync(file, 'utf8'));
      assert.deepEqual([...new Set(calls.map((c) => c.command))].sort(), ['promote', 'update-image-tag']);
      for (const call of calls) {
        for (const flag of call.flags) assert.match(helpOf[call.command], new RegExp(`\\s${flag}\\b`), `${label}: ${call.command} ${flag}`);
      }
    });

    it(`${label} passes no secret on a command line`, () => {
      const text = readFileSync(file, 'utf8').replace(/\\\n/g, ' ');
      for (const line of text.split('\n').filter((l) => /bedrock-gitops (update-image-tag|promote)/.test(l))) {
        assert.doesNotMatch(line, /secrets\.|TOKEN|PASSWORD/, line);
      }
    });
  }

  it('the GitHub Actions workflow hands secrets to steps only through env, never in run or args', () => {
    const workflow = yaml.load(readFileSync(examples['GitHub Actions workflow'].file, 'utf8')) as Workflow;
    const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);
    const texts = steps.flatMap((s) => [s.run ?? '', ...Object.values(s.with ?? {})]);
    assert.ok(steps.some((s) => s.uses?.startsWith('bedrock-gitops/')), 'the workflow uses the action');
    for (const text of texts) assert.doesNotMatch(text, /\$\{\{\s*secrets\./, text);
  });

  it('the Jenkinsfile installs the packed CLI package (bedrock-gitops) before calling it', () => {
    const text = readFileSync(examples.Jenkinsfile.file, 'utf8');
    const install = text.search(/npm install [^\n]*bedrock-gitops@/);
    assert.ok(install > 0, 'installs bedrock-gitops from npm');
    assert.ok(install < text.indexOf('bedrock-gitops update-image-tag'), 'before the first call');
  });
});
