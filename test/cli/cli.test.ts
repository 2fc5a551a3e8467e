import { strict as assert } from 'node:assert';
import { cpSync, existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess, RunResult } from '../../tasks/core/exec';
import { repoRoot, helm4 } from '../support/tools';
import { tempDir } from '../support/tmp';
import { ensureBundled } from '../support/bundle';

const cli = join(repoRoot, 'dist', 'cli.js');

function bedrock(args: string[], cwd = repoRoot): Promise<RunResult> {
  return runProcess(process.execPath, [cli, ...args], { cwd, env: { PATH: process.env.PATH } });
}

/** The example HLD without its chart-repository component (that needs the demo's server). */
function exampleHld(): string {
  const dir = tempDir('bg-cli-');
  cpSync(join(repoRoot, 'examples', 'hld'), join(dir, 'hld'), { recursive: true });
  cpSync(join(repoRoot, 'examples', 'charts'), join(dir, 'charts'), { recursive: true });
  const file = join(dir, 'hld', 'component.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/  # A chart from a chart repository[\s\S]*?version: 0\.1\.0\n/, ''));
  return join(dir, 'hld');
}

describe('bedrock-gitops CLI', () => {
  before(async function () {
    this.timeout(60000);
    await ensureBundled();
  });

  it('lists its commands with --help', async () => {
    const result = await bedrock(['--help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /install[\s\S]*generate[\s\S]*set/);
  });

  for (const command of ['install', 'generate', 'set', 'trace', 'history', 'rollback']) {
    it(`${command} --help shows its usage`, async () => {
      const result = await bedrock([command, '--help']);
      assert.equal(result.code, 0);
      assert.match(result.stdout, new RegExp(`^Usage: bedrock-gitops ${command}`));
    });
  }

  it('generate layers the positional environments into one set', async () => {
    const hld = exampleHld();
    const result = await bedrock(['generate', 'prod', '--hld', hld, '--helm', helm4]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /generated\/prod: 5 files/);
    assert.match(readFileSync(join(hld, 'generated', 'prod', 'frontend.yaml'), 'utf8'), /replicas: 3/);
  });

  it('generate --environments renders several sets in one run', async () => {
    const hld = exampleHld();
    const result = await bedrock(['generate', '--environments', 'staging,prod', '--hld', hld, '--helm', helm4]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /generated\/staging: 4 files\n.*generated\/prod: 5 files/);
  });

  it('generate without environments renders common into --output', async () => {
    const hld = exampleHld();
    const output = tempDir('bg-out-');
    const result = await bedrock(['generate', '--hld', hld, '--output', output, '--helm', helm4]);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(existsSync(join(output, 'common', 'platform', 'monitoring.yaml')));
  });

  it('install runs without remote sources and reports what it fetched', async () => {
    const result = await bedrock(['install', '--hld', exampleHld(), '--helm', helm4]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /installed 5 components \(fetched: 0 git, 0 charts, 0 files\)/);
  });

  it('set writes a typed value and keeps the file\'s comments', async () => {
    const hld = exampleHld();
    const result = await bedrock(['set', '--hld', hld, '--environment', 'common', '--subcomponent', 'frontend', 'image.tag=1.29', 'replicaCount:=4']);
    assert.equal(result.code, 0, result.stderr);
    const text = readFileSync(join(hld, 'config', 'common.yaml'), 'utf8');
    assert.match(text, /# Adds metadata.namespace/);
    assert.match(text, /replicaCount: 4\n/);
    assert.match(text, /tag: "1.29"|tag: '1.29'/);
    const file = join(hld, 'config', 'common.yaml');
    assert.equal(result.stdout, `${file}: frontend: image.tag = "1.29" (was "1.27")\n${file}: frontend: replicaCount = 4 (was 1)\n`);
    assert.equal(`${result.stdout}${result.stderr}`.split('image.tag').length - 1, 1, 'each change is shown once');
  });

  it('set --file / -f sets every value of a YAML file, then the key=value arguments (fab set --file)', async () => {
    const hld = tempDir('bg-cli-');
    writeFileSync(join(hld, 'component.yaml'), 'name: x\n');
    // Fabrikate's testdata/set/inject.yaml shape: nested maps of single values.
    writeFileSync(join(hld, 'inject.yaml'), 'this:\n  is:\n    a:\n      nested: map\nhere: is another map\nreplicas: 3\ntag: 5640e21\n');
    const result = await bedrock(['set', '--hld', hld, '--environment', 'fromfile', '--subcomponent', 'myapp.mysubcomponent', '-f', join(hld, 'inject.yaml'), 'here=overridden']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(readFileSync(join(hld, 'config', 'fromfile.yaml'), 'utf8'), [
      'subcomponents:', '  myapp:', '    subcomponents:', '      mysubcomponent:', '        config:',
      '          this:', '            is:', '              a:', '                nested: map',
      '          here: is another map', '          replicas: 3', '          tag: "5640e21"', '',
    ].join('\n').replace('here: is another map', 'here: "overridden"'));
    const long = await bedrock(['set', '--hld', hld, '--environment', 'fromfile', '--file', 'missing.yaml'], hld);
    assert.equal(long.code, 1);
    assert.match(long.stderr, /missing\.yaml.*--file.*cannot read the values file: ENOENT/);
    writeFileSync(join(hld, 'list.yaml'), 'args: [a, b]\n');
    const list = await bedrock(['set', '--hld', hld, '--environment', 'fromfile', '-f', 'list.yaml'], hld);
    assert.equal(list.code, 1);
    assert.match(list.stderr, /args is a list/);
  });

  it('fails with exit code 1 and one line naming the file', async () => {
    const hld = tempDir('bg-cli-');
    mkdirSync(join(hld, 'config'));
    writeFileSync(join(hld, 'component.yaml'), 'name: x\nsubcomponents:\n  - name: web\n    type: helm\n    path: ./nowhere\n');
    const result = await bedrock(['generate', '--hld', hld, '--helm', helm4]);
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim().split('\n').length, 1);
    assert.match(result.stderr, /^error: component\.yaml.*subcomponents\[0\]\.path: component "web": no helm chart/);
  });

  it('fails with exit code 2 for an unknown option', async () => {
    const result = await bedrock(['generate', '--frobnicate']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^error: .*frobnicate.*\(see bedrock-gitops generate --help\)\n$/);
  });

  it('fails with exit code 2 for an unknown command', async () => {
    const result = await bedrock(['publish-everything']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown command "publish-everything"/);
  });
});
