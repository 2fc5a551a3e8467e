/**
 * UpdateImageTag under contention: 16 bundled task processes for 16 subcomponents of one HLD repo
 * (git over HTTP with token auth) started at once, against the same 16 runs one after another.
 * Rows: wall time ratio (target <= 0.6), max attempts of any run (target <= 6), p50 attempts.
 */
import { reportRow, timeIt } from './report';
import { startGitServer } from '../test/support/gitServer';
import { runTask, type TaskRun } from '../test/support/runTask';
import { bundleOnce, componentYaml } from '../test/tasks/updateImageTagHelpers';

const services = Array.from({ length: 16 }, (_, i) => `svc${String(i).padStart(2, '0')}`);
const config = `subcomponents:\n${services.map((s) => `  ${s}:\n    config:\n      image:\n        tag: initial\n`).join('')}`;

function attemptsOf(run: TaskRun): number {
  if (run.result !== 'Succeeded') throw new Error(`run failed: ${run.message}\n${run.stderr}`);
  const match = /\((?:commit \w+, )?(\d+) attempts?\)/.exec(run.message ?? '');
  if (!match) throw new Error(`no attempt count in "${run.message}"`);
  return Number(match[1]);
}

async function main(): Promise<void> {
  await bundleOnce();
  const server = await startGitServer();
  try {
    const serialUrl = await server.createRepo('serial', { files: { 'component.yaml': componentYaml, 'config/prod.yaml': config } });
    const concurrentUrl = await server.createRepo('concurrent', { files: { 'component.yaml': componentYaml, 'config/prod.yaml': config } });
    const run = (url: string, subcomponent: string) => runTask('UpdateImageTag', {
      inputs: { hldRepositoryUrl: url, environment: 'prod', subcomponent, imageTag: `bench-${subcomponent}`, maxPushAttempts: '20' },
      secrets: { 'System.AccessToken': server.token },
      timeoutMs: 600_000,
    });

    const serialRuns: TaskRun[] = [];
    const serial = await timeIt(async () => {
      for (const s of services) serialRuns.push(await run(serialUrl, s));
    });
    serialRuns.forEach(attemptsOf);

    let concurrentRuns: TaskRun[] = [];
    const concurrent = await timeIt(async () => {
      concurrentRuns = await Promise.all(services.map((s) => run(concurrentUrl, s)));
    });
    const attempts = concurrentRuns.map(attemptsOf).sort((a, b) => a - b);

    reportRow({ bench: 'update-image-tag', metric: '16-way contention wall time vs 16 serial runs', ours: concurrent, baseline: serial, unit: 's', kind: 'ratio', target: 0.6 });
    reportRow({ bench: 'update-image-tag', metric: 'max push attempts of a run (16-way)', ours: attempts[attempts.length - 1], unit: 'count', kind: 'max', target: 6 });
    reportRow({ bench: 'update-image-tag', metric: 'p50 push attempts (16-way)', ours: attempts[Math.floor((attempts.length - 1) / 2)], unit: 'count', kind: 'info' });
    process.stderr.write(`attempts: ${attempts.join(' ')}; serial ${serial.toFixed(1)} s, concurrent ${concurrent.toFixed(1)} s\n`);
  } finally {
    await server.stop();
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
