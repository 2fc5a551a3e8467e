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
import { chmodSync, symlinkSync } from 'node:fs';
import { relative } from 'node:path';

// Real kustomize, through `kubectl kustomize`: the kubectl that `npm install` extracts into .tools/kubectl, first on PATH.
const deployment = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.0\n        - name: side\n          image: busybox:1.36\n';
const folder = (prefix: string): Record<string, string> => ({
  [`${prefix}/kustomization.yaml`]: 'resources: [deployment.yaml]\ncommonLabels:\n  app: web\n',
  [`${prefix}/deployment.yaml`]: deployment,
});

function run(hldDir: string, environments: string[], options: { path?: string; deadlineMs?: number } = {}): Promise<RenderedTree> {
  return generate({
    hldDir, environmentSets: [environments], outputDir: join(hldDir, 'generated'), env: { PATH: options.path ?? `${dirname(kubectl)}:${process.env.PATH}` }, logger: new MemoryLogger(),
    allowLocalGitSources: true,
    ...(options.deadlineMs ? { network: { deadlineMs: options.deadlineMs } } : {}),
  });
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
    await install({ hldDir: dir, env: { PATH: process.env.PATH }, logger: new MemoryLogger(), allowLocalGitSources: true });
    assert.ok(existsSync(join(dir, 'components', 'remote', 'deploy', 'web', 'kustomization.yaml')));
    // The installed copy is what generate builds: an edit to it shows, and no clone is made.
    writeTree(dir, { 'components/remote/deploy/web/kustomization.yaml': 'resources: [deployment.yaml]\ncommonLabels:\n  app: installed-copy\n' });
    const tree = await generate({ hldDir: dir, environmentSets: [[]], outputDir: join(dir, 'generated'), env: { PATH: process.env.PATH }, kustomizePath: kubectl, install: false, logger: new MemoryLogger(), allowLocalGitSources: true });
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

  // The usual layout: overlays/<env> naming ../../base, built where they are (not copied away).
  const layout = (prefix: string): Record<string, string> => ({
    [`${prefix}/base/kustomization.yaml`]: 'resources: [deployment.yaml]\n',
    [`${prefix}/base/deployment.yaml`]: deployment,
    [`${prefix}/overlays/prod/kustomization.yaml`]: 'resources: [../../base]\ncommonLabels:\n  tier: prod\npatches:\n  - path: replicas.yaml\n',
    [`${prefix}/overlays/prod/replicas.yaml`]: 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n',
  });

  it('builds an overlay with resources: [../../base] in place and applies the config images and namespace', async () => {
    const dir = writeTree(tempDir('bg-kust-'), {
      'component.yaml': 'name: root\nsubcomponents:\n  - name: web\n    type: kustomize\n    path: ./deploy/overlays/prod\n',
      ...layout('deploy'),
      'config/prod.yaml': 'subcomponents:\n  web:\n    namespace: shop\n    config:\n      images: [{name: nginx, newTag: "1.27.1"}]\n',
    });
    const prod = fileOf(await run(dir, ['prod']), 'web.yaml');
    assert.match(prod, /namespace: shop/);
    assert.match(prod, /image: nginx:1\.27\.1\n/);
    assert.match(prod, /image: busybox:1\.36\n/);
    assert.match(prod, /tier: prod/);
    assert.match(prod, /replicas: 3/);
  });

  it('builds an overlay with ../../base inside a git source', async () => {
    const repo = await bareRepo(layout('deploy'));
    const dir = writeTree(tempDir('bg-kust-'), {
      'component.yaml': `name: root\nsubcomponents:\n  - name: remote\n    type: kustomize\n    method: git\n    source: ${repo.url}\n    path: deploy/overlays/prod\n`,
      'config/common.yaml': 'subcomponents:\n  remote:\n    namespace: shop\n    config:\n      images: [{name: nginx, newTag: "3.0"}]\n',
    });
    const out = fileOf(await run(dir, []), 'remote.yaml');
    assert.match(out, /namespace: shop/);
    assert.match(out, /image: nginx:3\.0\n/);
    assert.match(out, /replicas: 3/);
  });

  it('keeps builtin plugin configurations (a file and inline) that name files of the kustomization', async () => {
    const dir = writeTree(tempDir('bg-kust-'), {
      'component.yaml': 'name: root\nsubcomponents:\n  - name: web\n    type: kustomize\n    path: ./k\n',
      'k/kustomization.yaml': 'generators: [gen.yaml]\ntransformers:\n  - |\n    apiVersion: builtin\n    kind: LabelTransformer\n    metadata: {name: l}\n    labels: {team: shop}\n    fieldSpecs: [{path: metadata/labels, create: true}]\n',
      'k/gen.yaml': 'apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: cfg}\nfiles: [data.txt]\n',
      'k/data.txt': 'hello\n',
    });
    const out = fileOf(await run(dir, []), 'web.yaml');
    assert.match(out, /data\.txt: \|\n\s+hello/);
    assert.match(out, /team: shop/);
  });

  describe('refuses what would leave the repository or reach the network, naming the kustomization file and field', () => {
    const secret = 'outside-secret-value';
    const outsideFolder = () => writeTree(tempDir('bg-kust-outside-'), { 'kustomization.yaml': 'configMapGenerator:\n  - name: leak\n    files: [secret.txt]\n', 'secret.txt': `${secret}\n` });
    const hld = (files: Record<string, string>) => writeTree(tempDir('bg-kust-'), {
      'component.yaml': 'name: root\nsubcomponents:\n  - name: web\n    type: kustomize\n    path: ./k\n',
      ...files,
    });
    const refused = async (dir: string, file: string, field: string | undefined, message: RegExp) => {
      await assert.rejects(run(dir, []), (error: GitopsError) => {
        assert.equal(error.file, file, error.describe());
        assert.equal(error.field, field, error.describe());
        assert.match(error.message, message);
        assert.doesNotMatch(error.describe(), new RegExp(secret));
        return true;
      });
    };

    it('a base of a base that climbs out with ../', async () => {
      const outside = outsideFolder();
      const dir = hld({ 'k/kustomization.yaml': 'resources: [../base]\n', 'base/kustomization.yaml': 'resources: [deployment.yaml]\n', 'base/deployment.yaml': deployment });
      writeTree(dir, { 'base/kustomization.yaml': `resources: [deployment.yaml, ${relative(join(dir, 'base'), outside)}]\n` });
      await refused(dir, 'base/kustomization.yaml', 'resources[1]', /resolves outside the HLD repository/);
    });

    it('a file symlinked out of the repository', async () => {
      const outside = outsideFolder();
      const dir = hld({ 'k/kustomization.yaml': 'configMapGenerator:\n  - name: leak\n    files: [key=secret.txt]\n' });
      symlinkSync(join(outside, 'secret.txt'), join(dir, 'k', 'secret.txt'));
      await refused(dir, 'k/kustomization.yaml', 'configMapGenerator[0].files[0]', /resolves outside the HLD repository/);
    });

    it('a file named by a plugin configuration file that climbs out with ../', async () => {
      const outside = outsideFolder();
      const dir = hld({ 'k/kustomization.yaml': 'generators: [gen.yaml]\n' });
      writeTree(dir, { 'k/gen.yaml': `apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: leak}\nfiles: [${relative(join(dir, 'k'), join(outside, 'secret.txt'))}]\n` });
      await refused(dir, 'k/kustomization.yaml', 'generators[0].files[0]', /resolves outside the HLD repository/);
    });

    it('URLs where files go, remote bases, and helm charts', async () => {
      await refused(hld({ 'k/kustomization.yaml': 'resources: [https://127.0.0.1:9/x.yaml]\n' }), 'k/kustomization.yaml', 'resources[0]', /is a remote URL/);
      await refused(hld({ 'k/kustomization.yaml': 'patches:\n  - path: http://127.0.0.1:9/patch.yaml\n' }), 'k/kustomization.yaml', 'patches[0].path', /is a remote URL/);
      await refused(hld({ 'k/kustomization.yaml': 'resources: [git@github.com:org/repo.git]\n' }), 'k/kustomization.yaml', 'resources[0]', /is a remote URL/);
      await refused(hld({ 'k/kustomization.yaml': 'components: [github.com/org/repo//deploy?ref=v1]\n' }), 'k/kustomization.yaml', 'components[0]', /does not exist .*remote URL/);
      await refused(hld({ 'k/kustomization.yaml': 'transformers:\n  - |\n    apiVersion: builtin\n    kind: PatchTransformer\n    metadata: {name: p}\n    path: https://127.0.0.1:9/patch.yaml\n' }), 'k/kustomization.yaml', 'transformers[0].path', /is a remote URL/);
      await refused(hld({ 'k/kustomization.yaml': 'helmCharts:\n  - name: x\n    repo: https://127.0.0.1:9/charts\n' }), 'k/kustomization.yaml', 'helmCharts', /download helm charts/);
    });

    // kustomize decodes kustomizations and plugin configurations with Go's encoding/json (field names
    // in any case, with ſ for s) after go-yaml (YAML 1.1: << merge keys, !!binary keys): each of
    // these is read by kubectl kustomize 5.6 as the field the walk checks.
    it('field names in another case, unknown fields, merge keys, anchors and tags', async () => {
      const outside = outsideFolder();
      // Every HLD is a sibling temp folder: the same relative path climbs out of each.
      const out = relative(join(tempDir('bg-kust-'), 'k'), outside);
      const file = 'k/kustomization.yaml';
      await refused(hld({ [file]: `Resources: [${out}]\n` }), file, 'Resources', /read by kustomize as "resources"/);
      await refused(hld({ [file]: `RESOURCES: [https://127.0.0.1:9/x.yaml]\n` }), file, 'RESOURCES', /read by kustomize as "resources"/);
      await refused(hld({ [file]: `re\u017fources: [${out}]\n` }), file, 're\u017fources', /read by kustomize as "resources"/);
      await refused(hld({ [file]: 'resources: []\nbogus: 1\n' }), file, 'bogus', /not a kustomization field/);
      await refused(hld({ [file]: `patches:\n  - Path: ${out}/secret.txt\n` }), file, 'patches[0].Path', /read by kustomize as "patches\[0\]\.path"/);
      await refused(hld({ [file]: `replacements:\n  - PATH: ${out}/secret.txt\n` }), file, 'replacements[0].PATH', /"replacements\[0\]\.path"/);
      await refused(hld({ [file]: `configMapGenerator:\n  - name: leak\n    FILES: [${out}/secret.txt]\n` }), file, 'configMapGenerator[0].FILES', /"configMapGenerator\[0\]\.files"/);
      await refused(hld({ [file]: `generators:\n  - |\n    apiVersion: builtin\n    kind: ConfigMapGenerator\n    metadata: {name: leak}\n    Files: [${out}/secret.txt]\n` }), file, 'generators[0].Files', /"generators\[0\]\.files"/);
      await refused(hld({ [file]: `<<: {resources: [${out}]}\n` }), file, undefined, /a << merge key is refused/);
      await refused(hld({ [file]: 'resources: &r [deployment.yaml]\nbases: *r\n', 'k/deployment.yaml': deployment }), file, undefined, /an anchor \(&r\) is refused/);
      await refused(hld({ [file]: `!!binary cmVzb3VyY2Vz: [${out}]\n` }), file, undefined, /an explicit tag .* is refused/);
      await refused(hld({ [file]: `generators:\n  - |\n    apiVersion: builtin\n    kind: ConfigMapGenerator\n    metadata: {name: leak}\n    <<: {files: [${out}/secret.txt]}\n` }), file, undefined, /a << merge key is refused/);
      const dir = hld({ [file]: 'generators: [gen.yaml]\n' });
      writeTree(dir, { 'k/gen.yaml': 'apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: leak}\nfiles: &f [a.txt]\nenvs: *f\n', 'k/a.txt': 'a\n' });
      await refused(dir, 'k/gen.yaml', undefined, /an anchor \(&f\) is refused/);
    });
  });

  it('stops a build that outlives the network deadline', async function () {
    this.timeout(30_000);
    // A kustomize on PATH that never finishes (kustomize is preferred over kubectl).
    const bin = writeTree(tempDir('bg-kust-bin-'), { kustomize: '#!/bin/sh\nexec sleep 60\n' });
    chmodSync(join(bin, 'kustomize'), 0o755);
    const dir = writeTree(tempDir('bg-kust-'), { 'component.yaml': 'name: root\nsubcomponents:\n  - name: web\n    type: kustomize\n    path: ./k\n', ...folder('k') });
    const started = Date.now();
    await assert.rejects(run(dir, [], { path: `${bin}:${process.env.PATH}`, deadlineMs: 1_000 }), /kustomize did not finish within 1 s/);
    assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
  });
});
