/**
 * copyImage vs `skopeo copy --all` for a two-platform image of ~200 MB of incompressible layers,
 * between two local registries. Our copy runs in a child process (this file with `--child`) so its
 * peak RSS is its own; copy times are measured inside that child (startup excluded) and reported
 * next to skopeo's wall time, plus the child's wall time as an info row.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { silentLogger } from '../tasks/core/logger';
import { runProcess } from '../tasks/core/exec';
import { copyImage } from '../tasks/core/registry/copy';
import { parseImageReference } from '../tasks/core/registry/reference';
import { ensureOciLayout, seedImage } from '../test/support/ociImage';
import { startRegistry } from '../test/support/registry';
import { reportRow, timeIt } from './report';

const LAYER_BYTES = 28 * 1024 * 1024;

async function child(source: string, target: string): Promise<void> {
  const started = process.hrtime.bigint();
  const result = await copyImage({ source: parseImageReference(source), target: parseImageReference(target), logger: silentLogger });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(`${JSON.stringify({ seconds, maxRssMB: process.resourceUsage().maxRSS / 1024, result })}\n`);
}

interface ChildReport { seconds: number; maxRssMB: number; wallSeconds: number; result: { alreadyPromoted: boolean; blobsUploaded: number; bytesCopied: number } }

function runChild(source: string, target: string): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const proc = spawn(process.execPath, ['--import', 'tsx', __filename, '--child', source, target], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
    proc.on('error', reject);
    proc.on('close', (code) => {
      if (code !== 0) return reject(new Error(`copy child exited with ${code}`));
      resolve({ ...JSON.parse(out.trim().split('\n').pop()!), wallSeconds: Number(process.hrtime.bigint() - started) / 1e9 });
    });
  });
}

async function skopeoCopy(source: string, target: string): Promise<void> {
  const result = await runProcess('skopeo', ['copy', '--all', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${source}`, `docker://${target}`], { timeoutMs: 600_000 });
  if (result.code !== 0) throw new Error(`skopeo copy failed: ${result.stderr}`);
}

async function main(): Promise<void> {
  const image = await ensureOciLayout(join(__dirname, '..', '.bench', 'copy-image'), {
    layersPerPlatform: 4, layerBytes: LAYER_BYTES, seed: 'bench-copy', tag: 'v1',
  });
  console.error(`image: ${(image.blobBytes / 1048576).toFixed(0)} MB in ${image.blobDigests.length} blobs`);
  const [a, b] = await Promise.all([startRegistry(), startRegistry()]);
  try {
    await seedImage(image.dir, `${a.host}/app:v1`);
    const source = `${a.host}/app:v1`;
    const skopeoSeconds = await timeIt(() => skopeoCopy(source, `${b.host}/skopeo/app:v1`));
    const ours = await runChild(source, `${b.host}/ours/app:v1`);
    const skopeoRerun = await timeIt(() => skopeoCopy(source, `${b.host}/skopeo/app:v1`));
    const oursRerun = await runChild(source, `${b.host}/ours/app:v1`);
    if (!oursRerun.result.alreadyPromoted) throw new Error('re-run was not detected as already promoted');
    reportRow({ bench: 'copy', metric: `copy ${(image.blobBytes / 1048576).toFixed(0)} MB 2-platform image`, ours: ours.seconds, baseline: skopeoSeconds, unit: 's', kind: 'ratio', target: 0.8 });
    reportRow({ bench: 'copy', metric: 'copy incl. node+tsx startup', ours: ours.wallSeconds, baseline: skopeoSeconds, unit: 's', kind: 'info' });
    reportRow({ bench: 'copy', metric: 'peak RSS of our copy', ours: ours.maxRssMB, unit: 'MB', kind: 'max', target: 150 });
    // The re-run target is against skopeo's copy time; skopeo's own re-run is shown beside it.
    reportRow({ bench: 'copy', metric: 're-run (already promoted) vs skopeo copy', ours: oursRerun.seconds, baseline: skopeoSeconds, unit: 's', kind: 'ratio', target: 0.1 });
    reportRow({ bench: 'copy', metric: 're-run vs skopeo re-run', ours: oursRerun.seconds, baseline: skopeoRerun, unit: 's', kind: 'info' });
    reportRow({ bench: 'copy', metric: 're-run incl. node+tsx startup vs skopeo re-run', ours: oursRerun.wallSeconds, baseline: skopeoRerun, unit: 's', kind: 'info' });
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}

const childAt = process.argv.indexOf('--child');
(childAt >= 0 ? child(process.argv[childAt + 1], process.argv[childAt + 2]) : main())
  .then(() => process.exit(0))
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
