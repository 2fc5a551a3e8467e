/**
 * copyImage vs `skopeo copy --all` for a two-platform image of ~200 MB of incompressible layers,
 * between two local registries. Each side runs RUNS times, alternating, each run into a fresh
 * target registry (skopeo's blob-info cache would otherwise mount blobs it has seen there), after
 * `sync` (so neither pays for the other's dirty pages); rows report medians, per-run timings go to
 * stderr. Our copy runs in a child process (this file with `--child`) so its peak RSS is its own;
 * copy times are measured inside that child (startup excluded), plus the child's wall time as an
 * info row.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { silentLogger } from '../tasks/core/logger';
import { copyImage } from '../tasks/core/registry/copy';
import { parseImageReference } from '../tasks/core/registry/reference';
import { median, RUNS, seconds, settleDisk, skopeoCopy, startCopyFixture } from './copyFixture';
import { reportRow, timeIt } from './report';

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

/** CPU seconds the whole machine has been busy (all processes), to tell a contended run from a slow one. */
function machineBusySeconds(): number {
  const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = ticks;
  return (user + nice + system + irq + softirq + steal) / 100;
}

async function main(): Promise<void> {
  const { image, source, freshRegistry, stop } = await startCopyFixture();
  console.error(`image: ${(image.blobBytes / 1048576).toFixed(0)} MB in ${image.blobDigests.length} blobs`);
  try {
    const ours: ChildReport[] = [];
    const skopeo: number[] = [];
    let oursTarget = '';
    let skopeoTarget = '';
    for (let run = 0; run < RUNS; run++) {
      // Alternate who goes first, so neither always runs on a warmer machine.
      for (const side of run % 2 === 0 ? ['ours', 'skopeo'] : ['skopeo', 'ours']) {
        const target = await freshRegistry();
        await settleDisk();
        const busyBefore = machineBusySeconds();
        const load = () => `machine busy ${(machineBusySeconds() - busyBefore).toFixed(2)} CPU-s on ${cpus().length} cores`;
        if (side === 'ours') {
          oursTarget = `${target.host}/ours/app:v1`;
          const report = await runChild(source, oursTarget);
          if (report.result.alreadyPromoted || report.result.blobsUploaded === 0) throw new Error('our copy uploaded nothing');
          ours.push(report);
          console.error(`  run ${run + 1} ours:   ${report.seconds.toFixed(3)} s (child wall ${report.wallSeconds.toFixed(3)} s, ${load()}, peak RSS ${report.maxRssMB.toFixed(0)} MB)`);
        } else {
          skopeoTarget = `${target.host}/skopeo/app:v1`;
          const time = await timeIt(() => skopeoCopy(source, skopeoTarget));
          skopeo.push(time);
          console.error(`  run ${run + 1} skopeo: ${time.toFixed(3)} s (${load()})`);
        }
      }
    }
    const oursReruns: ChildReport[] = [];
    const skopeoReruns: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const rerun = await runChild(source, oursTarget);
      if (!rerun.result.alreadyPromoted) throw new Error('re-run was not detected as already promoted');
      oursReruns.push(rerun);
      skopeoReruns.push(await timeIt(() => skopeoCopy(source, skopeoTarget)));
    }
    console.error(`  copy: ours ${seconds(ours.map((r) => r.seconds))}; skopeo ${seconds(skopeo)}`);
    console.error(`  re-run: ours ${seconds(oursReruns.map((r) => r.seconds))} (incl. startup ${seconds(oursReruns.map((r) => r.wallSeconds))}); skopeo ${seconds(skopeoReruns)}`);

    const skopeoSeconds = median(skopeo);
    const skopeoRerun = median(skopeoReruns);
    const mb = (image.blobBytes / 1048576).toFixed(0);
    reportRow({ bench: 'copy', metric: `copy ${mb} MB 2-platform image`, ours: median(ours.map((r) => r.seconds)), baseline: skopeoSeconds, unit: 's', kind: 'ratio', target: 0.8 });
    reportRow({ bench: 'copy', metric: 'copy incl. node+tsx startup', ours: median(ours.map((r) => r.wallSeconds)), baseline: skopeoSeconds, unit: 's', kind: 'info' });
    reportRow({ bench: 'copy', metric: 'peak RSS of our copy', ours: Math.max(...ours.map((r) => r.maxRssMB)), unit: 'MB', kind: 'max', target: 150 });
    // The re-run target is against skopeo's copy time; skopeo's own re-run is shown beside it.
    reportRow({ bench: 'copy', metric: 're-run (already promoted) vs skopeo copy', ours: median(oursReruns.map((r) => r.seconds)), baseline: skopeoSeconds, unit: 's', kind: 'ratio', target: 0.1 });
    reportRow({ bench: 'copy', metric: 're-run vs skopeo re-run', ours: median(oursReruns.map((r) => r.seconds)), baseline: skopeoRerun, unit: 's', kind: 'info' });
    reportRow({ bench: 'copy', metric: 're-run incl. node+tsx startup vs skopeo re-run', ours: median(oursReruns.map((r) => r.wallSeconds)), baseline: skopeoRerun, unit: 's', kind: 'info' });
  } finally {
    await stop();
  }
}

const childAt = process.argv.indexOf('--child');
(childAt >= 0 ? child(process.argv[childAt + 1], process.argv[childAt + 2]) : main())
  .then(() => process.exit(0))
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
