import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { cacheKey, treeHasSymlinks } from './cache';
import { parseYamlValue } from '../yaml/parse';
import { delimiter, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { GitopsError } from '../errors';
import { displayUrl, runProcess, RunResult } from '../exec';
import { Logger } from '../logger';
import { isLoopbackHost } from '../net';
import { assertTreeInside, realPathInside } from '../paths';

export interface HelmCredentials {
  username: string;
  password: string;
}

export interface HelmOptions {
  /** Explicit helm binary; otherwise `helm` is looked up on `env.PATH`. */
  helmPath?: string;
  /** Environment handed to helm (PATH, proxies, ...); helm's homes are always overridden. */
  env: NodeJS.ProcessEnv;
  /** Per-run scratch folder: helm's isolated homes and its empty working directory live here. */
  workDir: string;
  logger: Logger;
  /**
   * Folder (the render cache) where the answer of `helm version` is kept per binary (path, size,
   * times, inode), so a run whose renders are all cached starts no helm process.
   */
  versionCacheDir?: string;
}

export interface TemplateOptions {
  releaseName: string;
  chartDir: string;
  valuesFile: string;
  namespace: string;
}

/**
 * helm runs are short and we run several at once, one per core: one Go thread each, and garbage
 * collection only near a generous memory limit, cut its CPU time by about 10% (measured on the
 * render benchmark). Values the user set in the environment win.
 */
const goRuntimeTuning = { GOMAXPROCS: '1', GOGC: 'off', GOMEMLIMIT: '1GiB' };

/**
 * One helm binary, run with isolated cache/config/data homes and an empty working directory, so
 * neither the user's repositories nor a same-named folder in the cwd (the helm 3 `--repo` trap)
 * can change what gets rendered.
 */
export class Helm {
  private constructor(
    readonly path: string,
    /** e.g. `v4.1.4` */
    readonly version: string,
    readonly major: 3 | 4,
    private readonly env: NodeJS.ProcessEnv,
    private readonly workDir: string,
    private readonly logger: Logger,
  ) {}

  static async locate(options: HelmOptions): Promise<Helm> {
    const path = options.helmPath ? resolve(options.helmPath) : await findOnPath('helm', options.env.PATH ?? '');
    if (!path) {
      throw new GitopsError('helm was not found on PATH', {
        field: 'helm',
        hint: 'install helm 3 or 4, pass its path with --helm / the helmPath input, or have it downloaded with --helm-version / the helmVersion input',
      });
    }
    await mkdir(join(options.workDir, 'cwd'), { recursive: true });
    const binary = await stat(path).catch(() => undefined);
    const memo = options.versionCacheDir && binary?.isFile()
      ? join(options.versionCacheDir, 'helm-version', `${cacheKey({ path, size: String(binary.size), mtime: String(binary.mtimeMs), ctime: String(binary.ctimeMs), ino: String(binary.ino) })}.txt`)
      : undefined;
    const remembered = memo ? await readFile(memo, 'utf8').catch(() => undefined) : undefined;
    let result: RunResult;
    if (remembered !== undefined && /^v[34]\.\d+\.\d+\S*$/.test(remembered.trim())) {
      result = { code: 0, stdout: remembered, stderr: '' };
    } else {
      try {
        result = await runProcess(path, ['version', '--short'], { cwd: join(options.workDir, 'cwd'), env: options.env });
      } catch (error) {
        throw new GitopsError(`helm at ${path} could not be started: ${(error as Error).message}`, {
          field: 'helm',
          hint: 'check that the path points to an executable helm binary',
        });
      }
      if (memo && result.code === 0) {
        // Best effort: a read-only cache only means asking again next run.
        await mkdir(dirname(memo), { recursive: true }).then(() => writeFile(memo, result.stdout.trim())).catch(() => undefined);
      }
    }
    const match = /^v(\d+)\.\d+\.\d+\S*/.exec(result.stdout.trim());
    const major = match ? Number(match[1]) : 0;
    if (result.code !== 0 || (major !== 3 && major !== 4)) {
      throw new GitopsError(`helm at ${path} reported version "${result.stdout.trim() || result.stderr.trim()}"`, {
        field: 'helm',
        hint: 'use helm 3 or helm 4',
      });
    }
    const version = match![0].replace(/\+.*$/, '');
    const helm = new Helm(path, version, major as 3 | 4, options.env, options.workDir, options.logger);
    options.logger.debug(`using helm ${version} at ${path}`);
    return helm;
  }

  /** Renders a chart; returns helm's stdout only (warnings on stderr never reach the manifests). */
  async template(options: TemplateOptions): Promise<string> {
    const home = await this.home('shared');
    const result = await this.run(
      // Flags as --name=value and `--` before the positionals: no HLD value is ever read as an option.
      ['template', `--values=${options.valuesFile}`, `--namespace=${options.namespace}`, '--', options.releaseName, options.chartDir],
      { home },
    );
    if (result.code !== 0) throw this.failure('template', options.chartDir, result);
    if (result.stderr.trim()) this.logger.debug(`helm template ${options.releaseName}: ${result.stderr.trim()}`);
    return result.stdout;
  }

  /** `helm pull` from a chart repository into `destination`; returns the chart's folder. */
  async pullFromRepository(options: {
    repositoryUrl: string;
    chart: string;
    version: string;
    destination: string;
    credentials?: HelmCredentials;
    /** Kill helm after this long (the whole pull); the error says what stalled. */
    timeoutMs?: number;
  }): Promise<string> {
    // A private home per pull: `helm repo add` writes repositories.yaml, which concurrent pulls would share.
    const home = await this.home();
    const versionArgs = options.version ? [`--version=${options.version}`] : [];
    let chartRef: string[];
    const secrets: string[] = [];
    if (options.credentials) {
      secrets.push(options.credentials.password);
      // The password goes through stdin into the isolated repositories.yaml, never through argv.
      const added = await this.run(
        ['repo', 'add', `--username=${options.credentials.username}`, '--password-stdin', '--', 'source', options.repositoryUrl],
        { home, input: options.credentials.password, secrets, timeoutMs: options.timeoutMs },
      );
      if (added.code !== 0) throw this.failure('repo add', options.repositoryUrl, added);
      chartRef = ['--', `source/${options.chart}`];
    } else {
      chartRef = [`--repo=${options.repositoryUrl}`, '--', options.chart];
    }
    const pulled = await this.run(['pull', ...versionArgs, '--untar', `--destination=${options.destination}`, ...chartRef], {
      home,
      secrets,
      timeoutMs: options.timeoutMs,
    });
    if (pulled.code !== 0) throw this.failure('pull', `${options.repositoryUrl} chart ${options.chart}`, pulled);
    return singleFolder(options.destination);
  }

  /** `helm pull oci://...`; logs in first (password on stdin) when credentials are given. */
  async pullFromOci(options: { reference: string; version: string; destination: string; credentials?: HelmCredentials; timeoutMs?: number }): Promise<string> {
    const home = await this.home();
    const host = new URL(options.reference.replace(/^oci:/, 'http:')).host;
    const plainHttp = isLoopbackHost(host) ? ['--plain-http'] : [];
    const secrets = options.credentials ? [options.credentials.password] : [];
    if (options.credentials) {
      const login = await this.run(
        ['registry', 'login', `--username=${options.credentials.username}`, '--password-stdin', ...plainHttp, '--', host],
        { home, input: options.credentials.password, secrets, timeoutMs: options.timeoutMs },
      );
      if (login.code !== 0) throw this.failure('registry login', host, login);
    }
    const versionArgs = options.version ? [`--version=${options.version}`] : [];
    const pulled = await this.run(['pull', ...versionArgs, '--untar', `--destination=${options.destination}`, ...plainHttp, '--', options.reference], {
      home,
      secrets,
      timeoutMs: options.timeoutMs,
    });
    if (pulled.code !== 0) throw this.failure('pull', options.reference, pulled);
    return singleFolder(options.destination);
  }

  /**
   * Fetches a chart's dependencies: `build` honours an existing Chart.lock, `update` resolves them.
   * Dependencies already vendored in `charts/` are used as they are (no download). The http(s)
   * repositories the chart names are added first, as Fabrikate's helm/dependency.go did: without
   * them `helm dependency build` fails with "no repository definition". Repositories other than
   * http(s):// and oci:// are refused, except `file://` folders inside `boundary` (a sibling chart
   * of the same repository).
   */
  async fetchDependencies(chartDir: string, boundary: ChartBoundary, useLock: boolean, timeoutMs?: number): Promise<void> {
    const dependencies = await chartDependencies(chartDir);
    if (dependencies.length > 0 && (await allVendored(chartDir, dependencies))) {
      this.logger.debug(`${chartDir}: every dependency is vendored in charts/; nothing to fetch`);
      return;
    }
    await assertDependencySources(chartDir, boundary);
    const home = await this.home();
    const repositories = [...new Set(dependencies.map((dependency) => dependency.repository).filter((url) => /^https?:\/\//i.test(url)))];
    for (const [index, url] of repositories.entries()) {
      const added = await this.run(['repo', 'add', '--', `dependency-${index + 1}`, url], { home, timeoutMs });
      if (added.code !== 0) throw this.failure('repo add', url, added);
    }
    const result = await this.run(['dependency', useLock ? 'build' : 'update', '--', chartDir], { home, timeoutMs });
    if (result.code !== 0) throw this.failure(`dependency ${useLock ? 'build' : 'update'}`, chartDir, result);
  }

  /** Any other helm command (packaging, pushing) with the same isolation. */
  async run(args: string[], options: { home?: string; input?: string; secrets?: string[]; timeoutMs?: number } = {}): Promise<RunResult> {
    const home = options.home ?? (await this.home('shared'));
    const started = Date.now();
    const result = await runProcess(this.path, args, {
      cwd: join(this.workDir, 'cwd'),
      env: {
        ...goRuntimeTuning,
        ...this.env,
        HELM_CACHE_HOME: join(home, 'cache'),
        HELM_CONFIG_HOME: join(home, 'config'),
        HELM_DATA_HOME: join(home, 'data'),
      },
      input: options.input,
      secrets: options.secrets,
      timeoutMs: options.timeoutMs,
    });
    if (options.timeoutMs && result.code !== 0 && Date.now() - started >= options.timeoutMs) {
      return { ...result, stderr: `${result.stderr}\ndid not finish within ${Math.round(options.timeoutMs / 1000)} s (the server stalled)` };
    }
    return result;
  }

  private async home(name?: string): Promise<string> {
    const homes = join(this.workDir, 'homes');
    await mkdir(homes, { recursive: true });
    if (!name) return mkdtemp(join(homes, 'h-'));
    const dir = join(homes, name);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  private failure(command: string, subject: string, result: RunResult): GitopsError {
    const detail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-3).join(' ');
    return new GitopsError(`helm ${command} failed for ${displayUrl(subject)}: ${detail}`);
  }
}

interface ChartDependency {
  name: string;
  repository: string;
}

/** The tree a chart's `file://` dependencies must stay in (the files fetched from its git source). */
export interface ChartBoundary {
  root: string;
  /** How the root is named in messages: `the files fetched from <url>`. */
  label: string;
}

/** The files whose dependency lists helm reads: `dependency build` downloads what the lock names. */
const dependencyFiles = ['Chart.yaml', 'requirements.yaml', 'Chart.lock', 'requirements.lock'];

/**
 * Refuses a dependency helm would take from this machine's disk outside `boundary` (`helm
 * dependency update` packages a `file://` folder into charts/, and the chart renders it), and
 * any repository that is not http(s)://, oci:// or such a folder. helm decodes these files
 * through JSON: field names match in any case (Go folds `ſ` and the Kelvin sign too) and merge
 * keys apply, so this check reads them the same way; a file it cannot read is refused.
 */
async function assertDependencySources(chartDir: string, boundary: ChartBoundary): Promise<void> {
  for (const file of dependencyFiles) {
    const path = join(chartDir, file);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const shown = relative(boundary.root, path).split(sep).join('/');
    const data = parseYamlValue(text, shown, { merge: true });
    for (const list of fieldValues(data, 'dependencies')) {
      if (!Array.isArray(list)) continue;
      for (const [index, item] of list.entries()) {
        for (const repository of fieldValues(item, 'repository')) {
          await assertDependencySource(repository, chartDir, boundary, { file: shown, field: `dependencies[${index}].repository` });
        }
      }
    }
  }
}

/** The values of every key of `data` (a map) that Go's JSON decoding matches with `name`. */
function fieldValues(data: unknown, name: string): unknown[] {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return [];
  const fold = (key: string) => key.toUpperCase().toLowerCase();
  return Object.entries(data).filter(([key]) => fold(key) === name).map(([, value]) => value);
}

async function assertDependencySource(repository: unknown, chartDir: string, boundary: ChartBoundary, where: { file: string; field: string }): Promise<void> {
  if (repository === null || repository === undefined || repository === '') return; // vendored in charts/
  if (typeof repository === 'string' && /^(https?|oci):\/\//i.test(repository)) return;
  if (typeof repository === 'string' && repository.startsWith('file://')) {
    // helm's reading: the rest is a path, absolute or relative to the chart folder (no URL decoding).
    const rest = repository.slice('file://'.length);
    const folder = rest.startsWith('/') ? rest : join(chartDir, rest);
    const real = await realPathInside(boundary.root, folder, { what: 'file:// dependency folder', rootLabel: boundary.label, ...where });
    // helm packages the folder whole, following its symlinks.
    if (await stat(real).then((info) => info.isDirectory(), () => false) && treeHasSymlinks(real)) await assertTreeInside(boundary.root, real, boundary.label);
    return;
  }
  throw new GitopsError(`dependency repository "${String(repository)}" is refused: only https://, http://, oci:// and file:// folders inside ${boundary.label} are fetched`, {
    ...where,
    hint: 'use an https:// (or oci://) repository URL, or a file:// path to a chart folder inside the same repository, or vendor the chart in charts/',
  });
}

/** The dependencies a chart declares (Chart.yaml, or requirements.yaml of apiVersion v1 charts). */
async function chartDependencies(chartDir: string): Promise<ChartDependency[]> {
  const found: ChartDependency[] = [];
  for (const file of ['Chart.yaml', 'requirements.yaml']) {
    const text = await readFile(join(chartDir, file), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    let data: unknown;
    try {
      data = parseYamlValue(text, join(chartDir, file));
    } catch {
      continue;
    }
    const list = (data as { dependencies?: unknown } | null)?.dependencies;
    if (!Array.isArray(list)) continue;
    for (const item of list) {
      if (item && typeof item === 'object' && typeof (item as ChartDependency).name === 'string') {
        found.push({ name: (item as ChartDependency).name, repository: String((item as ChartDependency).repository ?? '') });
      }
    }
  }
  return found;
}

/** True when `charts/` holds every dependency, as a folder or a `<name>-<version>.tgz` archive. */
async function allVendored(chartDir: string, dependencies: readonly ChartDependency[]): Promise<boolean> {
  const entries = await readdir(join(chartDir, 'charts'), { withFileTypes: true }).catch(() => []);
  return dependencies.every(({ name }) =>
    entries.some((entry) => (entry.isDirectory() && entry.name === name) || (entry.isFile() && entry.name.startsWith(`${name}-`) && /^-\d.*\.tgz$/.test(entry.name.slice(name.length)))));
}

export async function findOnPath(program: string, pathVariable: string): Promise<string | undefined> {
  for (const dir of pathVariable.split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, program);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      continue;
    }
  }
  return undefined;
}

async function singleFolder(dir: string): Promise<string> {
  const folders: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    try {
      await access(join(dir, entry.name, 'Chart.yaml'));
      folders.push(entry.name);
    } catch {
      continue;
    }
  }
  if (folders.length !== 1) throw new GitopsError(`expected one chart folder in ${dir}, found ${folders.join(', ') || 'none'}`);
  return join(dir, folders[0]);
}
