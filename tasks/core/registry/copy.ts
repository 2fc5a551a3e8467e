import { GitopsError, RegistryError } from '../errors';
import type { Logger } from '../logger';
import type { RegistryCredentials } from './auth';
import { RegistryClient, type ManifestData } from './client';
import { isTransient, retryDelayMs, sleep } from './http';
import { isIndexType, MEDIA_TYPES, parseManifest, platformText, sha256Digest, type Descriptor, type ParsedManifest, type PlatformSpec } from './manifest';
import { formatImageReference, manifestReference, type Digest, type ImageReference } from './reference';

export interface CopyOptions {
  source: ImageReference;
  /** Without tag and digest, the source tag is used. */
  target: ImageReference;
  sourceCredentials?: RegistryCredentials;
  targetCredentials?: RegistryCredentials;
  /** 'all' (default) copies the whole index unchanged; a list like ['linux/amd64'] writes a new index. */
  platforms?: 'all' | string[];
  /** Also copy signatures, SBOMs and other referrers of the image. */
  copyReferrers?: boolean;
  /** Replace a target tag that points at a different digest (refused by default). */
  overwriteTag?: boolean;
  /** Layers transferred at once (default 8); waiting ones start largest first. Small blobs have as many slots of their own. */
  concurrency?: number;
  logger: Logger;
  /** Plain HTTP to non-loopback registries. */
  insecure?: boolean;
  retries?: number;
  /** Blobs larger than this go up in PATCH chunks of this size; smaller ones in one streamed PUT (default 512 MiB). */
  chunkSize?: number;
  userAgent?: string;
  /**
   * Overall deadline in seconds of each network operation, retries included (default 300): one
   * manifest, token or referrers request, or one blob transfer (which gets one more second per MiB).
   */
  networkTimeoutSeconds?: number;
}

/** What a copy would do, found without writing anything: the promotion's resolve step. */
export interface Resolution {
  /** Digest of the source image as it is now. */
  sourceDigest: string;
  /** Digest the target tag would point at (differs from the source when platforms are filtered). */
  digest: string;
  mediaType: string;
  platforms: string[];
  /** The target tag already points at `digest`. */
  alreadyPromoted: boolean;
}

export interface CopyResult {
  /** Digest of what the target tag now points at (differs from the source when platforms were filtered). */
  digest: string;
  mediaType: string;
  /** Blob bytes streamed to the target plus manifest bytes written. */
  bytesCopied: number;
  blobsUploaded: number;
  blobsMounted: number;
  blobsSkipped: number;
  manifestsWritten: number;
  /** The target already had this digest under the tag: nothing was written. */
  alreadyPromoted: boolean;
  referrersCopied: number;
  platforms: string[];
  /** Digest of the source image (equal to `digest` unless platforms were filtered). */
  sourceDigest: string;
}


/** Parallel layer transfers: measured on 2 cores, fewer leave the registries idle between round trips. */
const DEFAULT_CONCURRENCY = 8;
/** Blobs up to this size (configs, tiny layers) cost round trips, not bandwidth: they do not wait behind layers. */
const SMALL_BLOB_BYTES = 1024 * 1024;
/**
 * A blob transfer's deadline grows with its size at this floor throughput (bytes per second), and a
 * download slower than it on average (after networkTimeoutSeconds of grace) fails: a source cannot
 * drip a huge declared layer for days.
 */
const SLOWEST_BLOB_BYTES_PER_SECOND = 1024 * 1024;

interface Counters { bytesCopied: number; blobsUploaded: number; blobsMounted: number; blobsSkipped: number; manifestsWritten: number }

