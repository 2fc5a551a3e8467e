import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isSeq, isScalar, Node } from 'yaml';
import { GitopsError } from '../errors';
import { Logger } from '../logger';
import { isPlainName } from '../names';
import { ComponentDefinition, ComponentMethod, ComponentType, HOOK_NAMES, HookName } from './model';
import { FieldReader, describeNode, displayPath, readYamlOrJson } from './sourceFile';
import { realPathInside } from '../paths';

export interface LoadComponentOptions {
  /** HLD root, so messages show paths relative to it. */
  root?: string;
  logger: Logger;
}

const TYPES: readonly ComponentType[] = ['component', 'helm', 'static', 'kustomize'];
const METHODS: readonly ComponentMethod[] = ['local', 'git', 'helm', 'http'];
const KNOWN_FIELDS = new Set(['name', 'type', 'generator', 'method', 'source', 'path', 'version', 'branch', 'hooks', 'subcomponents', 'repositories']);

/** Reads and validates `component.yaml` (or `component.json`) of a component directory. */
export async function loadComponentFile(dir: string, options: LoadComponentOptions): Promise<ComponentDefinition> {
  const source = await readYamlOrJson(dir, 'component', options.root, options.logger);
  if (!source) {
    const yml = existsSync(join(dir, 'component.yml')) ? ' (component.yml is not read: rename it to component.yaml)' : '';
    throw new GitopsError(`no component.yaml or component.json found${yml}`, {
      file: displayPath(join(dir, 'component.yaml'), options.root),
      hint: 'every component directory needs a component.yaml naming the component',
    });
  }
  const reader = new FieldReader(source);
  return readDefinition(reader, source.root, '', options.logger);
}

function readDefinition(reader: FieldReader, node: Node | null, field: string, logger: Logger): ComponentDefinition {
  const what = field ? `component ${field}` : 'the component file';
  const map = reader.map(node, field, what);
  if (!map) throw reader.error(`${what} is empty; it needs at least a name`, node, field);
  const fields = new Map(reader.entries(map, field).map((entry) => [entry.key, entry]));
  const at = (key: string) => (field ? `${field}.${key}` : key);
  const value = (key: string) => fields.get(key)?.value ?? null;

  for (const entry of fields.values()) {
    if (!KNOWN_FIELDS.has(entry.key)) logger.warn(`${reader.source.display}: unknown field ${entry.field} is ignored`);
  }
  if (!fields.has('name')) throw reader.error('missing required field "name"', map, at('name'), 'add name: <component name>');
  const name = reader.string(value('name'), at('name'));
  if (!isPlainName(name)) {
    throw reader.error(`component name ${JSON.stringify(name)} is not a plain name`, value('name'), at('name'),
      'use letters, digits, ".", "_" and "-" only; the name becomes a folder and file name');
  }

  let typeText = reader.string(value('type'), at('type'));
  const generator = reader.string(value('generator'), at('generator'));
  if (generator) {
    logger.warn(`${reader.source.display}: ${at('generator')} is deprecated; use type: ${generator}`);
    typeText = generator;
  }
  if (fields.has('repositories')) {
    logger.warn(`${reader.source.display}: ${at('repositories')} is deprecated and ignored; use method: helm, source: <chart repository URL>, path: <chart name>`);
  }
  const type = (typeText || 'component') as ComponentType;
  if (!TYPES.includes(type)) {
    throw reader.error(`unknown type ${JSON.stringify(typeText)}`, value(generator ? 'generator' : 'type'), at(generator ? 'generator' : 'type'),
      `use one of ${TYPES.join(', ')} (deliberate difference: Fabrikate rendered an unknown type as an empty file)`);
  }
  const methodText = reader.string(value('method'), at('method'));
  const method = (methodText || 'local') as ComponentMethod;
  if (!METHODS.includes(method)) {
    throw reader.error(`unknown method ${JSON.stringify(methodText)}`, value('method'), at('method'), `use one of ${METHODS.join(', ')}`);
  }

  const definition: ComponentDefinition = {
    name,
    type,
    method,
    source: reader.string(value('source'), at('source')),
    path: reader.string(value('path'), at('path')),
    version: reader.string(value('version'), at('version'), { numbers: true }),
    branch: reader.string(value('branch'), at('branch'), { numbers: true }),
    hooks: readHooks(reader, value('hooks'), at('hooks')),
    subcomponents: readSubcomponents(reader, value('subcomponents'), at('subcomponents'), logger),
    origin: { file: reader.source.display, field, line: reader.line(map) },
  };
  checkCombination(reader, definition, (key) => value(key) ?? map, at);
  return definition;
}

