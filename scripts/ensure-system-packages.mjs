// The tests and the demo use real Debian programs: docker-registry (an OCI registry), skopeo (an
// independent judge of copied images), htpasswd (registry users). Installs them when running as
// root on Debian/Ubuntu; otherwise stops at once with one line naming what to install.
//   node scripts/ensure-system-packages.mjs [who]     (who: "the tests" by default, or "the demo")
import { execFileSync, spawnSync } from 'node:child_process';

const needed = [
  { command: 'docker-registry', pkg: 'docker-registry' },
  { command: 'skopeo', pkg: 'skopeo' },
  { command: 'htpasswd', pkg: 'apache2-utils' },
  { command: 'git', pkg: 'git' },
  // Only the tests: a real forward proxy with basic auth, and a private CA made in the test.
  { command: 'tinyproxy', pkg: 'tinyproxy', testsOnly: true },
  { command: 'openssl', pkg: 'openssl', testsOnly: true },
  // The trace page and the report pictures are checked in a real headless browser.
  { command: 'chromium', pkg: 'chromium', testsOnly: true },
];
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const who = process.argv[2] ?? 'the tests';
const wanted = needed.filter((n) => !n.testsOnly || who === 'the tests');
let missing = wanted.filter((n) => !has(n.command));
if (missing.length === 0) process.exit(0);

const pkgs = [...new Set(missing.map((m) => m.pkg))];
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (isRoot && has('apt-get')) {
  console.log(`installing Debian packages ${who} need: ${pkgs.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env });
  } catch {
    // apt-get printed why; the line below says what is still missing.
  }
  missing = wanted.filter((n) => !has(n.command));
}
if (missing.length > 0) {
  const still = [...new Set(missing.map((m) => m.pkg))];
  console.error(`Missing programs for ${who}: ${missing.map((m) => m.command).join(', ')}; install them first with \`sudo apt-get install -y --no-install-recommends ${still.join(' ')}\``);
  process.exit(1);
}