/** Transfer slots for blobs: at most `limit` at once; the largest waiting blob goes next. */
export class TransferQueue {
  private active = 0;
  private readonly waiting: { size: number; start: () => void }[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(size: number, task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((start) => this.waiting.push({ size, start }));
    else this.active++;
    try {
      return await task();
    } finally {
      this.startNext();
    }
  }

  /** Hands the finished task's slot to the largest waiting one. */
  private startNext(): void {
    if (this.waiting.length === 0) {
      this.active--;
      return;
    }
    let largest = 0;
    for (let i = 1; i < this.waiting.length; i++) if (this.waiting[i].size > this.waiting[largest].size) largest = i;
    this.waiting.splice(largest, 1)[0].start();
  }
}

function parsePlatform(text: string): PlatformSpec {
  const [os, architecture, variant] = text.split('/');
  if (!os || !architecture) {
    throw new GitopsError(`platform "${text}" is not os/architecture[/variant]`, { field: 'platforms', hint: 'e.g. linux/amd64 or linux/arm64/v8' });
  }
  return { os, architecture, ...(variant ? { variant } : {}) };
}

const matchesPlatform = (wanted: PlatformSpec, actual: PlatformSpec | undefined) =>
  !!actual && wanted.os === actual.os && wanted.architecture === actual.architecture && (!wanted.variant || wanted.variant === actual.variant);

async function platformsOf(client: RegistryClient, repo: string, manifest: ParsedManifest): Promise<string[]> {
  if (isIndexType(manifest.mediaType)) return manifest.manifests.map((m) => platformText(m.platform));
  const where = `config blob ${client.registry}/${repo}@${manifest.config!.digest}`;
  let config: unknown;
  try {
    config = JSON.parse((await client.getBlob(repo, manifest.config!, 4 * 1024 * 1024)).toString('utf8'));
  } catch (error) {
    if (error instanceof GitopsError) throw error;
    throw new GitopsError(`${where} is not valid JSON`, { cause: error });
  }
  const { os, architecture, variant } = (typeof config === 'object' && config !== null ? config : {}) as Record<string, unknown>;
  if (typeof os !== 'string' || typeof architecture !== 'string') return [];
  return [platformText({ os, architecture, variant: typeof variant === 'string' ? variant : undefined })];
}

/**
 * Resolves a promotion without writing anything: the source's digest and platforms, the digest the
 * target tag would get, and whether it already has it. A tag that would move is refused here too.
 */
export async function resolvePromotion(options: Omit<CopyOptions, 'concurrency' | 'chunkSize' | 'copyReferrers'>): Promise<Resolution> {
  const { from, to } = clients(options);
  try {
    const { sourceDigest, selected, platforms, alreadyPromoted } = await inspect(from, to, options);
    return { sourceDigest, digest: selected.digest, mediaType: selected.manifest.mediaType, platforms, alreadyPromoted };
  } finally {
    from.close();
    to.close();
  }
}

function clients(options: Omit<CopyOptions, 'concurrency' | 'copyReferrers'>): { from: RegistryClient; to: RegistryClient } {
  const common = { insecure: options.insecure, retries: options.retries, userAgent: options.userAgent, chunkSize: options.chunkSize, networkTimeoutSeconds: options.networkTimeoutSeconds, logger: options.logger };
  return {
    from: new RegistryClient({ ...common, registry: options.source.registry, credentials: options.sourceCredentials }),
    to: new RegistryClient({ ...common, registry: options.target.registry, credentials: options.targetCredentials, actions: 'pull,push' }),
  };
}

/**
 * Reads the source (and the platforms kept) and the target tag: the one place that decides what a
 * promotion writes and whether the tag may move. The target tag is looked up alongside the source,
 * so an already-promoted re-run costs one round trip.
 */
async function inspect(from: RegistryClient, to: RegistryClient, options: Omit<CopyOptions, 'concurrency' | 'chunkSize' | 'copyReferrers'>) {
  const { source, target, logger } = options;
  const sourceText = formatImageReference(source);
  const tag = target.tag ?? (target.digest ? undefined : source.tag);
  const targetText = formatImageReference({ ...target, tag });
  const [root, existing] = await Promise.all([
    from.getManifest(source.repository, manifestReference(source)),
    tag ? to.headManifest(target.repository, tag) : Promise.resolve(undefined),
  ]);
  const parsed = parseManifest(root.bytes, root.mediaType, `manifest of ${sourceText}`);
  const selected = selectPlatforms(parsed, root, options.platforms, sourceText);
  const platforms = selected.manifest === parsed ? await platformsOf(from, source.repository, parsed) : selected.manifest.manifests.map((m) => platformText(m.platform));
  if (selected.digest !== root.digest) {
    logger.warn(`copying only ${platforms.join(', ')} of ${sourceText}: the target gets a new index ${selected.digest} (source index is ${root.digest})`);
  }
  if (target.digest && target.digest !== selected.digest) {
    throw new GitopsError(`target ${targetText} names digest ${target.digest}, but the image to copy is ${selected.digest}`, { field: 'target' });
  }
  const existingDigest = existing && (existing.digest ?? (await to.getManifest(target.repository, tag!)).digest);
  const alreadyPromoted = existingDigest === selected.digest;
  if (existingDigest && !alreadyPromoted && !options.overwriteTag) {
    throw new RegistryError('tag-moved', target.registry, `target tag ${targetText} already points at ${existingDigest}, not at ${selected.digest} from ${sourceText}`, {
      field: 'target',
      hint: 'tags in a promotion target should not move; use a new tag, or allow overwriting the tag explicitly',
    });
  }
  return { root, parsed, selected, platforms, alreadyPromoted, sourceDigest: root.digest, tag, sourceText, targetText };
}

/**
 * Copies an image (all platforms, or a subset) between repositories or registries, keeping manifest
 * bytes and digests. Writes blobs, then child manifests, then referrers, and the tag last.
 */
export async function copyImage(options: CopyOptions): Promise<CopyResult> {
  const { source, target, logger } = options;
  const { from, to } = clients(options);
  try {
    logger.info(`copying ${formatImageReference(source)} to ${formatImageReference(target)}`);
    const { root, selected, platforms, alreadyPromoted, tag, sourceText, targetText } = await inspect(from, to, options);

    const result: CopyResult = {
      digest: selected.digest, mediaType: selected.manifest.mediaType, bytesCopied: 0, blobsUploaded: 0, blobsMounted: 0,
      blobsSkipped: 0, manifestsWritten: 0, alreadyPromoted, referrersCopied: 0, platforms, sourceDigest: root.digest,
    };
    if (alreadyPromoted && !options.copyReferrers) {
      logger.info(`${targetText} already is ${selected.digest}: nothing to copy`);
      return result;
    }

    // The referrers list is read (and validated) before anything is written.
    const referrers = options.copyReferrers && selected.digest === root.digest ? await from.getReferrers(source.repository, root.digest) : undefined;
    const copier = new TreeCopier(from, to, source.repository, target.repository, options.concurrency ?? DEFAULT_CONCURRENCY, options.retries ?? 4, logger, result);
    if (!alreadyPromoted) await copier.copyContents(selected.manifest, `${sourceText}`);
    if (options.copyReferrers) {
      if (selected.digest !== root.digest) logger.warn(`referrers of ${root.digest} were not copied: they sign the full index, not the filtered one`);
      else result.referrersCopied = await copier.copyReferrers(root.digest, referrers);
    }
    if (!alreadyPromoted) {
      // The tag goes last, so it never points at an incomplete image. It is the only tag the copy writes
      // (besides the referrers fallback tag derived from the verified digest).
      if (tag) await to.putManifestAtTag(target.repository, tag, selected.bytes, selected.manifest.mediaType);
      else await to.putManifestByDigest(target.repository, selected.digest, selected.bytes, selected.manifest.mediaType);
      result.manifestsWritten++;
      result.bytesCopied += selected.bytes.length;
    }
    logger.info(`copied ${sourceText} to ${targetText} (${selected.digest}): ${result.blobsUploaded} blobs uploaded (${(result.bytesCopied / 1048576).toFixed(1)} MB), ${result.blobsMounted} mounted, ${result.blobsSkipped} already there, ${result.manifestsWritten} manifests written`);
    return result;
  } finally {
    from.close();
    to.close();
  }
}

function selectPlatforms(parsed: ParsedManifest, root: { bytes: Buffer; digest: Digest }, platforms: 'all' | string[] | undefined, sourceText: string):
  { manifest: ParsedManifest; bytes: Buffer; digest: Digest } {
  const unchanged = { manifest: parsed, bytes: root.bytes, digest: root.digest };
  if (!platforms || platforms === 'all' || !isIndexType(parsed.mediaType)) return unchanged;
  const wanted = platforms.map(parsePlatform);
  const missing = wanted.filter((w) => !parsed.manifests.some((m) => matchesPlatform(w, m.platform)));
  if (missing.length > 0) {
    throw new GitopsError(`${sourceText} has no ${missing.map(platformText).join(', ')} image; it has ${parsed.manifests.map((m) => platformText(m.platform)).join(', ')}`, { field: 'platforms' });
  }
  const manifests = parsed.manifests.filter((m) => wanted.some((w) => matchesPlatform(w, m.platform)));
  if (manifests.length === parsed.manifests.length) return unchanged;
  const bytes = Buffer.from(JSON.stringify({ ...parsed.raw, manifests }));
  return { manifest: { ...parsed, manifests, raw: { ...parsed.raw, manifests } }, bytes, digest: sha256Digest(bytes) };
}

/**
 * Copies the manifests and blobs below a manifest, deduplicating blobs. Blobs of all platforms share
 * one TransferQueue (small blobs another); existence checks and manifest fetches have bounded queues
 * of their own, so an index with hundreds of children or a manifest with hundreds of layers costs
 * bounded memory and connections. Every digest used here was validated by parseManifest.
 */
class TreeCopier {
  private readonly blobs = new Map<string, Promise<void>>();
  private readonly manifests = new Map<string, Promise<void>>();
  private readonly transfers: TransferQueue;
  private readonly smallTransfers: TransferQueue;
  /** Existence checks (HEAD) and manifest fetches in flight. */
  private readonly checks: TransferQueue;
  private readonly fetches: TransferQueue;
  private readonly mountable: boolean;

