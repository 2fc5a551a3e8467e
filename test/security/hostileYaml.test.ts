/**
 * Hostile YAML against the bundled tasks and the CLI, run the way the agent (or a shell) runs
 * them: alias bombs, alias cycles, invalid UTF-8 and deep nesting in every place
 * YAML is read (HLD component and config files, static manifests, the manifest repository read
 * for the diff, the verification repository of PromoteContainer, `set`). Each case must fail
 * quickly, within a small heap, naming the file, with nothing pushed.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { git } from '../support/gitServer';
import { buildOciLayout, seedImage } from '../support/ociImage';
import { startRegistry, type TestRegistry } from '../support/registry';
import { runTask, type TaskRun } from '../support/runTask';
import { tempDir } from '../support/tmp';
import { aliasBomb as aliasBombOf } from '../support/yamlFixtures';
import { helm4, repoRoot } from '../support/tools';
import { chartFiles } from '../tasks/generateManifests.fixture';
import { bundleOnce, createFileRepo, refsOf } from '../tasks/updateImageTagHelpers';

/** 9^8 (43 million) strings from 600 bytes. */
const aliasBomb = aliasBombOf(8);

const manifestBomb = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\n  namespace: web\ndata:\n  ${aliasBomb.replace(/\n/g, '\n  ')}\n`;
const manifestCycle = 'apiVersion: v1\nkind: ConfigMap\nmetadata: &m\n  name: loop\n  labels: *m\n';
const latin1 = Buffer.from('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf\xe9\n', 'latin1').toString('latin1');

const baseHld: Record<string, string> = {
  ...chartFiles,
  'component.yaml': 'name: demo\nsubcomponents:\n  - name: base\n    type: static\n    path: ./manifests\n  - name: web\n    type: helm\n    method: local\n    path: ./charts/web\n',
  'manifests/namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n',
  'config/common.yaml': 'subcomponents:\n  web:\n    namespace: web\n    injectNamespace: true\n',
  'config/prod.yaml': 'subcomponents:\n  web:\n    config:\n      replicas: 3\n',
};

/** Files written as latin1 bytes (invalid UTF-8) rather than UTF-8. */
const binary = Symbol('binary');
type Files = Record<string, string | { [binary]: string }>;

async function fileRepo(files: Files): Promise<{ url: string; bare: string }> {
  const plain: Record<string, string> = {};
  const raw: Record<string, string> = {};
  for (const [path, content] of Object.entries(files)) {
    if (typeof content === 'string') plain[path] = content;
    else raw[path] = content[binary];
  }
  const repo = await createFileRepo(plain);
  if (Object.keys(raw).length === 0) return repo;
  const work = tempDir('hostile-raw-');
  await git(['clone', '-q', repo.url, work]);
  for (const [path, content] of Object.entries(raw)) {
    mkdirSync(dirname(join(work, path)), { recursive: true });
    writeFileSync(join(work, path), Buffer.from(content, 'latin1'));
  }
  await git(['add', '-A'], { cwd: work });
  await git(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'raw'], { cwd: work });
  await git(['push', '-q', 'origin', 'HEAD:main'], { cwd: work });
  return repo;
}

/** Every hostile run gets a 192 MB heap: an unbounded expansion dies instead of passing slowly. */
const smallHeap = { NODE_OPTIONS: '--max-old-space-size=192' };
const maxSeconds = 60;

interface Case {
  what: string;
  /** HLD files to add or replace. */
  hld?: Files;
  /** Files already in the manifest repository. */
  manifests?: Files;
  dryRun?: boolean;
  /** The message must name this file. */
  file: RegExp;
  /** And say this. */
  says: RegExp;
}

const cases: Case[] = [
  { what: 'an alias bomb in a static manifest', hld: { 'manifests/bomb.yaml': manifestBomb }, file: /manifests\/bomb\.yaml/, says: /alias bomb/ },
  { what: 'an alias bomb in config/prod.yaml', hld: { 'config/prod.yaml': `subcomponents:\n  web:\n    config:\n      ${aliasBomb.replace(/\n/g, '\n      ')}\n` }, file: /config\/prod\.yaml/, says: /alias bomb/ },
  { what: 'an alias bomb in component.yaml', hld: { 'component.yaml': `${baseHld['component.yaml']}x-lol:\n  ${aliasBomb.replace(/\n/g, '\n  ')}\n` }, file: /component\.yaml/, says: /alias bomb/ },
  { what: 'an alias cycle in config/common.yaml', hld: { 'config/common.yaml': 'subcomponents:\n  web:\n    namespace: web\n    config: &c\n      self: *c\n' }, file: /config\/common\.yaml/, says: /cycle/ },
  { what: 'an alias cycle in a static manifest', hld: { 'manifests/cycle.yaml': manifestCycle }, file: /manifests\/cycle\.yaml/, says: /cycle/ },
  { what: 'invalid UTF-8 in config/prod.yaml', hld: { 'config/prod.yaml': { [binary]: 'subcomponents:\n  web:\n    config:\n      name: caf\xe9\n' } }, file: /config\/prod\.yaml/, says: /UTF-8/ },
  { what: 'invalid UTF-8 in a static manifest', hld: { 'manifests/latin1.yaml': { [binary]: latin1 } }, file: /manifests\/latin1\.yaml/, says: /UTF-8/ },
  { what: 'invalid UTF-8 in config/prod.json', hld: { 'config/prod.yaml': null as unknown as string, 'config/prod.json': { [binary]: '{"subcomponents": {"web": {"config": {"name": "caf\xe9"}}}}' } }, file: /config\/prod\.json/, says: /UTF-8/ },
  { what: 'nesting 5000 levels deep in config/prod.yaml', hld: { 'config/prod.yaml': `subcomponents:\n  web:\n    config:\n      deep: ${'['.repeat(5000)}${']'.repeat(5000)}\n` }, file: /config\/prod\.yaml/, says: /nest/ },
  { what: 'a 33 MB static manifest', hld: { 'manifests/huge.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: huge\ndata:\n  blob: ${'a'.repeat(33 * 1024 * 1024)}\n` }, file: /manifests\/huge\.yaml/, says: /over the 32\.0 MB limit/ },
  { what: 'an alias bomb already in the manifest repository', manifests: { 'prod/bomb.yaml': manifestBomb }, file: /prod\/bomb\.yaml \(in the manifest repository\)/, says: /alias bomb/ },
  { what: 'an alias cycle already in the manifest repository', manifests: { 'prod/cycle.yaml': manifestCycle }, file: /prod\/cycle\.yaml \(in the manifest repository\)/, says: /cycle/ },
  { what: 'an alias bomb in the manifest repository during a dry run', manifests: { 'prod/bomb.yaml': manifestBomb }, dryRun: true, file: /prod\/bomb\.yaml/, says: /alias bomb/ },
  { what: 'invalid UTF-8 in a manifest repository YAML file', manifests: { 'prod/latin1.yaml': { [binary]: latin1 } }, file: /prod\/latin1\.yaml/, says: /UTF-8/ },
];

