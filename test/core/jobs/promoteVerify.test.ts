import { strict as assert } from 'node:assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GitopsError } from '../../../tasks/core/errors';
import { planPromotion, promotedImageRequest } from '../../../tasks/core/jobs/promoteContainer';
import { referencesImage, verifyDeployment } from '../../../tasks/core/jobs/verifyDeployment';
import { imageTagValues } from '../../../tasks/core/jobs/updateImageTag';
import { silentLogger } from '../../../tasks/core/logger';
import { parseImageReference } from '../../../tasks/core/registry';
import { git } from '../../support/gitServer';
import { tempDir } from '../../support/tmp';

const digestA = `sha256:${'a'.repeat(64)}`;
const digestB = `sha256:${'b'.repeat(64)}`;
const image = parseImageReference('registry.example.com/team/app:1.2.3');

const deployment = (ref: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: app }
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          image: registry.example.com/team/migrate:7
      containers:
        - name: app
          image: ${ref}
`;

async function commitFiles(work: string, files: Record<string, string>, message: string): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(work, path)), { recursive: true });
    writeFileSync(join(work, path), content);
  }
  await git(['add', '-A'], { cwd: work });
  await git(['commit', '-q', '-m', message], { cwd: work });
  return git(['rev-parse', 'HEAD'], { cwd: work });
}

/** A bare repository (file://) with a working clone to push more commits from. */
async function manifestRepo(files: Record<string, string>): Promise<{ url: string; work: string }> {
  const bare = join(tempDir('verify-bare-'), 'manifests.git');
  await git(['init', '-q', '--bare', '--initial-branch=main', bare]);
  const work = tempDir('verify-work-');
  await git(['init', '-q', '--initial-branch=main', work]);
  await git(['remote', 'add', 'origin', bare], { cwd: work });
  await commitFiles(work, files, 'first');
  await git(['push', '-q', 'origin', 'main'], { cwd: work });
  return { url: `file://${bare}`, work };
}

function verify(url: string, options: { path?: string; syncTag?: string; ref?: string; digest?: string } = {}) {
  return verifyDeployment({
    repositoryUrl: url,
    branch: 'main',
    environmentPath: options.path ?? 'staging',
    syncTag: options.syncTag,
    image: options.ref ? parseImageReference(options.ref) : image,
    digest: options.digest ?? digestA,
    workDir: join(tempDir('verify-checkout-'), 'co'),
    logger: silentLogger,
  });
}

async function refusal(promise: Promise<unknown>): Promise<GitopsError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof GitopsError, `expected a GitopsError, got ${String(error)}`);
  return error;
}

describe('verifyDeployment (pre-production check of PromoteContainer)', function () {
  this.timeout(60_000);

  it('allows an image referenced by repo:tag in a Deployment of the environment folder', async () => {
    const repo = await manifestRepo({ 'staging/app.yaml': deployment('registry.example.com/team/app:1.2.3') });
    const result = await verify(repo.url);
    assert.deepEqual(result.matches.map((m) => m.file), ['staging/app.yaml']);
    assert.equal(result.commit.length, 40);
  });

  it('allows a manifest that pins the resolved digest', async () => {
    const repo = await manifestRepo({ 'staging/app.yaml': deployment(`registry.example.com/team/app@${digestA}`) });
    assert.equal((await verify(repo.url)).matches.length, 1);
  });

  it('refuses a manifest that pins another digest under the same tag', async () => {
    const repo = await manifestRepo({ 'staging/app.yaml': deployment(`registry.example.com/team/app:1.2.3@${digestB}`) });
    const error = await refusal(verify(repo.url));
    assert.match(error.message, /does not run registry\.example\.com\/team\/app:1\.2\.3@sha256:a{64}/);
    assert.match(error.message, new RegExp(`deployed there: .*app:1\\.2\\.3@${digestB}`));
  });

  it('refuses another tag and lists every image deployed in the environment', async () => {
    const repo = await manifestRepo({
      'staging/app.yaml': deployment('registry.example.com/team/app:1.2.2'),
      'prod/app.yaml': deployment('registry.example.com/team/app:1.2.3'),
    });
    const error = await refusal(verify(repo.url));
    assert.equal(error.field, 'sourceImage');
    assert.match(error.message, /deployed there: registry\.example\.com\/team\/migrate:7, registry\.example\.com\/team\/app:1\.2\.2$/);
  });

  it('finds Helm-style image maps (HelmRelease values) in multi-document files', async () => {
    const release = `---\napiVersion: v1\nkind: Namespace\nmetadata: { name: staging }\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: { name: app }\nspec:\n  values:\n    image:\n      registry: registry.example.com\n      repository: team/app\n      tag: "1.2.3"\n`;
    const repo = await manifestRepo({ 'staging/release.yaml': release });
    assert.deepEqual((await verify(repo.url)).matches.map((m) => m.reference), ['registry.example.com/team/app:1.2.3']);
  });

  it('refuses when the environment folder does not exist, naming verifyEnvironmentPath', async () => {
    const repo = await manifestRepo({ 'staging/app.yaml': deployment('registry.example.com/team/app:1.2.3') });
    const error = await refusal(verify(repo.url, { path: 'qa' }));
    assert.equal(error.field, 'verifyEnvironmentPath');
    assert.match(error.message, /no folder "qa"/);
  });

  it('with a sync tag checks the commit the GitOps agent applied, not the branch tip', async () => {
    const repo = await manifestRepo({ 'staging/app.yaml': deployment('registry.example.com/team/app:1.2.2') });
    await git(['tag', 'flux-sync'], { cwd: repo.work });
    await commitFiles(repo.work, { 'staging/app.yaml': deployment('registry.example.com/team/app:1.2.3') }, 'bump');
    await git(['push', '-q', 'origin', 'main', 'refs/tags/flux-sync'], { cwd: repo.work });

    assert.equal((await verify(repo.url)).matches.length, 1, 'the branch tip has the image');
    const error = await refusal(verify(repo.url, { syncTag: 'flux-sync' }));
    assert.match(error.message, /at tag flux-sync/);

    await git(['tag', '-f', 'flux-sync'], { cwd: repo.work });
    await git(['push', '-q', '-f', 'origin', 'refs/tags/flux-sync'], { cwd: repo.work });
    assert.equal((await verify(repo.url, { syncTag: 'flux-sync' })).checked, 'tag flux-sync');
  });

  it('fails naming verifySyncTag when the tag does not exist', async () => {
    const repo = await manifestRepo({ 'staging/app.yaml': deployment('registry.example.com/team/app:1.2.3') });
    const error = await refusal(verify(repo.url, { syncTag: 'flux-sync' }));
    assert.equal(error.field, 'verifySyncTag');
  });

  it('refuses credentials in the repository URL before running git', async () => {
    const error = await refusal(verify('https://user:secret@example.com/repo.git'));
    assert.equal(error.field, 'verifyManifestRepositoryUrl');
    assert.ok(!error.message.includes('secret'));
  });
});