  constructor(
    private readonly from: RegistryClient,
    private readonly to: RegistryClient,
    private readonly fromRepo: string,
    private readonly toRepo: string,
    concurrency: number,
    private readonly retries: number,
    private readonly logger: Logger,
    private readonly counters: Counters,
  ) {
    this.transfers = new TransferQueue(Math.max(1, concurrency));
    this.smallTransfers = new TransferQueue(Math.max(1, concurrency));
    this.checks = new TransferQueue(Math.max(2, concurrency * 2));
    this.fetches = new TransferQueue(Math.max(1, concurrency));
    this.mountable = from.registry === to.registry && fromRepo !== toRepo;
  }

  /** Everything a manifest references (children or blobs), not the manifest itself. */
  async copyContents(manifest: ParsedManifest, where: string): Promise<void> {
    await Promise.all([
      ...manifest.blobs.map((blob) => this.copyBlob(blob)),
      ...manifest.manifests.map((child) => this.copyManifest(child, where)),
    ]);
  }

  /**
   * A manifest by digest: its contents first, then the manifest. Skipped when the target has it.
   * With `subject`, the manifest must declare that subject (a referrer of that digest).
   */
  copyManifest(descriptor: Descriptor, where: string, subject?: Digest): Promise<void> {
    let task = this.manifests.get(descriptor.digest);
    if (!task) {
      // An image manifest holds a slot for its whole copy, so at most `concurrency` layer lists are in
      // memory whatever the index; an index holds one only while fetched, so nested indexes cannot starve.
      task = this.fetches.run(0, async () => {
        const fetched = await this.fetchManifest(descriptor, where, subject);
        if (!fetched || isIndexType(fetched.parsed.mediaType)) return fetched;
        await this.copyContents(fetched.parsed, where);
        await this.putManifest(descriptor, fetched);
        return undefined;
      }).then(async (index) => {
        if (!index) return;
        await this.copyContents(index.parsed, where);
        await this.putManifest(descriptor, index);
      });
      this.manifests.set(descriptor.digest, task);
    }
    return task;
  }

