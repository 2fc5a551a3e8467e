import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { GitopsError } from '../../../tasks/core/errors';
import { runProcess } from '../../../tasks/core/exec';
import { silentLogger } from '../../../tasks/core/logger';
import { copyImage, TransferQueue } from '../../../tasks/core/registry/copy';
import { parseImageReference } from '../../../tasks/core/registry/reference';
import { startFaultProxy } from '../../support/faultProxy';
import { buildOciLayout, manifestDigest, seedImage, skopeoInspectRaw, type OciImage } from '../../support/ociImage';
import { startRegistry, type TestRegistry } from '../../support/registry';
import { tempDir } from '../../support/tmp';

const ref = parseImageReference;

describe('blob transfer scheduling', () => {
  it('starts waiting transfers largest first and never runs more than the limit at once', async () => {
    const queue = new TransferQueue(2);
    const started: number[] = [];
    let running = 0;
    let most = 0;
    const transfer = (size: number) => queue.run(size, async () => {
      started.push(size);
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
    });
    await Promise.all([10, 1, 500, 30, 7000, 2].map(transfer));
    assert.deepEqual(started, [10, 1, 7000, 500, 30, 2]);
    assert.equal(most, 2);
  });
});

interface StorageRequest { path: string; authorization: boolean }

/** The blob `digest` of `repo` from the registry itself, with its credentials. */
function fetchBlob(registry: TestRegistry, repo: string, digest: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const [host, port] = registry.host.split(':');
    const auth = `Basic ${Buffer.from(`${registry.username}:${registry.password}`).toString('base64')}`;
    request({ host, port, path: `/v2/${repo}/blobs/${digest}`, headers: { authorization: auth } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`storage fetch: HTTP ${res.statusCode}`))));
    }).on('error', reject).end();
  });
}

/**
 * Blob storage on another host, as ACR, ECR or Docker Hub redirect to: answers
 * `GET /storage/<repo>/<digest>` with a chunked body written in awkward pieces (chunk-size lines
 * and CRLFs split across packets). Raw sockets, optionally TLS, and it records every request.
 */
