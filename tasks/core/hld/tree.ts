import { existsSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { isAbsolute, join, posix, resolve } from 'node:path';
import { GitopsError } from '../errors';
import { Logger } from '../logger';
import { loadComponentFile, validateStaticDirectory } from './component';
import { loadConfig } from './config';
import { mergeConfigs, resolveConfig } from './merge';
import { ComponentConfig, ComponentDefinition, ComponentNode, emptyConfig, EnvironmentSet } from './model';
import { displayPath } from './sourceFile';
import { checkoutRoot, isWithin, realPathInside } from '../paths';
import { allSettledOrThrow } from '../settle';

/** How messages name the folder a component must stay in: the HLD's checkout, or a fetched tree below it. */
export function boundaryLabel(boundary: string, root: string): string {
  return isWithin(boundary, root) ? 'the HLD repository' : `the fetched files of ${displayPath(boundary, root)}`;
}

export interface LoadTreeOptions {
  logger: Logger;
  /**
   * Puts a `type: component, method: git` child on disk and returns the folder of its
   * component.yaml (including the definition's `path`). Without it, an already installed
   * `<parentDir>/components/<name>` is used.
   */
  materialize?: (definition: ComponentDefinition, parentDir: string) => Promise<string>;
  /**
   * Called for every enabled node once its config is merged and BEFORE its children are loaded,
   * as Fabrikate's WalkComponentTree ran a component's iterator (hooks, install, generate) before
   * preparing its subcomponents: a parent's hooks may create a child's folder, chart or manifests.
   * Siblings are walked concurrently. With `visit`, static folders are left for the visitor to
   * check (after the hooks that create them).
   */
  visit?: (node: ComponentNode) => Promise<void>;
}

/**
 * Builds the component tree of an HLD for one environment set, with each node's config merged.
 * Logical paths follow Fabrikate: root `./`, a non-inlined child `path.join(parent, name)` (so a
 * root child is `name`), inlined helm/static children share their parent's. Disabled children
 * stay in the tree with `config.disabled` set, without loading or installing what is below them.
 */
export async function loadTree(rootDir: string, environments: EnvironmentSet, options: LoadTreeOptions): Promise<ComponentNode> {
  const root = resolve(rootDir);
  const context: WalkContext = { ...options, root, environments };
  let definition = await loadComponentFile(root, { root, logger: options.logger });
  let config = await resolveConfig(root, environments, undefined, { root, logger: options.logger, isRoot: true });
  if (config.disabled) options.logger.warn(`${definition.origin.file}: disabled in the root component's own config has no effect`);
  let directory = root;
  let boundary = await checkoutRoot(root);
  let remoteSource: string | undefined;
  const ancestors = [await realpath(root)];
  if (definition.method === 'git' && definition.type === 'component') {
    // Fabrikate's UpdateComponentPath: the root is replaced by the component cloned into
    // components/<name>; the root folder's config beats the cloned component's own.
    directory = await childDirectory(root, definition, context);
    boundary = join(root, 'components', definition.name);
    remoteSource = definition.source;
    await realPathInside(boundary, directory, {
      what: 'component folder', rootLabel: boundaryLabel(boundary, root),
      file: definition.origin.file, line: definition.origin.line, field: fieldOf(definition, 'path'),
    });
    ancestors.push(await realpath(directory));
    definition = await loadComponentFile(directory, { root, logger: options.logger });
    config = await resolveConfig(directory, environments, config, { root, logger: options.logger });
  }
  config.disabled = false;
  const node: ComponentNode = { definition, directory, logicalPath: './', inlined: false, boundary, remoteSource, config, children: [] };
  await options.visit?.(node);
  await loadChildren(node, ancestors, context);
  return node;
}

interface WalkContext extends LoadTreeOptions {
  root: string;
  environments: EnvironmentSet;
}

async function loadChildren(parent: ComponentNode, ancestors: string[], context: WalkContext): Promise<void> {
  parent.children = await allSettledOrThrow(parent.definition.subcomponents.map((definition) => {
    const override = parent.config.subcomponents[definition.name];
    if (definition.type === 'helm' || definition.type === 'static' || definition.type === 'kustomize') return inlinedChild(parent, definition, override, ancestors, context);
    return componentChild(parent, definition, override, ancestors, context);
  }));
}

/**
 * A helm or static child shares its parent's folder and logical path. Its own `subcomponents:`
 * are walked too (Fabrikate's WalkComponentTree visits the subcomponents of every component),
 * taking their config from the inlined child's entry in the parent's config.
 */
async function inlinedChild(
  parent: ComponentNode,
  definition: ComponentDefinition,
  override: ComponentConfig | undefined,
  ancestors: string[],
  context: WalkContext,
): Promise<ComponentNode> {
  const config = override ? mergeConfigs([override]) : emptyConfig();
  const boundary = parent.boundary ?? context.root;
  if (!context.visit && !config.disabled && definition.type === 'static' && definition.method === 'local') {
    await validateStaticDirectory(parent.directory, definition, { root: boundary, label: boundaryLabel(boundary, context.root) });
  }
  const node: ComponentNode = {
    definition, directory: parent.directory, logicalPath: parent.logicalPath, inlined: true, boundary, remoteSource: parent.remoteSource, config, children: [],
  };
  if (config.disabled) return node;
  await context.visit?.(node);
  await loadChildren(node, ancestors, context);
  return node;
}

async function componentChild(
  parent: ComponentNode,
  declared: ComponentDefinition,
  override: ComponentConfig | undefined,
  ancestors: string[],
  context: WalkContext,
): Promise<ComponentNode> {
  const logicalPath = posix.join(parent.logicalPath, declared.name);
  if (override?.disabled) {
    context.logger.info(`component ${logicalPath} is disabled`);
    const config = { ...mergeConfigs([override]), disabled: true };
    return { definition: declared, directory: expectedDirectory(parent.directory, declared), logicalPath, inlined: false, config, children: [] };
  }
  const directory = await childDirectory(parent.directory, declared, context);
  const real = await realpath(directory).catch(() => {
    throw new GitopsError(`component ${declared.name}: directory ${directory} does not exist`, {
      file: declared.origin.file, line: declared.origin.line, field: fieldOf(declared, 'source'),
      hint: 'set source to the component folder, relative to the parent component',
    });
  });
  // A git component's files stay in its fetched tree; a local one's in its parent's.
  const boundary = declared.method === 'git' ? join(parent.directory, 'components', declared.name) : parent.boundary ?? context.root;
  await realPathInside(boundary, directory, {
    what: 'component folder', rootLabel: boundaryLabel(boundary, context.root),
    file: declared.origin.file, line: declared.origin.line, field: fieldOf(declared, declared.method === 'git' ? 'path' : 'source'),
  });
  if (ancestors.includes(real)) {
    throw new GitopsError(`component ${declared.name} includes itself: ${displayPath(real, context.root)} is already an ancestor`, {
      file: declared.origin.file, line: declared.origin.line, field: fieldOf(declared, 'source'),
      hint: 'a local component must not point back at a folder above it',
    });
  }
  // Fabrikate's LoadComponent: the child's own file gives the name (its output file name),
  // while the logical path and the parent's config entry use the name the parent declared.
  const definition = await loadComponentFile(directory, { root: context.root, logger: context.logger });
  if (definition.name !== declared.name) {
    context.logger.info(`component ${logicalPath}: its component file names it ${definition.name}, so it renders to ${posix.join(logicalPath, definition.name)}.yaml`);
  }
  const own = await loadConfigWithoutOverride(directory, context);
  const config = await resolveConfig(directory, context.environments, override, { root: context.root, logger: context.logger });
  // Fabrikate decides disabled from the parent's entry only; a component's own file cannot disable it.
  config.disabled = false;
  if (own.disabled) context.logger.warn(`${displayPath(directory, context.root)}: disabled in a component's own config has no effect; set subcomponents.${declared.name}.disabled in the parent's config`);
  const remoteSource = declared.method === 'git' ? declared.source : parent.remoteSource;
  const node: ComponentNode = { definition, directory, logicalPath, inlined: false, boundary, remoteSource, config, children: [] };
  await context.visit?.(node);
  await loadChildren(node, [...ancestors, real], context);
  return node;
}

async function loadConfigWithoutOverride(directory: string, context: WalkContext): Promise<{ disabled: boolean }> {
  for (const environment of [...context.environments, 'common']) {
    const layer = await loadConfig(directory, environment, { root: context.root, logger: { debug() {}, info() {}, warn() {} } });
    if (layer?.disabled) return { disabled: true };
  }
  return { disabled: false };
}

/** Where Fabrikate placed a component child: `components/<name>` for git, else `source`, then `path`. */
function expectedDirectory(parentDir: string, definition: ComponentDefinition): string {
  const base = definition.method === 'git' ? join('components', definition.name) : definition.source || '.';
  const located = isAbsolute(base) ? base : join(parentDir, base);
  return join(located, definition.path);
}

async function childDirectory(parentDir: string, definition: ComponentDefinition, context: WalkContext): Promise<string> {
  if (definition.method !== 'git') return expectedDirectory(parentDir, definition);
  if (context.materialize) return context.materialize(definition, parentDir);
  const installed = expectedDirectory(parentDir, definition);
  if (!existsSync(installed)) {
    throw new GitopsError(`component ${definition.name} is not installed (${displayPath(installed, context.root)} is missing)`, {
      file: definition.origin.file, line: definition.origin.line, field: fieldOf(definition, 'source'),
      hint: 'run install first, which clones git components into components/<name>',
    });
  }
  return installed;
}

function fieldOf(definition: ComponentDefinition, key: string): string {
  return definition.origin.field ? `${definition.origin.field}.${key}` : key;
}
