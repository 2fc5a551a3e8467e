/**
 * What the copy and promote benchmarks share: the ~200 MB two-platform image (built once into
 * .bench/), fresh local registries (skopeo's blob-info cache would mount blobs it has seen in a
 * registry, so each copy gets a new target), `skopeo copy --all`, and median reporting.
 */
import { join } from 'node:path';
import { runProcess } from '../tasks/core/exec';
import { ensureOciLayout, seedImage, type OciImage } from '../test/support/ociImage';
import { startRegistry, type TestRegistry } from '../test/support/registry';

const LAYER_BYTES = 28 * 1024 * 1024;
export const RUNS = 3;

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
export const seconds = (values: number[]) => values.map((v) => v.toFixed(3)).join(' ');

export interface CopyFixture {
  image: OciImage;
  /** `host/app:v1` in the source registry, seeded with the image. */
  source: string;
  /** A new, empty registry (stopped by `stop`). */
  freshRegistry(): Promise<TestRegistry>;
  stop(): Promise<void>;
}

/** The benchmark image, seeded into a source registry. */
export async function startCopyFixture(): Promise<CopyFixture> {
  const image = await ensureOciLayout(join(__dirname, '..', '.bench', 'copy-image'), {
    layersPerPlatform: 4, layerBytes: LAYER_BYTES, seed: 'bench-copy', tag: 'v1',
  });
  const registries: TestRegistry[] = [];
  const freshRegistry = async () => {
    const registry = await startRegistry();
    registries.push(registry);
    return registry;
  };
  const stop = async () => {
    await Promise.all(registries.map((r) => r.stop()));
  };
  try {
    const source = `${(await freshRegistry()).host}/app:v1`;
    await seedImage(image.dir, source);
    return { image, source, freshRegistry, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export async function skopeoCopy(source: string, target: string): Promise<void> {
  const result = await runProcess('skopeo', ['copy', '--all', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${source}`, `docker://${target}`], { timeoutMs: 600_000 });
  if (result.code !== 0) throw new Error(`skopeo copy failed: ${result.stderr}`);
}

/** Flushes dirty pages, so a run does not pay for the previous run's writes. */
export async function settleDisk(): Promise<void> {
  await runProcess('sync', []);
}
