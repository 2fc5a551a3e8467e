// Tags a release: the exact version tag v<version> (e.g. v1.1.0) and the moving major tag v<major>
// (e.g. v1), both on HEAD. Pipelines pin the templates with `ref: refs/tags/v1` (or an exact
// version), and GitHub Actions workflows use `bedrock-gitops/bedrock-gitops-azure-pipelines@v1`.
//   node scripts/release.mjs [--push [--remote origin]] [--project <dir>]
// Run it after `node scripts/bump-version.mjs ...` is committed. The version comes from
// vss-extension.json; package.json must carry the same one. Without --push it prints the push
// commands.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function git(cwd, args) {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function tagCommit(cwd, tag) {
  try {
    return git(cwd, ['rev-parse', '--verify', '--quiet', `refs/tags/${tag}^{commit}`]);
  } catch {
    return undefined;
  }
}

export function release(root, { push = false, remote = 'origin', log = console.log } = {}) {
  const version = JSON.parse(readFileSync(join(root, 'vss-extension.json'), 'utf8')).version;
  const packageVersion = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`vss-extension.json version ${JSON.stringify(version)} is not MAJOR.MINOR.PATCH`);
  if (packageVersion !== version) throw new Error(`package.json has version ${packageVersion}, vss-extension.json ${version}: run scripts/bump-version.mjs`);
  if (git(root, ['status', '--porcelain', '--untracked-files=no']) !== '') throw new Error('the working tree has uncommitted changes: commit the release first');
  const head = git(root, ['rev-parse', 'HEAD']);
  const exact = `v${version}`;
  const major = `v${version.split('.')[0]}`;
  const existing = tagCommit(root, exact);
  if (existing && existing !== head) throw new Error(`${exact} already tags ${existing.slice(0, 12)}, not HEAD: bump the version first`);
  if (!existing) git(root, ['tag', '--annotate', exact, '--message', `Release ${version}`, head]);
  git(root, ['tag', '--force', '--annotate', major, '--message', `Latest ${major}.x release: ${version}`, head]);
  log(`tagged ${head.slice(0, 12)}: ${exact} and ${major}`);
  const commands = [['push', remote, `refs/tags/${exact}`], ['push', '--force', remote, `refs/tags/${major}`]];
  for (const args of commands) {
    if (push) git(root, args);
    else log(`to publish: git ${args.join(' ')}`);
  }
  return { exact, major, commit: head };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const option = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  try {
    release(resolve(option('--project') ?? join(dirname(fileURLToPath(import.meta.url)), '..')), {
      push: argv.includes('--push'),
      remote: option('--remote') ?? 'origin',
    });
  } catch (error) {
    console.error(`release failed: ${error.message}`);
    process.exitCode = 1;
  }
}
