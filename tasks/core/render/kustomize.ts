import { mkdir, mkdtemp, stat, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { GitopsError } from '../errors';
import { runProcess } from '../exec';
import { ComponentDefinition, ComponentNode } from '../hld/model';
import { boundaryLabel } from '../hld/tree';
import { checkoutRoot, isWithin, realPathInside } from '../paths';
import { Document, isAlias, isPair, isScalar, LineCounter, Node, parseAllDocuments, visit } from 'yaml';
import { loadYamlDocuments, parseYamlDocument, readYamlText, yamlDocumentValue } from '../yaml/parse';
import { exists } from './cache';
import { findOnPath } from './helm';
import { componentError, kustomizeSourceDirectory } from './install';
import { normalizeHelmOutput } from './manifests';
import { RenderSession } from './session';

/** One `images:` entry of a kustomization (kustomize's image transformer). */
export interface KustomizeImage {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

const IMAGE_FIELDS = ['name', 'newName', 'newTag', 'digest'] as const;
const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/**
 * Renders a `type: kustomize` component: the folder `path` (local, or inside a git `source`)
 * holding a kustomization, built with `kustomize build` (a kustomize on PATH) or
 * `kubectl kustomize`. Before the build, every kustomization it reaches is checked (see
 * assertKustomizationConfined): nothing may lead outside the HLD checkout (or the component's
 * fetched tree), and nothing may be fetched from the network. The component's config may set
 * `images:` (name, newName, newTag, digest) and its `namespace`; they are applied by an overlay
 * in a scratch folder that names the original folder as its resource (so `../../base` of an
 * overlay keeps working), and the source is never edited. Output is framed like helm's:
 * `---\n<document>\n` per document. The build is bounded by the run's network deadline.
 */
export async function renderKustomize(session: RenderSession, node: ComponentNode): Promise<string> {
  const { definition, config } = node;
  const { folder, boundary } = await kustomizationFolder(session, node);
  await session.once(`kustomize-confined:${boundary}:${folder}`, () => assertKustomizationConfined(session, definition, folder, boundary));
  const images = readImages(node);
  const scratch = await mkdtemp(join(await ensureDir(join(session.workDir, 'kustomize')), `${definition.name}-`));
  let target = folder;
  if (images.length > 0 || config.namespace) {
    const overlay = join(scratch, 'overlay');
    await mkdir(overlay);
    // kustomize refuses absolute resource folders: the checked real folder, relative to the overlay.
    // JSON is YAML: every string stays a string (a tag like 5640e21 included).
    const kustomization = { resources: [relative(overlay, folder)], ...(config.namespace ? { namespace: config.namespace } : {}), ...(images.length > 0 ? { images } : {}) };
    await writeFile(join(overlay, 'kustomization.yaml'), `${JSON.stringify(kustomization, null, 2)}\n`);
    target = overlay;
  }
  const tool = await session.once('kustomize-tool', () => locateTool(session));
  if (!tool) {
    throw componentError(definition, 'type', 'kustomize components need kustomize or kubectl on PATH', 'install kubectl (it includes kustomize) or kustomize on the agent');
  }
  // Only the default flags: files stay under their kustomization's folder (load restrictor),
  // no helm charts, no plugins or KRM functions, no network for functions.
  const args = basename(tool).startsWith('kubectl') ? ['kustomize', target] : ['build', target];
  const timeoutMs = session.network.deadlineMs;
  const started = Date.now();
  const result = await runProcess(tool, args, { cwd: scratch, env: session.env, timeoutMs });
  if (result.code !== 0) {
    if (Date.now() - started >= timeoutMs) {
      throw componentError(definition, 'path', `kustomize did not finish within ${Math.round(timeoutMs / 1000)} s; stopped`, 'make the kustomization smaller, or raise the network deadline of the run');
    }
    const detail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-3).join(' ');
    throw componentError(definition, 'path', `kustomize failed: ${detail}`, 'check the kustomization and the images/namespace in config/<env>.yaml');
  }
  return normalizeHelmOutput(result.stdout);
}

async function ensureDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  return dir;
}

