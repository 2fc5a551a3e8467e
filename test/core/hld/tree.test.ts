import { strict as assert } from 'node:assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GitopsError } from '../../../tasks/core/errors';
import { MemoryLogger } from '../../../tasks/core/logger';
import { mergeConfigs, resolveConfig } from '../../../tasks/core/hld/merge';
import { ComponentConfig, ComponentNode, emptyConfig } from '../../../tasks/core/hld/model';
import { loadTree } from '../../../tasks/core/hld/tree';
import { repoRoot } from '../../support/tools';
import { tempDir } from '../../support/tmp';

const fixture = join(repoRoot, 'test', 'fixtures', 'hld', 'tree');

function layer(partial: Partial<ComponentConfig>): ComponentConfig {
  return { ...emptyConfig(), ...partial };
}

function hld(files: Record<string, string>): string {
  const dir = tempDir('hld-tree-');
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

function find(node: ComponentNode, name: string): ComponentNode {
  const found = node.children.find((child) => child.definition.name === name);
  assert.ok(found, `no child ${name}`);
  return found;
}

describe('hld merge', () => {
  it('merges maps key by key and lets the higher layer win scalars', () => {
    const merged = mergeConfigs([
      layer({ config: { image: { tag: 'high' }, only: 'high' } }),
      layer({ config: { image: { tag: 'low', repo: 'nginx' }, extra: 1 } }),
    ]);
    assert.deepEqual(merged.config, { image: { tag: 'high', repo: 'nginx' }, only: 'high', extra: 1 });
  });

  it('concatenates lists, higher layer items first (conjungo append)', () => {
    const merged = mergeConfigs([layer({ config: { args: ['a', 'b'] } }), layer({ config: { args: ['c', 'a'] } }), layer({ config: { args: ['d'] } })]);
    assert.deepEqual(merged.config.args, ['a', 'b', 'c', 'a', 'd']);
  });

  it('treats a null in a higher layer as absent', () => {
    assert.deepEqual(mergeConfigs([layer({ config: { a: null } }), layer({ config: { a: 5 } })]).config, { a: 5 });
  });

  it('keeps the higher value when kinds differ', () => {
    assert.deepEqual(mergeConfigs([layer({ config: { a: 'text' } }), layer({ config: { a: { b: 1 } } })]).config, { a: 'text' });
  });

  it('fills namespace only while empty, with its injectNamespace', () => {
    const merged = mergeConfigs([
      layer({ injectNamespace: true }),
      layer({ namespace: 'mid', injectNamespace: false }),
      layer({ namespace: 'low', injectNamespace: true }),
    ]);
    assert.deepEqual([merged.namespace, merged.injectNamespace], ['mid', false]);
  });

  it('takes disabled from the highest layer that has an entry for the subcomponent', () => {
    const common = layer({ subcomponents: { a: layer({ disabled: true }), b: layer({ disabled: true }) } });
    const prod = layer({ subcomponents: { a: layer({ config: { x: 1 } }) } });
    const merged = mergeConfigs([prod, common]);
    assert.equal(merged.subcomponents.a.disabled, false);
    assert.equal(merged.subcomponents.b.disabled, true);
  });

  it('does not modify its inputs', () => {
    const high = layer({ config: { list: [1] } });
    mergeConfigs([high, layer({ config: { list: [2] } })]);
    assert.deepEqual(high.config, { list: [1] });
  });

  it('resolves environments in the order given, then common, below the parent override', async () => {
    const dir = hld({
      'config/common.yaml': 'namespace: common-ns\nconfig: {a: common, b: common, c: common, d: common}\n',
      'config/prod.yaml': 'config: {a: prod, b: prod, c: prod}\n',
      'config/prod-east.yaml': 'config: {a: east, b: east}\n',
    });
    const override = layer({ config: { a: 'parent' } });
    const merged = await resolveConfig(dir, ['prod-east', 'prod'], override);
    assert.deepEqual(merged.config, { a: 'parent', b: 'east', c: 'prod', d: 'common' });
    assert.equal(merged.namespace, 'common-ns');
    const reversed = await resolveConfig(dir, ['prod', 'prod-east']);
    assert.deepEqual(reversed.config, { a: 'prod', b: 'prod', c: 'prod', d: 'common' });
  });
});

describe('hld tree', () => {
  let tree: ComponentNode;
  const logger = new MemoryLogger();

  before(async () => {
    tree = await loadTree(fixture, ['prod-east', 'prod'], { logger });
  });

  it('gives the root the logical path ./ and its merged config', () => {
    assert.equal(tree.logicalPath, './');
    assert.equal(tree.directory, fixture);
    assert.equal(tree.config.namespace, 'shared');
    assert.deepEqual(tree.config.config, { region: 'east', tags: ['prod', 'common'] });
  });

  it('inlines helm and static children at the parent logical path and directory', () => {
    for (const name of ['web', 'manifests']) {
      const child = find(tree, name);
      assert.equal(child.inlined, true);
      assert.equal(child.logicalPath, './');
      assert.equal(child.directory, fixture);
    }
  });

  it('gives inlined children the parent config entry for them', () => {
    const web = find(tree, 'web');
    assert.deepEqual(web.config.config, { image: { tag: 'east' }, replicas: 3 });
    assert.deepEqual([web.config.namespace, web.config.injectNamespace], ['web-east', true]);
  });

  it('places a local component child at <parent>/<name> with its own directory', () => {
    const infra = find(tree, 'infra');
    assert.equal(infra.inlined, false);
    assert.equal(infra.logicalPath, 'infra');
    assert.equal(infra.directory, join(fixture, 'infra'));
    const dashboards = find(infra, 'dashboards');
    assert.equal(dashboards.logicalPath, 'infra');
    assert.deepEqual(dashboards.config.config, { theme: 'dark' });
  });

  it('lets the parent config beat the child own files, and keeps the parent namespace', () => {
    const infra = find(tree, 'infra');
    assert.deepEqual(infra.config.config, { tier: 'common', size: 'small' });
    assert.equal(infra.config.namespace, 'infra-common');
  });

  it('keeps a disabled child in the tree without loading below it', () => {
    const app = find(tree, 'app');
    assert.equal(app.config.disabled, true);
    assert.deepEqual(app.children, []);
    assert.equal(app.directory, join(fixture, 'app'));
  });

  it('enables the same child in an environment set that does not disable it', async () => {
    const common = await loadTree(fixture, [], { logger: new MemoryLogger() });
    assert.equal(find(common, 'app').config.disabled, false);
    assert.deepEqual(find(common, 'app').config.config, { a: 1 });
  });

  it('uses an installed components/<name> for a git child without materialize', () => {
    const git = find(tree, 'gitcomp');
    assert.equal(git.directory, join(fixture, 'components', 'gitcomp'));
    assert.equal(git.logicalPath, 'gitcomp');
    assert.deepEqual(git.config.config, { from: 'installed' });
  });

  it('asks materialize for git children', async () => {
    const calls: string[] = [];
    const tree2 = await loadTree(fixture, [], {
      logger: new MemoryLogger(),
      materialize: async (definition, parentDir) => {
        calls.push(`${definition.name}@${parentDir}`);
        return join(fixture, 'components', 'gitcomp');
      },
    });
    assert.deepEqual(calls, [`gitcomp@${fixture}`]);
    assert.equal(find(tree2, 'gitcomp').directory, join(fixture, 'components', 'gitcomp'));
  });

  it('tells to run install when a git child is not on disk', async () => {
    const dir = hld({ 'component.yaml': 'name: r\nsubcomponents:\n  - name: g\n    method: git\n    source: https://x.test/g.git\n' });
    await assert.rejects(loadTree(dir, [], { logger: new MemoryLogger() }), (error: GitopsError) =>
      /not installed/.test(error.message) && /run install/.test(error.hint ?? '') && error.line === 3);
  });

  it('detects a cycle of local components', async () => {
    const dir = hld({
      'component.yaml': 'name: r\nsubcomponents:\n  - name: a\n    source: ./a\n',
      'a/component.yaml': 'name: a\nsubcomponents:\n  - name: back\n    source: ..\n',
    });
    await assert.rejects(loadTree(dir, [], { logger: new MemoryLogger() }), (error: GitopsError) =>
      /includes itself/.test(error.message) && error.file === join('a', 'component.yaml') && error.field === 'subcomponents[0].source');
  });

  it('fails clearly for a missing local component directory', async () => {
    const dir = hld({ 'component.yaml': 'name: r\nsubcomponents:\n  - name: a\n    source: ./nowhere\n' });
    await assert.rejects(loadTree(dir, [], { logger: new MemoryLogger() }), /directory .*nowhere does not exist/);
  });

  it('checks static directories of local static children', async () => {
    const dir = hld({ 'component.yaml': 'name: r\nsubcomponents:\n  - name: s\n    type: static\n    path: missing\n' });
    await assert.rejects(loadTree(dir, [], { logger: new MemoryLogger() }), /does not exist/);
  });

  it('nests logical paths of non-inlined grandchildren', async () => {
    const dir = hld({
      'component.yaml': 'name: r\nsubcomponents:\n  - name: a\n    source: a\n',
      'a/component.yaml': 'name: a\nsubcomponents:\n  - name: b\n    source: b\n',
      'a/b/component.yaml': 'name: b\n',
    });
    const root = await loadTree(dir, [], { logger: new MemoryLogger() });
    assert.equal(find(find(root, 'a'), 'b').logicalPath, 'a/b');
  });
});
