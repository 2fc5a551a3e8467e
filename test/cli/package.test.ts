import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runProcess, type RunResult } from '../../tasks/core/exec';
import { ensureBundled } from '../support/bundle';
import { tempDir } from '../support/tmp';
import { helm4, repoRoot } from '../support/tools';

const packageJson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { name: string; version: string; private?: boolean; dependencies?: object };

/** A folder holding only symlinks to `programs`, to be a whole PATH. */
async function pathWith(programs: Record<string, string>): Promise<string> {
  const bin = join(tempDir('bg-pack-path-'), 'bin');
  mkdirSync(bin);
  for (const [name, target] of Object.entries(programs)) symlinkSync(target, join(bin, name));
  return bin;
}

async function which(program: string): Promise<string> {
  const found = await runProcess('sh', ['-c', `command -v ${program}`]);
  assert.equal(found.code, 0, `${program} is needed`);
  return found.stdout.trim();
}

/** A one-chart, one-static-file HLD: a small `generate` that needs helm. */
function smallHld(): string {
  const hld = join(tempDir('bg-pack-hld-'), 'hld');
  const files: Record<string, string> = {
    'component.yaml': 'name: small\nsubcomponents:\n  - name: web\n    type: helm\n    method: local\n    path: ./chart\n  - name: extra\n    type: static\n    method: local\n    path: ./static\n',
    'chart/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
    'chart/values.yaml': 'greeting: hello\n',
    'chart/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  greeting: {{ .Values.greeting }}\n',
    'static/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: small\n',
    'config/prod.yaml': 'subcomponents:\n  web:\n    config:\n      greeting: from-prod\n',
  };
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(hld, file)), { recursive: true });
    writeFileSync(join(hld, file), text);
  }
  return hld;
}

describe('the bedrock-gitops npm package (npm pack, installed into an empty prefix)', function () {
  this.timeout(180_000);
  let tarball: string;
  let files: string[];
  let prefix: string;
  let cli: string;
  let basePath: string;

  const run = (args: string[], PATH = basePath, cwd = prefix): Promise<RunResult> =>
    runProcess(cli, args, { cwd, env: { PATH, HOME: prefix } });

  before(async () => {
    await ensureBundled();
    const out = tempDir('bg-pack-');
    // --ignore-scripts: the bundle is fresh (ensureBundled); `prepare` would rebuild it in place.
    const packed = await runProcess('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', out], { cwd: repoRoot });
    assert.equal(packed.code, 0, packed.stderr);
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    tarball = join(out, info.filename);
    files = info.files.map((f) => f.path).sort();
    prefix = tempDir('bg-prefix-');
    // No registry needed: the package has no dependencies; --omit=dev as a user installs it.
    const installed = await runProcess('npm', ['install', '--offline', '--omit=dev', '--no-audit', '--no-fund', '--no-save', tarball], {
      cwd: prefix, env: { PATH: process.env.PATH, HOME: prefix, npm_config_cache: join(prefix, '.npm') },
    });
    assert.equal(installed.code, 0, installed.stderr);
    cli = join(prefix, 'node_modules', '.bin', 'bedrock-gitops');
    // node (the bin's interpreter) and git; helm is added per test.
    basePath = await pathWith({ node: process.execPath, git: await which('git'), sh: await which('sh') });
  });

  it('is publishable: named, with the extension\'s version and no runtime dependencies', () => {
    assert.equal(packageJson.name, 'bedrock-gitops');
    assert.notEqual(packageJson.private, true);
    assert.equal(packageJson.dependencies, undefined, 'the CLI bundle holds everything it runs');
    const extension = JSON.parse(readFileSync(join(repoRoot, 'vss-extension.json'), 'utf8')) as { version: string };
    assert.equal(packageJson.version, extension.version);
  });

  it('holds only what runs: the bin script and the bundled CLI (no sources, tests or task bundles)', () => {
    assert.deepEqual(files, ['LICENSE', 'README.md', 'bin/bedrock-gitops.js', 'dist/cli.js', 'package.json']);
  });

  it('installs nothing else into the prefix', () => {
    assert.deepEqual(readdirSync(join(prefix, 'node_modules')).filter((n) => !n.startsWith('.')), ['bedrock-gitops']);
  });

  it('--version prints the package version', async () => {
    const result = await run(['--version']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${packageJson.version}\n`);
  });

  it('--help lists the commands', async () => {
    const result = await run(['--help']);
    assert.equal(result.code, 0, result.stderr);
    for (const command of ['install', 'generate', 'set', 'publish', 'update-image-tag', 'promote']) assert.match(result.stdout, new RegExp(`\\n  ${command} `));
  });

  it('generate renders a small HLD with the helm on PATH', async () => {
    const hld = smallHld();
    const path = `${basePath}:${await pathWith({ helm: helm4 })}`;
    const result = await run(['generate', 'prod', '--hld', hld], path);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /generated\/prod: 3 files/);
    assert.match(readFileSync(join(hld, 'generated', 'prod', 'web.yaml'), 'utf8'), /greeting: from-prod/);
    assert.match(readFileSync(join(hld, 'generated', 'prod', 'extra.yaml'), 'utf8'), /kind: Namespace/);
  });

  it('generate --helm PATH uses that helm', async () => {
    const hld = smallHld();
    const result = await run(['generate', 'prod', '--hld', hld, '--helm', helm4]);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(existsSync(join(hld, 'generated', 'prod', 'web.yaml')));
  });

  it('without helm anywhere, says in one line how to give it', async () => {
    const result = await run(['generate', 'prod', '--hld', smallHld()]);
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /^error: .*helm was not found on PATH.*--helm\b.*--helm-version/);
    assert.doesNotMatch(result.stderr, /helmPath|helmVersion/);
  });

  it('names the CLI flag the user typed in errors, not the task input', async () => {
    const missing = join(prefix, 'no-such-hld');
    const result = await run(['update-image-tag', '--hld', missing, '--subcomponent', 'api', '--tag', '1']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--hld\b/);
    assert.doesNotMatch(result.stderr, /hldPath|hldRepositoryUrl/);
    const spaced = await run(['update-image-tag', '--hld-repo', 'https://dev.azure.com/o/p/_git/h ld', '--subcomponent', 'api', '--tag', '1']);
    assert.equal(spaced.code, 1);
    assert.match(spaced.stderr, /^error: --hld-repo: /);
    assert.doesNotMatch(spaced.stderr, /hldRepositoryUrl/);
  });
});
