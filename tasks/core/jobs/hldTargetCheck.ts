/**
 * Typos refused: before an HLD update writes anything, the environment must already have a config
 * file in the component and every subcomponent must be part of the component tree, unless the
 * caller says a new one is meant. Errors suggest the closest existing name.
 */
import { existsSync, realpathSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { GitopsError } from '../errors';
import type { Node } from 'yaml';
import { toFabrikateValue } from '../hld/fabrikateYaml';
import { parseSource } from '../hld/yamlSource';
import { checkoutRoot, isSymlink, isWithin, realPathInside } from '../paths';
import { isPlainName } from '../names';
import { displayPath } from '../hld/sourceFile';
import { readYamlTextSync } from '../yaml/parse';
import { loadComponentFile } from '../hld/component';
import { configuredEnvironments } from '../hld/environments';
import type { ComponentDefinition } from '../hld/model';
import type { Logger } from '../logger';
import { suggestion } from '../suggest';

export interface TargetCheckOptions {
  /** Allow an environment without a config file in the component (the file is created). */
  createEnvironment?: boolean;
  /** Allow a subcomponent that is neither declared in the component tree nor configured yet. */
  createSubcomponent?: boolean;
  /** The input that named the subcomponent, for errors (default `subcomponent`). */
  subcomponentField?: string;
  /** The checkout the component lives in: nothing outside it is listed or read (default: its git root). */
  root?: string;
}

const quiet: Logger = { debug() {}, info() {}, warn() {} };

/**
 * Checks `environment` and each dotted subcomponent path against the checkout in `componentDir`.
 * `componentLabel` names the component in messages (its path in the HLD, or "the root component").
 */
export async function assertHldTargetExists(componentDir: string, componentLabel: string, environment: string, subcomponents: readonly string[], options: TargetCheckOptions): Promise<void> {
  const root = await checkoutRoot(options.root ?? componentDir);
  // A committed symlink (config/ or the component folder) must not make us list or read outside files.
  for (const [path, what] of [[componentDir, 'component folder'], [join(componentDir, 'config'), 'config folder']] as const) {
    if (existsSync(path) || isSymlink(path)) await realPathInside(root, path, { what, rootLabel: 'the HLD repository' });
  }
  // The environment's config file itself, also when it is a dangling link (it is then no configured
  // environment, but a link pointing out of the checkout is named as what it is).
  if (isPlainName(environment)) {
    for (const ext of ['yaml', 'json']) {
      const file = join(componentDir, 'config', `${environment}.${ext}`);
      if (isSymlink(file)) await realPathInside(root, file, { what: 'config file', rootLabel: 'the HLD repository', file: displayPath(file, root) });
    }
  }
  const environments = configuredEnvironments(componentDir);
  if (!options.createEnvironment && environment !== 'common' && !environments.includes(environment)) {
    const hint = suggestion(environment, environments);
    throw new GitopsError(`environment ${JSON.stringify(environment)} has no config file in ${componentLabel} (config/${environment}.yaml)${hint ? `: ${hint}` : ''}`, {
      field: 'environment',
      hint: 'check the environment name; to start a new environment on purpose set createEnvironment (CLI: --create-environment)',
    });
  }
  if (options.createSubcomponent) return;
  const configured = environments.map((env) => readConfig(componentDir, env, root));
  let definition: ComponentDefinition | undefined;
  let loaded = false;
  for (const path of new Set(subcomponents)) {
    if (path === '') continue;
    if (!loaded) {
      definition = await tryLoadComponent(componentDir, root);
      loaded = true;
    }
    await checkPath(path, componentDir, definition, configured, componentLabel, options.subcomponentField ?? 'subcomponent', root);
  }
}

async function checkPath(path: string, componentDir: string, top: ComponentDefinition | undefined, configured: unknown[], label: string, field: string, root: string): Promise<void> {
  const segments = path.split('.');
  let definition = top;
  let dir: string | undefined = componentDir;
  let entries = configured;
  for (let i = 0; i < segments.length; i++) {
    const name = segments[i];
    const declared = definition?.subcomponents ?? [];
    const configuredNames = entries.flatMap((entry) => Object.keys(subcomponentsOf(entry)));
    const match = declared.find((d) => d.name === name);
    if (!match && !configuredNames.includes(name)) {
      const where = i === 0 ? label : `subcomponent ${segments.slice(0, i).join('.')}`;
      const hint = suggestion(name, [...declared.map((d) => d.name), ...configuredNames]);
      throw new GitopsError(`subcomponent ${JSON.stringify(segments.slice(0, i + 1).join('.'))} is not in the component tree: ${where} declares no subcomponent ${JSON.stringify(name)} and no config file sets one${hint ? `; ${hint}` : ''}`, {
        field,
        hint: 'check the subcomponent name; to add a new subcomponent entry on purpose set createSubcomponent (CLI: --create-subcomponent)',
      });
    }
    entries = entries.map((entry) => subcomponentsOf(entry)[name]);
    const childDir: string | undefined = match && dir ? childFolder(dir, match) : undefined;
    definition = childDir ? await tryLoadComponent(childDir, root) : undefined;
    dir = childDir;
  }
}

/** The folder of a `type: component` child on disk (local source, or an installed git component). */
function childFolder(parentDir: string, child: ComponentDefinition): string | undefined {
  if (child.type === 'helm' || child.type === 'static') return undefined;
  const base = child.method === 'git' ? join('components', child.name) : child.source || '.';
  const dir = join(isAbsolute(base) ? base : join(parentDir, base), child.path);
  return existsSync(dir) ? dir : undefined;
}

async function tryLoadComponent(dir: string, root: string): Promise<ComponentDefinition | undefined> {
  if (!existsSync(join(dir, 'component.yaml')) && !existsSync(join(dir, 'component.json'))) return undefined;
  // A broken component file is reported by the render; here it only means "no declared names".
  return loadComponentFile(dir, { root, logger: quiet }).catch(() => undefined);
}

/** A config file's values (bounded, read as Fabrikate did); undefined when unreadable or outside the checkout. */
function readConfig(componentDir: string, environment: string, root: string): unknown {
  for (const ext of ['yaml', 'json']) {
    const file = join(componentDir, 'config', `${environment}.${ext}`);
    if (!existsSync(file) || !isWithin(realpathSync(root), realpathSync(file))) continue;
    try {
      const { document } = parseSource(readYamlTextSync(file, file), file);
      return toFabrikateValue(document.contents as Node | null, document);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function subcomponentsOf(entry: unknown): Record<string, unknown> {
  if (!entry || typeof entry !== 'object') return {};
  const subs = (entry as Record<string, unknown>).subcomponents;
  return subs && typeof subs === 'object' && !Array.isArray(subs) ? (subs as Record<string, unknown>) : {};
}
