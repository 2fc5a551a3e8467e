import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Logger } from '../logger';
import { AccessTokens } from './access';
import { ContentCache } from './cache';
import { Helm } from './helm';
import { defaultNetworkLimits, NetworkLimits, SourceFetcher } from './sources';

export interface RenderOptions {
  /** Root folder of the HLD (holds the root component.yaml). */
  hldDir: string;
  /** Cache that survives runs; without it, a per-run temporary cache (still fetches each source once). */
  cacheDir?: string;
  /** helm binary; otherwise `helm` on env.PATH. */
  helmPath?: string;
  /**
   * Where `helm version` answers are kept per binary (default: the cache folder when given), so a
   * run starts no helm process for it: the CLI keeps them in the user's tools cache.
   */
  helmVersionCacheDir?: string;
  /** kubectl or kustomize binary for `type: kustomize`; otherwise kustomize, then kubectl, on env.PATH. */
  kustomizePath?: string;
  /** Components installed/rendered at once; default: the number of cores. */
  concurrency?: number;
  /** Environment for child processes and for the variables named in access.yaml. Default: none but PATH-less. */
  env?: NodeJS.ProcessEnv;
  /** Deadline and size cap of each fetch of a remote source; defaults: 5 minutes, 64 MB. */
  network?: Partial<NetworkLimits>;
  logger: Logger;
  /** Run the components' hooks (default true). False: every hook is skipped with a log line. */
  runHooks?: boolean;
  /**
   * Also run hooks declared in component files fetched from remote git sources (default false:
   * such hooks are skipped with a warning saying how to allow them).
   */
  allowRemoteHooks?: boolean;
  /**
   * Install before rendering, as `fab install && fab generate` in one step (default true): every
   * remote source is fetched (unchanged ones from the cache) and an installed copy made for
   * another source or version is replaced. False (`generate` after `install`): installed copies
   * are read as they are, offline; a missing one is installed; one made for another source is
   * refused; install hooks that install ran are not run again.
   */
  install?: boolean;
  /**
   * Accept git component sources that are paths or file:// URLs on this machine (default false:
   * refused). The task and CLI set it from BEDROCK_GITOPS_ALLOW_LOCAL_GIT_SOURCES=1.
   */
  allowLocalGitSources?: boolean;
}

/** Everything one install/generate run shares: scratch folder, caches, helm, fetcher, tokens. */
export class RenderSession {
  /** The run's network limits (defaults filled in): their deadline also bounds local builds (kustomize). */
  readonly network: NetworkLimits;
  readonly hldDir: string;
  readonly concurrency: number;
  readonly env: NodeJS.ProcessEnv;
  readonly cache: ContentCache;
  /** The cache survives this run (RenderOptions.cacheDir given). */
  readonly persistentCache: boolean;
  readonly fetcher: SourceFetcher;
  readonly access: AccessTokens;
  readonly logger: Logger;
  readonly runHooks: boolean;
  readonly allowRemoteHooks: boolean;
  /** Fetch sources and replace installed copies made for another source (see RenderOptions.install). */
  readonly refreshInstalls: boolean;
  readonly kustomizePath?: string;
  /** Nodes whose install hooks ran in this run: node key -> declaration fingerprint. */
  readonly hooksInstalled = new Map<string, string>();
  private helmPromise?: Promise<Helm>;
  private readonly onceResults = new Map<string, Promise<unknown>>();

  private constructor(readonly workDir: string, private readonly options: RenderOptions) {
    this.network = { ...defaultNetworkLimits, ...options.network };
    this.hldDir = resolve(options.hldDir);
    this.concurrency = Math.max(1, options.concurrency ?? availableParallelism());
    this.env = options.env ?? {};
    this.logger = options.logger;
    this.runHooks = options.runHooks ?? true;
    this.allowRemoteHooks = options.allowRemoteHooks ?? false;
    this.refreshInstalls = options.install ?? true;
    this.kustomizePath = options.kustomizePath ? resolve(options.kustomizePath) : undefined;
    this.persistentCache = !!options.cacheDir;
    this.cache = new ContentCache(options.cacheDir ? resolve(options.cacheDir) : join(workDir, 'cache'));
    this.access = new AccessTokens(this.env, this.logger);
    this.fetcher = new SourceFetcher({ cache: this.cache, helm: () => this.helm(), env: this.env, logger: this.logger, network: options.network, allowLocalGitSources: options.allowLocalGitSources });
  }

  static async open(options: RenderOptions): Promise<RenderSession> {
    const workDir = await mkdtemp(join(tmpdir(), 'bedrock-render-'));
    return new RenderSession(workDir, options);
  }

  /** helm is looked up only when a chart needs it. */
  helm(): Promise<Helm> {
    this.helmPromise ??= Helm.locate({
      helmPath: this.options.helmPath, env: this.env, workDir: join(this.workDir, 'helm'), logger: this.logger,
      versionCacheDir: this.options.helmVersionCacheDir ?? (this.persistentCache ? this.cache.root : undefined),
    });
    return this.helmPromise;
  }

  /** Runs `fn` once per key in this run; later callers share the first call's result. */
  once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let result = this.onceResults.get(key) as Promise<T> | undefined;
    if (!result) {
      result = fn();
      this.onceResults.set(key, result);
    }
    return result;
  }

  async close(): Promise<void> {
    await rm(this.workDir, { recursive: true, force: true });
  }
}

/** Opens a session, runs `fn`, always removes the scratch folder. */
export async function withSession<T>(options: RenderOptions, fn: (session: RenderSession) => Promise<T>): Promise<T> {
  const session = await RenderSession.open(options);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}
