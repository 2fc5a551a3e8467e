import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { isSecureOrLoopback } from '../net';
import { arch, platform } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { GitopsError } from '../errors';
import { runProcess } from '../exec';
import type { Logger } from '../logger';

export const officialHelmDownloadUrl = 'https://get.helm.sh';

export interface InstallHelmOptions {
  /** `3.18.0` or `v3.18.0`. */
  version: string;
  /** The agent tool cache (Agent.ToolsDirectory); helm lands in `helm/<version>/<arch>/`, as tool-lib lays it out. */
  toolsDirectory: string;
  /**
   * Download root with get.helm.sh's layout (`helm-v<version>-<os>-<arch>.tar.gz` and its `.sha256sum`);
   * default the official `https://get.helm.sh`. https only; plain http only for loopback hosts.
   */
  downloadUrl?: string;
  /** Give up when the server sends nothing for this long; default 60 s. */
  idleTimeoutMs?: number;
  logger: Logger;
}

const architectures: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };
const defaultIdleTimeoutMs = 60_000;

/**
 * The path of helm `version` from the tool cache, downloaded first when missing. The archive is
 * streamed to disk while hashed and checked against the published `.sha256sum` before it is
 * unpacked; the binary is renamed into place and the `.complete` marker written last, so jobs
 * installing the same version at once on one agent never see a partial binary.
 */
export async function installHelm(options: InstallHelmOptions): Promise<string> {
  const version = options.version.trim().replace(/^v/, '');
  if (!/^\d+\.\d+\.\d+$/.test(version)) {
    throw new GitopsError(`helm version "${options.version}" is not a version like 3.18.0`, { field: 'helmVersion' });
  }
  const source = helmSource(options.downloadUrl);
  const os = platform();
  const cpu = architectures[arch()];
  if (!cpu || (os !== 'linux' && os !== 'darwin')) {
    throw new GitopsError(`installing helm is not supported on ${os}/${arch()}`, { field: 'helmVersion', hint: 'install helm on the agent and set helmPath' });
  }
  const folder = join(options.toolsDirectory, 'helm', version, arch());
  const binary = join(folder, 'helm');
  const marker = `${folder}.complete`;
  if (existsSync(marker) && existsSync(binary)) {
    options.logger.debug(`helm ${version} from the tool cache: ${binary}`);
    return binary;
  }

  const archiveName = `helm-v${version}-${os}-${cpu}.tar.gz`;
  const archiveUrl = `${source.base}/${archiveName}`;
  const download: DownloadContext = { version, source, idleTimeoutMs: options.idleTimeoutMs ?? defaultIdleTimeoutMs };
  // The scratch folder sits next to the versions so the final rename stays on one file system.
  await mkdir(join(options.toolsDirectory, 'helm'), { recursive: true });
  const scratch = await mkdtemp(join(options.toolsDirectory, 'helm', '.download-'));
  try {
    const archive = join(scratch, archiveName);
    options.logger.info(`Downloading helm ${version} from ${archiveUrl}`);
    const actual = await downloadHashed(archiveUrl, archive, download);
    const expected = await publishedChecksum(`${archiveUrl}.sha256sum`, archiveName, download);
    if (actual !== expected) {
      throw new GitopsError(
        `the helm ${version} download from ${source.label} does not match its published checksum: sha256 of ${archiveUrl} is ${actual}, ${archiveUrl}.sha256sum says ${expected}`,
        { field: 'helmVersion', hint: `nothing was installed; retry, and if it persists check ${source.isMirror ? 'the mirror in helmDownloadUrl' : 'for a proxy altering downloads'}` },
      );
    }
    options.logger.info(`helm ${version} archive sha256 ${actual} matches ${archiveName}.sha256sum`);

    const member = `${os}-${cpu}/helm`;
    const untar = await runProcess('tar', ['-xzf', archive, '-C', scratch, '--no-same-owner', member]);
    if (untar.code !== 0) {
      throw new GitopsError(`could not unpack ${member} from ${archiveUrl}: ${untar.stderr.trim()}`, { field: 'helmVersion', hint: source.isMirror ? 'check that the mirror in helmDownloadUrl serves the archives of get.helm.sh unchanged' : undefined });
    }
    const unpacked = join(scratch, member);
    await chmod(unpacked, 0o755);
    await mkdir(folder, { recursive: true });
    // rename() replaces atomically: a concurrent install of the same verified bytes may win, either copy is good.
    await rename(unpacked, binary);
    await writeFile(marker, '');
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return binary;
}

interface HelmSource {
  /** Download root without a trailing slash. */
  base: string;
  isMirror: boolean;
  /** How messages name it. */
  label: string;
}

interface DownloadContext {
  version: string;
  source: HelmSource;
  idleTimeoutMs: number;
}

function helmSource(downloadUrl: string | undefined): HelmSource {
  const base = (downloadUrl?.trim() || officialHelmDownloadUrl).replace(/\/+$/, '');
  if (base === officialHelmDownloadUrl) return { base, isMirror: false, label: 'get.helm.sh' };
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new GitopsError(`helm download URL "${base}" is not a URL`, { field: 'helmDownloadUrl', hint: 'give the root of a get.helm.sh mirror, e.g. https://mirror.example.com/helm' });
  }
  if (url.username || url.password) {
    throw new GitopsError('helm download URL must not contain credentials', { field: 'helmDownloadUrl', hint: 'use a mirror that agents can read without credentials in the URL' });
  }
  if (url.search || url.hash) {
    throw new GitopsError(`helm download URL "${base}" must not have a query or fragment`, { field: 'helmDownloadUrl' });
  }
  if (!isSecureOrLoopback(url)) {
    throw new GitopsError(`helm download URL "${base}" must use https`, { field: 'helmDownloadUrl', hint: 'plain http is only accepted for localhost, where nothing crosses the network' });
  }
  return { base, isMirror: true, label: `the mirror in helmDownloadUrl (${base})` };
}

