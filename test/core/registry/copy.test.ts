import { strict as assert } from 'node:assert';
import { GitopsError } from '../../../tasks/core/errors';
import { MemoryLogger, silentLogger } from '../../../tasks/core/logger';
import { copyImage, resolvePromotion } from '../../../tasks/core/registry/copy';
import { MEDIA_TYPES } from '../../../tasks/core/registry/manifest';
import { parseImageReference } from '../../../tasks/core/registry/reference';
import { startFaultProxy, type FaultProxy } from '../../support/faultProxy';
import { buildOciLayout, manifestDigest, pushReferrerTagFallback, seedImage, skopeoInspectRaw, type OciImage } from '../../support/ociImage';
import { startRegistry, type TestRegistry } from '../../support/registry';
import { tempDir } from '../../support/tmp';

const ref = parseImageReference;

/** Index and every platform manifest, as skopeo reads them from both sides, are byte-identical. */
async function assertSameImage(source: string, target: string, image: OciImage, targetCreds?: { username: string; password: string }) {
  const [sourceRaw, targetRaw] = [await skopeoInspectRaw(source), await skopeoInspectRaw(target, targetCreds)];
  assert.equal(targetRaw, sourceRaw);
  assert.equal(manifestDigest(targetRaw), image.rootDigest);
  const targetRepo = target.split(':').slice(0, -1).join(':');
  const sourceRepo = source.split(':').slice(0, -1).join(':');
  for (const manifest of image.manifests) {
    const child = await skopeoInspectRaw(`${targetRepo}@${manifest.digest}`, targetCreds);
    assert.equal(child, await skopeoInspectRaw(`${sourceRepo}@${manifest.digest}`));
    assert.equal(manifestDigest(child), manifest.digest);
  }
}

