/**
 * A compromised or broken SOURCE registry (issue 17): small HTTP servers on 127.0.0.1 that misbehave
 * on purpose, and the real docker-registry as the promotion target. Every case asserts that the copy
 * (or the bundled PromoteContainer task) fails with a message naming the hostile server (host:port)
 * and the object, that NOTHING is tagged on the target (its catalog and tag lists, read through the
 * registry API), and that it fails in bounded time; the task cases also measure the task process's
 * peak RSS.
 */
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { GitopsError } from '../../tasks/core/errors';
import { runProcess } from '../../tasks/core/exec';
import { silentLogger } from '../../tasks/core/logger';
import { requestAzureAdToken } from '../../tasks/core/registry/azureAd';
import { RegistryClient } from '../../tasks/core/registry/client';
import { copyImage, resolvePromotion, type CopyOptions } from '../../tasks/core/registry/copy';
import { parseImageReference, type Digest } from '../../tasks/core/registry/reference';
import { startRegistry, type TestRegistry } from '../support/registry';
import { runTask, type TaskRun } from '../support/runTask';
import { tempDir } from '../support/tmp';
import { repoRoot } from '../support/tools';
import { bundleOnce } from '../tasks/updateImageTagHelpers';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const sha = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const desc = (mediaType: string, bytes: Buffer, extra: Record<string, unknown> = {}) => ({ mediaType, digest: sha(bytes), size: bytes.length, ...extra });

/** An honest little image: config + one layer, and its manifest. */
function honestImage(seed: string) {
  const config = json({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, seed });
  const layer = Buffer.concat([Buffer.from(seed), randomBytes(4096)]);
  const manifest = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc(OCI_CONFIG, config), layers: [desc(OCI_LAYER, layer)] });
  return { config, layer, manifest, digest: sha(manifest), blobs: new Map([[sha(config), config], [sha(layer), layer]]) };
}

type Handler = (req: IncomingMessage, res: ServerResponse, path: string) => boolean | Promise<boolean>;

interface Hostile {
  host: string;
  /** Every request: method, path, and whether it carried Authorization. */
  requests: { method: string; path: string; host?: string; authorization: boolean }[];
  manifests: Map<string, { bytes: Buffer; mediaType: string }>;
  blobs: Map<string, Buffer>;
  referrers: Map<string, Buffer>;
  /** Manifest GETs in flight now / at most. */
  inFlight: { now: number; max: number };
  stop(): Promise<void>;
}

/**
 * A registry that serves what the test puts in its maps, and lets `handle` answer first (to
 * misbehave). Unknown paths get 404.
 */
