/**
 * Deterministic OCI image layouts for registry tests and benchmarks, and skopeo helpers.
 *
 *   const image = await buildOciLayout(tempDir(), { layersPerPlatform: 3, layerBytes: 512 * 1024 });
 *   //   two platforms (linux/amd64, linux/arm64) behind an OCI index tagged image.tag ('v1');
 *   //   layer 0 is shared by both platforms; layers are tar+gzip of seeded random (incompressible) bytes.
 *   await seedImage(image.dir, `${registry.host}/app:v1`, { creds });   // skopeo copy --all
 *   const raw = await skopeoInspectRaw(`${registry.host}/app:v1`, creds); // the registry's bytes
 *
 * Options: `platforms`, `singleManifest` (the tag points at one platform's manifest, no index),
 * `seed` (same seed + options = same digests), `tag`. `ensureOciLayout(dir, spec)` builds once and
 * reuses the layout while the spec is unchanged (benchmark cache).
 * `pushReferrerTagFallback` stores a small signature-like artifact whose `subject` is a manifest and
 * the OCI referrers tag fallback `sha256-<hex>` (an index listing it), with plain HTTP, no auth.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { runProcess } from '../../tasks/core/exec';

export interface Platform { os: string; architecture: string; variant?: string }

export interface OciImageSpec {
  platforms?: Platform[];
  layersPerPlatform?: number;
  layerBytes?: number;
  singleManifest?: boolean;
  seed?: string;
  tag?: string;
}

export interface OciImage {
  dir: string;
  tag: string;
  /** Digest and media type of what the tag points at (index, or manifest when singleManifest). */
  rootDigest: string;
  rootMediaType: string;
  manifests: { platform: Platform; digest: string; size: number }[];
  blobDigests: string[];
  /** Sum of all distinct blob sizes (compressed). */
  blobBytes: number;
}

export interface SkopeoCreds { username: string; password: string }

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(512);
  const put = (text: string, offset: number, length: number) => header.write(text.slice(0, length), offset, 'ascii');
  const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, '0');
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  header.fill(' ', 148, 156);
  put('0', 156, 1);
  put('ustar\u000000', 257, 8);
  let checksum = 0;
  for (const byte of header) checksum += byte;
  put(`${octal(checksum, 7)}\u0000 `, 148, 8);
  return header;
}

/** One-file tar stream whose content is AES-CTR keystream of the seed: deterministic, incompressible. */
async function* layerTar(seed: string, bytes: number): AsyncGenerator<Buffer> {
  yield tarHeader(`data/${sha256(seed).slice(0, 16)}.bin`, bytes);
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  const zeros = Buffer.alloc(1024 * 1024);
  for (let left = bytes; left > 0; left -= zeros.length) {
    yield cipher.update(left >= zeros.length ? zeros : zeros.subarray(0, left));
  }
  yield Buffer.alloc((512 - (bytes % 512)) % 512 + 1024);
}

function hashing(hash: ReturnType<typeof createHash>, counter: { bytes: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      counter.bytes += chunk.length;
      done(null, chunk);
    },
  });
}

async function writeLayer(blobsDir: string, seed: string, bytes: number) {
  const diff = createHash('sha256');
  const compressed = createHash('sha256');
  const size = { bytes: 0 };
  const temp = join(blobsDir, `tmp-${sha256(seed)}`);
  await pipeline(Readable.from(layerTar(seed, bytes)), hashing(diff, { bytes: 0 }), createGzip({ level: 1 }),
    hashing(compressed, size), createWriteStream(temp));
  const hex = compressed.digest('hex');
  renameSync(temp, join(blobsDir, hex));
  return { digest: `sha256:${hex}`, size: size.bytes, diffId: `sha256:${diff.digest('hex')}` };
}

function writeJsonBlob(blobsDir: string, value: object) {
  const bytes = Buffer.from(JSON.stringify(value));
  const hex = sha256(bytes);
  writeFileSync(join(blobsDir, hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length, bytes };
}

const platformText = (p: Platform) => [p.os, p.architecture, p.variant].filter(Boolean).join('/');

export async function buildOciLayout(dir: string, spec: OciImageSpec = {}): Promise<OciImage> {
  const platforms = spec.platforms ?? [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }];
  const layers = spec.layersPerPlatform ?? 2;
  const layerBytes = spec.layerBytes ?? 256 * 1024;
  const seed = spec.seed ?? 'test-image';
  const tag = spec.tag ?? 'v1';
  const blobsDir = join(dir, 'blobs', 'sha256');
  mkdirSync(blobsDir, { recursive: true });
  const blobs = new Map<string, number>();
  const manifests: OciImage['manifests'] = [];
  const shared = await writeLayer(blobsDir, `${seed}/base`, layerBytes);
  const written: { platform: Platform; desc: { digest: string; size: number } }[] = [];
  for (const platform of spec.singleManifest ? platforms.slice(0, 1) : platforms) {
    const layerDescs = [shared];
    for (let i = 1; i < layers; i++) layerDescs.push(await writeLayer(blobsDir, `${seed}/${platformText(platform)}/${i}`, layerBytes));
    const config = writeJsonBlob(blobsDir, {
      created: '2024-01-01T00:00:00Z', ...platform, config: { Env: ['PATH=/usr/bin'] },
      rootfs: { type: 'layers', diff_ids: layerDescs.map((l) => l.diffId) },
    });
    const manifest = writeJsonBlob(blobsDir, {
      schemaVersion: 2, mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.size },
      layers: layerDescs.map((l) => ({ mediaType: OCI_LAYER, digest: l.digest, size: l.size })),
    });
    for (const b of [config, ...layerDescs]) blobs.set(b.digest, b.size);
    manifests.push({ platform, digest: manifest.digest, size: manifest.size });
    written.push({ platform, desc: manifest });
  }
  let root: { digest: string; size: number; mediaType: string };
  if (spec.singleManifest) {
    root = { ...written[0].desc, mediaType: OCI_MANIFEST };
  } else {
    const index = writeJsonBlob(blobsDir, {
      schemaVersion: 2, mediaType: OCI_INDEX,
      manifests: written.map((w) => ({ mediaType: OCI_MANIFEST, digest: w.desc.digest, size: w.desc.size, platform: w.platform })),
    });
    root = { digest: index.digest, size: index.size, mediaType: OCI_INDEX };
  }
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: root.mediaType, digest: root.digest, size: root.size, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }));
  return {
    dir, tag, rootDigest: root.digest, rootMediaType: root.mediaType, manifests,
    blobDigests: [...blobs.keys()], blobBytes: [...blobs.values()].reduce((a, b) => a + b, 0),
  };
}

