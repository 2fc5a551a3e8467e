// Bumps the extension version, every task's version and the CLI package's (package.json and
// package-lock.json) together, so they never drift:
//   node scripts/bump-version.mjs patch|minor|major [--project <dir>]
// Agents cache tasks by id + version, so a task whose code changed must get a new version.
import { readFileSync, readdirSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function bump(version, part) {
  const [major, minor, patch] = version.split('.').map(Number);
  if ([major, minor, patch].some((n) => !Number.isInteger(n) || n < 0)) throw new Error(`version ${JSON.stringify(version)} is not MAJOR.MINOR.PATCH`);
  if (part === 'major') return `${major + 1}.0.0`;
  if (part === 'minor') return `${major}.${minor + 1}.0`;
  if (part === 'patch') return `${major}.${minor}.${patch + 1}`;
  throw new Error(`unknown part ${JSON.stringify(part)}: use patch, minor or major`);
}

function main() {
  const argv = process.argv.slice(2);
  const part = argv[0];
  const projectIndex = argv.indexOf('--project');
  const root = projectIndex >= 0 ? resolve(argv[projectIndex + 1]) : join(dirname(fileURLToPath(import.meta.url)), '..');

  const manifestFile = join(root, 'vss-extension.json');
  const manifestText = readFileSync(manifestFile, 'utf8');
  const manifest = JSON.parse(manifestText);
  const next = bump(manifest.version, part);
  // Edit the version string in place so the rest of the file keeps its layout.
  writeFileSync(manifestFile, manifestText.replace(/("version"\s*:\s*")[^"]*(")/, `$1${next}$2`));

  const [Major, Minor, Patch] = next.split('.').map(Number);
  const tasksDir = join(root, 'tasks');
  for (const name of readdirSync(tasksDir)) {
    const taskFile = join(tasksDir, name, 'task.json');
    if (!existsSync(taskFile)) continue;
    const task = JSON.parse(readFileSync(taskFile, 'utf8'));
    task.version = { Major, Minor, Patch };
    writeFileSync(taskFile, JSON.stringify(task, null, 2) + '\n');
    console.log(`tasks/${name}: ${next}`);
  }
  // The bedrock-gitops CLI package carries the same version (`bedrock-gitops --version`).
  for (const file of ['package.json', 'package-lock.json']) {
    const path = join(root, file);
    if (!existsSync(path)) continue;
    const json = JSON.parse(readFileSync(path, 'utf8'));
    json.version = next;
    if (json.packages?.['']) json.packages[''].version = next;
    writeFileSync(path, JSON.stringify(json, null, 2) + '\n');
    console.log(`${file}: ${next}`);
  }
  // The GitHub Action runs the CLI release of its own version by default.
  const actionFile = join(root, 'action.yml');
  if (existsSync(actionFile)) {
    writeFileSync(actionFile, readFileSync(actionFile, 'utf8').replace(/(\n  cli-version:\n(?:    .*\n)*?    default: ')[^']*(')/, `$1${next}$2`));
    console.log(`action.yml: cli-version ${next}`);
  }
  console.log(`extension ${manifest.id}: ${manifest.version} -> ${next}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (error) {
    console.error(`bump-version failed: ${error.message}`);
    process.exitCode = 1;
  }
}