async function locateTool(session: RenderSession): Promise<string | undefined> {
  if (session.kustomizePath) {
    if (!(await exists(session.kustomizePath))) {
      throw new GitopsError(`kustomize tool ${session.kustomizePath} does not exist`, { field: 'kustomizePath', hint: 'give the path of a kubectl or kustomize binary' });
    }
    return session.kustomizePath;
  }
  const path = session.env.PATH ?? '';
  return (await findOnPath('kustomize', path)) ?? (await findOnPath('kubectl', path));
}

/** The real path of the component's kustomization folder and the folder it must stay in. */
async function kustomizationFolder(session: RenderSession, node: ComponentNode): Promise<{ folder: string; boundary: string }> {
  const { definition } = node;
  let base = node.directory;
  let boundary: string;
  if (definition.method === 'git') {
    base = await kustomizeSourceDirectory(session, node);
    boundary = base;
  } else if (definition.method === 'local') {
    boundary = node.boundary ?? (await checkoutRoot(session.hldDir));
  } else {
    throw componentError(definition, 'method', `method "${definition.method}" cannot provide a kustomization`, 'use local (a folder of the HLD) or git');
  }
  const path = resolve(base, definition.path);
  if (!isWithin(base, path)) throw componentError(definition, 'path', `path "${definition.path}" leaves the component's folder`, 'use a folder inside it');
  // Symlinks included: the folder kustomize reads must really be inside the checkout or fetched tree.
  const folder = await realPathInside(boundary, path, {
    what: `component ${definition.name}: kustomization folder`,
    rootLabel: definition.method === 'git' ? 'the files fetched from its source' : boundaryLabel(boundary, session.hldDir),
    file: definition.origin.file, line: definition.origin.line, field: `${definition.origin.field ? `${definition.origin.field}.` : ''}path`,
  });
  if (await kustomizationFile(folder)) return { folder, boundary };
  throw componentError(definition, 'path', `no kustomization.yaml in "${relative(session.hldDir, path) || definition.path || '.'}"`, 'set path to the folder that holds kustomization.yaml');
}

async function kustomizationFile(folder: string): Promise<string | undefined> {
  for (const file of KUSTOMIZATION_FILES) {
    if (await exists(join(folder, file))) return join(folder, file);
  }
  return undefined;
}

/** Most kustomizations one component may reach (its own, bases, components, plugin folders). */
const MAX_KUSTOMIZATIONS = 500;

/** Entries naming kustomization folders or resource files; a missing one would be fetched as a remote URL. */
const LOCATION_LISTS = ['resources', 'bases', 'components'];
/** Entries naming plugin configuration files or folders, or holding the configuration inline. */
const PLUGIN_LISTS = ['generators', 'transformers', 'validators'];
/** Entries naming files (kustomize also downloads http(s) URLs here). */
const FILE_LISTS = ['crds', 'configurations'];
/** Lists of maps whose `path` names a file. */
const PATH_ITEM_LISTS = ['patches', 'patchesJson6902', 'replacements'];
/** Fields that make kustomize pull helm charts (only with --enable-helm, which is never given). */
const HELM_FIELDS = ['helmCharts', 'helmGlobals', 'helmChartInflationGenerator'];

/**
 * Every field of kustomize's Kustomization (sigs.k8s.io/kustomize/api/types), spelled exactly.
 * kustomize decodes a kustomization with Go's encoding/json, which matches field names in any
 * case (`Resources`, `RESOURCES`, `reſources` are `resources`) and refuses unknown ones, so the
 * walk accepts only these exact spellings: any other key is refused before kustomize runs.
 */
