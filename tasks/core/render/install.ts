import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { GitopsError, describeError } from '../errors';
import { runProcess } from '../exec';
import { ComponentDefinition, ComponentNode, HookName } from '../hld/model';
import { boundaryLabel } from '../hld/tree';
import { assertPlainName } from '../names';
import { assertTreeInside, checkoutRoot, realPathInside } from '../paths';
import { cacheKey, exists, treeHasSymlinks } from './cache';
import { displayUrl } from '../git/git';
import { RenderSession } from './session';
import { normalizeUrl } from './sources';

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

/**
 * The proxy URL without user name and password, or undefined (the variable is dropped) when they
 * cannot be told apart. curl and git also take `user:password@host:port` without a scheme, which
 * WHATWG URL reads as the scheme `user:`: there everything up to the last `@` goes. Whatever is
 * left must hold no `@`, or a parser could still have read part of the user info as the host.
 */
function withoutUserInfo(proxy: string): string | undefined {
  if (!proxy.includes('@')) return proxy;
  if (!/^\s*[a-z][a-z0-9+.-]*:\/\//i.test(proxy)) return proxy.slice(proxy.lastIndexOf('@') + 1);
  try {
    const url = new URL(proxy);
    url.username = '';
    url.password = '';
    const stripped = url.toString();
    return stripped.includes('@') ? undefined : stripped;
  } catch {
    return undefined;
  }
}

/** What an installed folder was made from, as recorded in its marker `.<name>.source` beside it. */
interface InstallMarker {
  /** The source as the HLD declared it (credentials left out): compared by generate, offline. */
  declared?: string;
  /** The cache entry it was copied from: compared by install after fetching (a moved branch). */
  content: string;
}

/** The declared source of an installed folder, readable in messages; never holds credentials. */
export function declaredSource(definition: ComponentDefinition, fields: readonly ('branch' | 'version' | 'path')[]): string {
  const parts = [`${definition.method} ${displayUrl(normalizeUrl(definition.source))}`];
  for (const field of fields) if (definition[field]) parts.push(`${field} ${definition[field]}`);
  return parts.join(', ');
}

async function readMarker(file: string): Promise<InstallMarker | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as Partial<InstallMarker>;
    if (typeof parsed.content === 'string') return { content: parsed.content, declared: typeof parsed.declared === 'string' ? parsed.declared : undefined };
  } catch {
    // A marker of an older version: the cache identity alone.
  }
  return { content: text.trim() };
}

interface Installable {
  definition: ComponentDefinition;
  /** Where the installed copy lives: `components/<name>` or `helm_repos/<name>`. */
  destination: string;
  declared: string;
  /** Fetches into the cache; returns the cached folder or file. */
  fetch: () => Promise<string>;
  /** The cached entry's content identity (default: its cache folder name, the content key). */
  identity?: (cached: string) => Promise<string>;
  /** Copies the cached entry to `destination` (default: the folder as it is). */
  place?: (cached: string, destination: string) => Promise<void>;
}

/**
 * Installs a source into its place, or checks the copy already there. A folder there without our
 * marker was put there by someone else (vendored, as in Fabrikate's test data) and is used as it
 * is. When the session refreshes installs (`install`, and generate's one-step mode) the source is
 * fetched and a copy made for another source, version or content is replaced. Otherwise (generate
 * after install) a copy made for the declared source is used without any fetch, a missing one is
 * installed, and one made for another source is refused: it would render stale manifests.
 */
async function placeFromCache(session: RenderSession, item: Installable): Promise<void> {
  const { destination, definition, declared } = item;
  // components/ or helm_repos/ committed as a symlink out of the HLD must not make us delete or write there.
  const root = await checkoutRoot(session.hldDir);
  await realPathInside(root, destination, { what: 'install folder', rootLabel: 'the HLD repository' });
  // The marker is read and written where it really is: a committed symlink in its place must not
  // make us overwrite (or read) a file outside the HLD.
  const marker = await realPathInside(root, join(dirname(destination), `.${basename(destination)}.source`), { what: 'install marker', rootLabel: 'the HLD repository' });
  const installed = await readMarker(marker);
  const present = await exists(destination);
  if (installed === undefined && present) return;
  // A marker of an older version (no declared source) is replaced, as that version did.
  if (installed?.declared !== undefined && present && !session.refreshInstalls) {
    if (installed.declared === declared) return;
    const where = relative(session.hldDir, destination) || '.';
    throw componentError(definition, 'source',
      `${where} was installed for another source (${installed.declared}); the HLD now declares ${declared}`,
      'run `bedrock-gitops install` to replace it (generate renders what install put there and never fetches over it)');
  }
  const cached = await item.fetch();
  const identity = item.identity ? await item.identity(cached) : basename(dirname(cached)) + '/' + basename(cached);
  if (installed?.content === identity && installed.declared === declared && present) return;
  await rm(destination, { recursive: true, force: true });
  await mkdir(dirname(destination), { recursive: true });
  await (item.place ?? ((from, to) => cp(from, to, { recursive: true })))(cached, destination);
  await writeFile(marker, `${JSON.stringify({ declared, content: identity } satisfies InstallMarker)}\n`);
}