describe('copyImage between real registries', function () {
  this.timeout(60_000);
  let image: OciImage;
  let single: OciImage;
  let source: TestRegistry;
  let plain: TestRegistry;
  let basic: TestRegistry;
  let token: TestRegistry;
  let proxy: FaultProxy;

  before(async () => {
    [image, single] = await Promise.all([
      buildOciLayout(tempDir(), { layersPerPlatform: 3, layerBytes: 600 * 1024, seed: 'copy-test' }),
      buildOciLayout(tempDir(), { layersPerPlatform: 2, layerBytes: 200 * 1024, seed: 'single', singleManifest: true }),
    ]);
    [source, plain, basic, token] = await Promise.all([
      startRegistry(), startRegistry(), startRegistry({ auth: 'htpasswd' }), startRegistry({ auth: 'token' }),
    ]);
    await Promise.all([
      seedImage(image.dir, `${source.host}/app:v1`),
      seedImage(single.dir, `${source.host}/other:v1`),
      seedImage(single.dir, `${source.host}/legacy:v1`, { format: 'v2s2' }),
    ]);
    proxy = await startFaultProxy({ target: source.host });
  });

  after(async () => {
    await proxy?.stop();
    await Promise.all([source, plain, basic, token].map((r) => r?.stop()));
  });

  it('copies a two-platform OCI index to another registry with every manifest byte-identical', async () => {
    const result = await copyImage({ source: ref(`${source.host}/app:v1`), target: ref(`${plain.host}/team/app:v1`), logger: silentLogger });
    assert.equal(result.digest, image.rootDigest);
    assert.equal(result.mediaType, MEDIA_TYPES.ociIndex);
    assert.deepEqual(result.platforms, ['linux/amd64', 'linux/arm64']);
    assert.equal(result.blobsUploaded, image.blobDigests.length);
    assert.equal(result.manifestsWritten, 3);
    assert.equal(result.alreadyPromoted, false);
    await assertSameImage(`${source.host}/app:v1`, `${plain.host}/team/app:v1`, image);
  });

  it('uploads large blobs in PATCH chunks and keeps them identical', async () => {
    const result = await copyImage({ source: ref(`${source.host}/app:v1`), target: ref(`${plain.host}/chunked/app:v1`), chunkSize: 128 * 1024, logger: silentLogger });
    assert.equal(result.blobsUploaded, image.blobDigests.length);
    await assertSameImage(`${source.host}/app:v1`, `${plain.host}/chunked/app:v1`, image);
  });

  it('logs in with Basic credentials to an htpasswd registry', async () => {
    const creds = { username: basic.username!, password: basic.password! };
    await copyImage({ source: ref(`${source.host}/app:v1`), target: ref(`${basic.host}/team/app:v1`), targetCredentials: creds, logger: silentLogger });
    await assertSameImage(`${source.host}/app:v1`, `${basic.host}/team/app:v1`, image, creds);
  });

  it('logs in through a Bearer token challenge, asking pull,push for the target repository', async () => {
    const creds = { username: token.username!, password: token.password! };
    token.tokenRequests.length = 0;
    await copyImage({ source: ref(`${source.host}/app:v1`), target: ref(`${token.host}/team/app:v1`), targetCredentials: creds, logger: silentLogger });
    await assertSameImage(`${source.host}/app:v1`, `${token.host}/team/app:v1`, image, creds);
    const ours = token.tokenRequests.filter((r) => r.account === creds.username && r.scopes.includes('repository:team/app:pull,push'));
    assert.equal(ours.length, 1, 'one token, cached for the whole copy');
  });

  it('names the registry and rejects the copy when the password is wrong (Basic and token)', async () => {
    for (const registry of [basic, token]) {
      await assert.rejects(
        copyImage({ source: ref(`${source.host}/app:v1`), target: ref(`${registry.host}/team/app:wrong`), targetCredentials: { username: registry.username, password: 'not-the-password' }, logger: silentLogger, retries: 0 }),
        (error: unknown) => {
          assert.ok(error instanceof GitopsError);
          assert.match(error.message, new RegExp(`registry ${registry.host}.*rejected the credentials`));
          assert.ok(!error.describe().includes('not-the-password'));
          return true;
        },
      );
    }
  });

  it('mounts blobs within one registry instead of uploading them, and a re-run writes nothing', async () => {
    const counted = proxy.requests.length;
    const result = await copyImage({ source: ref(`${proxy.host}/app:v1`), target: ref(`${proxy.host}/prod/app:v1`), logger: silentLogger });
    const during = proxy.requests.slice(counted);
    assert.equal(result.blobsMounted, image.blobDigests.length);
    assert.equal(result.blobsUploaded, 0);
    assert.equal(during.filter((r) => r.method === 'POST' && !r.path.includes('mount=')).length, 0, 'no plain upload sessions');
    assert.equal(during.filter((r) => (r.method === 'PUT' || r.method === 'PATCH') && r.path.includes('/blobs/uploads/')).length, 0, 'no blob bytes sent');
    await assertSameImage(`${source.host}/app:v1`, `${source.host}/prod/app:v1`, image);

    const rerunFrom = proxy.requests.length;
    const again = await copyImage({ source: ref(`${proxy.host}/app:v1`), target: ref(`${proxy.host}/prod/app:v1`), logger: silentLogger });
    assert.equal(again.alreadyPromoted, true);
    assert.equal(again.bytesCopied + again.blobsUploaded + again.blobsMounted + again.manifestsWritten, 0);
    assert.deepEqual(proxy.requests.slice(rerunFrom).filter((r) => r.method !== 'GET' && r.method !== 'HEAD'), []);
  });

  it('copies only the requested platforms into a new index and reports the new digest', async () => {
    const logger = new MemoryLogger();
    const result = await copyImage({ source: ref(`${source.host}/app:v1`), target: ref(`${plain.host}/arm/app:v1`), platforms: ['linux/arm64'], logger });
    assert.deepEqual(result.platforms, ['linux/arm64']);
    assert.equal(result.sourceDigest, image.rootDigest);
    assert.notEqual(result.digest, image.rootDigest);
    const raw = await skopeoInspectRaw(`${plain.host}/arm/app:v1`);
    assert.equal(manifestDigest(raw), result.digest);
    assert.deepEqual(JSON.parse(raw).manifests.map((m: { digest: string }) => m.digest), [image.manifests[1].digest]);
    assert.ok(logger.warnings.some((w) => w.includes(result.digest) && w.includes(image.rootDigest)));
  });

  it('refuses a platform the image does not have, listing the ones it has', async () => {
    await assert.rejects(
      copyImage({ source: ref(`${source.host}/app:v1`), target: ref(`${plain.host}/s390/app:v1`), platforms: ['linux/s390x'], logger: silentLogger }),
      /has no linux\/s390x image; it has linux\/amd64, linux\/arm64/,
    );
  });

  it('refuses to move a target tag that points at another digest unless overwriteTag is set', async () => {
    await copyImage({ source: ref(`${source.host}/app:v1`), target: ref(`${plain.host}/pinned/app:v1`), logger: silentLogger });
    await assert.rejects(
      copyImage({ source: ref(`${source.host}/other:v1`), target: ref(`${plain.host}/pinned/app:v1`), logger: silentLogger }),
      (error: unknown) => error instanceof GitopsError && error.message.includes(`already points at ${image.rootDigest}`) && error.field === 'target',
    );
    assert.equal(manifestDigest(await skopeoInspectRaw(`${plain.host}/pinned/app:v1`)), image.rootDigest);
    const moved = await copyImage({ source: ref(`${source.host}/other:v1`), target: ref(`${plain.host}/pinned/app:v1`), overwriteTag: true, logger: silentLogger });
    assert.equal(manifestDigest(await skopeoInspectRaw(`${plain.host}/pinned/app:v1`)), single.rootDigest);
    assert.equal(moved.digest, single.rootDigest);
  });

  it('copies a Docker v2 schema 2 manifest unchanged', async () => {
    const result = await copyImage({ source: ref(`${source.host}/legacy:v1`), target: ref(`${plain.host}/legacy:v1`), logger: silentLogger });
    assert.equal(result.mediaType, MEDIA_TYPES.dockerManifest);
    assert.deepEqual(result.platforms, ['linux/amd64']);
    const raw = await skopeoInspectRaw(`${plain.host}/legacy:v1`);
    assert.equal(raw, await skopeoInspectRaw(`${source.host}/legacy:v1`));
    assert.equal(JSON.parse(raw).mediaType, MEDIA_TYPES.dockerManifest);
  });

  it('copies referrers published under the sha256-<hex> tag fallback when asked', async () => {
    const rootSize = Buffer.byteLength(await skopeoInspectRaw(`${source.host}/app:v1`));
    const signature = await pushReferrerTagFallback(source.host, 'app', { digest: image.rootDigest, size: rootSize, mediaType: MEDIA_TYPES.ociIndex });
    const result = await copyImage({ source: ref(`${source.host}/app:v1`), target: ref(`${plain.host}/signed/app:v1`), copyReferrers: true, logger: silentLogger });
    assert.equal(result.referrersCopied, 1);
    const fallback = await skopeoInspectRaw(`${plain.host}/signed/app:${signature.fallbackTag}`);
    assert.equal(manifestDigest(fallback), signature.fallbackIndexDigest);
    const artifact = await skopeoInspectRaw(`${plain.host}/signed/app@${signature.artifactDigest}`);
    assert.equal(JSON.parse(artifact).subject.digest, image.rootDigest);
  });

  it('resolves a promotion (digest, media type, platforms, target state) and writes nothing', async () => {
    const resolved = await resolvePromotion({ source: ref(`${source.host}/app:v1`), target: ref(`${plain.host}/dry/app:v1`), logger: silentLogger });
    assert.deepEqual(resolved, {
      sourceDigest: image.rootDigest, digest: image.rootDigest, mediaType: MEDIA_TYPES.ociIndex, platforms: ['linux/amd64', 'linux/arm64'], alreadyPromoted: false,
    });
    await assert.rejects(skopeoInspectRaw(`${plain.host}/dry/app:v1`), /manifest unknown|not found/i);
  });
});
