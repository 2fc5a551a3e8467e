import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { GitopsError } from '../../../tasks/core/errors';
import { runProcess } from '../../../tasks/core/exec';
import { installHelm } from '../../../tasks/core/tools/helm';
import { silentLogger } from '../../../tasks/core/logger';
import { LocalHttpDouble } from '../../support/localHttpDouble';
import { runTask } from '../../support/runTask';
import { tempDir } from '../../support/tmp';
import { helm3, repoRoot } from '../../support/tools';
import { bundleOnce } from '../../tasks/updateImageTagHelpers';
import { baseHld } from '../../tasks/generateManifests.fixture';

const version = '3.18.0';
const platformFolder = `${platform()}-${arch() === 'arm64' ? 'arm64' : 'amd64'}`;
const archiveName = `helm-v${version}-${platformFolder}.tar.gz`;

/**
 * A get.helm.sh mirror on 127.0.0.1 serving one real helm archive under several prefixes:
 * /good (archive + checksum), /badsum (wrong checksum), /nosum (no checksum),
 * /stall (headers, then silence), /pair (answers only once two archive requests wait).
 */
class HelmMirror extends LocalHttpDouble {
  readonly requests: string[] = [];
  private waitingPair: (() => void)[] = [];
  private stalled: ServerResponse[] = [];

  constructor(private readonly archive: string, private readonly sha256: string) {
    super();
  }

  url(prefix: string): string {
    return `${this.origin}/${prefix}`;
  }

  override async stop(): Promise<void> {
    for (const res of this.stalled.splice(0)) res.destroy();
    await super.stop();
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? '';
    this.requests.push(path);
    const [, prefix, name] = /^\/([a-z]+)\/(.+)$/.exec(path) ?? [];
    if (name === archiveName) {
      if (prefix === 'stall') {
        res.writeHead(200, { 'Content-Type': 'application/gzip' });
        res.flushHeaders();
        this.stalled.push(res);
        return;
      }
      if (prefix === 'pair') await this.bothArrived();
      res.writeHead(200, { 'Content-Type': 'application/gzip' });
      createReadStream(this.archive).pipe(res);
      return;
    }
    if (name === `${archiveName}.sha256sum` && prefix !== 'nosum') {
      const sum = prefix === 'badsum' ? 'f'.repeat(64) : this.sha256;
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(`${sum}  ${archiveName}\n`);
      return;
    }
    res.writeHead(404);
    res.end('not found');
  }

  private bothArrived(): Promise<void> {
    return new Promise((resolve) => {
      this.waitingPair.push(resolve);
      if (this.waitingPair.length === 2) for (const release of this.waitingPair.splice(0)) release();
    });
  }
}

/** Packs `.tools/helm3/helm` the way get.helm.sh does (`<os>-<arch>/helm` in a .tar.gz); a mirror serving it. */
async function packHelmArchive(): Promise<HelmMirror> {
  const packing = tempDir('helm-pack-');
  mkdirSync(join(packing, platformFolder));
  copyFileSync(helm3, join(packing, platformFolder, 'helm'));
  const archive = join(packing, archiveName);
  // gzip -1: the archive only has to be valid, and level 6 on 60 MB costs seconds of CPU.
  const tar = await runProcess('tar', ['-cf', archive, '--use-compress-program=gzip -1', '-C', packing, `${platformFolder}/helm`]);
  assert.equal(tar.code, 0, tar.stderr);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(archive)) hash.update(chunk as Buffer);
  return new HelmMirror(archive, hash.digest('hex'));
}

