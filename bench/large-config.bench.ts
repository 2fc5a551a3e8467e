// Large-config benchmark: an HLD whose config/prod.yaml is a 30 MB flat map (one subcomponent,
// ~500,000 keys), measured the way users run it: the bundled CLI process (`bedrock-gitops set`,
// `bedrock-gitops generate`), wall time and peak RSS from /usr/bin/time. Before the bounded parser
// (tasks/core/yaml/parse.ts) the yaml package's duplicate-key check made this quadratic: a 2.4 MB
// config took 14 s and a 30 MB one never finished. Also: a 510-byte alias bomb must be refused at once.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reportRow } from './report';
import { flatConfig } from '../test/support/yamlFixtures';

const cli = join(__dirname, '..', 'bin', 'bedrock-gitops.js');
const work = mkdtempSync(join(tmpdir(), 'bench-large-config-'));
const hld = join(work, 'hld');

function write(path: string, content: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
}

write(join(hld, 'component.yaml'), 'name: bench\nsubcomponents:\n  - name: app\n    type: static\n    path: ./manifests\n');
write(join(hld, 'manifests', 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n');
const config = flatConfig(30 * 1024 * 1024, 'app');
write(join(hld, 'config', 'prod.yaml'), config);
write(join(hld, 'config', 'common.yaml'), 'subcomponents:\n  app:\n    namespace: app\n');

/** Runs the CLI under /usr/bin/time: wall seconds and peak RSS in MB. */
function measure(args: string[]): { seconds: number; rssMb: number; cpu: number; code: number; output: string } {
  const started = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-f', 'MAXRSS %M CPU %U %S', process.execPath, cli, ...args], { cwd: hld, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rss = /MAXRSS (\d+) CPU ([\d.]+) ([\d.]+)/.exec(result.stderr);
  return {
    seconds, rssMb: rss ? Number(rss[1]) / 1024 : NaN, cpu: rss ? Number(rss[2]) + Number(rss[3]) : NaN,
    code: result.status ?? 1, output: `${result.stdout}${result.stderr}`.slice(-2000),
  };
}

try {
  const set = measure(['set', '--environment', 'prod', '--subcomponent', 'app', 'key1234=changed']);
  if (set.code !== 0) throw new Error(`set failed: ${set.output}`);
  if (!readFileSync(join(hld, 'config', 'prod.yaml'), 'utf8').includes('key1234: changed\n')) throw new Error('set did not write the value');
  const generate = measure(['generate', 'prod', '--output', join(work, 'out')]);
  if (generate.code !== 0) throw new Error(`generate failed: ${generate.output}`);

  // The bomb in an HLD of its own (small config), so the row times the refusal alone.
  rmSync(join(hld, 'config', 'prod.yaml'));
  write(join(hld, 'manifests', 'bomb.yaml'), [
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    ...'bcdefgh'.split('').map((name, index) => `${name}: &${name} [${Array(9).fill(`*${'abcdefgh'[index]}`).join(',')}]`),
  ].join('\n'));
  const bomb = measure(['generate', 'prod', '--output', join(work, 'out-bomb')]);
  if (bomb.code === 0 || !/bomb\.yaml.*alias bomb/.test(bomb.output)) throw new Error(`the alias bomb was not refused: ${bomb.output}`);

  const mb = (Buffer.byteLength(config) / 1024 / 1024).toFixed(0);
  reportRow({ bench: 'large-config', metric: `CLI set on a ${mb} MB flat config (wall)`, ours: set.seconds, unit: 's', kind: 'max', target: 60 });
  reportRow({ bench: 'large-config', metric: 'CLI set, CPU seconds (info: load-independent)', ours: set.cpu, unit: 's', kind: 'info' });
  reportRow({ bench: 'large-config', metric: 'CLI set, peak RSS', ours: set.rssMb, unit: 'MB', kind: 'max', target: 1500 });
  reportRow({ bench: 'large-config', metric: `CLI generate with a ${mb} MB flat config (wall)`, ours: generate.seconds, unit: 's', kind: 'max', target: 60 });
  reportRow({ bench: 'large-config', metric: 'CLI generate, CPU seconds (info: load-independent)', ours: generate.cpu, unit: 's', kind: 'info' });
  reportRow({ bench: 'large-config', metric: 'CLI generate, peak RSS', ours: generate.rssMb, unit: 'MB', kind: 'max', target: 1500 });
  reportRow({ bench: 'large-config', metric: 'CLI generate refusing a 600-byte alias bomb (wall)', ours: bomb.seconds, unit: 's', kind: 'max', target: 2 });
  reportRow({ bench: 'large-config', metric: 'alias bomb refusal, peak RSS', ours: bomb.rssMb, unit: 'MB', kind: 'max', target: 150 });
} finally {
  rmSync(work, { recursive: true, force: true });
}
