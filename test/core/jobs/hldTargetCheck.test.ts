import { strict as assert } from 'node:assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { assertHldTargetExists } from '../../../tasks/core/jobs/hldTargetCheck';
import { tempDir } from '../../support/tmp';

function hld(files: Record<string, string>): string {
  const root = tempDir('target-check-');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

const tree = {
  'component.yaml': 'name: root\nsubcomponents:\n  - name: app\n    source: ./app\n  - name: ingress\n    type: helm\n    method: helm\n    source: https://charts.example.com\n    path: nginx\n  - name: shared\n    method: git\n    source: https://example.com/shared.git\n',
  'app/component.yaml': 'name: app\nsubcomponents:\n  - name: api\n    type: static\n    path: ./manifests\n',
  'config/prod.yaml': 'subcomponents:\n  shared:\n    subcomponents:\n      cache:\n        config: {}\n',
  'config/staging.json': '{}',
};

describe('HLD target check (typos refused)', () => {
  const check = (dir: string, env: string, subs: string[], options = {}) => assertHldTargetExists(dir, 'the root component', env, subs, options);

  it('accepts declared subcomponents, nested local ones, and entries a config file already has', async () => {
    const dir = hld(tree);
    await check(dir, 'prod', ['app', 'app.api', 'ingress', 'shared', 'shared.cache', '']);
    await check(dir, 'staging', ['app'], {});
    await check(dir, 'common', ['app'], {});
  });

  it('refuses an environment without a config file and a subcomponent outside the tree, with the closest name', async () => {
    const dir = hld(tree);
    await assert.rejects(check(dir, 'prd', ['app']), (e: Error & { field?: string }) => e.field === 'environment' && /did you mean "prod"\?/.test(e.message));
    await assert.rejects(check(dir, 'prod', ['ap']), (e: Error & { field?: string }) => e.field === 'subcomponent' && /did you mean "app"\?/.test(e.message));
    await assert.rejects(check(dir, 'prod', ['app.apii']), /subcomponent "app.apii" is not in the component tree: subcomponent app declares no subcomponent "apii".*did you mean "api"\?/);
    await assert.rejects(check(dir, 'prod', ['ingress.x']), /"ingress.x" is not in the component tree/);
    await assert.rejects(check(dir, 'prod', ['shared.db'], { subcomponentField: 'images' }), (e: Error & { field?: string }) => e.field === 'images');
  });

  it('createEnvironment and createSubcomponent allow new names on purpose', async () => {
    const dir = hld(tree);
    await check(dir, 'canary', ['app'], { createEnvironment: true });
    await check(dir, 'prod', ['worker', 'app.sidecar'], { createSubcomponent: true });
  });
});
