import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { GitopsError, describeError } from '../errors';
import { runProcess } from '../exec';
import { ComponentDefinition, ComponentNode, HookName } from '../hld/model';
import { boundaryLabel } from '../hld/tree';
import { assertPlainName } from '../names';
import { assertTreeInside, checkoutRoot, realPathInside } from '../paths';
import { exists } from './cache';
import { displayUrl } from '../git/git';
import { RenderSession } from './session';

/** Where a component's problem is, for error messages: its file and the field at fault. */
export function componentError(definition: ComponentDefinition, field: string, message: string, hint?: string, cause?: unknown): GitopsError {
  const base = definition.origin.field;
  return new GitopsError(`component "${definition.name}": ${message}`, {
    file: definition.origin.file,
    line: definition.origin.line,
    field: base ? `${base}.${field}` : field,
    hint,
    cause,
  });
}

/**
 * Runs the hook's commands in order with `sh -c` in `directory`; the first failure stops the run.
 * Hooks are skipped when the session says not to run hooks, and hooks of a component file fetched
 * from a remote git source (`remoteSource`) unless the session allows remote hooks.
 */
export async function runHooks(session: RenderSession, definition: ComponentDefinition, hook: HookName, directory: string,
  where: { boundary?: string; remoteSource?: string } = {}): Promise<void> {
  const { remoteSource } = where;
  const commands = (definition.hooks[hook] ?? []).filter((command) => command.trim());
  if (commands.length === 0) return;
  if (!session.runHooks) {
    session.logger.info(`${definition.name}: ${hook}: ${commands.length} hook command(s) not run (hooks are turned off: runHooks is false / --no-hooks)`);
    return;
  }
  if (remoteSource && !session.allowRemoteHooks) {
    session.logger.warn(`${definition.origin.file}: component "${definition.name}" comes from the remote git source ${displayUrl(remoteSource)}; `
      + `its ${hook} hook (${commands.length} command(s)) was skipped. Hooks of remote components run only when allowed: `
      + 'task input allowRemoteHooks: true, or CLI flag --allow-remote-hooks');
    return;
  }
  const boundary = where.boundary ?? await checkoutRoot(session.hldDir);
  await realPathInside(boundary, directory, { what: `${hook} hook folder`, rootLabel: boundaryLabel(boundary, session.hldDir), file: definition.origin.file, field: `hooks.${hook}` });
  for (const command of commands) {
    session.logger.info(`${definition.name}: ${hook}: ${command}`);
    const result = await runProcess('sh', ['-c', command], { cwd: directory, env: hookEnvironment(session.env) });
    if (result.code !== 0) {
      const output = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-3).join(' ');
      throw componentError(definition, `hooks.${hook}`, `hook command "${command}" exited with ${result.code}${output ? `: ${output}` : ''}`, 'fix the command or the files it needs');
    }
    if (result.stdout.trim()) session.logger.debug(result.stdout.trim());
  }
}

/** Variables hooks never see: this tool's and the agent's tokens and passwords. */
const hookSecretVariable = /^(GITOPS_\w*(TOKEN|PASSWORD|SECRET)\w*|ARGOCD_AUTH_TOKEN|SYSTEM_ACCESSTOKEN|ENDPOINT_AUTH_\w*|SECRET_\w*)$/i;
const proxyVariable = /^(HTTPS?|ALL)_PROXY$/i;

/**
 * The environment of a hook: the run's, without token and password variables, and with the proxy
 * URLs (HTTPS_PROXY and the like) stripped of their user and password, so hooks still reach an
 * open proxy but never learn the agent's proxy credentials.
 */
export function hookEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const result: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || hookSecretVariable.test(name)) continue;
    if (proxyVariable.test(name)) {
      const stripped = withoutUserInfo(value);
      if (stripped !== undefined) result[name] = stripped;
      continue;
    }
    result[name] = value;
  }
  return result;
}

function withoutUserInfo(proxy: string): string | undefined {
  if (!proxy.includes('@')) return proxy;
  try {
    const url = new URL(proxy);
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return undefined;
  }
}

/**
 * Copies a cached source to its installed place. A folder already there without our marker was
 * put there by someone else (vendored, as in Fabrikate's test data) and is used as it is; one
 * with a marker for another identity is replaced.
 */
async function placeFromCache(session: RenderSession, destination: string, fetch: () => Promise<string>): Promise<void> {
  // components/ or helm_repos/ committed as a symlink out of the HLD must not make us delete or write there.
  await realPathInside(await checkoutRoot(session.hldDir), destination, { what: 'install folder', rootLabel: 'the HLD repository' });
  const marker = join(dirname(destination), `.${basename(destination)}.source`);
  const installedIdentity = (await readFile(marker, 'utf8').catch(() => undefined))?.trim();
  if (installedIdentity === undefined && (await exists(destination))) return;
  const cached = await fetch();
  // The cache entry's folder name is its content key.
  const identity = basename(dirname(cached)) + '/' + basename(cached);
  if (installedIdentity === identity && (await exists(destination))) return;
  await rm(destination, { recursive: true, force: true });
  await mkdir(dirname(destination), { recursive: true });
  await cp(cached, destination, { recursive: true });
  await writeFile(marker, `${identity}\n`);
}

/**
 * The `materialize` callback of loadTree: installs a `type: component, method: git` child into
 * `<parentDir>/components/<name>` and returns the folder of its component.yaml.
 */