async function startHostile(handle: Handler = () => false): Promise<Hostile> {
  const state: Hostile = {
    host: '', requests: [], manifests: new Map(), blobs: new Map(), referrers: new Map(), inFlight: { now: 0, max: 0 }, stop: async () => {},
  };
  const server = createServer(async (req, res) => {
    const path = req.url ?? '/';
    state.requests.push({ method: req.method ?? '', path, host: req.headers.host, authorization: req.headers.authorization !== undefined });
    res.on('error', () => {});
    try {
      if (await handle(req, res, path)) return;
      if (path === '/v2/') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
      if (manifest && state.manifests.has(manifest[2])) {
        const { bytes, mediaType } = state.manifests.get(manifest[2])!;
        state.inFlight.now++;
        state.inFlight.max = Math.max(state.inFlight.max, state.inFlight.now);
        // A little latency, so concurrent fetches overlap and the bound is observable.
        await new Promise((resolve) => setTimeout(resolve, 15));
        state.inFlight.now--;
        res.writeHead(200, { 'content-type': mediaType, 'content-length': bytes.length, 'docker-content-digest': sha(bytes) });
        return void res.end(req.method === 'HEAD' ? undefined : bytes);
      }
      const blob = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(path);
      if (blob && state.blobs.has(blob[2])) {
        const bytes = state.blobs.get(blob[2])!;
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
        return void res.end(req.method === 'HEAD' ? undefined : bytes);
      }
      const referrers = /^\/v2\/(.+)\/referrers\/([^/?]+)/.exec(path);
      if (referrers && state.referrers.has(referrers[2])) {
        return void res.writeHead(200, { 'content-type': OCI_INDEX }).end(state.referrers.get(referrers[2]));
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"NOT_FOUND"}]}');
    } catch {
      res.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.stop = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}

/** A hostile registry serving `app:v1` = `rootBytes`, plus the honest image's blobs and manifest by digest. */
async function serving(rootBytes: Buffer, handle?: Handler, mediaType = OCI_MANIFEST): Promise<Hostile> {
  const hostile = await startHostile(handle);
  hostile.manifests.set('v1', { bytes: rootBytes, mediaType });
  hostile.manifests.set(sha(rootBytes), { bytes: rootBytes, mediaType });
  return hostile;
}

/** A TCP listener that counts connections: proof that nothing was sent to it. */
async function startListener(): Promise<{ port: number; connections: number; stop(): Promise<void> }> {
  const listener = { port: 0, connections: 0, stop: async () => {} };
  const server = createTcpServer((socket) => {
    listener.connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  listener.port = (server.address() as AddressInfo).port;
  listener.stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return listener;
}

describe('hostile source registry: it cannot choose what is written, nor exhaust the agent (issue 17)', function () {
  this.timeout(120_000);
  let target: TestRegistry;
  const stops: (() => Promise<void>)[] = [];
  let repoCounter = 0;
  let rssPreload: string;
  /** Peak RSS and time of each task run, printed after the suite (the measurements of issue 17). */
  const measured: { test: string; rssMb: number; seconds: number }[] = [];

  before(async () => {
    [target] = await Promise.all([startRegistry(), bundleOnce()]);
    const dir = tempDir('hostile-rss-');
    rssPreload = join(dir, 'rss.cjs');
    writeFileSync(rssPreload, "process.on('exit', () => process.stderr.write('MAXRSS_KB=' + process.resourceUsage().maxRSS + '\\n'));\n");
  });

  afterEach(async () => {
    await Promise.all(stops.splice(0).map((stop) => stop()));
  });

  after(async function () {
    await target?.stop();
    if (measured.length > 0) {
      console.log('\n    PromoteContainer task process against hostile sources:');
      for (const m of measured) console.log(`    ${m.rssMb.toFixed(0).padStart(4)} MB peak RSS  ${m.seconds.toFixed(1).padStart(5)} s  ${m.test}`);
    }
  });

  /** Repositories and tags of the target registry, read through its API. */
  async function targetTags(): Promise<Record<string, string[]>> {
    const catalog = await (await fetch(`http://${target.host}/v2/_catalog?n=1000`)).json() as { repositories?: string[] };
    const tags: Record<string, string[]> = {};
    for (const repo of catalog.repositories ?? []) {
      const answer = await fetch(`http://${target.host}/v2/${repo}/tags/list`);
      const list = answer.ok ? (await answer.json() as { tags?: string[] | null }).tags ?? [] : [];
      if (list.length > 0) tags[repo] = list;
    }
    return tags;
  }

  /** Nothing tagged anywhere on the target, except the control repository; no `pwned`/`prod` manifest either. */
  async function assertNothingWritten(): Promise<void> {
    const tags = await targetTags();
    delete tags['control/app'];
    assert.deepEqual(tags, {}, 'no tag was written on the target');
    for (const name of ['other/pwned:pwned', 'other:pwned', 'app:pwned', 'app:prod']) {
      const [repo, tag] = name.split(':');
      const answer = await fetch(`http://${target.host}/v2/${repo}/manifests/${tag}`, { method: 'HEAD' });
      assert.equal(answer.status, 404, `${name} is absent`);
    }
  }

  /** Copies app:v1 from the hostile server into a fresh target repository; returns the error and the time taken. */
  async function copyFrom(source: Hostile, options: Partial<CopyOptions> = {}, reference = 'app:v1'): Promise<{ error: Error; ms: number; repo: string }> {
    const repo = `hostile${++repoCounter}/app`;
    const started = Date.now();
    const error = await copyImage({
      source: parseImageReference(`${source.host}/${reference}`),
      target: parseImageReference(`${target.host}/${repo}:v1`),
      logger: silentLogger, copyReferrers: true, retries: 2, networkTimeoutSeconds: 3, ...options,
    }).then(() => undefined, (e: Error) => e);
    assert.ok(error, 'the copy failed');
    return { error, ms: Date.now() - started, repo };
  }

  /** The failure is a GitopsError naming the server and matching `patterns`; it came within `maxMs`. */
  function assertRefused(result: { error: Error; ms: number }, source: Hostile, patterns: RegExp[], maxMs = 15_000): void {
    assert.ok(result.error instanceof GitopsError, `a GitopsError, not ${result.error.constructor.name}: ${result.error.message}`);
    assert.ok(result.error.message.includes(source.host), `names the server ${source.host}: ${result.error.message}`);
    for (const pattern of patterns) assert.match(result.error.message, pattern);
    assert.ok(result.ms < maxMs, `failed within ${maxMs} ms (took ${result.ms})`);
  }

  async function hostile(rootBytes: Buffer, handle?: Handler, mediaType?: string): Promise<Hostile> {
    const server = await serving(rootBytes, handle, mediaType);
    stops.push(server.stop);
    return server;
  }

  /** Runs the bundled PromoteContainer task against the hostile source; returns the run, its peak RSS (MB) and time. */
  async function promote(title: string, source: Hostile, inputs: Record<string, string> = {}, env: Record<string, string> = {}): Promise<{ run: TaskRun; rssMb: number; ms: number }> {
    const started = Date.now();
    const run = await runTask('PromoteContainer', {
      inputs: {
        sourceImage: `${source.host}/app:v1`, targetRegistry: target.host, targetRepository: `task${++repoCounter}/app`,
        verification: 'none', networkTimeoutSeconds: '5', ...inputs,
      },
      env: { NODE_OPTIONS: `--require ${rssPreload}`, ...env },
      timeoutMs: 90_000,
    });
    const rss = /MAXRSS_KB=(\d+)/.exec(run.stderr);
    assert.ok(rss, `the task process reported its peak RSS: ${run.stderr.slice(-400)}`);
    const result = { run, rssMb: Number(rss[1]) / 1024, ms: Date.now() - started };
    measured.push({ test: title, rssMb: result.rssMb, seconds: result.ms / 1000 });
    return result;
  }

  function assertTaskFailed(result: { run: TaskRun; rssMb: number; ms: number }, source: Hostile, patterns: RegExp[], maxMs = 45_000): void {
    const { run } = result;
    assert.equal(run.result, 'Failed', `task failed: ${run.stdout.slice(-1500)}`);
    const message = [run.message ?? '', ...run.errors].join('\n');
    assert.ok(message.includes(source.host), `names ${source.host}: ${message}`);
    for (const pattern of patterns) assert.match(message, pattern);
    assert.doesNotMatch(message, /TypeError|Cannot read properties/);
    assert.ok(result.ms < maxMs, `finished within ${maxMs} ms (took ${result.ms})`);
    assert.ok(result.rssMb < 150, `peak RSS ${result.rssMb.toFixed(0)} MB < 150 MB`);
  }

  describe('digests from the server are validated before use (item 1)', () => {
    it('control: an honest image from the same kind of server copies, and the tag check sees it', async () => {
      const image = honestImage('control');
      const source = await hostile(image.manifest);
      for (const [digest, bytes] of image.blobs) source.blobs.set(digest, bytes);
      const result = await copyImage({
        source: parseImageReference(`${source.host}/app:v1`), target: parseImageReference(`${target.host}/control/app:v1`),
        logger: silentLogger, networkTimeoutSeconds: 10,
      });
      assert.equal(result.digest, image.digest);
      assert.deepEqual((await targetTags())['control/app'], ['v1']);
    });

    for (const bad of ['pwned', '../../../other/manifests/pwned', 'sha256:../../../other/manifests/pwned', `sha256:${'A'.repeat(64)}`, `sha256:${'a'.repeat(63)}`, `md5:${'a'.repeat(32)}`]) {
      it(`refuses an index child whose digest is ${JSON.stringify(bad)}`, async () => {
        const image = honestImage('child');
        const index = json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: bad, size: image.manifest.length, platform: { os: 'linux', architecture: 'amd64' } }] });
        const source = await hostile(index, undefined, OCI_INDEX);
        source.manifests.set(bad, { bytes: image.manifest, mediaType: OCI_MANIFEST });
        const result = await copyFrom(source);
        assertRefused(result, source, [/invalid digest/, /app:v1/, /manifests\[0\]/]);
        assert.ok(!source.requests.some((r) => r.path.includes('pwned') || r.path.includes('..')), 'the bad digest never became a request path');
        await assertNothingWritten();
      });
    }

    it('refuses a layer digest that is a path, before any blob moves', async () => {
      const image = honestImage('layer');
      const manifest = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc(OCI_CONFIG, image.config), layers: [{ mediaType: OCI_LAYER, digest: '../../../other/blobs/x', size: 10 }] });
      const source = await hostile(manifest);
      const result = await copyFrom(source);
      assertRefused(result, source, [/invalid digest/, /layers\[0\]/]);
      assert.equal(source.requests.filter((r) => r.path.includes('/blobs/')).length, 0);
      await assertNothingWritten();
    });

    it('refuses a referrers entry "prod" (it would have become a tag), before writing anything', async () => {
      const image = honestImage('referrers-prod');
      const source = await hostile(image.manifest);
      for (const [digest, bytes] of image.blobs) source.blobs.set(digest, bytes);
      source.referrers.set(image.digest, json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: 'prod', size: image.manifest.length }] }));
      source.manifests.set('prod', { bytes: image.manifest, mediaType: OCI_MANIFEST });
      const result = await copyFrom(source);
      assertRefused(result, source, [/referrers list/, /invalid digest "prod"/, new RegExp(image.digest)]);
      await assertNothingWritten();
    });

    it('refuses a referrer whose manifest names another subject (the list lies)', async () => {
      const image = honestImage('referrer-subject');
      const other = honestImage('someone-else');
      const signature = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/vnd.example.sig', config: desc(OCI_CONFIG, image.config), layers: [desc(OCI_LAYER, image.layer)], subject: desc(OCI_MANIFEST, other.manifest) });
      const source = await hostile(image.manifest);
      for (const [digest, bytes] of image.blobs) source.blobs.set(digest, bytes);
      source.manifests.set(sha(signature), { bytes: signature, mediaType: OCI_MANIFEST });
      source.referrers.set(image.digest, json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [desc(OCI_MANIFEST, signature)] }));
      const result = await copyFrom(source);
      assertRefused(result, source, [/listed as a referrer of/, new RegExp(`its subject is ${other.digest}`)]);
      await assertNothingWritten();
    });

    it('refuses a referrer whose bytes do not hash to the digest it is listed under', async () => {
      const image = honestImage('referrer-bytes');
      const signature = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc(OCI_CONFIG, image.config), layers: [], subject: desc(OCI_MANIFEST, image.manifest) });
      const listedDigest = sha(Buffer.from('something else'));
      const source = await hostile(image.manifest);
      for (const [digest, bytes] of image.blobs) source.blobs.set(digest, bytes);
      source.manifests.set(listedDigest, { bytes: signature, mediaType: OCI_MANIFEST });
      source.referrers.set(image.digest, json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: listedDigest, size: signature.length }] }));
      const result = await copyFrom(source);
      assertRefused(result, source, [/does not match its digest/, new RegExp(listedDigest)]);
      await assertNothingWritten();
    });

    it('refuses an index child whose size differs from its descriptor', async () => {
      const image = honestImage('child-size');
      const index = json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...desc(OCI_MANIFEST, image.manifest), size: image.manifest.length + 7 }] });
      const source = await hostile(index, undefined, OCI_INDEX);
      source.manifests.set(image.digest, { bytes: image.manifest, mediaType: OCI_MANIFEST });
      for (const [digest, bytes] of image.blobs) source.blobs.set(digest, bytes);
      const result = await copyFrom(source);
      assertRefused(result, source, [/its descriptor declares/, new RegExp(image.digest)]);
      await assertNothingWritten();
    });
  });

  describe('every answer has a shape, a size and a count limit (items 2 and 8)', () => {
    it('a referrers answer of null is a clear error, not a TypeError', async () => {
      const image = honestImage('null-referrers');
      const source = await hostile(image.manifest);
      for (const [digest, bytes] of image.blobs) source.blobs.set(digest, bytes);
      source.referrers.set(image.digest, Buffer.from('null'));
      const result = await copyFrom(source);
      assertRefused(result, source, [/referrers list of .*app@sha256:/, /is null, not an index/]);
      await assertNothingWritten();
    });

    it('a manifest that is JSON null or an array is a clear error', async () => {
      for (const body of ['null', '[1,2]']) {
        const source = await hostile(Buffer.from(body));
        const result = await copyFrom(source);
        assertRefused(result, source, [/manifest of .*app:v1 is (null|an array), not a manifest/]);
      }
      await assertNothingWritten();
    });

    it('an index with 800 children is refused by count before any child is fetched', async () => {
      const children = Array.from({ length: 800 }, (_, i) => ({ mediaType: OCI_MANIFEST, digest: sha(Buffer.from(`child ${i}`)), size: 500, platform: { os: 'linux', architecture: `arch${i}` } }));
      const source = await hostile(json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: children }), undefined, OCI_INDEX);
      const result = await copyFrom(source);
      assertRefused(result, source, [/lists 800 manifests, more than the 256/]);
      assert.equal(source.requests.filter((r) => r.path.includes('/manifests/sha256:')).length, 0);
      await assertNothingWritten();
    });

    it('a 25,000-layer manifest is refused by count', async () => {
      const image = honestImage('many-layers');
      const layers = Array.from({ length: 25_000 }, (_, i) => ({ mediaType: OCI_LAYER, digest: sha(Buffer.from(`layer ${i}`)), size: 1000 + i }));
      const source = await hostile(json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc(OCI_CONFIG, image.config), layers }));
      const result = await copyFrom(source);
      assertRefused(result, source, [/lists 25000 layers, more than the 512/]);
      assert.equal(source.requests.filter((r) => r.path.includes('/blobs/')).length, 0);
      await assertNothingWritten();
    });

    it('children of a 200-child index are fetched a bounded number at a time', async () => {
      // Valid children whose config blob is missing on the source: the copy fails after fetching them.
      const children: Buffer[] = [];
      for (let i = 0; i < 200; i++) {
        children.push(json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc(OCI_CONFIG, Buffer.from(`{"n":${i}}`)), layers: [] }));
      }
      const index = json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: children.map((c, i) => desc(OCI_MANIFEST, c, { platform: { os: 'linux', architecture: `a${i}` } })) });
      const source = await hostile(index, undefined, OCI_INDEX);
      for (const child of children) source.manifests.set(sha(child), { bytes: child, mediaType: OCI_MANIFEST });
      const result = await copyFrom(source, { concurrency: 4 });
      assertRefused(result, source, [/GET blob hostile\d+\/app@sha256:|app@sha256:.*answered HTTP 404/], 30_000);
      assert.ok(source.inFlight.max <= 4, `at most 4 child manifests fetched at once (saw ${source.inFlight.max})`);
      await assertNothingWritten();
    });

    it('an oversize manifest (5 MiB, declared) is refused at its Content-Length', async () => {
      const big = Buffer.alloc(5 * 1024 * 1024, 0x20);
      const source = await hostile(big);
      const result = await copyFrom(source);
      assertRefused(result, source, [/GET manifest app:v1/, /more than the 4194304 bytes/]);
      await assertNothingWritten();
    });

    it('an endless chunked manifest is cut at 4 MiB', async () => {
      let sent = 0;
      const source = await hostile(Buffer.alloc(0), (req, res, path) => {
        if (!path.endsWith('/manifests/v1')) return false;
        res.writeHead(200, { 'content-type': OCI_MANIFEST });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const pump = () => {
          while (!res.destroyed && sent < 512 * 1024 * 1024) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
        };
        pump();
        return true;
      });
      const result = await copyFrom(source);
      assertRefused(result, source, [/GET manifest app:v1/, /larger than the 4194304 bytes/]);
      assert.ok(sent < 64 * 1024 * 1024, `the agent stopped reading early (server wrote ${sent} bytes)`);
      await assertNothingWritten();
    });
  });

  describe('deadlines, not only idle timeouts (item 3)', () => {
    it('a manifest dripped one byte every 500 ms fails at the deadline, naming what stalled', async () => {
      const image = honestImage('drip');
      const source = await hostile(image.manifest, (req, res, path) => {
        if (!path.endsWith('/manifests/v1') || req.method !== 'GET') return false;
        res.writeHead(200, { 'content-type': OCI_MANIFEST, 'content-length': image.manifest.length });
        let at = 0;
        const timer = setInterval(() => (res.destroyed || at >= image.manifest.length ? clearInterval(timer) : res.write(image.manifest.subarray(at, ++at))), 500);
        res.on('close', () => clearInterval(timer));
        return true;
      });
      const result = await copyFrom(source, { networkTimeoutSeconds: 2 });
      assertRefused(result, source, [/GET manifest app:v1 did not complete within its 2s deadline/, /stalled reading the body/], 8_000);
      await assertNothingWritten();
    });

    it('a manifest request never answered fails at the deadline', async () => {
      const source = await hostile(Buffer.alloc(0), (req, res, path) => path.endsWith('/manifests/v1'));
      const result = await copyFrom(source, { networkTimeoutSeconds: 2 });
      assertRefused(result, source, [/GET manifest app:v1/, /stalled waiting for the answer/], 8_000);
      await assertNothingWritten();
    });

    it('a stalled blob fails once, at its deadline, naming the blob (not 5 x 120 s)', async () => {
      const image = honestImage('stall');
      const layerDigest = sha(image.layer);
      const source = await hostile(image.manifest, (req, res, path) => {
        if (!path.endsWith(`/blobs/${layerDigest}`) || req.method !== 'GET') return false;
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': image.layer.length });
        res.write(image.layer.subarray(0, 1000));
        return true;
      });
      source.blobs.set(sha(image.config), image.config);
      const result = await copyFrom(source, { networkTimeoutSeconds: 2 });
      assertRefused(result, source, [new RegExp(`blob hostile\\d+/app@${layerDigest}|app@${layerDigest}`), /stalled reading the body after 1000 bytes/], 10_000);
      assert.equal(source.requests.filter((r) => r.method === 'GET' && r.path.endsWith(layerDigest)).length, 1, 'a deadline is not retried');
      await assertNothingWritten();
    });

    it('a 10 GiB layer dripped slowly fails soon after the grace period, not after size / 1 MiB/s', async () => {
      const image = honestImage('huge');
      const size = 10 * 1024 * 1024 * 1024;
      const layerDigest = sha(Buffer.from('a huge layer'));
      const manifest = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc(OCI_CONFIG, image.config), layers: [{ mediaType: OCI_LAYER, digest: layerDigest, size }] });
      const source = await hostile(manifest, (req, res, path) => {
        if (!path.endsWith(`/blobs/${layerDigest}`) || req.method !== 'GET') return false;
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
        const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(Buffer.alloc(1024))), 200);
        res.on('close', () => clearInterval(timer));
        return true;
      });
      source.blobs.set(sha(image.config), image.config);
      const result = await copyFrom(source, { networkTimeoutSeconds: 2 });
      assertRefused(result, source, [new RegExp(`app@${layerDigest}`), /slower than 1048576 bytes\/s/], 10_000);
      await assertNothingWritten();
    });

    it('503 with Retry-After: 60 fails when no retry fits into the deadline', async () => {
      const source = await hostile(Buffer.alloc(0), (req, res, path) => {
        if (!path.endsWith('/manifests/v1')) return false;
        res.writeHead(503, { 'retry-after': '60' }).end();
        return true;
      });
      const result = await copyFrom(source, { networkTimeoutSeconds: 3, retries: 10 });
      assertRefused(result, source, [/GET manifest app:v1 answered HTTP 503/, /no time left to retry/], 6_000);
      await assertNothingWritten();
    });
  });

  describe('tokens: bounded, on time, and only over trusted schemes (items 2 and 3)', () => {
    const challenge = (realm: string): Handler => (req, res, path) => {
      if (path.startsWith('/v2/') && !req.headers.authorization) {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="hostile"` }).end();
        return true;
      }
      return false;
    };

    it('a token endpoint that never answers fails at the deadline, naming the token service', async () => {
      const source = await hostile(Buffer.alloc(0), (req, res, path) => {
        if (path.startsWith('/token')) return true; // never answered
        return challenge(`http://${req.headers.host}/token`)(req, res, path);
      });
      const result = await copyFrom(source, { networkTimeoutSeconds: 2 });
      assertRefused(result, source, [/token service/, /repository:app:pull/, /stalled waiting for the answer/], 8_000);
      await assertNothingWritten();
    });

    it('an endless token answer is cut at 256 KiB', async () => {
      let sent = 0;
      const source = await hostile(Buffer.alloc(0), (req, res, path) => {
        if (path.startsWith('/token')) {
          res.writeHead(200, { 'content-type': 'application/json' });
          const chunk = Buffer.alloc(64 * 1024, 0x20);
          const pump = () => {
            while (!res.destroyed && sent < 256 * 1024 * 1024) {
              sent += chunk.length;
              if (!res.write(chunk)) return void res.once('drain', pump);
            }
          };
          pump();
          return true;
        }
        return challenge(`http://${req.headers.host}/token`)(req, res, path);
      });
      const result = await copyFrom(source);
      assertRefused(result, source, [/token service/, /larger than the 262144 bytes/]);
      assert.ok(sent < 32 * 1024 * 1024, `stopped reading early (server wrote ${sent} bytes)`);
      await assertNothingWritten();
    });

    it('a token answer of null is a clear error', async () => {
      const source = await hostile(Buffer.alloc(0), (req, res, path) => {
        if (path.startsWith('/token')) {
          res.writeHead(200, { 'content-type': 'application/json' }).end('null');
          return true;
        }
        return challenge(`http://${req.headers.host}/token`)(req, res, path);
      });
      const result = await copyFrom(source);
      assertRefused(result, source, [/returned no usable token/]);
      await assertNothingWritten();
    });

    /** A handler streaming a JSON-looking answer forever (until the client hangs up). */
    const endless = (counter: { sent: number }) => (res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (!res.destroyed && counter.sent < 256 * 1024 * 1024) {
          counter.sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      pump();
    };

    it('an endless ACR /oauth2/exchange answer is cut, naming the token service and the registry', async () => {
      const counter = { sent: 0 };
      const source = await hostile(Buffer.alloc(0), (req, res, path) => {
        if (path.startsWith('/oauth2/exchange')) {
          endless(counter)(res);
          return true;
        }
        return challenge(`http://${req.headers.host}/oauth2/token`)(req, res, path);
      });
      const result = await copyFrom(source, { sourceCredentials: { aadAccessToken: 'aad-token-for-hostile' } });
      assertRefused(result, source, [/token service .* of registry/, /refresh token from \/oauth2\/exchange/, /larger than the 262144 bytes/]);
      assert.ok(counter.sent < 32 * 1024 * 1024, `stopped reading early (server wrote ${counter.sent} bytes)`);
      await assertNothingWritten();
    });

    it('a challenge naming another host as token service never receives the Azure AD token', async () => {
      const elsewhere = await startListener();
      stops.push(elsewhere.stop);
      // "localhost" is another host name than the registry's 127.0.0.1, though the same machine.
      const source = await hostile(Buffer.alloc(0), challenge(`http://localhost:${elsewhere.port}/oauth2/token`));
      const result = await copyFrom(source, { sourceCredentials: { aadAccessToken: 'aad-token-for-elsewhere' } });
      assertRefused(result, source, [/named the token service localhost:\d+; the Azure AD token is only sent to 127\.0\.0\.1/]);
      assert.equal(elsewhere.connections, 0, 'nothing was sent to the other host');
      await assertNothingWritten();
    });

    it('Azure AD answering endlessly is cut at 256 KiB; Azure AD stalling fails at its deadline', async () => {
      const counter = { sent: 0 };
      const aad = await startHostile((req, res, path) => {
        if (path.includes('/stall/')) return true;
        endless(counter)(res);
        return true;
      });
      stops.push(aad.stop);
      const request = (tenant: string, timeoutMs?: number) => requestAzureAdToken({
        authorityHost: `http://${aad.host}/`, tenantId: tenant, clientId: 'app', credential: { kind: 'secret', secret: 'aad-secret-1' },
        scope: 'https://containerregistry.azure.net/.default', subject: 'Azure Resource Manager connection "prod"', logger: silentLogger, timeoutMs,
      }).then(() => assert.fail('no token expected'), (e: Error) => e);
      let started = Date.now();
      const big = await request('tenant');
      assert.ok(big instanceof GitopsError);
      assert.match(big.message, new RegExp(`Azure AD at ${aad.host.replace(/\./g, '\\.')} for Azure Resource Manager connection "prod": .*larger than the 262144 bytes`));
      assert.ok(counter.sent < 32 * 1024 * 1024 && Date.now() - started < 10_000);
      started = Date.now();
      const stalled = await request('stall', 2000);
      assert.match(stalled.message, /no complete answer within 2s/);
      assert.ok(Date.now() - started < 4_000, `one deadline for all attempts (took ${Date.now() - started} ms)`);
    });

    it('an ftp:// token realm is refused without contacting it', async () => {
      const ftp = await startListener();
      stops.push(ftp.stop);
      const source = await hostile(Buffer.alloc(0), challenge(`ftp://127.0.0.1:${ftp.port}/token`));
      const result = await copyFrom(source);
      assertRefused(result, source, [/unusable realm/, /ftp:/]);
      assert.equal(ftp.connections, 0);
      await assertNothingWritten();
    });
  });

  describe('redirects keep their promises (item 4)', () => {
    it('a blob redirected to ftp:// is refused: no plain TCP to it', async () => {
      const image = honestImage('ftp');
      const ftp = await startListener();
      stops.push(ftp.stop);
      const source = await hostile(image.manifest, (req, res, path) => {
        if (!/\/blobs\/sha256:/.test(path) || req.method !== 'GET') return false;
        res.writeHead(307, { location: `ftp://127.0.0.1:${ftp.port}/blob` }).end();
        return true;
      });
      const result = await copyFrom(source);
      assertRefused(result, source, [/GET blob .*app@sha256:/, /ftp:\/\/127\.0\.0\.1/, /refusing/]);
      assert.equal(ftp.connections, 0, 'nothing was sent to the ftp:// address');
      await assertNothingWritten();
    });

    it('a blob redirected to file:// is refused', async () => {
      const image = honestImage('file');
      const source = await hostile(image.manifest, (req, res, path) => {
        if (!/\/blobs\/sha256:/.test(path) || req.method !== 'GET') return false;
        res.writeHead(302, { location: 'file:///etc/passwd' }).end();
        return true;
      });
      const result = await copyFrom(source);
      assertRefused(result, source, [/file:/, /refusing/]);
      await assertNothingWritten();
    });

    it('Authorization does not follow a redirect to another port or another host name of the same machine', async () => {
      const image = honestImage('auth-redirect');
      const elsewhere = await startHostile();
      stops.push(elsewhere.stop);
      const password = 'hostile-basic-secret';
      const source = await hostile(image.manifest, (req, res, path) => {
        if (!req.headers.authorization) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="hostile"' }).end();
          return true;
        }
        if (/\/blobs\/sha256:/.test(path) && req.method === 'GET') {
          // The config goes to another port, the layer to the same server under another host name.
          const [host, port] = (req.headers.host ?? '').split(':');
          const to = path.includes(sha(image.config)) ? `http://${elsewhere.host}${path}` : `http://localhost:${port}/moved${path}`;
          void host;
          res.writeHead(307, { location: to }).end();
          return true;
        }
        return false;
      });
      const result = await copyFrom(source, { sourceCredentials: { username: 'u', password } });
      assertRefused(result, source, [/app@sha256:/]);
      assert.ok(elsewhere.requests.length > 0 || source.requests.some((r) => r.path.startsWith('/moved')), 'a redirect was followed');
      assert.ok(elsewhere.requests.every((r) => !r.authorization), 'no Authorization to another port');
      assert.ok(source.requests.filter((r) => r.path.startsWith('/moved')).every((r) => !r.authorization), 'no Authorization to another host name');
      await assertNothingWritten();
    });

    it('https -> http is refused (redirect policy of an https registry client)', async () => {
      // Loopback registries are spoken to over http, so the https side is the client's own policy: a
      // client for an https registry must refuse http (and ftp) redirect targets before connecting.
      const client = new RegistryClient({ registry: 'registry.example.com', logger: silentLogger });
      try {
        const check = (url: string) => (client as unknown as { checkUrl(url: URL, what: string): void }).checkUrl(new URL(url), 'GET blob app@sha256:x');
        assert.throws(() => check('http://127.0.0.1:9/blob'), /registry registry\.example\.com sent GET blob app@sha256:x to http:\/\/127\.0\.0\.1:9; refusing \(only https is followed\)/);
        assert.throws(() => check('ftp://registry.example.com/blob'), /to ftp:\/\/registry\.example\.com; refusing/);
        check('https://storage.example.net/blob');
      } finally {
        client.close();
      }
    });
  });

  describe('the bundled PromoteContainer task, run as the agent does', () => {
    it('fails on a referrers entry "prod", names the server, writes no tag, stays small', async function () {
      const image = honestImage('task-prod');
      const source = await hostile(image.manifest);
      for (const [digest, bytes] of image.blobs) source.blobs.set(digest, bytes);
      source.referrers.set(image.digest, json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: 'prod', size: 10 }] }));
      const result = await promote(this.test!.title, source);
      assertTaskFailed(result, source, [/invalid digest "prod"/]);
      await assertNothingWritten();
    });

    it('fails on an index child "../../../other/manifests/pwned"', async function () {
      const index = json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: '../../../other/manifests/pwned', size: 10 }] });
      const source = await hostile(index, undefined, OCI_INDEX);
      const result = await promote(this.test!.title, source);
      assertTaskFailed(result, source, [/invalid digest/, /app:v1/]);
      await assertNothingWritten();
    });

    it('fails on a dripped manifest at networkTimeoutSeconds (5 s)', async function () {
      const image = honestImage('task-drip');
      const source = await hostile(image.manifest, (req, res, path) => {
        if (!path.endsWith('/manifests/v1') || req.method !== 'GET') return false;
        res.writeHead(200, { 'content-type': OCI_MANIFEST, 'content-length': image.manifest.length });
        let at = 0;
        const timer = setInterval(() => (res.destroyed || at >= image.manifest.length ? clearInterval(timer) : res.write(image.manifest.subarray(at, ++at))), 1000);
        res.on('close', () => clearInterval(timer));
        return true;
      });
      const result = await promote(this.test!.title, source);
      assertTaskFailed(result, source, [/GET manifest app:v1 did not complete within its 5s deadline/, /stalled/], 30_000);
      await assertNothingWritten();
    });

    it('fails on an 800-child index with a small peak RSS', async function () {
      const children = Array.from({ length: 800 }, (_, i) => ({ mediaType: OCI_MANIFEST, digest: sha(Buffer.from(`child ${i}`)), size: 500, platform: { os: 'linux', architecture: `arch${i}` } }));
      const source = await hostile(json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: children }), undefined, OCI_INDEX);
      const result = await promote(this.test!.title, source);
      assertTaskFailed(result, source, [/800 manifests/]);
      await assertNothingWritten();
    });

    it('fails on a 25,000-layer manifest with a small peak RSS', async function () {
      const image = honestImage('task-layers');
      const layers = Array.from({ length: 25_000 }, (_, i) => ({ mediaType: OCI_LAYER, digest: sha(Buffer.from(`layer ${i}`)), size: 1000 + i }));
      const source = await hostile(json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc(OCI_CONFIG, image.config), layers }));
      const result = await promote(this.test!.title, source);
      assertTaskFailed(result, source, [/25000 layers/]);
      await assertNothingWritten();
    });

    it('fails on a blob redirected to ftp:// without connecting to it', async function () {
      const image = honestImage('task-ftp');
      const ftp = await startListener();
      stops.push(ftp.stop);
      const source = await hostile(image.manifest, (req, res, path) => {
        if (!/\/blobs\/sha256:/.test(path) || req.method !== 'GET') return false;
        res.writeHead(302, { location: `ftp://127.0.0.1:${ftp.port}/x` }).end();
        return true;
      });
      const result = await promote(this.test!.title, source);
      assertTaskFailed(result, source, [/ftp:\/\//, /refusing/]);
      assert.equal(ftp.connections, 0);
      await assertNothingWritten();
    });

    it('fails on a stalled blob within the deadline, not after 5 x 120 s', async function () {
      const image = honestImage('task-stall');
      const layerDigest = sha(image.layer);
      const source = await hostile(image.manifest, (req, res, path) => {
        if (!path.endsWith(`/blobs/${layerDigest}`) || req.method !== 'GET') return false;
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': image.layer.length });
        res.write(image.layer.subarray(0, 100));
        return true;
      });
      source.blobs.set(sha(image.config), image.config);
      const result = await promote(this.test!.title, source);
      assertTaskFailed(result, source, [new RegExp(layerDigest), /stalled/], 30_000);
      await assertNothingWritten();
    });

    it('rejects networkTimeoutSeconds out of range, naming the input', async function () {
      const source = await hostile(honestImage('input').manifest);
      const { run } = await promote(this.test!.title, source, { networkTimeoutSeconds: '0' });
      assert.equal(run.result, 'Failed');
      assert.match(run.message ?? '', /networkTimeoutSeconds.*5 to 86400/);
      assert.equal(source.requests.length, 0, 'nothing was contacted');
    });
  });

  it('CLI: promote --network-timeout 5 fails on a stalled source, naming it; a bad --network-timeout is a usage error', async () => {
    const source = await hostile(Buffer.alloc(0), (req, res, path) => path.endsWith('/manifests/v1'));
    const cli = (...args: string[]) => runProcess(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'promote', '--source', `${source.host}/app:v1`,
      '--target-registry', target.host, '--target-repository', 'cli/app', '--no-verify', ...args], { env: { PATH: process.env.PATH }, timeoutMs: 60_000 });
    const started = Date.now();
    const stalled = await cli('--network-timeout', '5');
    assert.notEqual(stalled.code, 0);
    assert.match(stalled.stderr, new RegExp(`registry ${source.host.replace(/\./g, '\\.')}: GET manifest app:v1 did not complete within its 5s deadline`));
    assert.ok(Date.now() - started < 20_000, `within 20 s (took ${Date.now() - started} ms)`);
    const bad = await cli('--network-timeout', 'soon');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--network-timeout must be a whole number of seconds from 5 to 86400/);
    await assertNothingWritten();
  });

  it('structurally: manifests are PUT by digest only when the bytes hash to it, and by tag only with a valid tag', async () => {
    const client = new RegistryClient({ registry: target.host, logger: silentLogger, actions: 'pull,push' });
    try {
      const bytes = honestImage('structural').manifest;
      for (const reference of ['prod', '../../../other/manifests/pwned', sha(Buffer.from('other bytes'))]) {
        await assert.rejects(client.putManifestByDigest('structural/app', reference as Digest, bytes, OCI_MANIFEST), /refusing to PUT manifest structural\/app@.*not the digest of its bytes/);
      }
      await assert.rejects(client.putManifestAtTag('structural/app', '../pwned', bytes, OCI_MANIFEST), /not a valid tag/);
      await assert.rejects(client.putManifestAtTag('structural/app', sha(bytes), bytes, OCI_MANIFEST), /not a valid tag/);
    } finally {
      client.close();
    }
    await assertNothingWritten();
  });

  it('a registry addressed as [::ffff:127.0.0.1] is loopback: plain HTTP, like 127.0.0.1 (item 9)', async () => {
    const image = honestImage('mapped');
    const source = await hostile(image.manifest);
    for (const [digest, bytes] of image.blobs) source.blobs.set(digest, bytes);
    const port = source.host.split(':')[1];
    const resolved = await resolvePromotion({
      source: parseImageReference(`[::ffff:127.0.0.1]:${port}/app:v1`), target: parseImageReference(`${target.host}/mapped/app:v1`), logger: silentLogger, networkTimeoutSeconds: 5,
    });
    assert.equal(resolved.digest, image.digest);
    assert.deepEqual(resolved.platforms, ['linux/amd64']);
  });

  it('the resolve step names the server and the object on a malformed manifest', async () => {
    const source = await hostile(json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, digest: 'sha256:nope', size: 2 }, layers: [] }));
    const error = await resolvePromotion({
      source: parseImageReference(`${source.host}/app:v1`), target: parseImageReference(`${target.host}/malformed/app:v1`), logger: silentLogger, networkTimeoutSeconds: 3,
    }).then(() => undefined, (e: Error) => e);
    assert.ok(error instanceof GitopsError);
    assert.match(error.message, new RegExp(`${source.host.replace(/\./g, '\\.')}/app:v1 config has the invalid digest "sha256:nope"`));
  });
});
