/**
 * UpdateImageTag under contention: 16 bundled task processes for 16 subcomponents of one HLD repo
 * (git over HTTP with token auth) started at once, against the same 16 runs one after another.
 * Targets: every run lands with at most 6 attempts, and the 16-way batch uses at most 2x the CPU
 * time of the 16 serial runs (on a 2-core machine shared by the agents and the server, CPU is what
 * contention costs; wall time is shown for information). Rows also give the CPU per landed update,
 * the lost races and the CPU each one costs.
 *
 * Each batch gets its own git server, stopped at the end of the batch, so the CPU time of the
 * batch's whole process tree (task processes, their git children, the server and its git
 * children) is read from this process's waited-for-children counters.
 */
import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';
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

/** User + system CPU seconds of the children this process has waited for (Linux /proc). */
function childrenCpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  // After "pid (comm) ", cutime and cstime are fields 14 and 15 of stat(5), in clock ticks (100/s).
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

interface Batch { wall: number; cpu: number; runs: TaskRun[] }

async function batch(concurrent: boolean): Promise<Batch> {
  const cpuBefore = childrenCpuSeconds();
  const server = await startGitServer();
  let runs: TaskRun[] = [];
  let wall = 0;
  try {
    const url = await server.createRepo('hld', { files: { 'component.yaml': componentYaml, 'config/prod.yaml': config } });
    const run = (subcomponent: string) => runTask('UpdateImageTag', {
      inputs: { hldRepositoryUrl: url, environment: 'prod', subcomponent, imageTag: `bench-${subcomponent}`, maxPushAttempts: '20' },
      secrets: { 'System.AccessToken': server.token },
      timeoutMs: 600_000,
    });
    wall = await timeIt(async () => {
      if (concurrent) runs = await Promise.all(services.map(run));
      else for (const s of services) runs.push(await run(s));
    });
  } finally {
    await server.stop();
  }
  return { wall, cpu: childrenCpuSeconds() - cpuBefore, runs };
}

async function main(): Promise<void> {
  await bundleOnce();
  const serial = await batch(false);
  serial.runs.forEach(attemptsOf);
  const concurrent = await batch(true);
  const attempts = concurrent.runs.map(attemptsOf).sort((a, b) => a - b);
  const retries = attempts.reduce((sum, a) => sum + a - 1, 0);
  const cores = cpus().length;
  // No schedule can finish before the machine has done the batch's CPU work: with zero lost
  // races the concurrent batch still needs the serial batch's CPU time spread over every core.
  const bestPossible = serial.cpu / cores;

  const lostRaces = retries;
  reportRow({ bench: 'update-image-tag', metric: 'CPU time, 16-way vs 16 serial (tasks, git, git server)', ours: concurrent.cpu, baseline: serial.cpu, unit: 's', kind: 'ratio', target: 2 });
  reportRow({ bench: 'update-image-tag', metric: 'max push attempts of a run (16-way)', ours: attempts[attempts.length - 1], unit: 'count', kind: 'max', target: 6 });
  reportRow({ bench: 'update-image-tag', metric: 'p50 push attempts (16-way)', ours: attempts[Math.floor((attempts.length - 1) / 2)], unit: 'count', kind: 'info' });
  reportRow({ bench: 'update-image-tag', metric: 'lost races (16-way, retries of all runs)', ours: lostRaces, unit: 'count', kind: 'info' });
  reportRow({ bench: 'update-image-tag', metric: 'CPU per landed update, 16-way vs serial', ours: concurrent.cpu / services.length, baseline: serial.cpu / services.length, unit: 's', kind: 'info' });
  if (lostRaces > 0) {
    reportRow({ bench: 'update-image-tag', metric: 'CPU time per lost race (16-way extra CPU / lost races)', ours: (concurrent.cpu - serial.cpu) / lostRaces, unit: 's', kind: 'info' });
  }
  reportRow({ bench: 'update-image-tag', metric: '16-way wall time vs 16 serial runs (info: load-dependent)', ours: concurrent.wall, baseline: serial.wall, unit: 's', kind: 'info' });
  reportRow({ bench: 'update-image-tag', metric: `floor with no lost race: serial CPU / ${cores} cores, vs serial wall`, ours: bestPossible, baseline: serial.wall, unit: 's', kind: 'info' });
  process.stderr.write(
    `attempts: ${attempts.join(' ')} (${retries} retries); serial ${serial.wall.toFixed(1)} s wall, ${serial.cpu.toFixed(1)} CPU-s; ` +
    `concurrent ${concurrent.wall.toFixed(1)} s wall, ${concurrent.cpu.toFixed(1)} CPU-s on ${cores} cores\n`,
  );
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
