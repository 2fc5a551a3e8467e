// Runs every benchmark in bench/ (files named *.bench.ts), collects their result rows and prints
// one table against the baselines and targets. A benchmark prints rows as lines:
//   BENCH {"bench":"render","metric":"cold render","ours":1.2,"baseline":2.0,"unit":"s","target":0.65,"kind":"ratio"}
// kind "ratio": pass when ours/baseline <= target; kind "max": pass when ours <= target (absolute).
// Usage: npm run bench [-- name-filter]
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2] ?? '';
const files = readdirSync(here).filter((f) => f.endsWith('.bench.ts') && f.includes(filter)).sort();
const rows = [];
let failedToRun = false;
for (const file of files) {
  console.error(`running ${file} ...`);
  const result = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(here, file)], {
    cwd: join(here, '..'),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  for (const line of result.stdout.split('\n')) {
    if (line.startsWith('BENCH ')) rows.push(JSON.parse(line.slice(6)));
    else if (line.trim()) console.error(`  ${line}`);
  }
  if (result.status !== 0) {
    failedToRun = true;
    console.error(`${file} exited with ${result.status}`);
  }
}

const fmt = (v, unit) => (v === undefined || v === null ? '-' : `${Number(v).toFixed(unit === 's' ? 3 : unit === 'MB' ? 1 : 0)} ${unit}`);
const table = [
  '| benchmark | metric | ours | baseline | ratio | target | result |',
  '|---|---|---|---|---|---|---|',
];
let allPass = true;
for (const r of rows) {
  const ratio = r.baseline ? r.ours / r.baseline : undefined;
  const pass = r.kind === 'info' ? true : r.kind === 'max' ? r.ours <= r.target : ratio !== undefined && ratio <= r.target;
  allPass &&= pass;
  const target = r.kind === 'info' ? '-' : r.kind === 'max' ? `<= ${fmt(r.target, r.unit)}` : `<= ${r.target}x`;
  table.push(`| ${r.bench} | ${r.metric} | ${fmt(r.ours, r.unit)} | ${r.baseline ? fmt(r.baseline, r.unit) : '-'} | ${ratio !== undefined ? ratio.toFixed(2) + 'x' : '-'} | ${target} | ${r.kind === 'info' ? '' : pass ? 'pass' : 'FAIL'} |`);
}
const text = table.join('\n');
console.log(text);
writeFileSync(join(here, 'results.md'), `# Benchmark results\n\nMachine: ${process.platform} ${process.arch}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n\n${text}\n`);
process.exitCode = failedToRun || !allPass ? 1 : 0;
