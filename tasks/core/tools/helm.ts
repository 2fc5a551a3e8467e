import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { downloadToFile } from '../download';
import { isSecureOrLoopback } from '../net';
import { arch, platform } from 'node:os';
import { join } from 'node:path';
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
  /** Overall deadline of each download (archive, checksum); default 10 minutes. */
  deadlineMs?: number;
  /** Largest archive accepted, counted after any transparent decompression; default 256 MB. */
  maxDownloadBytes?: number;
  logger: Logger;
}

const architectures: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };
const defaultIdleTimeoutMs = 60_000;
const defaultDeadlineMs = 10 * 60_000;
const defaultMaxDownloadBytes = 256 * 1024 * 1024;
/** helm binaries are about 60 MB. */
const maxBinaryBytes = 512 * 1024 * 1024;

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
  const download: DownloadContext = {
    version,
    source,
    idleTimeoutMs: options.idleTimeoutMs ?? defaultIdleTimeoutMs,
    deadlineMs: options.deadlineMs ?? defaultDeadlineMs,
    maxBytes: options.maxDownloadBytes ?? defaultMaxDownloadBytes,
  };
  // The scratch folder sits next to the versions so the final rename stays on one file system.
  await mkdir(join(options.toolsDirectory, 'helm'), { recursive: true });
  const scratch = await mkdtemp(join(options.toolsDirectory, 'helm', '.download-'));
  try {
    const archive = join(scratch, archiveName);
    options.logger.info(`Downloading helm ${version} from ${archiveUrl}`);
    const actual = await downloadHashed(archiveUrl, archive, download);
    const expected = await publishedChecksum(`${archiveUrl}.sha256sum`, archiveName, join(scratch, 'sha256sum'), download);
    if (actual !== expected) {
      throw new GitopsError(
        `the helm ${version} download from ${source.label} does not match its published checksum: sha256 of ${archiveUrl} is ${actual}, ${archiveUrl}.sha256sum says ${expected}`,
        { field: 'helmVersion', hint: `nothing was installed; retry, and if it persists check ${source.isMirror ? 'the mirror in helmDownloadUrl' : 'for a proxy altering downloads'}` },
      );
    }
    options.logger.info(`helm ${version} archive sha256 ${actual} matches ${archiveName}.sha256sum`);

    const member = `${os}-${cpu}/helm`;
    const unpacked = await unpackBinary(archive, member, scratch, archiveUrl, source);
    await chmod(unpacked, 0o755);
    await mkdir(folder, { recursive: true });
    // rename() replaces atomically: a concurrent install of the same verified bytes may win, either copy is good.
    await rename(unpacked, binary);
    // The marker says "this binary works": written only after it ran.
    const run = await runProcess(binary, ['version', '--short'], { timeoutMs: 60_000, env: { PATH: process.env.PATH, HOME: scratch } });
    if (run.code !== 0 || !/^v\d+\.\d+\.\d+/.test(run.stdout.trim())) {
      await rm(binary, { force: true });
      throw new GitopsError(`the helm ${version} installed from ${source.label} does not run (helm version --short): ${(run.stdout.trim() || run.stderr.trim()).slice(0, 200)}`, {
        field: source.isMirror ? 'helmDownloadUrl' : 'helmVersion',
        hint: 'nothing was kept; check the mirror or install helm on the agent and set helmPath',
      });
    }
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
  deadlineMs: number;
  maxBytes: number;
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

/** Downloads `url` to `file` within the install's limits; a non-2xx answer becomes `missing(status)`. */
async function downloadChecked(url: string, file: string, context: DownloadContext, missing: (status: number) => GitopsError, onChunk?: (chunk: Uint8Array) => void): Promise<void> {
  let result;
  try {
    result = await downloadToFile({
      url,
      limits: { deadlineMs: context.deadlineMs, idleTimeoutMs: context.idleTimeoutMs, maxBytes: context.maxBytes },
      what: `could not download helm ${context.version} from ${url}`,
      field: 'helmVersion',
      onChunk,
    }, file);
  } catch (error) {
    const where = context.source.isMirror ? 'the mirror in helmDownloadUrl' : 'get.helm.sh, or set helmDownloadUrl to a reachable mirror,';
    throw new GitopsError((error as Error).message, {
      field: (error as GitopsError).field,
      hint: `check that the agent can reach ${where} or install helm on the agent and set helmPath`,
      cause: error,
    });
  }
  if (result.status < 200 || result.status >= 300) throw missing(result.status);
}

/** Streams `url` to `file`, hashing as it goes; returns the hex sha256. */
async function downloadHashed(url: string, file: string, context: DownloadContext): Promise<string> {
  const hash = createHash('sha256');
  await downloadChecked(url, file, context, (status) => new GitopsError(
    `helm ${context.version} is not on ${context.source.label}: HTTP ${status} from ${url}`,
    { field: 'helmVersion', hint: status === 404 ? `check that helmVersion names a released helm version${context.source.isMirror ? ' that the mirror holds' : ''}` : undefined },
  ), (chunk) => hash.update(chunk));
  return hash.digest('hex');
}

/** The sha256 that `<archive>.sha256sum` publishes: `<hex>  <archive name>` (the name is optional). */
async function publishedChecksum(url: string, archiveName: string, file: string, context: DownloadContext): Promise<string> {
  await downloadChecked(url, file, { ...context, maxBytes: 64 * 1024 }, (status) => new GitopsError(
    `no checksum for helm ${context.version} on ${context.source.label}: HTTP ${status} from ${url}`,
    { field: 'helmVersion', hint: context.source.isMirror ? `the mirror in helmDownloadUrl must serve ${archiveName}.sha256sum next to the archive, as get.helm.sh does` : 'helm archives are only installed when their checksum can be checked; retry later' },
  ));
  const text = await readFile(file, 'utf8');
  for (const line of text.split(/\r?\n/).slice(0, 100)) {
    const match = /^([0-9a-fA-F]{64})(?:\s+\*?(\S+))?\s*$/.exec(line.trim());
    if (match && (!match[2] || match[2] === archiveName)) return match[1].toLowerCase();
  }
  throw new GitopsError(`${url} does not hold a sha256 checksum for ${archiveName}`, {
    field: 'helmVersion',
    hint: context.source.isMirror ? 'the mirror in helmDownloadUrl must serve the .sha256sum files of get.helm.sh unchanged' : undefined,
  });
}

/**
 * Unpacks the one member `member` of the archive, only when the archive holds exactly one entry
 * of that name and it is a regular file of a sane size: a symlink or hard link member (pointing
 * at an agent file) or a duplicate that would overwrite it is refused, and so is anything but a
 * regular file on disk afterwards.
 */
async function unpackBinary(archive: string, member: string, scratch: string, archiveUrl: string, source: HelmSource): Promise<string> {
  const field = source.isMirror ? 'helmDownloadUrl' : 'helmVersion';
  const hint = source.isMirror ? 'check that the mirror in helmDownloadUrl serves the archives of get.helm.sh unchanged' : undefined;
  const listing = await runProcess('tar', ['-tvzf', archive], { timeoutMs: 120_000 });
  if (listing.code !== 0) throw new GitopsError(`could not read the helm archive from ${archiveUrl}: ${listing.stderr.trim()}`, { field, hint });
  const entries = listing.stdout.split('\n').filter((line) => {
    const name = line.trim().split(/\s+/).slice(5).join(' ');
    return name === member || name.startsWith(`${member} `) || name === `./${member}` || name.startsWith(`./${member} `);
  });
  if (entries.length !== 1) {
    throw new GitopsError(`the helm archive from ${archiveUrl} holds ${entries.length} entries named ${member}; expected one regular file`, { field, hint });
  }
  const fields = entries[0].trim().split(/\s+/);
  const size = Number(fields[2]);
  if (!entries[0].startsWith('-')) {
    throw new GitopsError(`${member} in the helm archive from ${archiveUrl} is not a regular file (${entries[0].trim()}); refused`, { field, hint });
  }
  if (!Number.isFinite(size) || size > maxBinaryBytes) {
    throw new GitopsError(`${member} in the helm archive from ${archiveUrl} is ${fields[2]} bytes, more than the limit of ${maxBinaryBytes}; refused`, { field, hint });
  }
  const untar = await runProcess('tar', ['-xzf', archive, '-C', scratch, '--no-same-owner', '--no-same-permissions', '--', member], { timeoutMs: 120_000 });
  if (untar.code !== 0) {
    throw new GitopsError(`could not unpack ${member} from ${archiveUrl}: ${untar.stderr.trim()}`, { field, hint });
  }
  const unpacked = join(scratch, member);
  const info = await lstat(unpacked);
  if (!info.isFile() || info.nlink !== 1) {
    throw new GitopsError(`${member} from ${archiveUrl} did not unpack as a regular file; refused`, { field, hint });
  }
  return unpacked;
}