  /** The manifest's bytes, checked against its descriptor (and subject); undefined when the target has it. */
  private async fetchManifest(descriptor: Descriptor, where: string, subject?: Digest): Promise<{ data: ManifestData; parsed: ParsedManifest } | undefined> {
    const name = `manifest ${this.from.registry}/${this.fromRepo}@${descriptor.digest} (${where})`;
    // Source GET and target HEAD go out together: one round trip before the blobs start.
    const got = this.from.getManifest(this.fromRepo, descriptor.digest);
    got.catch(() => {});
    const present = this.to.headManifest(this.toRepo, descriptor.digest);
    present.catch(() => {});
    // A referrer is verified even when the target has it: its listing may lie.
    if (!subject && await present) return undefined;
    const data = await got;
    if (data.bytes.length !== descriptor.size) {
      throw new GitopsError(`${name} has ${data.bytes.length} bytes, its descriptor declares ${descriptor.size}`);
    }
    const parsed = parseManifest(data.bytes, data.mediaType, name);
    if (subject && parsed.subject?.digest !== subject) {
      throw new GitopsError(`${name} is listed as a referrer of ${subject}, but its subject is ${parsed.subject?.digest ?? 'missing'}; refusing to copy it`, {
        hint: 'the source registry\'s referrers list does not match the manifests it serves',
      });
    }
    if (subject && await present) return undefined;
    return { data, parsed };
  }

  private async putManifest(descriptor: Descriptor, fetched: { data: ManifestData; parsed: ParsedManifest }): Promise<void> {
    await this.to.putManifestByDigest(this.toRepo, descriptor.digest, fetched.data.bytes, fetched.parsed.mediaType);
    this.counters.manifestsWritten++;
    this.counters.bytesCopied += fetched.data.bytes.length;
  }

  private copyBlob(blob: Descriptor): Promise<void> {
    let task = this.blobs.get(blob.digest);
    if (!task) {
      task = (async () => {
        if (await this.checks.run(0, () => this.to.blobExists(this.toRepo, blob.digest))) {
          this.counters.blobsSkipped++;
          return;
        }
        const queue = blob.size <= SMALL_BLOB_BYTES ? this.smallTransfers : this.transfers;
        await queue.run(blob.size, () => this.transferBlob(blob));
      })();
      this.blobs.set(blob.digest, task);
    }
    return task;
  }

