// Render benchmark through the CLI, the way users and the task run it: one `bedrock-gitops generate`
// process per environment set, on an HLD where every chart differs (30 helm components, each its
// own chart, values differing per environment: no render is shared), plus 10 static folders.
// Baseline (same run): Bedrock's pipeline step, a serial loop of one `helm template` per chart
// component and environment with the same merged values.
// Cold: an empty --cache folder. Warm: the same again with that cache (every render cached).
// Three rounds (baseline, cold, warm); each figure is the median of its three runs.
// The CLI runs as users start it, bin/bedrock-gitops.js, with a user cache folder of its own (its V8
// code cache is made by the first run). BENCH_CLI=path/to/bin/bedrock-gitops.js measures another build.
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { dump } from 'js-yaml';
import { reportRow } from './report';

const root = join(__dirname, '..');
const helm = join(root, '.tools', 'helm4', 'helm');
const cli = resolve(process.env.BENCH_CLI ?? join(root, 'bin', 'bedrock-gitops.js'));
const work = mkdtempSync(join(tmpdir(), 'bench-render-cli-'));
const hld = join(work, 'hld');
const helmEnv = { PATH: process.env.PATH, BEDROCK_GITOPS_CACHE: join(work, 'user-cache'), HELM_CACHE_HOME: join(work, 'h', 'c'), HELM_CONFIG_HOME: join(work, 'h', 'cf'), HELM_DATA_HOME: join(work, 'h', 'd') };
const environments = ['staging', 'prod'] as const;