async function startStorage(registry: TestRegistry, tls?: { key: string; cert: string }): Promise<{ origin: string; requests: StorageRequest[]; stop(): Promise<void> }> {
  const requests: StorageRequest[] = [];
  const sockets = new Set<Socket>();
  const pause = () => new Promise((resolve) => setTimeout(resolve, 1));
  const serve = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    let head = '';
    socket.on('data', async (data: Buffer) => {
      head += data.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const [requestLine, ...lines] = head.split('\r\n\r\n')[0].split('\r\n');
      const path = requestLine.split(' ')[1];
      requests.push({ path, authorization: lines.some((line) => /^authorization:/i.test(line)) });
      const match = /^\/storage\/(.+)\/(sha256:[0-9a-f]{64})$/.exec(path);
      if (!match) return socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      const blob = await fetchBlob(registry, match[1], match[2]);
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n');
      const sizes = [1, 4093, 65_536, 7, 200_003];
      for (let at = 0, i = 0; at < blob.length; i++) {
        const piece = blob.subarray(at, at + sizes[i % sizes.length]);
        at += piece.length;
        const sizeLine = `${piece.length.toString(16)}\r\n`;
        socket.write(sizeLine.slice(0, 1));
        await pause();
        socket.write(Buffer.concat([Buffer.from(sizeLine.slice(1)), piece, Buffer.from('\r')]));
        await pause();
        socket.write('\n');
      }
      socket.end('0\r\n\r\n');
    });
  };
  const server: TcpServer = tls ? createTlsServer({ key: tls.key, cert: tls.cert }, serve) : createTcpServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`,
    requests,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A registry front that redirects blob GETs to storage and passes everything else to the registry. */
async function startRedirectingFront(registry: TestRegistry, storageOrigin: string): Promise<{ host: string; authorizedRequests: number; stop(): Promise<void> }> {
  const [host, port] = registry.host.split(':');
  const front = { host: '', authorizedRequests: 0, stop: async () => {} };
  const server: Server = createServer((req: IncomingMessage, res) => {
    if (req.headers.authorization) front.authorizedRequests++;
    const blob = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(req.url ?? '');
    if (req.method === 'GET' && blob) {
      res.writeHead(307, { location: `${storageOrigin}/storage/${blob[1]}/${blob[2]}` });
      res.end();
      return;
    }
    const upstream = request({ host, port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  front.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  front.stop = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return front;
}

/** copyImage in a child process with this environment (e.g. NODE_EXTRA_CA_CERTS, read at startup). */
function copyInChild(source: string, target: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const script = `
    const { copyImage } = require(${JSON.stringify(join(__dirname, '../../../tasks/core/registry/copy'))});
    const { parseImageReference } = require(${JSON.stringify(join(__dirname, '../../../tasks/core/registry/reference'))});
    const { silentLogger } = require(${JSON.stringify(join(__dirname, '../../../tasks/core/logger'))});
    copyImage({ source: parseImageReference(process.argv[1]), target: parseImageReference(process.argv[2]), logger: silentLogger, sourceCredentials: JSON.parse(process.env.SOURCE_CREDENTIALS) })
      .then((result) => console.log(result.digest), (error) => { console.error(error.message); process.exit(1); });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script, source, target], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('blob downloads redirected to storage on another host', function () {
  this.timeout(90_000);
  let image: OciImage;
  let source: TestRegistry;
  let target: TestRegistry;
  let tls: { key: string; cert: string; certPath: string };
  const stops: (() => Promise<void>)[] = [];

  before(async () => {
    const dir = tempDir();
    const [keyPath, certPath] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    const made = await runProcess('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath,
      '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost']);
    if (made.code !== 0) throw new Error(`openssl failed: ${made.stderr}`);
    tls = { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8'), certPath };
    image = await buildOciLayout(tempDir(), { layersPerPlatform: 2, layerBytes: 700 * 1024, seed: 'redirect' });
    [source, target] = await Promise.all([startRegistry({ auth: 'htpasswd' }), startRegistry()]);
    await seedImage(image.dir, `${source.host}/app:v1`, { creds: { username: source.username!, password: source.password! } });
  });

  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  after(async () => {
    await Promise.all([source, target].map((r) => r?.stop()));
  });

  const credentials = () => ({ username: source.username!, password: source.password! });

  it('follows the redirect without sending Authorization to the storage host, and reads its chunked answers', async () => {
    const storage = await startStorage(source);
    const front = await startRedirectingFront(source, storage.origin);
    stops.push(front.stop, storage.stop);
    const result = await copyImage({ source: ref(`${front.host}/app:v1`), target: ref(`${target.host}/redirected/app:v1`), sourceCredentials: credentials(), logger: silentLogger });
    assert.equal(result.digest, image.rootDigest);
    assert.equal(result.blobsUploaded, image.blobDigests.length);
    assert.ok(front.authorizedRequests > 0, 'the registry host got the credentials');
    assert.equal(storage.requests.length, image.blobDigests.length);
    assert.deepEqual(storage.requests.filter((r) => r.authorization), []);
    assert.equal(await skopeoInspectRaw(`${target.host}/redirected/app:v1`), await skopeoInspectRaw(`${source.host}/app:v1`, credentials()));
    for (const manifest of image.manifests) {
      assert.equal(manifestDigest(await skopeoInspectRaw(`${target.host}/redirected/app@${manifest.digest}`)), manifest.digest);
    }
  });

  it('refuses a storage host whose TLS certificate is not trusted, and writes no tag', async () => {
    const storage = await startStorage(source, tls);
    const front = await startRedirectingFront(source, storage.origin);
    stops.push(front.stop, storage.stop);
    await assert.rejects(
      copyImage({ source: ref(`${front.host}/app:v1`), target: ref(`${target.host}/untrusted/app:v1`), sourceCredentials: credentials(), logger: silentLogger }),
      (error: unknown) => error instanceof GitopsError && error.message.includes(`registry ${front.host}`) && /certificate/i.test(error.message),
    );
    assert.equal(storage.requests.length, 0, 'no request went over the untrusted connection');
    await assert.rejects(skopeoInspectRaw(`${target.host}/untrusted/app:v1`), /manifest unknown|name unknown/i);
  });

  it('downloads over TLS from a storage host whose CA the agent trusts (NODE_EXTRA_CA_CERTS)', async () => {
    const storage = await startStorage(source, tls);
    const front = await startRedirectingFront(source, storage.origin);
    stops.push(front.stop, storage.stop);
    const run = await copyInChild(`${front.host}/app:v1`, `${target.host}/tls/app:v1`, {
      NODE_EXTRA_CA_CERTS: tls.certPath, SOURCE_CREDENTIALS: JSON.stringify(credentials()),
    });
    assert.equal(run.code, 0, run.output);
    assert.equal(run.output.trim(), image.rootDigest);
    assert.equal(storage.requests.length, image.blobDigests.length);
    assert.equal(await skopeoInspectRaw(`${target.host}/tls/app:v1`), await skopeoInspectRaw(`${source.host}/app:v1`, credentials()));
  });
});

describe('chunked blob uploads', function () {
  this.timeout(60_000);
  let image: OciImage;
  let source: TestRegistry;
  let target: TestRegistry;

  before(async () => {
    image = await buildOciLayout(tempDir(), { layersPerPlatform: 2, layerBytes: 300 * 1024, seed: 'lost-answer', singleManifest: true });
    [source, target] = await Promise.all([startRegistry(), startRegistry()]);
    await seedImage(image.dir, `${source.host}/app:v1`);
  });

  after(async () => {
    await Promise.all([source, target].map((r) => r?.stop()));
  });

  it('completes when the registry committed a blob but the answer to the commit was lost', async () => {
    const manifest = JSON.parse(await skopeoInspectRaw(`${source.host}/app:v1`)) as { layers: { digest: string; size: number }[] };
    const layer = manifest.layers[0];
    assert.ok(layer.size > 128 * 1024, 'the layer goes up in PATCH chunks');
    // The commit is the PUT with the layer's digest; seed 5 cuts the connection after forwarding it, so the registry commits.
    const proxy = await startFaultProxy({ target: target.host, seed: 5, resets: { count: 1, probability: 1, match: new RegExp(`^PUT .*digest=sha256(:|%3A)${layer.digest.split(':')[1]}`) } });
    try {
      const result = await copyImage({ source: ref(`${source.host}/app:v1`), target: ref(`${proxy.host}/lost/app:v1`), chunkSize: 128 * 1024, logger: silentLogger });
      assert.equal(result.digest, image.rootDigest);
      assert.ok(proxy.requests.some((r) => r.fault === 'reset' && r.status === 201), 'the commit went through and its answer was cut');
      assert.equal(await skopeoInspectRaw(`${target.host}/lost/app:v1`), await skopeoInspectRaw(`${source.host}/app:v1`));
    } finally {
      await proxy.stop();
    }
  });
});
