// Render benchmark: a synthetic HLD of 60 components (40 helm charts over 5 distinct local charts,
// 20 static folders) rendered for two environment sets (staging, prod).
// Baseline (same run): Bedrock's pipeline step, a serial loop of one `helm template` per chart
// component and environment with the same merged values.
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { silentLogger } from '../tasks/core/logger';
import { generate } from '../tasks/core/render/generate';
import { reportRow, timeIt } from './report';

const helm = join(__dirname, '..', '.tools', 'helm4', 'helm');
const work = mkdtempSync(join(tmpdir(), 'bench-render-'));
const hld = join(work, 'hld');
const helmEnv = { PATH: process.env.PATH, HELM_CACHE_HOME: join(work, 'h', 'c'), HELM_CONFIG_HOME: join(work, 'h', 'cf'), HELM_DATA_HOME: join(work, 'h', 'd') };

function sh(command: string, args: string[], cwd = work): string {
  const result = spawnSync(command, args, { cwd, env: helmEnv, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

function write(path: string, content: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
}

// Five distinct charts: `helm create` plus a different extra template in each.
const charts = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
mkdirSync(join(hld, 'charts'), { recursive: true });
charts.forEach((chart, index) => {
  sh(helm, ['create', chart], join(hld, 'charts'));
  write(
    join(hld, 'charts', chart, 'templates', 'extra.yaml'),
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra\ndata:\n${Array.from({ length: 5 + index * 5 }, (_, i) => `  key${i}: "{{ .Values.replicaCount }}-${i}"`).join('\n')}\n`,
  );
  appendFileSync(join(hld, 'charts', chart, 'values.yaml'), `\nvariant: ${chart}\n`);
});

type Values = { replicaCount: number; image: { tag: string } };
const helmComponents = Array.from({ length: 40 }, (_, i) => ({ name: `svc-${String(i).padStart(2, '0')}`, chart: charts[i % charts.length] }));
const common: Record<string, { namespace: string; config: Values }> = {};
const overrides: Record<'staging' | 'prod', Record<string, { config: Partial<Values> }>> = { staging: {}, prod: {} };
helmComponents.forEach((c, i) => {
  common[c.name] = { namespace: `team-${i % 4}`, config: { replicaCount: 1 + (i % 3), image: { tag: `1.${i}.0` } } };
  // Half the services differ in prod, a quarter in staging; the rest render the same everywhere.
  if (i % 2 === 0) overrides.prod[c.name] = { config: { replicaCount: 5 } };
  if (i % 4 === 1) overrides.staging[c.name] = { config: { image: { tag: `1.${i}.1-rc` } } as Partial<Values> };
});
const statics = Array.from({ length: 20 }, (_, i) => `static-${String(i).padStart(2, '0')}`);
for (const name of statics) {
  for (let f = 0; f < 3; f++) {
    write(join(hld, 'manifests', name, `${f}.yaml`), `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}-${f}\ndata:\n  value: "${f}"\n`);
  }
}
write(
  join(hld, 'component.yaml'),
  dump({
    name: 'bench',
    subcomponents: [
      ...helmComponents.map((c) => ({ name: c.name, type: 'helm', method: 'local', path: `./charts/${c.chart}` })),
      ...statics.map((name) => ({ name, type: 'static', path: `./manifests/${name}` })),
    ],
  }),
);
write(join(hld, 'config', 'common.yaml'), dump({ subcomponents: common }));
for (const env of ['staging', 'prod'] as const) write(join(hld, 'config', `${env}.yaml`), dump({ subcomponents: overrides[env] }));

function mergedValues(name: string, env: 'staging' | 'prod'): Values {
  const base = common[name].config;
  const over = overrides[env][name]?.config ?? {};
  return { replicaCount: over.replicaCount ?? base.replicaCount, image: { tag: over.image?.tag ?? base.image.tag } };
}

/** CPU seconds used so far by this process and its finished children (load-independent). */
function cpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  // utime, stime, cutime, cstime are fields 14-17 of stat; index 11-14 after the command name.
  return fields.slice(11, 15).reduce((sum, ticks) => sum + Number(ticks), 0) / 100;
}

const cpu = { baseline: 0, cold: 0 };

function runBaseline(): Promise<number> {
  const baselineOut = join(work, 'baseline');
  mkdirSync(baselineOut, { recursive: true });
  const before = cpuSeconds();
  return timeIt(async () => {
    for (const env of ['staging', 'prod'] as const) {
      for (const c of helmComponents) {
        const valuesFile = join(work, `values-${env}-${c.name}.yaml`);
        writeFileSync(valuesFile, dump(mergedValues(c.name, env)));
        const out = sh(helm, ['template', c.name, join(hld, 'charts', c.chart), '--values', valuesFile, '--namespace', common[c.name].namespace]);
        writeFileSync(join(baselineOut, `${env}-${c.name}.yaml`), out);
      }
    }
    cpu.baseline = cpuSeconds() - before;
  });
}

async function main(): Promise<void> {
  // Two rounds in the order B C C B, best of each: other work on this 2-core machine varies a lot
  // within a minute, and the best run of each side is the least disturbed one.
  const options = (cacheDir: string) => ({ hldDir: hld, environmentSets: [['staging'], ['prod']], outputDir: join(work, 'generated'), cacheDir, helmPath: helm, env: { PATH: process.env.PATH }, logger: silentLogger });
  const baselines: number[] = [];
  const colds: number[] = [];
  const warms: number[] = [];
  let coldTemplates = 0;
  let warmTemplates = -1;
  const cold = async (round: number): Promise<void> => {
    const cacheDir = join(work, `cache-${round}`);
    const before = cpuSeconds();
    colds.push(await timeIt(async () => {
      coldTemplates = (await generate(options(cacheDir))).stats.helmTemplates;
    }));
    cpu.cold = cpuSeconds() - before;
    warms.push(await timeIt(async () => {
      warmTemplates = (await generate(options(cacheDir))).stats.helmTemplates;
    }));
  };
  baselines.push(await runBaseline());
  await cold(1);
  await cold(2);
  baselines.push(await runBaseline());
  const baseline = Math.min(...baselines);
  const coldBest = Math.min(...colds);
  const warm = Math.min(...warms);
  const peakMb = process.resourceUsage().maxRSS / 1024;
  const list = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');

  console.error(`baseline [${list(baselines)}] s (80 helm template runs each), cold [${list(colds)}] s (${coldTemplates} helm template runs), warm [${list(warms)}] s (${warmTemplates} runs)`);
  reportRow({ bench: 'render', metric: 'cold render, 60 components x 2 envs', ours: coldBest, baseline, unit: 's', kind: 'ratio', target: 0.65 });
  reportRow({ bench: 'render', metric: 'warm render, unchanged inputs + cache', ours: warm, baseline, unit: 's', kind: 'ratio', target: 0.2 });
  reportRow({ bench: 'render', metric: 'peak RSS of the node process', ours: peakMb, unit: 'MB', kind: 'max', target: 300 });
  reportRow({ bench: 'render', metric: 'CPU seconds incl. children, cold (info: load-independent)', ours: cpu.cold, baseline: cpu.baseline, unit: 's', kind: 'info' });
  reportRow({ bench: 'render', metric: 'helm template runs, cold (baseline 80)', ours: coldTemplates, unit: 'count', kind: 'info' });
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => process.env.BENCH_KEEP ? console.error(`kept ${work}`) : rmSync(work, { recursive: true, force: true }));