  /** One blob within one deadline (retries included): networkTimeoutSeconds plus a second per MiB. */
  private async transferBlob(blob: Descriptor): Promise<void> {
    const deadline = Date.now() + this.to.timeoutMs + (blob.size / SLOWEST_BLOB_BYTES_PER_SECOND) * 1000;
    for (let attempt = 0; ; attempt++) {
      try {
        // A failed attempt may still have been committed by the registry.
        if (attempt > 0 && await this.to.blobExists(this.toRepo, blob.digest, deadline)) {
          this.counters.blobsUploaded++;
          this.counters.bytesCopied += blob.size;
          return;
        }
        let location: URL | undefined;
        if (this.mountable) {
          const mount = await this.to.mountBlob(this.toRepo, blob.digest, this.fromRepo, deadline).catch((error: Error) => {
            this.logger.debug(`mounting ${blob.digest} from ${this.fromRepo} failed (${error.message}); uploading instead`);
            return undefined;
          });
          if (mount?.mounted) {
            this.counters.blobsMounted++;
            return;
          }
          location = mount?.location;
        }
        // Upload session and download are opened together: one round trip less per blob.
        const [opened, download] = await Promise.allSettled([
          location ? Promise.resolve(location) : this.to.startUpload(this.toRepo, deadline),
          this.from.openBlob(this.fromRepo, blob, deadline, SLOWEST_BLOB_BYTES_PER_SECOND),
        ]);
        if (opened.status === 'rejected') {
          if (download.status === 'fulfilled') download.value.destroy();
          throw opened.reason;
        }
        if (download.status === 'rejected') throw download.reason;
        await this.to.uploadBlob(this.toRepo, blob, download.value, opened.value, deadline);
        this.counters.blobsUploaded++;
        this.counters.bytesCopied += blob.size;
        return;
      } catch (error) {
        if (!isTransient(error) || attempt >= this.retries) throw error;
        const delay = retryDelayMs(attempt);
        if (Date.now() + delay >= deadline) throw error;
        this.logger.debug(`blob ${blob.digest}: ${(error as Error).message}; retrying in ${Math.round(delay)} ms`);
        await sleep(delay);
      }
    }
  }

  /**
   * Referrers of `digest` (signatures, SBOMs): from the referrers API, or from the `sha256-<hex>`
   * tag fallback when the source has no API. Each referrer's bytes must hash to its listed digest
   * and declare `digest` as its subject. Returns how many referrer manifests were copied.
   */
  async copyReferrers(digest: Digest, listed: Descriptor[] | undefined): Promise<number> {
    const fallbackTag = digest.replace(':', '-');
    const where = `referrer of ${digest}`;
    if (listed && listed.length > 0) {
      await Promise.all(listed.map((referrer) => this.copyManifest(referrer, where, digest)));
      if (!(await this.to.getReferrers(this.toRepo, digest))) {
        // The target has no referrers API: publish the list under the fallback tag so tools find it.
        // Only the validated descriptor fields are written.
        const manifests = listed.map(({ mediaType, digest: d, size, artifactType, annotations }) => ({ mediaType, digest: d, size, artifactType, annotations }));
        const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests }));
        await this.to.putManifestAtTag(this.toRepo, fallbackTag, index, MEDIA_TYPES.ociIndex);
        this.counters.manifestsWritten++;
      }
      return listed.length;
    }
    if (!(await this.from.headManifest(this.fromRepo, fallbackTag))) return 0;
    const data = await this.from.getManifest(this.fromRepo, fallbackTag);
    const parsed = parseManifest(data.bytes, data.mediaType, `referrers tag ${this.from.registry}/${this.fromRepo}:${fallbackTag}`);
    if (!isIndexType(parsed.mediaType)) {
      throw new GitopsError(`referrers tag ${this.from.registry}/${this.fromRepo}:${fallbackTag} is not an index; refusing to copy it`);
    }
    await Promise.all(parsed.manifests.map((referrer) => this.copyManifest(referrer, where, digest)));
    const present = await this.to.headManifest(this.toRepo, fallbackTag);
    if (present?.digest !== data.digest) {
      await this.to.putManifestAtTag(this.toRepo, fallbackTag, data.bytes, parsed.mediaType);
      this.counters.manifestsWritten++;
      this.counters.bytesCopied += data.bytes.length;
    }
    return parsed.manifests.length;
  }
}
