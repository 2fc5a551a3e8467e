import { createHash } from 'node:crypto';
import { GitopsError } from '../errors';
import { isDigest, type Digest } from './reference';

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

/** Accept header for manifest GET/HEAD: without it distribution answers 404 for an OCI index. */
export const MANIFEST_ACCEPT = Object.values(MEDIA_TYPES).join(', ');

export const isIndexType = (mediaType: string) => mediaType === MEDIA_TYPES.ociIndex || mediaType === MEDIA_TYPES.dockerList;
export const isImageManifestType = (mediaType: string) => mediaType === MEDIA_TYPES.ociManifest || mediaType === MEDIA_TYPES.dockerManifest;

export interface PlatformSpec { os: string; architecture: string; variant?: string }

/**
 * Counts a copy accepts from a server, so a hostile or broken manifest costs bounded memory and time.
 * Real images have a few dozen platforms (with attestations) and at most ~127 layers (overlayfs).
 */
export const LIMITS = { indexChildren: 256, layers: 512, referrers: 256 } as const;

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  platform?: PlatformSpec;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ParsedManifest {
  mediaType: string;
  /** Child manifests of an index. */
  manifests: Descriptor[];
  /** Config + layers of an image manifest. */
  blobs: Descriptor[];
  config?: Descriptor;
  /** The manifest this one refers to (signatures, SBOMs). */
  subject?: Descriptor;
  raw: Record<string, unknown>;
}

export const sha256Digest = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;

/** Digests are checked with their own algorithm: sha256 (required) or sha512. */
export function digestOf(bytes: Buffer, algorithm: 'sha256' | 'sha512' = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}` as Digest;
}

export const digestAlgorithm = (digest: Digest) => digest.slice(0, digest.indexOf(':')) as 'sha256' | 'sha512';

export function platformText(platform: PlatformSpec | undefined): string {
  if (!platform) return 'unknown';
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A descriptor from a server, checked field by field: its digest becomes part of URLs. */
export function descriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value) || typeof value.mediaType !== 'string' || value.digest === undefined || value.size === undefined) {
    throw new GitopsError(`${where} has a malformed descriptor (needs mediaType, digest and size)`);
  }
  if (!isDigest(value.digest)) {
    throw new GitopsError(`${where} has the invalid digest ${JSON.stringify(String(value.digest).slice(0, 80))}; refusing it`, {
      hint: 'a digest is sha256:<64 lowercase hex> or sha512:<128 lowercase hex>; the registry serves a corrupt or hostile manifest',
    });
  }
  if (typeof value.size !== 'number' || !Number.isSafeInteger(value.size) || value.size < 0) {
    throw new GitopsError(`${where} has the invalid size ${JSON.stringify(value.size)} for ${value.digest}`);
  }
  const platform = value.platform;
  if (platform !== undefined && (!isObject(platform) || typeof platform.os !== 'string' || typeof platform.architecture !== 'string'
    || (platform.variant !== undefined && typeof platform.variant !== 'string'))) {
    throw new GitopsError(`${where} has a malformed platform for ${value.digest} (needs os and architecture strings)`);
  }
  if (value.artifactType !== undefined && typeof value.artifactType !== 'string') throw new GitopsError(`${where} has a malformed artifactType`);
  return value as unknown as Descriptor;
}

function descriptorList(value: unknown, where: string, field: string, limit: number): Descriptor[] {
  if (!Array.isArray(value)) throw new GitopsError(`${where} has no ${field} list`);
  if (value.length > limit) {
    throw new GitopsError(`${where} lists ${value.length} ${field}, more than the ${limit} a copy accepts`, {
      hint: 'real images have far fewer; the registry serves a broken or hostile manifest',
    });
  }
  return value.map((item, i) => descriptor(item, `${where} ${field}[${i}]`));
}

/** A referrers API answer: an index whose manifests list the referrers (possibly none). */
export function parseReferrers(bytes: Buffer, where: string): Descriptor[] {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new GitopsError(`${where} is not valid JSON`, { cause: error });
  }
  if (!isObject(raw)) throw new GitopsError(`${where} is ${raw === null ? 'null' : typeof raw}, not an index`);
  return descriptorList(raw.manifests ?? [], where, 'manifests', LIMITS.referrers);
}

/** Reads what a copy needs from manifest bytes, without changing them. */
export function parseManifest(bytes: Buffer, contentType: string | undefined, where: string): ParsedManifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new GitopsError(`${where} is not valid JSON`, { cause: error });
  }
  if (!isObject(parsed)) throw new GitopsError(`${where} is ${parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : typeof parsed}, not a manifest`);
  const raw = parsed;
  const declared = typeof raw.mediaType === 'string' ? raw.mediaType : undefined;
  const headerType = contentType?.split(';')[0].trim();
  let mediaType = declared ?? headerType ?? '';
  // OCI manifests may omit mediaType: tell index from image by their fields.
  if (!isIndexType(mediaType) && !isImageManifestType(mediaType)) {
    if (Array.isArray(raw.manifests)) mediaType = MEDIA_TYPES.ociIndex;
    else if (raw.config && Array.isArray(raw.layers)) mediaType = MEDIA_TYPES.ociManifest;
  }
  if (raw.schemaVersion === 1 || mediaType.startsWith('application/vnd.docker.distribution.manifest.v1')) {
    throw new GitopsError(`${where} is a Docker schema 1 manifest, which cannot be copied without changing its digest`, {
      hint: 'rebuild and push the image with a current docker or buildx (schema 2 / OCI)',
    });
  }
  const subject = raw.subject === undefined ? undefined : descriptor(raw.subject, `${where} subject`);
  if (isIndexType(mediaType)) {
    return { mediaType, manifests: descriptorList(raw.manifests, where, 'manifests', LIMITS.indexChildren), blobs: [], subject, raw };
  }
  if (isImageManifestType(mediaType)) {
    const config = descriptor(raw.config, `${where} config`);
    const layers = descriptorList(raw.layers ?? [], where, 'layers', LIMITS.layers);
    return { mediaType, manifests: [], blobs: [config, ...layers], config, subject, raw };
  }
  throw new GitopsError(`${where} has the unsupported media type "${mediaType || 'none'}"`, {
    hint: `supported: ${Object.values(MEDIA_TYPES).join(', ')}`,
  });
}
