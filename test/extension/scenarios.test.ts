import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { checkPipeline } from '../templates/support/checks';
import type { Value } from '../templates/support/expressions';
import { loadOurTasks } from '../templates/support/tasks';
import { repoRoot } from '../support/tools';
import { taskNames } from './extensionFiles';

/** The ```yaml blocks of a Markdown file. */
const yamlBlocks = (markdown: string) => [...markdown.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);

describe('task README scenarios (tasks/<Task>/scenarios.md)', () => {
  const tasks = loadOurTasks();
  for (const name of taskNames) {
    const file = join(repoRoot, 'tasks', name, 'scenarios.md');
    const blocks = yamlBlocks(readFileSync(file, 'utf8'));

    it(`${name}: at least three scenarios, each using the task`, () => {
      assert.ok(blocks.length >= 3, `${blocks.length} scenarios`);
      for (const block of blocks) assert.match(block, new RegExp(`task: ${name}@1\\n`));
    });

    it(`${name}: every snippet is valid for task.json (input names, required inputs, visibility, allowed values)`, () => {
      for (const block of blocks) {
        // FAILSAFE: values stay strings, as the agent passes them to the task.
        const document = yaml.load(block, { schema: yaml.FAILSAFE_SCHEMA }) as Value;
        const steps = Array.isArray(document) ? document : (document as { steps: Value[] }).steps;
        assert.ok(Array.isArray(steps), block);
        assert.deepEqual(checkPipeline({ steps }, { tasks, builtIns: new Set(), complete: false }), [], block);
      }
    });

    it(`${name}: the generated README shows the scenarios`, () => {
      const readme = readFileSync(join(repoRoot, 'tasks', name, 'README.md'), 'utf8');
      assert.match(readme, /## Common scenarios/);
      for (const block of blocks) assert.ok(readme.includes(block), 'scenario block in README');
    });
  }
});