const KUSTOMIZATION_FIELDS = [
  'apiVersion', 'kind', 'metadata', 'openapi', 'namePrefix', 'nameSuffix', 'namespace', 'commonLabels', 'labels',
  'commonAnnotations', 'patchesStrategicMerge', 'patchesJson6902', 'patches', 'images', 'imageTags', 'replacements',
  'replicas', 'vars', 'sortOptions', 'resources', 'components', 'crds', 'bases', 'configMapGenerator', 'secretGenerator',
  'helmGlobals', 'helmCharts', 'helmChartInflationGenerator', 'generatorOptions', 'configurations', 'generators',
  'transformers', 'validators', 'inventory', 'buildMetadata',
];
/** Fields of the nested maps the walk reads (also decoded case-insensitively by kustomize). */
const PATCH_FIELDS = ['path', 'patch', 'target', 'options'];
const REPLACEMENT_FIELDS = ['path', 'source', 'targets'];
const GENERATOR_FIELDS = ['namespace', 'name', 'behavior', 'literals', 'files', 'envs', 'env', 'options', 'type'];
const OPENAPI_FIELDS = ['path', 'version'];
/** The fields of a builtin plugin's configuration that the walk reads. */
const PLUGIN_CONFIG_FIELDS = ['kind', 'path', 'paths', 'replacements', 'files', 'envs', 'env'];

interface ConfinementWalk {
  session: RenderSession;
  definition: ComponentDefinition;
  boundary: string;
  rootLabel: string;
  seen: Set<string>;
}

/**
 * Reads every kustomization reachable from `folder` (resources, bases, components, plugin
 * folders) with the bounded YAML parser and refuses, naming the kustomization file and field:
 * URLs anywhere a path goes (remote bases and http(s) files would make the agent fetch them),
 * resources that do not exist (kustomize would try them as remote git repositories), helm chart
 * fields, and any path that resolves (symlinks and `..` followed) outside `boundary`.
 */
async function assertKustomizationConfined(session: RenderSession, definition: ComponentDefinition, folder: string, boundary: string): Promise<void> {
  const walk: ConfinementWalk = { session, definition, boundary, rootLabel: boundaryLabel(boundary, session.hldDir), seen: new Set() };
  await checkKustomization(walk, folder);
}

function shownPath(walk: ConfinementWalk, path: string): string {
  const root = isWithin(walk.boundary, walk.session.hldDir) ? walk.session.hldDir : walk.boundary;
  return relative(root, path) || '.';
}

function refusal(walk: ConfinementWalk, file: string, field: string, message: string, hint: string): GitopsError {
  return new GitopsError(`component "${walk.definition.name}": ${message}`, { file, field: field || undefined, hint });
}

const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\/|^[^/\s]+@[^/\s]+:/i;

