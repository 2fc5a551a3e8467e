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
  // Smaller files parse faster at every task start and make a smaller .vsix.
  minify: true,
};

// azure-devops-node-api is 2.5 MB of the 3.7 MB task bundles but only needed to make pull requests, so
// task bundles get it as a separate file next to index.js, required on first use: every run that
// makes no pull request starts without parsing it.
const LAZY_PACKAGE = 'azure-devops-node-api';
const LAZY_FILE = `${LAZY_PACKAGE}.js`;
const lazySpecifiers = new Set();

/** Resolves the package (and its subpaths) to stubs that require LAZY_FILE only when first used. */
const lazyPackagePlugin = {
  name: 'lazy-package',
  setup(pluginBuild) {
    const filter = new RegExp(`^${LAZY_PACKAGE}(/.*)?$`);
    pluginBuild.onResolve({ filter }, (args) => (args.namespace === 'lazy-package' ? undefined : { path: args.path, namespace: 'lazy-package' }));
    pluginBuild.onLoad({ filter: /.*/, namespace: 'lazy-package' }, (args) => {
      lazySpecifiers.add(args.path);
      return { contents: `module.exports = require('./${LAZY_FILE}')[${JSON.stringify(args.path)}];`, loader: 'js' };
    });
    pluginBuild.onResolve({ filter: new RegExp(`^\\./${LAZY_FILE.replace(/[.-]/g, '\\$&')}$`) }, (args) => ({ path: args.path, external: true }));
  },
};

const entries = tasks.map((t) => ({ in: join(root, 'tasks', t, 'index.ts'), out: join(root, 'tasks', t, 'dist', 'index.js'), plugins: [lazyPackagePlugin] }));
if (existsSync(join(root, 'cli', 'index.ts'))) entries.push({ in: join(root, 'cli', 'index.ts'), out: join(root, 'dist', 'cli.js'), plugins: [] });

await Promise.all(entries.map((e) => build({ ...common, entryPoints: [e.in], outfile: e.out, plugins: e.plugins })));

// The lazy file maps each specifier the task bundles import to that module's exports.
if (lazySpecifiers.size > 0) {
  const contents = `module.exports = {\n${[...lazySpecifiers].sort().map((s) => `  ${JSON.stringify(s)}: require(${JSON.stringify(s)}),`).join('\n')}\n};\n`;
  const lazyOut = join(root, 'tasks', tasks[0], 'dist', LAZY_FILE);
  await build({ ...common, stdin: { contents, resolveDir: root, loader: 'js' }, outfile: lazyOut });
  for (const t of tasks.slice(1)) copyFileSync(lazyOut, join(root, 'tasks', t, 'dist', LAZY_FILE));
}

// task-lib reads its localized messages from lib.json next to the bundle.
for (const t of tasks) {
  const libJson = join(root, 'node_modules', 'azure-pipelines-task-lib', 'lib.json');
  const dist = join(root, 'tasks', t, 'dist');
  mkdirSync(dist, { recursive: true });
  if (existsSync(libJson)) copyFileSync(libJson, join(dist, 'lib.json'));
}
console.log(`bundled ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}: ${tasks.join(', ')}${existsSync(join(root, 'cli', 'index.ts')) ? ', cli' : ''}`);