/**
 * The `materialize` callback of loadTree: installs a `type: component, method: git` child into
 * `<parentDir>/components/<name>` and returns the folder of its component.yaml.
 */
export async function materializeGitComponent(session: RenderSession, definition: ComponentDefinition, parentDir: string): Promise<string> {
  assertPlainName(definition.name, 'component name', { file: definition.origin.file, field: `${definition.origin.field || 'name'}` });
  await session.access.load(parentDir, session.hldDir);
  if (!definition.source) throw componentError(definition, 'source', 'method git needs a source URL', 'set source to the repository URL');
  const destination = await installGitSource(session, definition, parentDir);
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
    // Only a symlink can lead out of a folder that resolves inside: the full check follows each one.
    await session.once(`chart-confined:${chartDir}`, async () => {
      if (treeHasSymlinks(chartDir)) await assertTreeInside(boundary, chartDir, label);
    }).catch((error: unknown) => {
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
      placeFromCache(session, {
        definition, destination, declared: declaredSource(definition, ['path', 'version']),
        fetch: () => session.fetcher
          .chart({ url: definition.source, chart: definition.path, version: definition.version, credentials: session.access.credentialsFor(definition.source) })
          .catch(wrap),
      }),
    );
    return destination;
  }
  if (definition.method === 'git') {
    if (!definition.source) throw componentError(definition, 'source', 'method git needs a repository URL');
    await session.once(`chart:${destination}`, () =>
      placeFromCache(session, {
        definition, destination, declared: declaredSource(definition, definition.version ? ['version', 'path'] : ['branch', 'path']),
        fetch: () => session.fetcher
          .gitChart({ url: definition.source, branch: definition.branch, version: definition.version, path: definition.path, token: session.access.tokenFor(definition.source) })
          .catch(wrap),
      }),
    );
    return join(destination, definition.path);
  }
  throw componentError(definition, 'method', `method "${definition.method}" cannot provide a helm chart`, 'use local, helm or git');
}

/**
 * The folder whose files a `type: static` node emits. An http source is installed (downloaded)
 * into `components/<name>/<name>.yaml`; generate after install reads that copy without fetching.
 */
export async function staticDirectory(session: RenderSession, node: ComponentNode): Promise<string> {
  const definition = node.definition;
  if (definition.method !== 'http') return join(node.directory, definition.path);
  if (!/\.ya?ml$/i.test(new URL(definition.source || 'x:').pathname)) {
    throw componentError(definition, 'source', `an http static source must be a .yaml or .yml file, got "${definition.source}"`);
  }
  const folder = join(node.directory, 'components', definition.name);
  await realPathInside(await checkoutRoot(session.hldDir), folder, { what: 'download folder', rootLabel: 'the HLD repository', file: definition.origin.file });
  await session.once(`http:${folder}`, () =>
    placeFromCache(session, {
      definition, destination: folder, declared: declaredSource(definition, []),
      fetch: () => session.fetcher.httpFile(definition.source).catch((error) => {
        throw componentError(definition, 'source', describeError(error), undefined, error);
      }),
      identity: async (file) => createHash('sha256').update(await readFile(file)).digest('hex'),
      place: async (file, destination) => {
        await mkdir(destination, { recursive: true });
        await cp(file, join(destination, `${definition.name}.yaml`));
      },
    }),
  );
  return folder;
}

/**
 * The fetched tree of a `type: kustomize, method: git` component, installed like a git
 * component into `components/<name>` (generate after install reads it offline).
 */
export async function kustomizeSourceDirectory(session: RenderSession, node: ComponentNode): Promise<string> {
  const definition = node.definition;
  if (!definition.source) throw componentError(definition, 'source', 'method git needs a repository URL');
  assertPlainName(definition.name, 'component name', { file: definition.origin.file, field: `${definition.origin.field || 'name'}` });
  return installGitSource(session, definition, node.directory);
}