async function checkKustomization(walk: ConfinementWalk, folder: string, from?: { file: string; field: string }): Promise<void> {
  if (walk.seen.has(folder)) return;
  walk.seen.add(folder);
  if (walk.seen.size > MAX_KUSTOMIZATIONS) {
    throw componentError(walk.definition, 'path', `reaches more than ${MAX_KUSTOMIZATIONS} kustomizations; refused`, 'keep the kustomization tree small');
  }
  const file = await kustomizationFile(folder);
  if (!file) {
    throw refusal(walk, from?.file ?? shownPath(walk, folder), from?.field ?? '', `folder "${shownPath(walk, folder)}" holds no kustomization.yaml`, 'a folder named in resources, bases, components or plugin lists must hold a kustomization.yaml');
  }
  const display = shownPath(walk, file);
  const real = await realPathInside(walk.boundary, file, { what: 'kustomization file', rootLabel: walk.rootLabel, file: display });
  const { document, lineOf } = parseYamlDocument(await readYamlText(real, display), display);
  assertPlainYaml(walk, document, display, lineOf);
  const value = yamlDocumentValue(document);
  if (value === null || value === undefined) return;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw refusal(walk, display, '', 'a kustomization must be a map', 'write the kustomization as a map of fields (resources, patches, ...)');
  }
  checkFieldNames(walk, display, '', value, KUSTOMIZATION_FIELDS, { unknown: 'refuse' });
  const check = (field: string, entry: unknown, options: { location?: boolean } = {}) => checkPath(walk, folder, display, field, entry, options);
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    if (raw === null || raw === undefined) continue;
    if (HELM_FIELDS.includes(key)) {
      throw refusal(walk, display, key, `${key} is refused: kustomize would download helm charts`, 'render the chart with a type: helm component instead');
    }
    const items = Array.isArray(raw) ? raw : [raw];
    if (LOCATION_LISTS.includes(key)) {
      for (const [index, entry] of items.entries()) await check(`${key}[${index}]`, entry, { location: true });
    } else if (PLUGIN_LISTS.includes(key)) {
      for (const [index, entry] of items.entries()) {
        const field = `${key}[${index}]`;
        // A multi-line entry is the plugin's configuration written inline, not a path.
        if (typeof entry === 'string' && entry.includes('\n')) {
          await checkPluginConfigs(walk, folder, display, field, pluginConfigDocuments(walk, entry, display, true));
          continue;
        }
        const real = await check(field, entry, { location: true });
        if (real && (await stat(real)).isFile()) {
          const configFile = shownPath(walk, real);
          await checkPluginConfigs(walk, folder, display, field, pluginConfigDocuments(walk, await readYamlText(real, configFile), configFile));
        }
      }
    } else if (FILE_LISTS.includes(key)) {
      for (const [index, entry] of items.entries()) await check(`${key}[${index}]`, entry);
    } else if (key === 'patchesStrategicMerge') {
      // Entries are files or inline patches; an inline patch is never a path.
      for (const [index, entry] of items.entries()) {
        if (typeof entry === 'string' && !entry.includes('\n') && !/^\s*[{[]/.test(entry)) await check(`${key}[${index}]`, entry);
      }
    } else if (PATH_ITEM_LISTS.includes(key)) {
      for (const [index, entry] of items.entries()) {
        checkFieldNames(walk, display, `${key}[${index}].`, entry, key === 'replacements' ? REPLACEMENT_FIELDS : PATCH_FIELDS);
        const path = (entry as { path?: unknown } | null)?.path;
        if (path !== undefined && path !== null) await check(`${key}[${index}].path`, path);
      }
    } else if (key === 'configMapGenerator' || key === 'secretGenerator') {
      for (const [index, entry] of items.entries()) {
        checkFieldNames(walk, display, `${key}[${index}].`, entry, GENERATOR_FIELDS);
        await checkGeneratorSources(entry, `${key}[${index}].`, check);
      }
    } else if (key === 'openapi') {
      checkFieldNames(walk, display, 'openapi.', raw, OPENAPI_FIELDS);
      const path = (raw as { path?: unknown }).path;
      if (path !== undefined && path !== null) await check('openapi.path', path);
    }
  }
}

/** A field name as Go's encoding/json compares it (ASCII case, and the long s and Kelvin sign that fold to s and k). */
function foldName(name: string): string {
  return name.replace(/\u017f/g, 's').replace(/\u212a/g, 'k').toLowerCase();
}

/**
 * The keys of a map the walk reads: a key that kustomize would take for one of `known` must be
 * spelled exactly like it (otherwise the walk would miss the field kustomize uses); with
 * `unknown: 'refuse'`, any other key is refused too (kustomize refuses unknown kustomization fields).
 */
