// Packages the extension (.vsix) from a clean staging folder holding only what ships:
// vss-extension.json, overview.md, the images it uses, and per task task.json, icon.png and dist/.
// tfx has no ignore file, and it only *warns* about a bad task.json (exit code 0), so any
// `warning:` line is a failure here.
//
//   node scripts/package.mjs [--dev] [--out <dir>] [--project <dir>]
//
// --dev applies vss-extension.dev.json (own extension id) and gives every task its own GUID
// (UUID v5 of the production id), so a dev build installs beside the released one.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Fixed namespace for dev task ids: the same prod id always maps to the same dev id. */
const DEV_TASK_NAMESPACE = '4c0f6f0e-2f57-4d0b-9a53-6a1f3f0d2b7e';

export function uuidV5(name, namespace) {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(Buffer.from(name, 'utf8')).digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function devTaskId(prodId) {
  return uuidV5(prodId.toLowerCase(), DEV_TASK_NAMESPACE);
}

function parseArgs(argv) {
  const args = { dev: false, out: undefined, project: repoRoot };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--dev') args.dev = true;
    else if (argv[i] === '--out') args.out = resolve(argv[++i]);
    else if (argv[i] === '--project') args.project = resolve(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]} (usage: node scripts/package.mjs [--dev] [--out <dir>] [--project <dir>])`);
  }
  args.out ??= join(args.project, 'out');
  return args;
}

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;

function folderSize(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? folderSize(path) : statSync(path).size;
  }
  return total;
}

/** Images the Marketplace page shows: the icon plus every `images/...` link in overview.md. */
function imagesUsed(root, manifest) {
  const overview = readFileSync(join(root, manifest.content.details.path), 'utf8');
  const linked = [...overview.matchAll(/\]\((images\/[^)\s]+)\)/g)].map((m) => m[1]);
  return [...new Set([manifest.icons.default, ...linked])];
}

function stage(root, manifest, staging, dev) {
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  cpSync(join(root, 'vss-extension.json'), join(staging, 'vss-extension.json'));
  cpSync(join(root, manifest.content.details.path), join(staging, manifest.content.details.path));
  for (const image of imagesUsed(root, manifest)) {
    if (!existsSync(join(root, image))) throw new Error(`${image} is referenced by the manifest or overview.md but does not exist`);
    cpSync(join(root, image), join(staging, image));
  }
  const bundles = [];
  for (const contribution of manifest.contributions.filter((c) => c.type === 'ms.vss-distributed-task.task')) {
    const taskDir = contribution.properties.name;
    const source = join(root, taskDir);
    const bundle = join(source, 'dist', 'index.js');
    if (!existsSync(bundle)) throw new Error(`${taskDir}/dist/index.js is missing: run \`npm run bundle\` first`);
    const target = join(staging, taskDir);
    mkdirSync(target, { recursive: true });
    const task = readJson(join(source, 'task.json'));
    if (dev) {
      task.id = devTaskId(task.id);
      task.friendlyName = `${task.friendlyName} (dev)`;
    }
    writeFileSync(join(target, 'task.json'), JSON.stringify(task, null, 2) + '\n');
    cpSync(join(source, 'icon.png'), join(target, 'icon.png'));
    cpSync(join(source, 'dist'), join(target, 'dist'), { recursive: true });
    bundles.push({ task: taskDir, bytes: statSync(bundle).size, folderBytes: folderSize(join(target, 'dist')) });
  }
  return bundles;
}

function runTfx(args) {
  const tfx = join(repoRoot, 'node_modules', 'tfx-cli', '_build', 'tfx-cli.js');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [tfx, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, output }));
  });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  // The project being packaged: the repository, or (tests) a modified copy of it.
  const root = args.project;
  const manifest = readJson(join(root, 'vss-extension.json'));
  const overridesFile = join(root, 'vss-extension.dev.json');
  const extensionId = args.dev ? readJson(overridesFile).id : manifest.id;
  const staging = join(args.out, args.dev ? 'staging-dev' : 'staging');
  const bundles = stage(root, manifest, staging, args.dev);

  const vsix = join(args.out, `${manifest.publisher}.${extensionId}-${manifest.version}.vsix`);
  rmSync(vsix, { force: true });
  const tfxArgs = ['extension', 'create', '--root', staging, '--manifest-globs', 'vss-extension.json',
    '--output-path', vsix, '--no-prompt', '--no-color'];
  if (args.dev) tfxArgs.push('--overrides-file', overridesFile);
  const { code, output } = await runTfx(tfxArgs);
  const warnings = output.split(/\r?\n/).filter((line) => /warning:/i.test(line));
  if (code !== 0 || warnings.length > 0 || !existsSync(vsix)) {
    process.stderr.write(output);
    throw new Error(code !== 0 ? `tfx exited with code ${code}` : warnings.length ? `tfx reported ${warnings.length} warning(s): treated as errors` : `tfx did not write ${vsix}`);
  }

  for (const b of bundles) console.log(`bundle ${b.task}/dist/index.js: ${kib(b.bytes)} (dist/ ${kib(b.folderBytes)})`);
  console.log(`vsix ${vsix}: ${kib(statSync(vsix).size)}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(`package failed: ${error.message}`);
    process.exitCode = 1;
  });
}