/** Every file (not folder) below `dir`, relative. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name).slice(dir.length + 1));
}

async function rejection(promise: Promise<unknown>): Promise<GitopsError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof GitopsError, `expected a GitopsError, got ${String(error)}`);
  return error;
}

async function versionOf(binary: string): Promise<string> {
  const run = await runProcess(binary, ['version', '--short']);
  assert.equal(run.code, 0, run.stderr);
  return run.stdout.trim();
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('installHelm (local get.helm.sh mirror, real helm archive)', function () {
  this.timeout(60_000);
  let mirror: HelmMirror;
  let packedVersion: string;

  before(async function () {
    this.timeout(120_000);
    packedVersion = await versionOf(helm3);
    mirror = await packHelmArchive();
    await mirror.start();
  });

  after(async () => {
    await mirror?.stop();
  });

  it('installs the archive of the mirror into the tool cache, and the binary runs as the packed version', async () => {
    const tools = tempDir('helm-tools-');
    const binary = await installHelm({ version, toolsDirectory: tools, downloadUrl: mirror.url('good'), logger: silentLogger });
    assert.equal(binary, join(tools, 'helm', version, arch(), 'helm'));
    assert.equal(await versionOf(binary), packedVersion);
    assert.ok(packedVersion.startsWith(`v${version}+`), packedVersion);
    assert.ok(existsSync(join(tools, 'helm', version, `${arch()}.complete`)));
  });

  it('reuses the cached binary without asking the mirror again', async () => {
    const tools = tempDir('helm-tools-');
    const first = await installHelm({ version: `v${version}`, toolsDirectory: tools, downloadUrl: `${mirror.url('good')}/`, logger: silentLogger });
    const requestsAfterFirst = mirror.requests.length;
    const second = await installHelm({ version, toolsDirectory: tools, downloadUrl: mirror.url('good'), logger: silentLogger });
    assert.equal(second, first);
    assert.equal(mirror.requests.length, requestsAfterFirst);
  });

  it('refuses an archive whose sha256 differs from the published .sha256sum, leaving nothing in the cache', async () => {
    const tools = tempDir('helm-tools-');
    const error = await rejection(installHelm({ version, toolsDirectory: tools, downloadUrl: mirror.url('badsum'), logger: silentLogger }));
    assert.equal(error.field, 'helmVersion');
    assert.match(error.describe(), /does not match its published checksum/);
    assert.match(error.describe(), /helmDownloadUrl/);
    assert.deepEqual(filesUnder(tools), []);
  });

  it('refuses to install when the mirror publishes no checksum, leaving nothing in the cache', async () => {
    const tools = tempDir('helm-tools-');
    const error = await rejection(installHelm({ version, toolsDirectory: tools, downloadUrl: mirror.url('nosum'), logger: silentLogger }));
    assert.equal(error.field, 'helmVersion');
    assert.match(error.describe(), new RegExp(`no checksum for helm ${version}.*HTTP 404 .*${archiveName}\\.sha256sum`));
    assert.match(error.describe(), /helmDownloadUrl/);
    assert.deepEqual(filesUnder(tools), []);
  });

  it('names the version when the mirror does not have it (HTTP 404)', async () => {
    const tools = tempDir('helm-tools-');
    const error = await rejection(installHelm({ version: '3.99.0', toolsDirectory: tools, downloadUrl: mirror.url('good'), logger: silentLogger }));
    assert.equal(error.field, 'helmVersion');
    assert.match(error.describe(), /helm 3\.99\.0 is not on the mirror in helmDownloadUrl .*HTTP 404/);
    assert.deepEqual(filesUnder(tools), []);
  });

  it('refuses a plain-http mirror that is not on this machine, before any request', async () => {
    const requestsBefore = mirror.requests.length;
    const error = await rejection(installHelm({ version, toolsDirectory: tempDir('helm-tools-'), downloadUrl: 'http://mirror.example.com/helm', logger: silentLogger }));
    assert.equal(error.field, 'helmDownloadUrl');
    assert.match(error.describe(), /must use https/);
    assert.equal(mirror.requests.length, requestsBefore);
  });

  it('refuses a mirror URL carrying credentials without echoing them', async () => {
    const error = await rejection(installHelm({ version, toolsDirectory: tempDir('helm-tools-'), downloadUrl: 'https://user:s3cr3t-pass@mirror.example.com/helm', logger: silentLogger }));
    assert.equal(error.field, 'helmDownloadUrl');
    assert.doesNotMatch(error.describe(), /s3cr3t-pass/);
  });

  it('gives up with a clear error when the mirror stops sending data', async () => {
    const tools = tempDir('helm-tools-');
    const started = Date.now();
    const error = await rejection(installHelm({ version, toolsDirectory: tools, downloadUrl: mirror.url('stall'), idleTimeoutMs: 300, logger: silentLogger }));
    assert.ok(Date.now() - started < 10_000);
    assert.match(error.describe(), new RegExp(`could not download helm ${version} from .*: no data for 300 ms`));
    assert.deepEqual(filesUnder(tools), []);
  });

  it('reports an unreachable mirror as a network error naming the version', async () => {
    const tools = tempDir('helm-tools-');
    const error = await rejection(installHelm({ version, toolsDirectory: tools, downloadUrl: `http://127.0.0.1:${await closedPort()}/helm`, logger: silentLogger }));
    assert.equal(error.field, 'helmVersion');
    assert.match(error.describe(), new RegExp(`could not download helm ${version} from .*ECONNREFUSED`));
    assert.deepEqual(filesUnder(tools), []);
  });

  it('replaces a partial binary that a crashed job left without the .complete marker', async () => {
    const tools = tempDir('helm-tools-');
    mkdirSync(join(tools, 'helm', version, arch()), { recursive: true });
    writeFileSync(join(tools, 'helm', version, arch(), 'helm'), 'truncated');
    const binary = await installHelm({ version, toolsDirectory: tools, downloadUrl: mirror.url('good'), logger: silentLogger });
    assert.equal(await versionOf(binary), packedVersion);
  });

  it('lets two concurrent installs of one version both succeed with one good binary', async () => {
    const tools = tempDir('helm-tools-');
    const install = () => installHelm({ version, toolsDirectory: tools, downloadUrl: mirror.url('pair'), logger: silentLogger });
    const [a, b] = await Promise.all([install(), install()]);
    assert.equal(a, b);
    assert.equal(await versionOf(a), packedVersion);
    assert.deepEqual(filesUnder(join(tools, 'helm')).sort(), [join(version, arch(), 'helm'), join(version, `${arch()}.complete`)].sort());
    assert.deepEqual(readdirSync(join(tools, 'helm')), [version], 'no download folder left behind');
  });
});

describe('GenerateManifests with helmVersion and helmDownloadUrl, and the CLI with --helm-version (bundles)', function () {
  this.timeout(180_000);
  let mirror: HelmMirror;

  before(async function () {
    this.timeout(180_000);
    [mirror] = await Promise.all([packHelmArchive(), bundleOnce()]);
    await mirror.start();
  });

  after(async () => {
    await mirror?.stop();
  });

  function hldDir(): string {
    const dir = tempDir('helm-hld-');
    for (const [file, text] of Object.entries(baseHld)) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), text);
    }
    return dir;
  }

  it('renders with the helm it verified and installed from the mirror into Agent.ToolsDirectory', async () => {
    const tools = tempDir('helm-agent-tools-');
    const run = await runTask('GenerateManifests', {
      inputs: { hldPath: hldDir(), environments: 'prod', helmVersion: version, helmDownloadUrl: mirror.url('good') },
      variables: { 'Agent.ToolsDirectory': tools },
    });
    assert.equal(run.result, 'Succeeded', `${run.message}\n${run.stdout.slice(-2000)}`);
    assert.ok(existsSync(join(tools, 'helm', version, arch(), 'helm')));
    assert.match(readFileSync(join(run.outputs.renderedPath, 'prod', 'web.yaml'), 'utf8'), /replicas: 3/);
  });

  it('fails naming helmDownloadUrl when the mirror is plain http on another host', async () => {
    const run = await runTask('GenerateManifests', {
      inputs: { hldPath: hldDir(), environments: 'prod', helmVersion: version, helmDownloadUrl: 'http://mirror.example.com/helm' },
      variables: { 'Agent.ToolsDirectory': tempDir('helm-agent-tools-') },
    });
    assert.equal(run.result, 'Failed');
    assert.match(run.errors.join('\n'), /helmDownloadUrl.*must use https/);
  });

  describe('bedrock-gitops generate --helm-version', () => {
    const cli = join(repoRoot, 'dist', 'cli.js');
    const generate = (cache: string, prefix: string) => runProcess(process.execPath, [
      cli, 'generate', 'prod', '--hld', hldDir(), '--helm-version', version, '--helm-download-url', mirror.url(prefix),
    ], { env: { PATH: '/usr/bin:/bin', HOME: cache, BEDROCK_GITOPS_CACHE: cache } });

    it('downloads the checked helm into BEDROCK_GITOPS_CACHE once, then reuses it', async () => {
      const cache = tempDir('helm-cli-cache-');
      const first = await generate(cache, 'good');
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /prod: \d+ files/);
      assert.equal(await versionOf(join(cache, 'tools', 'helm', version, arch(), 'helm')), await versionOf(helm3));
      const requests = mirror.requests.length;
      const second = await generate(cache, 'good');
      assert.equal(second.code, 0, second.stderr);
      assert.equal(mirror.requests.length, requests, 'the second run asked the mirror nothing');
    });

    it('refuses a bad checksum naming the CLI flag, and caches nothing', async () => {
      const cache = tempDir('helm-cli-cache-');
      const result = await generate(cache, 'badsum');
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^error: --helm-version: .*does not match its published checksum.*--helm-download-url/m);
      assert.doesNotMatch(result.stderr, /helmVersion|helmDownloadUrl/);
      assert.deepEqual(filesUnder(join(cache, 'tools')), []);
    });
  });
});