function checkFieldNames(walk: ConfinementWalk, display: string, prefix: string, map: unknown, known: readonly string[], options: { unknown?: 'refuse' } = {}): void {
  if (map === null || typeof map !== 'object' || Array.isArray(map)) return;
  for (const key of Object.keys(map)) {
    if (known.includes(key)) continue;
    const meant = known.find((name) => foldName(name) === foldName(key));
    if (meant) {
      throw refusal(walk, display, `${prefix}${key}`, `field "${prefix}${key}" is read by kustomize as "${prefix}${meant}" (it ignores the case of field names); refused`,
        `spell the field exactly "${meant}"`);
    }
    if (options.unknown === 'refuse') {
      throw refusal(walk, display, `${prefix}${key}`, `"${prefix}${key}" is not a kustomization field`,
        'use only kustomize\'s fields, spelled exactly (resources, patches, images, configMapGenerator, ...)');
    }
  }
}

/**
 * Refuses anchors, aliases, `<<` merge keys and explicit tags in a kustomization or plugin
 * configuration: kustomize's YAML reader (go-yaml, YAML 1.1) applies merge keys and decodes tags
 * such as !!binary, so such a file could mean to kustomize something other than what the walk reads.
 */
function assertPlainYaml(walk: ConfinementWalk, document: Document, display: string, lineOf: (offset: number | undefined) => number | undefined): void {
  let found: { what: string; node: Node } | undefined;
  visit(document, (_key, node) => {
    if (isAlias(node)) found = { what: `an alias (*${node.source})`, node };
    else if (isPair(node) && isScalar(node.key) && (node.key.value === '<<' || typeof node.key.value === 'symbol' || node.key.source === '<<')) {
      found = { what: 'a << merge key', node: node.key };
    } else if (node && typeof node === 'object' && 'anchor' in node && (node as { anchor?: string }).anchor) {
      found = { what: `an anchor (&${(node as { anchor?: string }).anchor})`, node: node as Node };
    } else if (node && typeof node === 'object' && 'tag' in node && (node as { tag?: string }).tag) {
      found = { what: `an explicit tag (${(node as { tag?: string }).tag})`, node: node as Node };
    }
    return found ? visit.BREAK : undefined;
  });
  if (!found) return;
  throw new GitopsError(`component "${walk.definition.name}": ${found.what} is refused in a kustomization; kustomize's YAML reader would not read it as the check does`, {
    file: display, line: lineOf(found.node.range?.[0]), hint: 'write the fields out in full, without anchors (&), aliases (*), << merge keys or tags (!!)',
  });
}

/**
 * The documents of a plugin configuration (bounded), refused when they hold anchors, aliases,
 * merge keys or tags. An `inline` configuration is a string of the kustomization: no line is given.
 */
function pluginConfigDocuments(walk: ConfinementWalk, text: string, file: string, inline = false): unknown[] {
  const documents = loadYamlDocuments(text, file);
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter });
  const lineOf = (offset: number | undefined) => (inline || offset === undefined ? undefined : lineCounter.linePos(offset).line);
  for (const document of Array.isArray(parsed) ? parsed : []) assertPlainYaml(walk, document, file, lineOf);
  return documents;
}