function failedNaming(run: TaskRun, file: RegExp, says: RegExp): void {
  assert.equal(run.result, 'Failed', `${run.message}\n${run.stdout.slice(-2000)}\n${run.stderr.slice(-2000)}`);
  assert.notEqual(run.code, 0);
  assert.match(run.message ?? '', file);
  assert.match(run.message ?? '', says);
  assert.doesNotMatch(run.message ?? '', /internal error|Maximum call stack|heap/i);
}

describe('hostile YAML: bounded, refused, named (bundled tasks and CLI)', function () {
  this.timeout(600_000);

  before(async function () {
    this.timeout(300_000);
    await bundleOnce();
  });

  for (const hostile of cases) {
    it(`GenerateManifests refuses ${hostile.what}: Failed, names the file, nothing pushed, < ${maxSeconds} s in a 192 MB heap`, async () => {
      const hldFiles: Files = { ...baseHld };
      for (const [path, content] of Object.entries(hostile.hld ?? {})) {
        if (content === null) delete hldFiles[path];
        else hldFiles[path] = content;
      }
      const hld = await fileRepo(hldFiles);
      const manifests = await fileRepo({ 'README.md': 'manifests\n', ...hostile.manifests });
      const before = await refsOf(manifests.bare);
      const started = Date.now();
      const run = await runTask('GenerateManifests', {
        timeoutMs: 120_000,
        env: smallHeap,
        inputs: { helmPath: helm4, environments: 'prod', hldRepositoryUrl: hld.url, manifestRepositoryUrl: manifests.url, dryRun: hostile.dryRun ? 'true' : undefined },
      });
      const seconds = (Date.now() - started) / 1000;
      failedNaming(run, hostile.file, hostile.says);
      assert.ok(seconds < maxSeconds, `took ${seconds} s`);
      assert.equal(await refsOf(manifests.bare), before);
    });
  }

  it('UpdateImageTag refuses an alias bomb in the config it edits, naming it, nothing pushed', async () => {
    const hld = await fileRepo({ 'component.yaml': 'name: hld\nsubcomponents:\n  - name: api\n    type: static\n    path: ./m\n', 'm/a.yaml': 'kind: ConfigMap\n',
      'config/prod.yaml': `subcomponents:\n  api:\n    config:\n      image:\n        tag: v1\n      ${aliasBomb.replace(/\n/g, '\n      ')}\n` });
    const before = await refsOf(hld.bare);
    const started = Date.now();
    const run = await runTask('UpdateImageTag', { env: smallHeap, inputs: { hldRepositoryUrl: hld.url, environment: 'prod', subcomponent: 'api', imageTag: 'v2' } });
    failedNaming(run, /config\/prod\.yaml/, /alias bomb/);
    assert.ok(Date.now() - started < maxSeconds * 1000);
    assert.equal(await refsOf(hld.bare), before);
  });

  describe('CLI', () => {
    function bedrock(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string; seconds: number }> {
      const started = Date.now();
      return new Promise((resolve) => {
        const child = spawn(process.execPath, [join(repoRoot, 'bin', 'bedrock-gitops.js'), ...args], {
          cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...smallHeap }, stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr, seconds: (Date.now() - started) / 1000 }));
      });
    }

    function writeTree(files: Record<string, string>): string {
      const dir = tempDir('hostile-cli-');
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), content);
      }
      return dir;
    }

    it('`set` refuses a config holding an alias bomb, naming it, and leaves the file as it was', async () => {
      const bomb = `subcomponents:\n  web:\n    config:\n      ${aliasBomb.replace(/\n/g, '\n      ')}\n`;
      const dir = writeTree({ ...baseHld, 'config/prod.yaml': bomb });
      const result = await bedrock(['set', '--environment', 'prod', '--subcomponent', 'web', 'image.tag=2'], dir);
      assert.equal(result.code, 1, result.stdout + result.stderr);
      assert.match(result.stderr, /config\/prod\.yaml.*alias bomb/);
      assert.ok(result.seconds < maxSeconds);
      assert.equal(readFileSync(join(dir, 'config', 'prod.yaml'), 'utf8'), bomb);
    });

    it('`set` refuses an alias cycle in the config, naming it', async () => {
      const dir = writeTree({ ...baseHld, 'config/prod.yaml': 'subcomponents:\n  web:\n    config: &c\n      again: *c\n' });
      const result = await bedrock(['set', '--environment', 'prod', '--subcomponent', 'web', 'image.tag=2'], dir);
      assert.equal(result.code, 1, result.stdout + result.stderr);
      assert.match(result.stderr, /config\/prod\.yaml.*cycle/);
    });

    it('`generate` refuses an alias bomb in a static manifest, naming it, writing no output', async () => {
      const dir = writeTree({ ...baseHld, 'manifests/bomb.yaml': manifestBomb });
      const result = await bedrock(['generate', 'prod', '--helm', helm4], dir);
      assert.equal(result.code, 1, result.stdout + result.stderr);
      assert.match(result.stderr, /manifests\/bomb\.yaml.*alias bomb/);
      assert.ok(result.seconds < maxSeconds);
    });
  });

  describe('PromoteContainer verification repository', () => {
    let registry: TestRegistry;
    before(async function () {
      this.timeout(300_000);
      registry = await startRegistry();
      const layout = await buildOciLayout(tempDir('hostile-layout-'), { layersPerPlatform: 1, layerBytes: 1024, seed: 'hostile-yaml', tag: 'v1' });
      await seedImage(layout.dir, `${registry.host}/team/app:1.0.0`);
    });
    after(async () => registry?.stop());

    for (const [what, content, says] of [['an alias bomb', manifestBomb, /alias bomb/], ['an alias cycle', manifestCycle, /cycle/]] as const) {
      it(`refuses ${what} in the pre-production manifests, naming the file; nothing copied`, async () => {
        const verify = await fileRepo({ 'staging/app.yaml': `apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers: [{name: app, image: ${registry.host}/team/app:1.0.0}]\n`, 'staging/zz.yaml': content });
        const started = Date.now();
        const run = await runTask('PromoteContainer', {
          env: smallHeap,
          timeoutMs: 120_000,
          inputs: {
            sourceImage: `${registry.host}/team/app:1.0.0`, targetRegistry: registry.host, targetRepository: 'prod/app',
            verification: 'manifestRepo', verifyManifestRepositoryUrl: verify.url, verifyManifestBranch: 'main', verifyEnvironmentPath: 'staging',
          },
        });
        failedNaming(run, /verification repository: staging\/zz\.yaml/, says);
        assert.ok(Date.now() - started < maxSeconds * 1000);
        const tags = await fetch(`http://${registry.host}/v2/prod/app/tags/list`);
        assert.equal(tags.status, 404, 'nothing may be copied to the target repository');
      });
    }
  });
});