function run(command: string, args: string[], cwd = work): string {
  const result = spawnSync(command, args, { cwd, env: helmEnv, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

function write(path: string, content: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
}

// Thirty distinct charts: `helm create` plus an extra template of its own in each.
const services = Array.from({ length: 30 }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
mkdirSync(join(hld, 'charts'), { recursive: true });
services.forEach((name, index) => {
  run(helm, ['create', name], join(hld, 'charts'));
  write(
    join(hld, 'charts', name, 'templates', 'extra.yaml'),
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra\ndata:\n${Array.from({ length: 3 + (index % 7) }, (_, i) => `  key${i}: "{{ .Values.replicaCount }}-${i}"`).join('\n')}\n`,
  );
});
type Values = { replicaCount: number; image: { tag: string } };
const common: Record<string, { namespace: string; config: Values }> = {};
const overrides: Record<(typeof environments)[number], Record<string, { config: Partial<Values> }>> = { staging: {}, prod: {} };
services.forEach((name, i) => {
  common[name] = { namespace: `team-${i % 4}`, config: { replicaCount: 1, image: { tag: `1.${i}.0` } } };
  overrides.prod[name] = { config: { replicaCount: 3 } };
  overrides.staging[name] = { config: { image: { tag: `1.${i}.1-rc` } } as Partial<Values> };
});
const statics = Array.from({ length: 10 }, (_, i) => `static-${String(i).padStart(2, '0')}`);
for (const name of statics) {
  for (let f = 0; f < 3; f++) write(join(hld, 'manifests', name, `${f}.yaml`), `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}-${f}\ndata:\n  value: "${f}"\n`);
}
write(join(hld, 'component.yaml'), dump({
  name: 'bench',
  subcomponents: [
    ...services.map((name) => ({ name, type: 'helm', method: 'local', path: `./charts/${name}` })),
    ...statics.map((name) => ({ name, type: 'static', path: `./manifests/${name}` })),
  ],
}));
write(join(hld, 'config', 'common.yaml'), dump({ subcomponents: common }));
for (const env of environments) write(join(hld, 'config', `${env}.yaml`), dump({ subcomponents: overrides[env] }));

function mergedValues(name: string, env: (typeof environments)[number]): Values {
  const base = common[name].config;
  const over = overrides[env][name]?.config ?? {};
  return { replicaCount: over.replicaCount ?? base.replicaCount, image: { tag: over.image?.tag ?? base.image.tag } };
}

/** CPU seconds used so far by this process and its finished children (load-independent). */
function cpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return fields.slice(11, 15).reduce((sum, ticks) => sum + Number(ticks), 0) / 100;
}

interface Measure { wall: number; cpu: number }

function measure(fn: () => void): Measure {
  const cpu = cpuSeconds();
  const start = process.hrtime.bigint();
  fn();
  return { wall: Number(process.hrtime.bigint() - start) / 1e9, cpu: cpuSeconds() - cpu };
}

function baseline(): Measure {
  const out = join(work, 'baseline');
  mkdirSync(out, { recursive: true });
  return measure(() => {
    for (const env of environments) {
      for (const name of services) {
        const valuesFile = join(work, `values-${env}-${name}.yaml`);
        writeFileSync(valuesFile, dump(mergedValues(name, env)));
        writeFileSync(join(out, `${env}-${name}.yaml`), run(helm, ['template', name, join(hld, 'charts', name), '--values', valuesFile, '--namespace', common[name].namespace]));
      }
    }
  });
}

/** One CLI process per environment set, one after the other. */
function ours(cacheDir: string): Measure {
  return measure(() => {
    for (const env of environments) {
      const stdout = run(process.execPath, [cli, 'generate', env, '--hld', hld, '--output', join(work, 'generated'), '--cache', cacheDir, '--helm', helm]);
      if (!stdout.includes(`${env}: ${services.length + statics.length + 1} files`)) throw new Error(`unexpected output of generate ${env}: ${stdout}`);
    }
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function main(): void {
  const rounds: { baseline: Measure; cold: Measure; warm: Measure }[] = [];
  for (let round = 0; round < Number(process.env.BENCH_ROUNDS ?? 3); round++) {
    const cacheDir = join(work, `cache-${round}`);
    const b = baseline();
    const cold = ours(cacheDir);
    const warm = ours(cacheDir);
    rounds.push({ baseline: b, cold, warm });
  }
  const m = (pick: (r: (typeof rounds)[number]) => number) => median(rounds.map(pick));
  const list = (pick: (r: (typeof rounds)[number]) => number) => rounds.map((r) => pick(r).toFixed(2)).join(', ');
  console.error(`cli ${cli}`);
  console.error(`baseline [${list((r) => r.baseline.wall)}] s, cold [${list((r) => r.cold.wall)}] s, warm [${list((r) => r.warm.wall)}] s`);
  console.error(`ratios per round: cold [${rounds.map((r) => (r.cold.wall / r.baseline.wall).toFixed(2)).join(', ')}], warm [${rounds.map((r) => (r.warm.wall / r.baseline.wall).toFixed(2)).join(', ')}]`);
  console.error(`CPU: baseline [${list((r) => r.baseline.cpu)}] s, cold [${list((r) => r.cold.cpu)}] s, warm [${list((r) => r.warm.cpu)}] s`);
  const what = `${services.length} distinct charts + ${statics.length} statics x 2 envs, CLI process per env`;
  reportRow({ bench: 'render-cli', metric: `cold render, ${what}`, ours: m((r) => r.cold.wall), baseline: m((r) => r.baseline.wall), unit: 's', kind: 'ratio', target: 0.6 });
  reportRow({ bench: 'render-cli', metric: 'warm re-render, every render cached', ours: m((r) => r.warm.wall), baseline: m((r) => r.baseline.wall), unit: 's', kind: 'ratio', target: 0.15 });
  reportRow({ bench: 'render-cli', metric: 'CPU seconds incl. children, cold (info)', ours: m((r) => r.cold.cpu), baseline: m((r) => r.baseline.cpu), unit: 's', kind: 'info' });
  reportRow({ bench: 'render-cli', metric: 'CPU seconds incl. children, warm (info)', ours: m((r) => r.warm.cpu), baseline: m((r) => r.baseline.cpu), unit: 's', kind: 'info' });
}

try {
  main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  if (process.env.BENCH_KEEP) console.error(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