function listOf(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * One path of a kustomization: no URL; inside the boundary after following symlinks and `..`;
 * a `location` (resource, base, component, plugin) must exist, and a folder is walked in turn.
 */
async function checkPath(walk: ConfinementWalk, folder: string, display: string, field: string, entry: unknown, options: { location?: boolean }): Promise<string> {
  if (typeof entry !== 'string') {
    throw refusal(walk, display, field, `${field} must be a path`, 'write a path relative to the kustomization');
  }
  if (URL_LIKE.test(entry.trim())) {
    throw refusal(walk, display, field, `${field} "${entry}" is a remote URL; kustomize components may only use files of the repository`,
      'copy the remote files into the repository (or render them with a git component); the agent never fetches URLs named by a kustomization');
  }
  const real = await realPathInside(walk.boundary, resolve(folder, entry), { what: `component ${walk.definition.name}: ${field}`, rootLabel: walk.rootLabel, file: display, field });
  if (!options.location) return real;
  const info = await stat(real).catch(() => undefined);
  if (!info) {
    throw refusal(walk, display, field, `${field} "${entry}" does not exist in ${walk.rootLabel}; kustomize would try it as a remote URL, which is refused`,
      'name a file or folder of the repository, relative to the kustomization');
  }
  if (info.isDirectory()) await checkKustomization(walk, real, { file: display, field });
  return real;
}

type PathCheck = (field: string, entry: unknown, options?: { location?: boolean }) => Promise<string>;

/** The files a ConfigMap or Secret generator reads: `files` (`key=path` or `path`), `envs`, `env`. */
async function checkGeneratorSources(entry: unknown, prefix: string, check: PathCheck): Promise<void> {
  const generator = (entry ?? {}) as { files?: unknown; envs?: unknown; env?: unknown };
  for (const [n, source] of listOf(generator.files).entries()) {
    const path = typeof source === 'string' && source.includes('=') ? source.slice(source.indexOf('=') + 1) : source;
    await check(`${prefix}files[${n}]`, path);
  }
  for (const [n, env] of listOf(generator.envs).entries()) await check(`${prefix}envs[${n}]`, env);
  if (generator.env !== undefined && generator.env !== null) await check(`${prefix}env`, generator.env);
}

/**
 * Configurations of builtin plugins (from `generators`/`transformers`/`validators`, inline or in
 * a file): the files they name (`path`, `paths`, generator sources, `replacements[].path`) are
 * paths of the kustomization's folder and are checked like the kustomization's own; a helm chart
 * generator is refused. Other plugins need flags that are never given, so kustomize refuses them.
 */
async function checkPluginConfigs(walk: ConfinementWalk, folder: string, display: string, field: string, documents: unknown[]): Promise<void> {
  const check: PathCheck = (inner, entry, options = {}) => checkPath(walk, folder, display, `${field}.${inner}`, entry, options);
  for (const document of documents) {
    if (document === null || typeof document !== 'object' || Array.isArray(document)) continue;
    const config = document as Record<string, unknown>;
    checkFieldNames(walk, display, `${field}.`, config, PLUGIN_CONFIG_FIELDS);
    for (const item of listOf(config.replacements)) checkFieldNames(walk, display, `${field}.replacements[].`, item, REPLACEMENT_FIELDS);
    if (config.kind === 'HelmChartInflationGenerator') {
      throw refusal(walk, display, field, `${field} is refused: kustomize would download helm charts`, 'render the chart with a type: helm component instead');
    }
    if (config.path !== undefined && config.path !== null) await check('path', config.path);
    for (const [n, path] of listOf(config.paths).entries()) await check(`paths[${n}]`, path);
    for (const [n, item] of listOf(config.replacements).entries()) {
      const path = (item as { path?: unknown } | null)?.path;
      if (path !== undefined && path !== null) await check(`replacements[${n}].path`, path);
    }
    await checkGeneratorSources(config, '', check);
  }
}

/** `config.images`: a list of {name, newName?, newTag?, digest?}; numbers are kept as their text. */
function readImages(node: ComponentNode): KustomizeImage[] {
  const raw = node.config.config.images;
  if (raw === undefined || raw === null) return [];
  const bad = (message: string) => componentError(node.definition, 'config', `config.images ${message}`,
    'write images as a list of maps: - {name: nginx, newTag: "1.27"} (keys name, newName, newTag, digest)');
  if (!Array.isArray(raw)) throw bad('must be a list');
  return raw.map((item, index) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) throw bad(`[${index}] must be a map`);
    const image: Record<string, string> = {};
    for (const [key, value] of Object.entries(item as Record<string, unknown>)) {
      if (!(IMAGE_FIELDS as readonly string[]).includes(key)) throw bad(`[${index}] has an unknown key "${key}"`);
      if (value === null || value === undefined) continue;
      if (typeof value === 'object') throw bad(`[${index}].${key} must be a single value`);
      image[key] = String(value);
    }
    if (!image.name) throw bad(`[${index}] needs a name (the image name used in the manifests)`);
    return image as unknown as KustomizeImage;
  });
}
