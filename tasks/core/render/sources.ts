import { randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir, cp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { downloadToFile, defaultDownloadLimits } from '../download';
import { GitopsError } from '../errors';
import { Logger } from '../logger';
import { assertRelativePath } from '../names';
import { copyConfined } from '../paths';
import { cacheKey, ContentCache, exists } from './cache';
import { checkoutFiles, FULL_COMMIT, resolveBranchTip } from './gitFetch';
import { Helm, HelmCredentials } from './helm';
import { isSecureOrLoopback } from '../net';
import { displayUrl } from '../exec';

/** How many times each kind of remote was actually contacted for content (cache misses). */
export interface FetchCounts {
  gitClones: number;
  gitBranchLookups: number;
  chartPulls: number;
  httpDownloads: number;
}

export interface GitSource {
  url: string;
  branch: string;
  /** A commit or a tag; wins over `branch`. */
  version: string;
  token?: string;
}

/** Bounds of every fetch of a remote source. */
export interface NetworkLimits {
  /** Overall deadline of one fetch (git clone/fetch/ls-remote with its retries, one http download). */
  deadlineMs: number;
  /** Most bytes of one http download, counted after decompression. */
  maxDownloadBytes: number;
}

export const defaultNetworkLimits: NetworkLimits = {
  deadlineMs: defaultDownloadLimits.deadlineMs,
  maxDownloadBytes: defaultDownloadLimits.maxBytes,
};

export interface SourceFetcherOptions {
  cache: ContentCache;
  helm: () => Promise<Helm>;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  network?: Partial<NetworkLimits>;
  /** Accept git sources that are paths or file:// URLs on this machine (default false). */
  allowLocalGitSources?: boolean;
}

/**
 * Fetches every remote source into the content-addressed cache, once per identity. Pinned
 * identities (a commit, a tag, a chart version) are reused across runs as they are; a branch is
 * resolved to its tip commit first, so an unchanged branch is reused too.
 */
export class SourceFetcher {
  readonly counts: FetchCounts = { gitClones: 0, gitBranchLookups: 0, chartPulls: 0, httpDownloads: 0 };
  private readonly branchTips = new Map<string, Promise<string>>();
  /** Makes identities that cannot be pinned (latest chart version) unique to this run. */
  private readonly runId = randomBytes(8).toString('hex');

  private readonly network: NetworkLimits;

  constructor(private readonly options: SourceFetcherOptions) {
    this.network = { ...defaultNetworkLimits, ...options.network };
  }

  /** The files of a git source (no .git folder). */
  async git(source: GitSource): Promise<string> {
    const url = normalizeUrl(source.url);
    const ref = source.version || (await this.branchTip(source.url, source.branch, source.token));
    const pinnedBy = source.version && !FULL_COMMIT.test(source.version) ? 'tag' : 'commit';
    // `files: 'regular'`: entries of older versions may hold symlinks; they are not reused.
    const key = cacheKey({ method: 'git', url, [pinnedBy]: ref, files: 'regular' });
    const entry = await this.options.cache.directory('git', key, async (temp) => {
      this.counts.gitClones++;
      this.options.logger.info(`fetching ${displayUrl(url)} at ${ref}`);
      const checkout = join(temp, 'checkout');
      const commit = await checkoutFiles(checkout, source.url, ref, { env: this.options.env, token: source.token, deadlineMs: this.network.deadlineMs, allowLocal: this.options.allowLocalGitSources });
      // Only regular files leave the checkout: symlinks out of it are refused, inner ones copied.
      await copyConfined(checkout, join(temp, 'files'), checkout, `the files fetched from ${displayUrl(source.url)}`);
      await rm(checkout, { recursive: true, force: true });
      await writeFile(join(temp, 'commit'), `${commit}\n`);
    });
    return join(entry, 'files');
  }

  /** A chart folder from a git source, with its dependencies fetched into `charts/`. */
  async gitChart(source: GitSource & { path: string }): Promise<string> {
    const files = await this.git(source);
    const key = cacheKey({ method: 'git-chart', files, path: source.path });
    const entry = await this.options.cache.directory('git-chart', key, async (temp) => {
      await cp(files, join(temp, 'files'), { recursive: true });
      const chartDir = join(temp, 'files', assertRelativePath(source.path, 'chart path', { field: 'path' }));
      const chartYaml = join(chartDir, 'Chart.yaml');
      if (!(await exists(chartYaml))) {
        throw new GitopsError(`no Chart.yaml at "${source.path}" in ${displayUrl(source.url)}`, { field: 'path', hint: 'set path to the chart folder inside the repository' });
      }
      if (await hasDependencies(chartDir)) {
        const helm = await this.options.helm();
        const boundary = { root: join(temp, 'files'), label: `the files fetched from ${displayUrl(source.url)}` };
        await helm.fetchDependencies(chartDir, boundary, await exists(join(chartDir, 'Chart.lock')), this.network.deadlineMs);
      }
    });
    return join(entry, 'files');
  }

  /** A chart pulled from an http(s) chart repository or an `oci://` registry. */
  async chart(source: { url: string; chart: string; version: string; credentials?: HelmCredentials }): Promise<string> {
    const url = normalizeUrl(source.url);
    const oci = url.startsWith('oci://');
    const key = cacheKey({ method: oci ? 'oci' : 'helm', url, chart: source.chart, version: source.version || `latest@${this.runId}`, files: 'regular' });
    const entry = await this.options.cache.directory('chart', key, async (temp) => {
      this.counts.chartPulls++;
      this.options.logger.info(`pulling chart ${source.chart} ${source.version || '(latest)'} from ${displayUrl(url)}`);
      const helm = await this.options.helm();
      const destination = join(temp, 'pull');
      await mkdir(destination);
      const chartDir = oci
        ? await helm.pullFromOci({ reference: source.chart ? `${url}/${source.chart}` : url, version: source.version, destination, credentials: source.credentials, timeoutMs: this.network.deadlineMs })
        : await helm.pullFromRepository({ repositoryUrl: url, chart: source.chart, version: source.version, destination, credentials: source.credentials, timeoutMs: this.network.deadlineMs });
      await copyConfined(chartDir, join(temp, 'files'), chartDir, `the chart pulled from ${displayUrl(url)}`);
    });
    return join(entry, 'files');
  }

  /**
   * One YAML file over https (or http to a loopback address). Reused across runs only when the
   * server confirms, with a conditional request, that it has not changed.
   */
  async httpFile(url: string): Promise<string> {
    const parsed = new URL(url);
    if (!isSecureOrLoopback(parsed)) {
      throw new GitopsError(`source ${displayUrl(url)} must use https`, { field: 'source', hint: 'plain http is accepted only for 127.0.0.1/localhost' });
    }
    const key = cacheKey({ method: 'http', url, run: this.runId });
    const entry = await this.options.cache.directory('http', key, async (temp) => {
      const previous = this.options.cache.entryPath('http-validators', cacheKey({ method: 'http', url }));
      const validators = await readJson<{ etag?: string; lastModified?: string }>(join(previous, 'validators.json'));
      const headers: Record<string, string> = {};
      if (validators?.etag) headers['if-none-match'] = validators.etag;
      if (validators?.lastModified) headers['if-modified-since'] = validators.lastModified;
      const download = join(temp, 'download');
      const response = await downloadToFile({
        url,
        headers,
        limits: { deadlineMs: this.network.deadlineMs, idleTimeoutMs: Math.min(60_000, this.network.deadlineMs), maxBytes: this.network.maxDownloadBytes },
        what: `static source ${displayUrl(url)}`,
        field: 'source',
      }, download);
      if (response.status === 304 && (await exists(join(previous, 'file.yaml')))) {
        await cp(join(previous, 'file.yaml'), join(temp, 'file.yaml'));
        return;
      }
      if (response.status < 200 || response.status >= 300) {
        throw new GitopsError(`download of ${displayUrl(url)} answered HTTP ${response.status}`, { field: 'source', hint: 'check the URL' });
      }
      this.counts.httpDownloads++;
      await rename(download, join(temp, 'file.yaml'));
      const etag = response.headers.get('etag') ?? undefined;
      const lastModified = response.headers.get('last-modified') ?? undefined;
      if (etag || lastModified) {
        await mkdir(previous, { recursive: true });
        await cp(join(temp, 'file.yaml'), join(previous, 'file.yaml'));
        await writeFile(join(previous, 'validators.json'), JSON.stringify({ etag, lastModified }));
      }
    });
    return join(entry, 'file.yaml');
  }

  /** `url` as written (ls-remote must reach the same URL as clone); identified without `.git`. */
  private branchTip(url: string, branch: string, token?: string): Promise<string> {
    const id = `${normalizeUrl(url)}#${branch}`;
    let tip = this.branchTips.get(id);
    if (!tip) {
      this.counts.gitBranchLookups++;
      tip = resolveBranchTip(url, branch, { env: this.options.env, token, deadlineMs: this.network.deadlineMs, allowLocal: this.options.allowLocalGitSources });
      this.branchTips.set(id, tip);
    }
    return tip;
  }
}

/** Trailing slashes and a `.git` suffix do not make a different source. */
export function normalizeUrl(url: string): string {
  return url.trim().replace(/\/+$/, '').replace(/\.git$/, '');
}

async function hasDependencies(chartDir: string): Promise<boolean> {
  const text = await readFile(join(chartDir, 'Chart.yaml'), 'utf8');
  return /^dependencies:\s*(\n\s*-|\[\s*\S)/m.test(text) || (await exists(join(chartDir, 'requirements.yaml')));
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