function checkCombination(reader: FieldReader, def: ComponentDefinition, nodeOf: (key: string) => Node, at: (key: string) => string): void {
  // These reach git and helm as arguments: a leading "-" would be read as an option there.
  for (const key of ['source', 'path', 'version', 'branch'] as const) {
    if (def[key].trimStart().startsWith('-')) {
      throw reader.error(`${key} ${JSON.stringify(def[key])} must not start with "-"`, nodeOf(key), at(key), 'a value starting with "-" would be read as an option by git or helm');
    }
  }
  if (def.method === 'http' && def.type !== 'static') {
    throw reader.error('method http can only download a static manifest', nodeOf('method'), at('method'), 'set type: static, or use another method');
  }
  if (def.method === 'helm') {
    if (def.type !== 'helm') throw reader.error('method helm is only for type: helm', nodeOf('method'), at('method'));
    if (!def.source) throw reader.error('method helm needs source (the chart repository URL)', nodeOf('source'), at('source'));
    if (!def.path) throw reader.error('method helm needs path (the chart name)', nodeOf('path'), at('path'));
  }
  if ((def.method === 'git' || def.method === 'http') && !def.source) {
    throw reader.error(`method ${def.method} needs source (the ${def.method === 'git' ? 'repository' : 'manifest'} URL)`, nodeOf('source'), at('source'));
  }
}

function readHooks(reader: FieldReader, node: Node | null, field: string): Partial<Record<HookName, string[]>> {
  const hooks: Partial<Record<HookName, string[]>> = {};
  for (const entry of reader.entries(reader.map(node, field, 'hooks'), field)) {
    if (!HOOK_NAMES.includes(entry.key as HookName)) {
      throw reader.error(`unknown hook ${JSON.stringify(entry.key)}`, entry.pair.key as Node, entry.field, `use one of ${HOOK_NAMES.join(', ')}`);
    }
    if (entry.value === null || (isScalar(entry.value) && entry.value.value === null)) continue;
    if (!isSeq(entry.value)) throw reader.error(`must be a list of commands, not ${describeNode(entry.value)}`, entry.value, entry.field);
    hooks[entry.key as HookName] = entry.value.items.map((item, index) => reader.string(item as Node, `${entry.field}[${index}]`));
  }
  return hooks;
}

function readSubcomponents(reader: FieldReader, node: Node | null, field: string, logger: Logger): ComponentDefinition[] {
  if (node === null || (isScalar(node) && node.value === null)) return [];
  if (!isSeq(node)) throw reader.error(`must be a list of components, not ${describeNode(node)}`, node, field);
  const seen = new Map<string, number | undefined>();
  return node.items.map((item, index) => {
    const child = readDefinition(reader, item as Node, `${field}[${index}]`, logger);
    if (seen.has(child.name)) {
      const first = seen.get(child.name);
      throw reader.error(`two subcomponents are named ${JSON.stringify(child.name)}${first ? ` (the first on line ${first})` : ''}`,
        item as Node, `${field}[${index}].name`,
        'subcomponent names must be unique: they name the config entry and the output file. Deliberate difference from Fabrikate, which rendered both into one file (the last write won): rename one');
    }
    seen.set(child.name, child.origin.line);
    return child;
  });
}

/**
 * A local static component's manifests directory must exist and hold only files (Fabrikate
 * gave an unclear failure otherwise). Runs where the directory is on disk.
 */
export async function validateStaticDirectory(dir: string, def: ComponentDefinition, boundary?: { root: string; label: string }): Promise<string> {
  const manifests = join(dir, def.path);
  const where = { file: def.origin.file, line: def.origin.line, field: def.origin.field ? `${def.origin.field}.path` : 'path' };
  if (boundary) await realPathInside(boundary.root, manifests, { what: `static component ${def.name}: manifests folder`, rootLabel: boundary.label, ...where });
  let info;
  try {
    info = await stat(manifests);
  } catch {
    throw new GitopsError(`static component ${def.name}: manifests directory ${JSON.stringify(def.path || '.')} does not exist (${manifests})`, {
      ...where, hint: 'set path to the folder holding the YAML manifests, relative to the component directory',
    });
  }
  if (!info.isDirectory()) {
    throw new GitopsError(`static component ${def.name}: path ${JSON.stringify(def.path)} is not a directory`, where);
  }
  const subdirectory = (await readdir(manifests, { withFileTypes: true })).find((entry) => entry.isDirectory());
  if (subdirectory) {
    throw new GitopsError(`static component ${def.name}: ${manifests} holds a sub-directory ${JSON.stringify(subdirectory.name)}; static manifests must be files in one folder`, {
      ...where, hint: 'move nested manifests into their own static component',
    });
  }
  return manifests;
}