describe('referencesImage', () => {
  it('applies Docker Hub defaults on both sides', () => {
    assert.ok(referencesImage('nginx:1.27', parseImageReference('docker.io/library/nginx:1.27'), digestA));
  });

  it('treats an untagged reference as latest', () => {
    assert.ok(referencesImage('registry.example.com/team/app', parseImageReference('registry.example.com/team/app:latest'), digestA));
    assert.ok(!referencesImage('registry.example.com/team/app', image, digestA));
  });

  it('does not match another registry with the same repository path', () => {
    assert.ok(!referencesImage('other.example.com/team/app:1.2.3', image, digestA));
  });
});

describe('planPromotion', () => {
  it('defaults the target repository and tag to the source', () => {
    const plan = planPromotion({ sourceImage: 'staging.example.com/team/app:1.2.3', targetRegistry: 'prod.example.com:5000' });
    assert.deepEqual(plan.target, { registry: 'prod.example.com:5000', repository: 'team/app', tag: '1.2.3' });
  });

  it('requires a target tag when the source is given by digest only', () => {
    assert.throws(() => planPromotion({ sourceImage: `staging.example.com/team/app@${digestA}`, targetRegistry: 'prod.example.com' }),
      (e: GitopsError) => e.field === 'targetTag');
  });

  it('refuses a target registry with a scheme or path, naming the input', () => {
    for (const targetRegistry of ['https://prod.example.com', 'prod.example.com/team', 'prod']) {
      assert.throws(() => planPromotion({ sourceImage: 'staging.example.com/team/app:1', targetRegistry }),
        (e: GitopsError) => e.field === 'targetRegistry', targetRegistry);
    }
  });

  it('names sourceImage when it does not parse', () => {
    assert.throws(() => planPromotion({ sourceImage: 'Team/App:1', targetRegistry: 'prod.example.com' }), (e: GitopsError) => e.field === 'sourceImage');
  });
});

describe('promotedImageRequest', () => {
  const hld = {
    target: { branch: 'main', componentPath: '', environment: 'prod', subcomponent: 'app' },
    tagKey: 'image.tag', repositoryKey: 'image.repository', digestKey: 'image.digest', noNewKeys: false,
    push: { mode: 'direct' as const, maxAttempts: 3 }, author: { name: 'a', email: 'a@b.c' },
  };
  const target = { registry: 'prod.example.com', repository: 'team/app', tag: '1.2.3' };
  const written = (pinDigest: 'none' | 'digestKey' | 'tagAtDigest') =>
    Object.fromEntries(imageTagValues(promotedImageRequest({ ...hld, pinDigest }, target, digestA)).map((v) => [v.path.join('.'), JSON.parse(v.typed ? v.value : JSON.stringify(v.value))]));

  it('writes the target registry/repository and tag', () => {
    assert.deepEqual(written('none'), { 'image.tag': '1.2.3', 'image.repository': 'prod.example.com/team/app' });
  });

  it('pinDigest digestKey also writes the digest to its key', () => {
    assert.equal(written('digestKey')['image.digest'], digestA);
  });

  it('pinDigest tagAtDigest writes tag@digest as the tag', () => {
    const values = written('tagAtDigest');
    assert.equal(values['image.tag'], `1.2.3@${digestA}`);
    assert.equal(values['image.digest'], undefined);
  });
});
