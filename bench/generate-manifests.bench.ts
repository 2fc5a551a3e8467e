// GenerateManifests end to end, as the agent runs it (the bundle, INPUT_* variables), on a synthetic
// HLD of 60 components (40 helm charts over 5 distinct `helm create` charts + 20 statics) and two
// environments, publishing to the local git HTTP server with token auth.
// Baseline (same run): Bedrock's build.sh steps scripted in bench/baseline-build.sh.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { git, startGitServer, testGitEnv } from '../test/support/gitServer';
import { runTask } from '../test/support/runTask';
import { tempDir } from '../test/support/tmp';
import { reportRow, timeIt } from './report';

const root = join(__dirname, '..');
const helm = join(root, '.tools', 'helm4', 'helm');
const work = tempDir('bench-gm-');
const hld = join(work, 'hld');
const environments = ['prod', 'staging'] as const;

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? work, env: options.env ?? testGitEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stderr.on('data', (c: Buffer) => (err += c));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(' ')}: ${err}`))));
  });
}

function write(path: string, content: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
}

type Values = { replicaCount: number; image: { tag: string } };

async function buildHld(): Promise<string[]> {
  const helmEnv = { PATH: process.env.PATH, HELM_CACHE_HOME: join(work, 'h', 'c'), HELM_CONFIG_HOME: join(work, 'h', 'cf'), HELM_DATA_HOME: join(work, 'h', 'd') };
  const charts = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
  mkdirSync(join(hld, 'charts'), { recursive: true });
  for (const [index, chart] of charts.entries()) {
    await run(helm, ['create', chart], { cwd: join(hld, 'charts'), env: helmEnv });
    write(join(hld, 'charts', chart, 'templates', 'extra.yaml'),
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra\ndata:\n${Array.from({ length: 5 + index * 5 }, (_, i) => `  key${i}: "{{ .Values.replicaCount }}-${i}"`).join('\n')}\n`);
    appendFileSync(join(hld, 'charts', chart, 'values.yaml'), `\nvariant: ${chart}\n`);
  }
  const services = Array.from({ length: 40 }, (_, i) => ({ name: `svc-${String(i).padStart(2, '0')}`, chart: charts[i % charts.length], namespace: `team-${i % 4}` }));
  const common: Record<string, { namespace: string; config: Values }> = {};
  const overrides: Record<string, Record<string, { config: Partial<Values> }>> = { prod: {}, staging: {} };
  services.forEach((s, i) => {
    common[s.name] = { namespace: s.namespace, config: { replicaCount: 1 + (i % 3), image: { tag: `1.${i}.0` } } };
    if (i % 2 === 0) overrides.prod[s.name] = { config: { replicaCount: 5 } };
    if (i % 4 === 1) overrides.staging[s.name] = { config: { image: { tag: `1.${i}.1-rc` } } as Partial<Values> };
  });
  const statics = Array.from({ length: 20 }, (_, i) => `static-${String(i).padStart(2, '0')}`);
  for (const name of statics) {
    for (let f = 0; f < 3; f++) write(join(hld, 'manifests', name, `${f}.yaml`), `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}-${f}\ndata:\n  value: "${f}"\n`);
  }
  write(join(hld, 'component.yaml'), dump({
    name: 'bench',
    subcomponents: [
      ...services.map((s) => ({ name: s.name, type: 'helm', method: 'local', path: `./charts/${s.chart}` })),
      ...statics.map((name) => ({ name, type: 'static', path: `./manifests/${name}` })),
    ],
  }));
  write(join(hld, 'config', 'common.yaml'), dump({ subcomponents: common }));
  for (const env of environments) write(join(hld, 'config', `${env}.yaml`), dump({ subcomponents: overrides[env] }));

  // The baseline's plan: merged values per environment, as `fab generate` would hand them to helm.
  const plan: string[] = [];
  for (const env of environments) {
    for (const s of services) {
      const base = common[s.name].config;
      const over = overrides[env][s.name]?.config ?? {};
      const values = join(work, 'values', env, `${s.name}.yaml`);
      write(values, dump({ replicaCount: over.replicaCount ?? base.replicaCount, image: { tag: over.image?.tag ?? base.image.tag } }));
      plan.push(`helm ${env} ${s.name} ${join(hld, 'charts', s.chart)} ${values} ${s.namespace}`);
    }
    for (const name of statics) plan.push(`static ${env} ${name} ${join(hld, 'manifests', name)}`);
  }
  return plan;
}

async function main(): Promise<void> {
  const plan = await buildHld();
  writeFileSync(join(work, 'plan.txt'), `${plan.join('\n')}\n`);
  const server = await startGitServer();
  try {
    const hldUrl = await server.createRepo('bench/hld');
    await git(['init', '-q', '-b', 'main'], { cwd: hld });
    await git(['add', '-A'], { cwd: hld });
    await git(['commit', '-q', '-m', 'Bench HLD'], { cwd: hld });
    await git(['remote', 'add', 'origin', hldUrl], { cwd: hld });
    await git(['push', '-q', 'origin', 'HEAD:main'], { cwd: hld, env: testGitEnv(server.authEnv) });
    const seed = { files: { 'README.md': 'manifests\n' } };
    const baselineUrl = await server.createRepo('bench/manifests-baseline', seed);
    const oursUrl = await server.createRepo('bench/manifests-ours', seed);
    const baselineRun = () => run('sh', [join(root, 'bench', 'baseline-build.sh'), join(work, 'plan.txt'), join(work, 'baseline'), baselineUrl, helm], { env: testGitEnv(server.authEnv) });
    const cache = join(work, 'cache');
    const oursRun = async () => {
      const result = await runTask('GenerateManifests', {
        timeoutMs: 600_000,
        inputs: { hldPath: hld, manifestRepositoryUrl: oursUrl, environments: environments.join('\n'), helmPath: helm, cacheDirectory: cache },
        secrets: { 'System.AccessToken': server.token },
      });
      if (result.result !== 'Succeeded') throw new Error(`task failed: ${result.message}`);
      return result;
    };
    mkdirSync(join(work, 'baseline'), { recursive: true });
    const baselineCold = await timeIt(baselineRun);
    const oursCold = await timeIt(oursRun);
    const baselineAgain = await timeIt(baselineRun);
    let unchanged = '';
    const oursAgain = await timeIt(async () => (unchanged = (await oursRun()).outputs.manifestsChanged));
    console.error(`baseline cold ${baselineCold.toFixed(2)} s, again ${baselineAgain.toFixed(2)} s; ours cold ${oursCold.toFixed(2)} s, no-change ${oursAgain.toFixed(2)} s (manifestsChanged=${unchanged})`);
    reportRow({ bench: 'generate-manifests', metric: 'cold task run, 60 components x 2 envs, publish', ours: oursCold, baseline: baselineCold, unit: 's', kind: 'ratio', target: 0.7 });
    reportRow({ bench: 'generate-manifests', metric: 'no-change run (cacheDirectory) vs baseline re-run', ours: oursAgain, baseline: baselineAgain, unit: 's', kind: 'ratio', target: 0.3 });
  } finally {
    await server.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
