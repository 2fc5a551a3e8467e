/**
 * PromoteContainer with several images (issue 14): all verified and copied first, then one HLD
 * commit; when any image cannot be promoted nothing is written to the HLD. skopeo is the judge of
 * what the target registry holds.
 */
import { strict as assert } from 'node:assert';
import { load } from 'js-yaml';
import { runProcess } from '../../tasks/core/exec';
import { startGitServer, type GitServer } from '../support/gitServer';
import { buildOciLayout, seedImage, skopeoInspectRaw, type OciImage } from '../support/ociImage';
import { startRegistry, type TestRegistry } from '../support/registry';
import { findLeaks, runTask, type TaskRun } from '../support/runTask';
import { tempDir } from '../support/tmp';
import { bundleOnce, fileBytes, messageOf, refsOf, tipOf } from './updateImageTagHelpers';

const deployment = (images: string[]) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: shop }
spec:
  template:
    spec:
      containers:
${images.map((image, i) => `        - name: c${i}\n          image: ${image}\n`).join('')}`;

const prodConfig = `subcomponents:
  api:
    config:
      image:
        repository: old.example.com/api
        tag: "1.0.0"
  web:
    config:
      image:
        repository: old.example.com/web
        tag: "1.0.0"
`;

async function exists(ref: string): Promise<boolean> {
  const result = await runProcess('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], { timeoutMs: 60_000 });
  if (result.code === 0) return true;
  if (/manifest unknown|not found/i.test(result.stderr)) return false;
  throw new Error(result.stderr);
}

describe('PromoteContainer with several images (bundle, real registries, git over HTTP)', function () {
  this.timeout(300_000);
  let source: TestRegistry;
  let target: TestRegistry;
  let server: GitServer;
  let api: OciImage;
  let web: OciImage;
  let manifestsUrl: string;
  let count = 0;

  before(async () => {
    const [bundled, a, b, s, t, g] = await Promise.all([
      bundleOnce(),
      buildOciLayout(tempDir('multi-api-'), { layersPerPlatform: 1, layerBytes: 32 * 1024, seed: 'multi-api', tag: 'v1' }),
      buildOciLayout(tempDir('multi-web-'), { layersPerPlatform: 1, layerBytes: 32 * 1024, seed: 'multi-web', tag: 'v1' }),
      startRegistry(),
      startRegistry(),
      startGitServer(),
    ]);
    void bundled;
    [api, web, source, target, server] = [a, b, s, t, g];
    await seedImage(api.dir, `${source.host}/shop/api:1.2.3`);
    await seedImage(web.dir, `${source.host}/shop/web:2.0.0`);
    manifestsUrl = await server.createRepo('manifests', {
      files: { 'staging/shop.yaml': deployment([`${source.host}/shop/api:1.2.3`, `${source.host}/shop/web:2.0.0`]) },
    });
  });
  after(async () => Promise.all([source?.stop(), target?.stop(), server?.stop()]));

  async function newHld() {
    const name = `hld-${++count}`;
    const url = await server.createRepo(name, { files: { 'component.yaml': 'name: shop\nsubcomponents:\n  - name: api\n    type: static\n    path: ./api\n  - name: web\n    type: static\n    path: ./web\n', 'config/prod.yaml': prodConfig } });
    return { url, bare: server.repoPath(name) };
  }
  const promote = (inputs: Record<string, string>) => runTask('PromoteContainer', {
    inputs: {
      targetRegistry: target.host,
      verification: 'manifestRepo',
      verifyManifestRepositoryUrl: manifestsUrl,
      verifyEnvironmentPath: 'staging',
      environment: 'prod',
      ...inputs,
    },
    secrets: { 'System.AccessToken': server.token },
    timeoutMs: 240_000,
  });
  const ok = (r: TaskRun) => {
    assert.equal(r.result, 'Succeeded', `${r.message}\n${r.stdout}\n${r.stderr}`);
    assert.deepEqual(findLeaks(r, [server.token]), []);
  };

  it('verifies and copies every image, then writes them all in one HLD commit', async () => {
    const hld = await newHld();
    const before = await tipOf(hld.bare);
    const r = await promote({
      sourceImages: `api=${source.host}/shop/api:1.2.3\nweb=${source.host}/shop/web:2.0.0`,
      hldRepositoryUrl: hld.url,
    });
    ok(r);
    assert.equal(await skopeoInspectRaw(`${target.host}/shop/api:1.2.3`), await skopeoInspectRaw(`${source.host}/shop/api:1.2.3`));
    assert.equal(await skopeoInspectRaw(`${target.host}/shop/web:2.0.0`), await skopeoInspectRaw(`${source.host}/shop/web:2.0.0`));
    assert.equal(r.outputs.promotedDigest, `${api.rootDigest},${web.rootDigest}`);
    assert.equal(r.outputs.promotedImage, `${target.host}/shop/api@${api.rootDigest},${target.host}/shop/web@${web.rootDigest}`);
    assert.equal(r.outputs.hldChanged, 'true');
    const tip = await tipOf(hld.bare);
    assert.equal(r.outputs.hldCommitId, tip);
    assert.equal(await runProcess('git', ['--git-dir', hld.bare, 'rev-parse', `${tip}~1`]).then((p) => p.stdout.trim()), before, 'exactly one commit');
    const config = load(await fileBytes(hld.bare, 'main', 'config/prod.yaml')) as { subcomponents: Record<string, { config: { image: { repository: string; tag: string } } }> };
    assert.deepEqual(config.subcomponents.api.config.image, { repository: `${target.host}/shop/api`, tag: '1.2.3' });
    assert.deepEqual(config.subcomponents.web.config.image, { repository: `${target.host}/shop/web`, tag: '2.0.0' });
    const message = await messageOf(hld.bare, 'main');
    assert.match(message, new RegExp(`^Gitops-Image: api=${target.host}/shop/api:1\\.2\\.3$`, 'm'));
    assert.match(message, new RegExp(`^Gitops-Image: web=${target.host}/shop/web:2\\.0\\.0$`, 'm'));
    assert.match(message, new RegExp(`^Gitops-Source-Image: web=${source.host}/shop/web:2\\.0\\.0@${web.rootDigest}$`, 'm'));
  });

  it('when one image cannot be promoted, nothing is copied and nothing is written to the HLD', async () => {
    const hld = await newHld();
    const before = await refsOf(hld.bare);
    const r = await promote({
      sourceImages: `api=${source.host}/shop/api:1.2.3\nweb=${source.host}/shop/web:9.9.9`,
      hldRepositoryUrl: hld.url,
      verification: 'none',
      targetRegistry: (await startRegistryOnce()).host,
    });
    assert.equal(r.result, 'Failed', r.message);
    assert.match(r.message ?? '', /shop\/web:9\.9\.9/);
    assert.equal(await refsOf(hld.bare), before);
    assert.equal(await exists(`${fresh!.host}/shop/api:1.2.3`), false, 'the first image was not copied either');
  });

  it('refuses a subcomponent typo in sourceImages before copying anything', async () => {
    const hld = await newHld();
    const before = await refsOf(hld.bare);
    const r = await promote({ sourceImages: `apii=${source.host}/shop/api:1.2.3`, hldRepositoryUrl: hld.url, verification: 'none', targetRegistry: (await startRegistryOnce()).host });
    assert.equal(r.result, 'Failed');
    assert.match(r.message ?? '', /subcomponent "apii" is not in the component tree.*did you mean "api"\?/);
    assert.equal(await refsOf(hld.bare), before);
    assert.equal(await exists(`${fresh!.host}/shop/api:1.2.3`), false, 'nothing was copied');
    const env = await promote({ sourceImage: `${source.host}/shop/api:1.2.3`, subcomponent: 'api', environment: 'prdo', hldRepositoryUrl: hld.url, verification: 'none', targetRegistry: fresh!.host });
    assert.equal(env.result, 'Failed');
    assert.match(env.message ?? '', /environment "prdo" has no config file.*did you mean "prod"\?/);
    assert.equal(await exists(`${fresh!.host}/shop/api:1.2.3`), false, 'nothing was copied');
  });

  let fresh: TestRegistry | undefined;
  async function startRegistryOnce(): Promise<TestRegistry> {
    fresh ??= await startRegistry();
    return fresh;
  }
  after(async () => fresh?.stop());
});
