import { strict as assert } from 'node:assert';
import { GitopsError } from '../../../tasks/core/errors';
import { silentLogger } from '../../../tasks/core/logger';
import { copyImage } from '../../../tasks/core/registry/copy';
import { parseImageReference } from '../../../tasks/core/registry/reference';
import { startFaultProxy } from '../../support/faultProxy';
import { buildOciLayout, manifestDigest, seedImage, skopeoInspectRaw, type OciImage } from '../../support/ociImage';
import { startRegistry, type TestRegistry } from '../../support/registry';
import { tempDir } from '../../support/tmp';

const ref = parseImageReference;

describe('copyImage under faults', function () {
  this.timeout(90_000);
  let image: OciImage;
  let source: TestRegistry;
  let target: TestRegistry;

  before(async () => {
    image = await buildOciLayout(tempDir(), { layersPerPlatform: 3, layerBytes: 400 * 1024, seed: 'faults' });
    [source, target] = await Promise.all([startRegistry(), startRegistry()]);
    await seedImage(image.dir, `${source.host}/app:v1`);
  });

  after(async () => {
    await Promise.all([source, target].map((r) => r?.stop()));
  });

  it('retries 503 (honouring Retry-After) and connection resets, and the copy is still byte-identical', async () => {
    const sourceProxy = await startFaultProxy({ target: source.host, seed: 3, unavailable: { count: 3, retryAfterSeconds: 0.2 }, resets: { count: 3 } });
    const targetProxy = await startFaultProxy({ target: target.host, seed: 5, unavailable: { count: 3, retryAfterSeconds: 0.2 }, resets: { count: 3 } });
    try {
      const result = await copyImage({ source: ref(`${sourceProxy.host}/app:v1`), target: ref(`${targetProxy.host}/flaky/app:v1`), logger: silentLogger, retries: 6 });
      const injected = [sourceProxy, targetProxy].map((p) => p.faultsInjected.unavailable + p.faultsInjected.resets).reduce((a, b) => a + b);
      assert.ok(injected >= 4, `faults were injected (${injected})`);
      assert.equal(result.digest, image.rootDigest);
      assert.equal(await skopeoInspectRaw(`${target.host}/flaky/app:v1`), await skopeoInspectRaw(`${source.host}/app:v1`));
      for (const manifest of image.manifests) {
        assert.equal(manifestDigest(await skopeoInspectRaw(`${target.host}/flaky/app@${manifest.digest}`)), manifest.digest);
      }
    } finally {
      await sourceProxy.stop();
      await targetProxy.stop();
    }
  });

  it('refuses a blob whose bytes do not match its digest and leaves the target tag absent', async () => {
    const corrupting = await startFaultProxy({ target: source.host, corrupt: { match: /\/blobs\/sha256:/, count: 100, probability: 1 } });
    try {
      await assert.rejects(
        copyImage({ source: ref(`${corrupting.host}/app:v1`), target: ref(`${target.host}/corrupt/app:v1`), logger: silentLogger }),
        (error: unknown) => error instanceof GitopsError && /does not match its digest/.test(error.message),
      );
      assert.ok(corrupting.faultsInjected.corrupted > 0);
      await assert.rejects(skopeoInspectRaw(`${target.host}/corrupt/app:v1`), /manifest unknown/i);
    } finally {
      await corrupting.stop();
    }
  });

  it('fails clearly when the target registry dies mid-copy, and the target tag never appears', async () => {
    const doomed = await startRegistry();
    let killed = false;
    const proxy = await startFaultProxy({
      target: doomed.host,
      onRequest: (request) => {
        if (!killed && request.method === 'PUT' && request.path.includes('/blobs/uploads/')) {
          killed = true;
          doomed.kill();
        }
      },
    });
    try {
      await assert.rejects(
        copyImage({ source: ref(`${source.host}/app:v1`), target: ref(`${proxy.host}/dying/app:v1`), logger: silentLogger, retries: 1, concurrency: 1 }),
        (error: unknown) => error instanceof GitopsError && error.message.includes(`registry ${proxy.host}`),
      );
      assert.ok(killed);
      const revived = await startRegistry({ dataDir: doomed.dataDir });
      try {
        await assert.rejects(skopeoInspectRaw(`${revived.host}/dying/app:v1`), /manifest unknown|name unknown/i);
      } finally {
        await revived.stop();
      }
    } finally {
      await proxy.stop();
      await doomed.stop();
    }
  });
});