export async function materializeGitComponent(session: RenderSession, definition: ComponentDefinition, parentDir: string): Promise<string> {
  assertPlainName(definition.name, 'component name', { file: definition.origin.file, field: `${definition.origin.field || 'name'}` });
  await session.access.load(parentDir, session.hldDir);
  if (!definition.source) throw componentError(definition, 'source', 'method git needs a source URL', 'set source to the repository URL');
  const destination = join(parentDir, 'components', definition.name);
  await session.once(`component:${destination}`, () =>
    placeFromCache(session, destination, () =>
      session.fetcher
        .git({ url: definition.source, branch: definition.branch, version: definition.version, token: session.access.tokenFor(definition.source) })
        .catch((error) => {
          throw componentError(definition, 'source', describeError(error), 'check source, branch, version and access.yaml', error);
        }),
    ),
  );
  if (!definition.path) return destination;
  const directory = join(destination, definition.path);
  await realPathInside(destination, directory, {
    what: `component ${definition.name}: path`, rootLabel: `the files fetched from its source`,
    file: definition.origin.file, line: definition.origin.line, field: `${definition.origin.field ? `${definition.origin.field}.` : ''}path`,
  });
  return directory;
}

/** The chart folder of a `type: helm` node, fetched and placed in `helm_repos/<name>` when remote. */
export async function chartDirectory(session: RenderSession, node: ComponentNode): Promise<string> {
  const definition = node.definition;
  if (definition.method === 'local') {
    // helm reads every file of the chart (.Files.Get): none may lead out of the HLD or fetched tree.
    const boundary = node.boundary ?? (await checkoutRoot(session.hldDir));
    const label = boundaryLabel(boundary, session.hldDir);
    const chartDir = join(node.directory, definition.path);
    const where = { file: definition.origin.file, line: definition.origin.line, field: `${definition.origin.field ? `${definition.origin.field}.` : ''}path` };
    await realPathInside(boundary, chartDir, { what: `component ${definition.name}: chart folder`, rootLabel: label, ...where });
    if (!(await exists(chartDir))) return chartDir;
    await session.once(`chart-confined:${chartDir}`, () => assertTreeInside(boundary, chartDir, label)).catch((error: unknown) => {
      throw componentError(definition, 'path', (error as Error).message, 'symlinks in a chart must stay inside the repository', error);
    });
    return chartDir;
  }
  const destination = join(node.directory, 'helm_repos', definition.name);
  const wrap = (error: unknown): never => {
    throw componentError(definition, 'source', describeError(error), 'check source, path, version and access.yaml', error);
  };
  if (definition.method === 'helm') {
    if (!definition.source) throw componentError(definition, 'source', 'method helm needs a chart repository URL (https:// or oci://)');
    if (!definition.path && !definition.source.startsWith('oci://')) throw componentError(definition, 'path', 'method helm needs the chart name in path');
    await session.once(`chart:${destination}`, () =>
      placeFromCache(session, destination, () =>
        session.fetcher
          .chart({ url: definition.source, chart: definition.path, version: definition.version, credentials: session.access.credentialsFor(definition.source) })
          .catch(wrap),
      ),
    );
    return destination;
  }
  if (definition.method === 'git') {
    if (!definition.source) throw componentError(definition, 'source', 'method git needs a repository URL');
    await session.once(`chart:${destination}`, () =>
      placeFromCache(session, destination, () =>
        session.fetcher
          .gitChart({ url: definition.source, branch: definition.branch, version: definition.version, path: definition.path, token: session.access.tokenFor(definition.source) })
          .catch(wrap),
      ),
    );
    return join(destination, definition.path);
  }
  throw componentError(definition, 'method', `method "${definition.method}" cannot provide a helm chart`, 'use local, helm or git');
}

/** The folder whose files a `type: static` node emits; an http source is downloaded to `components/<name>/<name>.yaml`. */
export async function staticDirectory(session: RenderSession, node: ComponentNode): Promise<string> {
  const definition = node.definition;
  if (definition.method !== 'http') return join(node.directory, definition.path);
  if (!/\.ya?ml$/i.test(new URL(definition.source || 'x:').pathname)) {
    throw componentError(definition, 'source', `an http static source must be a .yaml or .yml file, got "${definition.source}"`);
  }
  const folder = join(node.directory, 'components', definition.name);
  await realPathInside(await checkoutRoot(session.hldDir), folder, { what: 'download folder', rootLabel: 'the HLD repository', file: definition.origin.file });
  await session.once(`http:${folder}`, async () => {
    const file = await session.fetcher.httpFile(definition.source).catch((error) => {
      throw componentError(definition, 'source', describeError(error), undefined, error);
    });
    await mkdir(folder, { recursive: true });
    await cp(file, join(folder, `${definition.name}.yaml`));
  });
  return folder;
}

/** Installs one node: before-install hooks, its remote chart or file, after-install hooks. Once per run. */
export function installNode(session: RenderSession, node: ComponentNode): Promise<void> {
  return session.once(`install:${node.directory}:${node.definition.name}:${node.logicalPath}`, async () => {
    const definition = node.definition;
    if (!node.inlined) await session.access.load(node.directory, session.hldDir, node.remoteSource);
    await runHooks(session, definition, 'before-install', node.directory, { boundary: node.boundary, remoteSource: node.remoteSource });
    if (definition.type === 'helm' && definition.method !== 'local') await chartDirectory(session, node);
    if (definition.type === 'static' && definition.method === 'http') await staticDirectory(session, node);
    await runHooks(session, definition, 'after-install', node.directory, { boundary: node.boundary, remoteSource: node.remoteSource });
  });
}

/** Every enabled node of a tree, parents before children. */
export function flattenTree(root: ComponentNode): ComponentNode[] {
  const nodes: ComponentNode[] = [];
  const visit = (node: ComponentNode): void => {
    if (node.config.disabled) return;
    nodes.push(node);
    node.children.forEach(visit);
  };
  visit(root);
  return nodes;
}
