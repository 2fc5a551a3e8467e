// The tests use real Debian programs: docker-registry (an OCI registry), skopeo (an independent
// judge of copied images), htpasswd (registry users). Installs them when running as root on
// Debian/Ubuntu; otherwise stops at once naming what is missing.
import { execFileSync, spawnSync } from 'node:child_process';

const needed = [
  { command: 'docker-registry', pkg: 'docker-registry' },
  { command: 'skopeo', pkg: 'skopeo' },
  { command: 'htpasswd', pkg: 'apache2-utils' },
  { command: 'git', pkg: 'git' },
];
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
let missing = needed.filter((n) => !has(n.command));
if (missing.length === 0) process.exit(0);

const pkgs = [...new Set(missing.map((m) => m.pkg))];
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (isRoot && has('apt-get')) {
  console.log(`installing Debian packages the tests need: ${pkgs.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env });
  missing = needed.filter((n) => !has(n.command));
}
if (missing.length > 0) {
  console.error(`The tests need these programs: ${missing.map((m) => m.command).join(', ')}.`);
  console.error(`Install them first: sudo apt-get install -y --no-install-recommends ${pkgs.join(' ')}`);
  process.exit(1);
}
