import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { noSchemasReason, pipelineSchemaFile, repoRoot } from '../support/tools';
import { contracts, extensionManifest, pngSize, taskJson, taskNames, visibleRuleClauses } from './extensionFiles';

/** The official task.json schema's validator, or undefined when GITOPS_PIPELINE_SCHEMAS is not set. */
function officialSchemaValidator() {
  const file = pipelineSchemaFile('tasks.schema.json');
  if (!file) return undefined;
  const schema = JSON.parse(readFileSync(file, 'utf8'));
  // The schema is draft-04: the keywords it uses mean the same in ajv 8's default draft, but its
  // `id` / `$schema` headers are not accepted, and its patterns (`\\:`) are not valid with the `u` flag.
  delete schema.$schema;
  delete schema.id;
  return new Ajv({ strict: false, allErrors: true, unicodeRegExp: false }).compile(schema);
}

describe('task.json files', () => {
  const validate = officialSchemaValidator();
  if (!validate) console.log(`    task.json: ${noSchemasReason}`);

  it('the schema validator rejects a task.json that breaks the schema', function () {
    if (!validate) return this.skip();
    const broken = { ...taskJson('UpdateImageTag'), id: 'not-a-guid', inputs: [{ name: 'bad-name', label: 'x', type: 'string' }] };
    assert.equal(validate(broken), false);
  });

  it('task ids are distinct GUIDs', () => {
    const ids = taskNames.map((t) => taskJson(t).id.toLowerCase());
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(new Set(ids).size, ids.length);
  });

  for (const name of taskNames) {
    describe(name, () => {
      const task = taskJson(name);
      const inputNames = new Set(task.inputs.map((i) => i.name));
      const byName = new Map(task.inputs.map((i) => [i.name, i]));

      it('validates against the official task schema', function () {
        if (!validate) return this.skip();
        assert.ok(validate(task), JSON.stringify(validate.errors, null, 2));
      });

      it('has its folder name as name, a friendlyName of at most 40 characters and a Deploy or Utility category', () => {
        assert.equal(task.name, name);
        assert.match(task.name, /^[A-Za-z0-9-]+$/);
        assert.ok(task.friendlyName.length > 0 && task.friendlyName.length <= 40, task.friendlyName);
        assert.ok(['Deploy', 'Utility'].includes(task.category as string));
      });

      it('runs on Node20_1 and Node24 with the same bundle target and minimum agent 3.232.1', () => {
        assert.deepEqual(Object.keys(task.execution).sort(), ['Node20_1', 'Node24']);
        assert.equal(task.execution.Node20_1.target, 'dist/index.js');
        assert.equal(task.execution.Node24.target, task.execution.Node20_1.target);
        assert.equal(task.minimumAgentVersion, '3.232.1');
      });

      it('is visible in Build and Release and runs on agents and deployment groups', () => {
        assert.deepEqual(task.visibility, ['Build', 'Release']);
        assert.deepEqual(task.runsOn, ['Agent', 'DeploymentGroup']);
        assert.ok(typeof task.releaseNotes === 'string' && (task.releaseNotes as string).length > 0);
        assert.match(task.helpMarkDown as string, /\]\(https:\/\/[^)]+\)/, 'helpMarkDown links to the documentation');
      });

      it('has unique input names of the form ^[A-Za-z][A-Za-z0-9]*$', () => {
        for (const input of task.inputs) assert.match(input.name, /^[A-Za-z][A-Za-z0-9]*$/);
        assert.equal(inputNames.size, task.inputs.length);
      });

      it('puts every input in an existing group, with a label and help', () => {
        const groups = new Set(task.groups.map((g) => g.name));
        for (const group of task.groups) assert.equal(typeof group.isExpanded, 'boolean', `group ${group.name} isExpanded`);
        for (const input of task.inputs) {
          assert.ok(input.groupName && groups.has(input.groupName), `${input.name} is in group ${input.groupName}`);
          assert.ok(input.label, `${input.name} has a label`);
          assert.ok(input.helpMarkDown && input.helpMarkDown.length >= 20, `${input.name} has helpMarkDown`);
        }
        const used = new Set(task.inputs.map((i) => i.groupName));
        for (const group of groups) assert.ok(used.has(group), `group ${group} holds inputs`);
      });

      it('gives pickLists options and a default among them, and booleans a true/false default', () => {
        for (const input of task.inputs) {
          if (input.type === 'pickList') {
            assert.ok(input.options && Object.keys(input.options).length >= 2, `${input.name} options`);
            assert.ok(Object.keys(input.options).includes(String(input.defaultValue)), `${input.name} default ${input.defaultValue}`);
          }
          if (input.type === 'boolean') assert.ok(['true', 'false'].includes(String(input.defaultValue)), `${input.name} default`);
        }
      });

      it('writes every visibleRule over existing inputs and values they can take', () => {
        const rules = [...task.inputs.map((i) => ({ owner: i.name, rule: i.visibleRule })), ...task.groups.map((g) => ({ owner: `group ${g.name}`, rule: g.visibleRule }))];
        for (const { owner, rule } of rules) {
          if (!rule) continue;
          for (const clause of visibleRuleClauses(rule)) {
            const target = byName.get(clause.input);
            assert.ok(target, `${owner}: visibleRule refers to unknown input ${clause.input}`);
            assert.notEqual(target.name, owner, `${owner}: visibleRule refers to itself`);
            if (target.type === 'pickList') assert.ok(Object.keys(target.options ?? {}).includes(clause.value), `${owner}: ${clause.value} is not an option of ${clause.input}`);
            if (target.type === 'boolean') assert.ok(['true', 'false'].includes(clause.value), `${owner}: ${clause.input} is boolean`);
          }
        }
      });

      it('shows the pull-request inputs only in pull-request mode', () => {
        for (const input of task.inputs.filter((i) => i.groupName === 'pullRequest')) {
          assert.match(input.visibleRule ?? '', /pushMode = pullRequest/, input.name);
        }
      });

      it('names only real inputs in instanceNameFormat', () => {
        const references = [...task.instanceNameFormat.matchAll(/\$\(([^)]+)\)/g)].map((m) => m[1]);
        assert.ok(references.length > 0, 'instanceNameFormat shows at least one input');
        for (const reference of references) assert.ok(inputNames.has(reference), `$(${reference}) is not an input`);
      });

      it('has every input the issue names, with the defaults it states', () => {
        const contract = contracts[name];
        for (const input of contract.inputs) assert.ok(inputNames.has(input), `missing input ${input}`);
        for (const [input, value] of Object.entries(contract.defaults)) assert.equal(String(byName.get(input)?.defaultValue), value, `default of ${input}`);
      });

      it('uses the connection types the agent resolves', () => {
        assert.equal(byName.get('gitConnection')?.type, 'connectedService:Generic');
        for (const input of task.inputs.filter((i) => /RegistryConnection$/.test(i.name))) assert.equal(input.type, 'connectedService:dockerregistry');
        for (const input of task.inputs.filter((i) => /Azure[A-Za-z]*Subscription$/.test(i.name))) assert.equal(input.type, 'connectedService:AzureRM');
        for (const input of task.inputs.filter((i) => i.name === 'kubernetesConnection')) assert.equal(input.type, 'connectedService:kubernetes');
        for (const input of task.inputs.filter((i) => i.name === 'argoCdConnection')) assert.equal(input.type, 'connectedService:Generic');
        for (const input of task.inputs.filter((i) => i.type.startsWith('connectedService:'))) assert.equal(input.defaultValue, undefined, `${input.name} has no default`);
      });

      it('documents exactly the outputs the issue names', () => {
        assert.deepEqual(task.outputVariables.map((o) => o.name).sort(), [...contracts[name].outputs].sort());
        for (const output of task.outputVariables) assert.ok(output.description && output.description.length >= 15, `${output.name} is documented`);
      });

      it('has the extension version', () => {
        const { version } = task;
        assert.equal(`${version.Major}.${version.Minor}.${version.Patch}`, extensionManifest().version);
      });

      it('ships a 32x32 PNG icon', () => {
        assert.deepEqual(pngSize(readFileSync(join(repoRoot, 'tasks', name, 'icon.png'))), { width: 32, height: 32 });
      });
    });
  }
});

describe('vss-extension.json', () => {
  const manifest = extensionManifest();

  it('contributes exactly one task per task folder', () => {
    const tasks = manifest.contributions.filter((c) => c.type === 'ms.vss-distributed-task.task');
    assert.deepEqual(tasks.map((c) => c.properties.name).sort(), taskNames.map((t) => `tasks/${t}`).sort());
    for (const c of tasks) assert.deepEqual(c.targets, ['ms.vss-distributed-task.tasks']);
  });

  it('has a 128x128 PNG icon', () => {
    assert.deepEqual(pngSize(readFileSync(join(repoRoot, manifest.icons.default))), { width: 128, height: 128 });
  });

  it('reads PNG sizes from the header and rejects what is not a PNG', () => {
    assert.equal(pngSize(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')), undefined);
    assert.deepEqual(pngSize(readFileSync(join(repoRoot, 'images', 'manifest-generation.png')))?.width, 940);
  });
});
