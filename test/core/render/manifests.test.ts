import { strict as assert } from 'node:assert';
import { injectNamespace, joinStaticFiles, normalizeHelmOutput } from '../../../tasks/core/render/manifests';

describe('render manifests', () => {
  it('joins static files as Fabrikate did: ---\\n<content>\\n each', () => {
    assert.equal(joinStaticFiles(['a: 1', 'b: 2\n']), '---\na: 1\n---\nb: 2\n\n');
  });

  it('drops helm documents that rendered to nothing but comments', () => {
    const stdout = '---\n# Source: c/templates/empty.yaml\n---\n# Source: c/templates/cm.yaml\nkind: ConfigMap\nmetadata:\n  name: x\n';
    assert.equal(normalizeHelmOutput(stdout), '---\n# Source: c/templates/cm.yaml\nkind: ConfigMap\nmetadata:\n  name: x\n');
  });

  it('adds a namespace line to a namespaced kind and changes nothing else', () => {
    const input = '---\n# Source: x\napiVersion: v1\nkind: Service\nmetadata:\n  name: s # keep\n  labels:\n    a: b\nspec: {}\n';
    assert.equal(injectNamespace(input, 'team'), '---\n# Source: x\napiVersion: v1\nkind: Service\nmetadata:\n  namespace: team\n  name: s # keep\n  labels:\n    a: b\nspec: {}\n');
  });

  it('leaves cluster-scoped kinds alone', () => {
    const input = '---\nkind: ClusterRole\nmetadata:\n  name: r\n---\nkind: CustomResourceDefinition\nmetadata:\n  name: c\n---\nkind: Namespace\nmetadata:\n  name: n\n';
    assert.equal(injectNamespace(input, 'team'), input);
  });

  it('keeps an existing namespace', () => {
    const input = '---\nkind: Deployment\nmetadata:\n  name: d\n  namespace: other\n';
    assert.equal(injectNamespace(input, 'team'), input);
  });

  it('handles flow-style metadata', () => {
    const output = injectNamespace('---\nkind: ConfigMap\nmetadata: {name: c}\n', 'team');
    assert.match(output, /namespace: team/);
  });

  it('quotes a namespace that YAML would read as another type', () => {
    assert.match(injectNamespace('---\nkind: Pod\nmetadata:\n  name: p\n', '123'), /namespace: "123"/);
  });
});
