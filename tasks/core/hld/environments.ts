/** Which environments an HLD configures: the `config/<env>.yaml|json` files of its components. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GitopsError } from '../errors';
import { suggestion } from '../suggest';
import type { ComponentNode, EnvironmentSet } from './model';

/**
 * The environments with a `config/<env>.yaml|json` in a component folder. Only files count: a
 * dangling symlink (or a folder) of that name configures nothing.
 */
export function configuredEnvironments(componentDir: string): string[] {
  const dir = join(componentDir, 'config');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir)
    .filter((name) => isFile(join(dir, name)))
    .map((name) => /^(.+)\.(?:yaml|json)$/i.exec(name)?.[1])
    .filter((name): name is string => !!name);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false; // dangling or looping link
  }
}

/** Every environment configured by some component of a loaded tree. */
export function treeEnvironments(root: ComponentNode): Set<string> {
  const found = new Set<string>();
  const visit = (node: ComponentNode): void => {
    if (!node.inlined && existsSync(node.directory)) configuredEnvironments(node.directory).forEach((env) => found.add(env));
    node.children.forEach(visit);
  };
  visit(root);
  return found;
}

/**
 * Refuses an environment that no component configures: a typo (`prdo`) would otherwise render
 * `common` alone into a new folder. `common` itself needs no file.
 */
export function assertEnvironmentsConfigured(sets: readonly EnvironmentSet[], trees: readonly ComponentNode[]): void {
  sets.forEach((set, index) => {
    const known = treeEnvironments(trees[index]);
    for (const environment of set) {
      if (environment === 'common' || known.has(environment)) continue;
      const hint = suggestion(environment, [...known].filter((e) => e !== 'common'));
      throw new GitopsError(`environment ${JSON.stringify(environment)} has no config/${environment}.yaml in any component of the HLD${hint ? `: ${hint}` : ''}`, {
        field: 'environments',
        hint: 'check the environment name; to render an environment that has no config of its own (common only) set allowEnvironmentsWithoutConfig (CLI: --allow-environments-without-config)',
      });
    }
  });
}
