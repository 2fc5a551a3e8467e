// Bundles each task (tasks/<Task>/index.ts -> tasks/<Task>/dist/index.js) and the CLI
// (cli/index.ts -> dist/cli.js) with esbuild: CommonJS for Node 20, one self-contained file each.
import { build } from 'esbuild';
import { existsSync, readdirSync, copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tasks = readdirSync(join(root, 'tasks'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(root, 'tasks', d.name, 'task.json')))
  .map((d) => d.name);

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  legalComments: 'none',
  sourcemap: false,
};

const entries = tasks.map((t) => ({ in: join(root, 'tasks', t, 'index.ts'), out: join(root, 'tasks', t, 'dist', 'index.js') }));
if (existsSync(join(root, 'cli', 'index.ts'))) entries.push({ in: join(root, 'cli', 'index.ts'), out: join(root, 'dist', 'cli.js') });

await Promise.all(entries.map((e) => build({ ...common, entryPoints: [e.in], outfile: e.out })));

// task-lib reads its localized messages from lib.json next to the bundle.
for (const t of tasks) {
  const libJson = join(root, 'node_modules', 'azure-pipelines-task-lib', 'lib.json');
  const dist = join(root, 'tasks', t, 'dist');
  mkdirSync(dist, { recursive: true });
  if (existsSync(libJson)) copyFileSync(libJson, join(dist, 'lib.json'));
}
console.log(`bundled ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}: ${tasks.join(', ')}${existsSync(join(root, 'cli', 'index.ts')) ? ', cli' : ''}`);