/** Aborts a request when no data arrives for `ms`; `touch()` on every chunk. */
function idleAbort(ms: number): { signal: AbortSignal; touch(): void; stop(): void; readonly fired: boolean } {
  const controller = new AbortController();
  let fired = false;
  const arm = () => setTimeout(() => { fired = true; controller.abort(); }, ms);
  let timer = arm();
  return {
    signal: controller.signal,
    touch() { clearTimeout(timer); timer = arm(); },
    stop() { clearTimeout(timer); },
    get fired() { return fired; },
  };
}

async function fetchOk(url: string, context: DownloadContext, idle: ReturnType<typeof idleAbort>, missing: (status: number) => GitopsError): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { signal: idle.signal });
  } catch (error) {
    throw networkError(url, error, context, idle.fired);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw missing(response.status);
  }
  // A redirect must not downgrade the transport the download URL promised.
  const final = new URL(response.url || url);
  if (!isSecureOrLoopback(final)) {
    await response.body?.cancel().catch(() => undefined);
    throw new GitopsError(`${url} redirected to the insecure ${final.origin}`, { field: context.source.isMirror ? 'helmDownloadUrl' : 'helmVersion' });
  }
  return response;
}

function networkError(url: string, error: unknown, context: DownloadContext, timedOut: boolean): GitopsError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const reason = timedOut
    ? `no data for ${context.idleTimeoutMs >= 1000 ? `${Math.round(context.idleTimeoutMs / 1000)} s` : `${context.idleTimeoutMs} ms`}`
    : cause?.message ?? cause?.code ?? (error instanceof Error ? error.message : String(error));
  const where = context.source.isMirror ? 'the mirror in helmDownloadUrl' : `get.helm.sh, or set helmDownloadUrl to a reachable mirror,`;
  return new GitopsError(`could not download helm ${context.version} from ${url}: ${reason}`, {
    field: 'helmVersion',
    hint: `check that the agent can reach ${where} or install helm on the agent and set helmPath`,
    cause: error,
  });
}

/** Streams `url` to `file`, hashing as it goes; returns the hex sha256. */
async function downloadHashed(url: string, file: string, context: DownloadContext): Promise<string> {
  const idle = idleAbort(context.idleTimeoutMs);
  try {
    const response = await fetchOk(url, context, idle, (status) => new GitopsError(
      `helm ${context.version} is not on ${context.source.label}: HTTP ${status} from ${url}`,
      { field: 'helmVersion', hint: status === 404 ? `check that helmVersion names a released helm version${context.source.isMirror ? ' that the mirror holds' : ''}` : undefined },
    ));
    if (!response.body) throw new GitopsError(`empty response from ${url}`, { field: 'helmVersion' });
    const hash = createHash('sha256');
    try {
      await pipeline(
        response.body,
        async function* (chunks: AsyncIterable<Uint8Array>) {
          for await (const chunk of chunks) {
            idle.touch();
            hash.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(file),
      );
    } catch (error) {
      throw networkError(url, error, context, idle.fired);
    }
    return hash.digest('hex');
  } finally {
    idle.stop();
  }
}

/** The sha256 that `<archive>.sha256sum` publishes: `<hex>  <archive name>` (the name is optional). */
async function publishedChecksum(url: string, archiveName: string, context: DownloadContext): Promise<string> {
  const idle = idleAbort(context.idleTimeoutMs);
  let text: string;
  try {
    const response = await fetchOk(url, context, idle, (status) => new GitopsError(
      `no checksum for helm ${context.version} on ${context.source.label}: HTTP ${status} from ${url}`,
      { field: 'helmVersion', hint: context.source.isMirror ? `the mirror in helmDownloadUrl must serve ${archiveName}.sha256sum next to the archive, as get.helm.sh does` : 'helm archives are only installed when their checksum can be checked; retry later' },
    ));
    text = await response.text().catch((error: unknown) => { throw networkError(url, error, context, idle.fired); });
  } finally {
    idle.stop();
  }
  for (const line of text.split(/\r?\n/).slice(0, 100)) {
    const match = /^([0-9a-fA-F]{64})(?:\s+\*?(\S+))?\s*$/.exec(line.trim());
    if (match && (!match[2] || match[2] === archiveName)) return match[1].toLowerCase();
  }
  throw new GitopsError(`${url} does not hold a sha256 checksum for ${archiveName}`, {
    field: 'helmVersion',
    hint: context.source.isMirror ? 'the mirror in helmDownloadUrl must serve the .sha256sum files of get.helm.sh unchanged' : undefined,
  });
}