/** Builds the layout into `dir` unless `dir` already holds one built from the same spec. */
export async function ensureOciLayout(dir: string, spec: OciImageSpec): Promise<OciImage> {
  const marker = join(dir, 'built-from.json');
  const specText = JSON.stringify(spec);
  if (existsSync(marker)) {
    const cached = JSON.parse(readFileSync(marker, 'utf8')) as { spec: string; image: OciImage };
    if (cached.spec === specText) return cached.image;
  }
  const image = await buildOciLayout(dir, spec);
  writeFileSync(marker, JSON.stringify({ spec: specText, image }));
  return image;
}

/** `skopeo copy --all` from the layout's tag to `ref` (host/repo:tag) over plain HTTP. */
export async function seedImage(layoutDir: string, ref: string, options: { creds?: SkopeoCreds; format?: 'v2s2' | 'oci'; tag?: string } = {}): Promise<void> {
  const tag = options.tag ?? JSON.parse(readFileSync(join(layoutDir, 'index.json'), 'utf8')).manifests[0].annotations['org.opencontainers.image.ref.name'];
  const args = ['copy', '--all', '--dest-tls-verify=false'];
  if (options.format) args.push('--format', options.format);
  if (options.creds) args.push('--dest-creds', `${options.creds.username}:${options.creds.password}`);
  args.push(`oci:${layoutDir}:${tag}`, `docker://${ref}`);
  const result = await runProcess('skopeo', args, { timeoutMs: 120_000 });
  if (result.code !== 0) throw new Error(`skopeo copy to ${ref} failed: ${result.stderr}`);
}

/** The manifest bytes the registry serves for `ref`, as skopeo sees them (the independent judge). */
export async function skopeoInspectRaw(ref: string, creds?: SkopeoCreds): Promise<string> {
  const args = ['inspect', '--raw', '--tls-verify=false'];
  if (creds) args.push('--creds', `${creds.username}:${creds.password}`);
  args.push(`docker://${ref}`);
  const result = await runProcess('skopeo', args, { timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`skopeo inspect ${ref} failed: ${result.stderr.trim()}`);
  return result.stdout;
}

export const manifestDigest = (raw: string | Buffer) => `sha256:${sha256(raw)}`;

async function httpOk(response: Response, what: string): Promise<Response> {
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status} ${await response.text()}`);
  return response;
}

async function pushBlob(base: string, repo: string, bytes: Buffer): Promise<{ digest: string; size: number }> {
  const digest = `sha256:${sha256(bytes)}`;
  const started = await httpOk(await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' }), 'start upload');
  const location = new URL(started.headers.get('location')!, base);
  location.searchParams.set('digest', digest);
  await httpOk(await fetch(location, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } }), 'put blob');
  return { digest, size: bytes.length };
}

async function pushManifest(base: string, repo: string, reference: string, mediaType: string, bytes: Buffer): Promise<void> {
  await httpOk(await fetch(`${base}/v2/${repo}/manifests/${reference}`, { method: 'PUT', body: bytes, headers: { 'content-type': mediaType } }), `put manifest ${reference}`);
}

/**
 * Stores a signature-like artifact for `subject` in host/repo and the referrers tag fallback
 * `sha256-<hex>` pointing at an index that lists it (what registries without the referrers API use).
 */
export async function pushReferrerTagFallback(host: string, repo: string, subject: { digest: string; size: number; mediaType: string }, payload = 'signed-by-test'):
  Promise<{ artifactDigest: string; fallbackTag: string; fallbackIndexDigest: string }> {
  const base = `http://${host}`;
  const empty = await pushBlob(base, repo, Buffer.from('{}'));
  const layer = await pushBlob(base, repo, Buffer.from(payload));
  const artifactType = 'application/vnd.example.signature.v1';
  const artifact = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', ...empty },
    layers: [{ mediaType: 'application/vnd.example.signature.payload', ...layer }],
    subject,
  }));
  const artifactDigest = `sha256:${sha256(artifact)}`;
  await pushManifest(base, repo, artifactDigest, OCI_MANIFEST, artifact);
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_INDEX,
    manifests: [{ mediaType: OCI_MANIFEST, digest: artifactDigest, size: artifact.length, artifactType }],
  }));
  const fallbackTag = subject.digest.replace(':', '-');
  await pushManifest(base, repo, fallbackTag, OCI_INDEX, index);
  return { artifactDigest, fallbackTag, fallbackIndexDigest: `sha256:${sha256(index)}` };
}
