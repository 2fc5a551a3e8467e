import { strict as assert } from 'node:assert';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { silentLogger } from '../../../tasks/core/logger';
import { copyImage } from '../../../tasks/core/registry/copy';
import { parseImageReference } from '../../../tasks/core/registry/reference';
import { buildOciLayout, seedImage, skopeoInspectRaw, type OciImage } from '../../support/ociImage';
import { startRegistry, type TestRegistry } from '../../support/registry';
import { tempDir } from '../../support/tmp';

/**
 * Blob connections are kept alive and reused: a copy of 13 blobs, one at a time, opens fewer TCP
 * connections than it has blobs (without reuse every blob opened two: its download and its upload).
 * Counted on Node's `net.client.socket` channel, which sees every client socket of this process.
 */
describe('registry connections are reused across blobs', function () {
  this.timeout(120_000);
  let source: TestRegistry;
  let target: TestRegistry;
  let image: OciImage;

  before(async () => {
    [source, target, image] = await Promise.all([
      startRegistry(),
      startRegistry(),
      buildOciLayout(tempDir('reuse-layout-'), { platforms: [{ os: 'linux', architecture: 'amd64' }], singleManifest: true, layersPerPlatform: 12, layerBytes: 16 * 1024, seed: 'reuse', tag: 'v1' }),
    ]);
    await seedImage(image.dir, `${source.host}/app:v1`);
  });
  after(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('copies 13 blobs over fewer connections than blobs, byte-identical', async () => {
    let opened = 0;
    const count = () => { opened++; };
    subscribe('net.client.socket', count);
    try {
      const result = await copyImage({
        source: parseImageReference(`${source.host}/app:v1`), target: parseImageReference(`${target.host}/app:v1`), logger: silentLogger, concurrency: 1,
      });
      assert.equal(result.blobsUploaded, image.blobDigests.length);
    } finally {
      unsubscribe('net.client.socket', count);
    }
    assert.ok(image.blobDigests.length === 13, `13 blobs (${image.blobDigests.length})`);
    assert.ok(opened < image.blobDigests.length, `${opened} connections for ${image.blobDigests.length} blobs`);
    assert.equal(await skopeoInspectRaw(`${target.host}/app:v1`), await skopeoInspectRaw(`${source.host}/app:v1`));
  });
});