/** Clones (or takes from the cache) a git source into `<parentDir>/components/<name>`, once per run. */
async function installGitSource(session: RenderSession, definition: ComponentDefinition, parentDir: string): Promise<string> {
  const destination = join(parentDir, 'components', definition.name);
  await session.once(`component:${destination}`, () =>
    placeFromCache(session, {
      definition, destination, declared: declaredSource(definition, definition.version ? ['version'] : ['branch']),
      fetch: () => session.fetcher
        .git({ url: definition.source, branch: definition.branch, version: definition.version, token: session.access.tokenFor(definition.source) })
        .catch((error) => {
          throw componentError(definition, 'source', describeError(error), 'check source, branch, version and access.yaml', error);
        }),
    }),
  );
  return destination;
}

/** Where install records the nodes whose install hooks ran, so generate does not run them again. */
const INSTALL_RECORD = join('components', '.installed-hooks.json');

function nodeInstallKey(session: RenderSession, node: ComponentNode): string {
  return `${relative(session.hldDir, node.directory) || '.'}|${node.logicalPath}|${node.definition.name}`;
}

/** The install hooks and source of a node: when any changes, its install runs again. */
function installFingerprint(definition: ComponentDefinition): string {
  const { type, method, source, branch, version, path, hooks } = definition;
  return cacheKey({ type, method, source, branch, version, path, hooks: JSON.stringify([hooks['before-install'] ?? [], hooks['after-install'] ?? []]) });
}

/** The record written by an earlier install (node key -> fingerprint); empty when none or unreadable. */
function installRecord(session: RenderSession): Promise<Map<string, string>> {
  return session.once('install-record', async () => {
    const file = await realPathInside(await checkoutRoot(session.hldDir), join(session.hldDir, INSTALL_RECORD), { what: 'install record', rootLabel: 'the HLD repository' })
      .catch(() => undefined);
    if (file === undefined) return new Map<string, string>();
    const size = (await stat(file).catch(() => undefined))?.size ?? 0;
    if (size === 0 || size > 4 * 1024 * 1024) return new Map<string, string>();
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as unknown;
      const entries = parsed && typeof parsed === 'object' ? Object.entries(parsed as Record<string, unknown>) : [];
      return new Map(entries.filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    } catch {
      return new Map<string, string>();
    }
  });
}

/** Adds the nodes whose install hooks ran in this run to the record (nothing is written when none did). */
export async function saveInstallRecord(session: RenderSession): Promise<void> {
  if (session.hooksInstalled.size === 0) return;
  const record = await installRecord(session);
  for (const [key, fingerprint] of session.hooksInstalled) record.set(key, fingerprint);
  try {
    // Written where it really is: never through a components/ or record symlink that leaves the HLD.
    const file = await realPathInside(await checkoutRoot(session.hldDir), join(session.hldDir, INSTALL_RECORD), { what: 'install record', rootLabel: 'the HLD repository' });
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(Object.fromEntries([...record].sort(([a], [b]) => (a < b ? -1 : 1))), null, 2)}\n`);
  } catch (error) {
    // Best effort: without the record, a later generate runs these install hooks again.
    session.logger.warn(`the record of the install hooks that ran was not written (${describeError(error)}); generate will run them again`);
  }
}

/**
 * Installs one node: before-install hooks, its remote chart or file, after-install hooks. Once per
 * run. When generate runs after install (the session does not refresh installs), a node whose
 * install hooks an earlier install ran for the same declaration is not installed again: its hooks
 * do not run twice and its installed copy is read as it is.
 */
export function installNode(session: RenderSession, node: ComponentNode): Promise<void> {
  return session.once(`install:${node.directory}:${node.definition.name}:${node.logicalPath}`, async () => {
    const definition = node.definition;
    const hasHooks = [...(definition.hooks['before-install'] ?? []), ...(definition.hooks['after-install'] ?? [])].some((command) => command.trim());
    const key = nodeInstallKey(session, node);
    const fingerprint = installFingerprint(definition);
    if (hasHooks && !session.refreshInstalls && (await installRecord(session)).get(key) === fingerprint) {
      session.logger.debug(`${definition.name}: installed by an earlier install; its install hooks are not run again`);
      return;
    }
    if (!node.inlined) await session.access.load(node.directory, session.hldDir, node.remoteSource);
    await runHooks(session, definition, 'before-install', node.directory, { boundary: node.boundary, remoteSource: node.remoteSource });
    if (definition.type === 'helm' && definition.method !== 'local') await chartDirectory(session, node);
    if (definition.type === 'static' && definition.method === 'http') await staticDirectory(session, node);
    if (definition.type === 'kustomize' && definition.method === 'git') await kustomizeSourceDirectory(session, node);
    await runHooks(session, definition, 'after-install', node.directory, { boundary: node.boundary, remoteSource: node.remoteSource });
    if (hasHooks && session.runHooks && (!node.remoteSource || session.allowRemoteHooks)) session.hooksInstalled.set(key, fingerprint);
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
