import { createHash } from 'node:crypto';
import { GitopsError } from '../errors';

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

export interface Descriptor {
  mediaType: string;
  digest: string;
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
  raw: Record<string, unknown>;
}

export const sha256Digest = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Digests are checked with their own algorithm: sha256 (required) or sha512. */
export function digestOf(bytes: Buffer, algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

export function platformText(platform: PlatformSpec | undefined): string {
  if (!platform) return 'unknown';
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

function descriptor(value: unknown, where: string): Descriptor {
  const d = value as Descriptor;
  if (!d || typeof d.digest !== 'string' || typeof d.size !== 'number' || typeof d.mediaType !== 'string') {
    throw new GitopsError(`${where} has a malformed descriptor (needs mediaType, digest and size)`);
  }
  return d;
}

/** Reads what a copy needs from manifest bytes, without changing them. */
export function parseManifest(bytes: Buffer, contentType: string | undefined, where: string): ParsedManifest {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new GitopsError(`${where} is not valid JSON`, { cause: error });
  }
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
  if (isIndexType(mediaType)) {
    const list = Array.isArray(raw.manifests) ? raw.manifests : [];
    return { mediaType, manifests: list.map((m, i) => descriptor(m, `${where} manifests[${i}]`)), blobs: [], raw };
  }
  if (isImageManifestType(mediaType)) {
    const config = descriptor(raw.config, `${where} config`);
    const layers = (Array.isArray(raw.layers) ? raw.layers : []).map((l, i) => descriptor(l, `${where} layers[${i}]`));
    return { mediaType, manifests: [], blobs: [config, ...layers], config, raw };
  }
  throw new GitopsError(`${where} has the unsupported media type "${mediaType || 'none'}"`, {
    hint: `supported: ${Object.values(MEDIA_TYPES).join(', ')}`,
  });
}
