import { strict as assert } from 'node:assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { diffTrees, parseResources, renderSummaryMarkdown } from '../../../tasks/core/report';
import { tempDir } from '../../support/tmp';

function writeTree(files: Record<string, string>): string {
  const root = tempDir('report-');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

const deployment = (tag: string): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: frontend
  namespace: web
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.contoso.com/frontend:${tag}
`;
const service = `apiVersion: v1
kind: Service
metadata:
  name: frontend
  namespace: web
spec:
  ports: [{ port: 80 }]
`;

describe('report: resource identification', () => {
  it('finds every object of a multi-document file by kind/namespace/name', () => {
    const ids = parseResources('prod/app.yaml', `${deployment('1.0')}---\n${service}---\n`)!.map((r) => r.id);
    assert.deepEqual(ids, ['Deployment/web/frontend', 'Service/web/frontend']);
  });

  it('marks a namespaced object without namespace as such', () => {
    const [resource] = parseResources('a.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\n')!;
    assert.equal(resource.id, 'ConfigMap/(no namespace)/settings');
    assert.equal(resource.namespace, undefined);
  });

  it('identifies cluster-scoped objects by kind/name, ignoring a stray namespace', () => {
    const ids = parseResources('a.yaml', 'kind: Namespace\nmetadata: { name: web }\n---\nkind: ClusterRole\nmetadata: { name: reader, namespace: web }\n')!;
    assert.deepEqual(ids.map((r) => [r.id, r.clusterScoped]), [['Namespace/web', true], ['ClusterRole/reader', true]]);
  });

  it('reads the items of a v1 List', () => {
    const ids = parseResources('a.yaml', 'kind: List\nitems:\n  - { kind: Secret, metadata: { name: s, namespace: n } }\n')!.map((r) => r.id);
    assert.deepEqual(ids, ['Secret/n/s']);
  });

  it('treats invalid YAML, non-objects and non-YAML files as opaque', () => {
    assert.equal(parseResources('a.yaml', 'kind: [unclosed\n'), undefined);
    assert.equal(parseResources('a.yaml', '- just\n- a list\n'), undefined);
    assert.equal(parseResources('README.md', '# notes'), undefined);
  });
});

describe('report: diffTrees', () => {
  it('reports added, changed and removed files and resources per environment folder', () => {
    const root = writeTree({
      'prod/frontend.yaml': deployment('1.0'),
      'prod/old.yaml': 'kind: ConfigMap\nmetadata: { name: legacy, namespace: web }\n',
      'prod/service.yaml': service,
      'dev/frontend.yaml': deployment('1.0'),
      'README.md': 'untouched by rendering\n',
    });
    const diff = diffTrees(root, [
      { path: 'prod/frontend.yaml', content: deployment('1.1') },
      { path: 'prod/service.yaml', content: service },
      { path: 'prod/ns.yaml', content: 'apiVersion: v1\nkind: Namespace\nmetadata: { name: web }\n' },
      { path: 'dev/frontend.yaml', content: deployment('1.0') },
    ], ['prod', 'dev']);

    assert.equal(diff.changed, true);
    const [prod, dev] = diff.environments;
    assert.deepEqual(prod.files.map((f) => [f.path, f.change]), [
      ['prod/frontend.yaml', 'changed'], ['prod/ns.yaml', 'added'], ['prod/old.yaml', 'removed']]);
    assert.equal(prod.unchangedFiles, 1);
    assert.deepEqual(prod.resources.map((r) => [r.id, r.change, r.file]), [
      ['ConfigMap/web/legacy', 'removed', 'prod/old.yaml'],
      ['Deployment/web/frontend', 'changed', 'prod/frontend.yaml'],
      ['Namespace/web', 'added', 'prod/ns.yaml'],
    ]);
    assert.deepEqual(dev.files, []);
    assert.equal(dev.unchangedFiles, 1);
  });

  it('gives a unified diff with a/ and b/ paths for a changed file', () => {
    const root = writeTree({ 'prod/frontend.yaml': deployment('1.0') });
    const [prod] = diffTrees(root, [{ path: 'prod/frontend.yaml', content: deployment('1.1') }], ['prod']).environments;
    assert.equal(prod.files[0].diff, [
      '--- a/prod/frontend.yaml',
      '+++ b/prod/frontend.yaml',
      '@@ -8,4 +8,4 @@',
      '     spec:',
      '       containers:',
      '         - name: app',
      '-          image: registry.contoso.com/frontend:1.0',
      '+          image: registry.contoso.com/frontend:1.1',
      '',
    ].join('\n'));
  });

  it('does not count a resource moved to another file as changed', () => {
    const root = writeTree({ 'prod/a.yaml': service });
    const [prod] = diffTrees(root, [{ path: 'prod/b.yaml', content: service }], ['prod']).environments;
    assert.deepEqual(prod.files.map((f) => [f.path, f.change]), [['prod/a.yaml', 'removed'], ['prod/b.yaml', 'added']]);
    assert.deepEqual(prod.resources, []);
  });

  it('compares files that do not parse as opaque text', () => {
    const root = writeTree({ 'prod/broken.yaml': 'kind: [\n', 'prod/notes.txt': 'a\n' });
    const [prod] = diffTrees(root, [
      { path: 'prod/broken.yaml', content: 'kind: [ still broken\n' },
      { path: 'prod/notes.txt', content: 'b\n' },
    ], ['prod']).environments;
    assert.deepEqual(prod.files.map((f) => [f.path, f.change, f.opaque]), [['prod/broken.yaml', 'changed', true], ['prod/notes.txt', 'changed', true]]);
    assert.deepEqual(prod.resources, []);
    assert.match(prod.files[1].diff!, /^-a\n\+b\n$/m);
  });

  it('treats every file as added when the manifest repository has no such folder yet', () => {
    const diff = diffTrees(undefined, [{ path: 'stage/app.yaml', content: service }], ['stage']);
    assert.deepEqual(diff.environments[0].files.map((f) => [f.change, f.diff?.split('\n')[0]]), [['added', '--- /dev/null']]);
    assert.deepEqual(diff.environments[0].resources.map((r) => r.id), ['Service/web/frontend']);
  });

  it('ignores files outside the rendered folders and a nested .git folder', () => {
    const root = writeTree({ 'prod/.git/config': 'x', 'prodution/app.yaml': service, 'prod/app.yaml': service });
    const diff = diffTrees(root, [{ path: 'prod/app.yaml', content: service }], ['prod/']);
    assert.equal(diff.changed, false);
    assert.equal(diff.environments[0].folder, 'prod');
  });
});

describe('report: migration from Fabrikate (issue 12)', () => {
  it('marks files whose documents are the same as formatting-only, and the summary lists them without their diffs', () => {
    // Fabrikate framed helm output as ---\n---\n with blank lines; we write ---\n<doc>.
    const old = writeTree({
      'prod/app.yaml': `---\n---\n# Source: web/templates/deployment.yaml\n${deployment('1.0')}\n---\n\n${service}\n`,
      'prod/other.yaml': deployment('1.0'),
    });
    const diff = diffTrees(old, [
      { path: 'prod/app.yaml', content: `---\n${deployment('1.0')}---\n${service}` },
      { path: 'prod/other.yaml', content: deployment('2.0') },
    ], ['prod']);
    const files = diff.environments[0].files;
    assert.deepEqual(files.map((f) => [f.path, f.change, f.formattingOnly === true]), [['prod/app.yaml', 'changed', true], ['prod/other.yaml', 'changed', false]]);
    const summary = renderSummaryMarkdown({ diff });
    assert.match(summary, /1 file changed only in formatting \(same documents, e\.g\. after migrating from Fabrikate\)/);
    assert.match(summary, /\| prod\/app\.yaml \| formatting only \(same documents\) \|/);
    assert.doesNotMatch(summary, /a\/prod\/app\.yaml/);
    assert.match(summary, /a\/prod\/other\.yaml/);
  });
});
