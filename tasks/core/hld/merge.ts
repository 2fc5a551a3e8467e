import { silentLogger } from '../logger';
import { loadConfig, LoadConfigOptions } from './config';
import { ComponentConfig, emptyConfig, EnvironmentSet } from './model';

/**
 * Merges config layers, highest precedence first, the way Fabrikate did (conjungo with
 * Overwrite=false, then its MergeNamespaces pass):
 * - maps merge key by key; the higher layer's keys keep their order, new keys follow;
 * - a scalar from the higher layer wins; a null in the higher layer counts as absent;
 * - LISTS CONCATENATE: the higher layer's items first, then the lower layer's (conjungo's default
 *   slice merge `append(target, source...)`); duplicates are kept;
 * - `namespace` is filled from a lower layer only while still empty, and `injectNamespace` travels
 *   with it (Fabrikate copied both together);
 * - `disabled` comes from the highest layer that has an entry for the component: a higher
 *   `subcomponents.<name>` entry without `disabled` re-enables what a lower layer disabled.
 * Where the two layers hold different kinds at one key (map vs string), Fabrikate failed; we keep
 * the higher layer's value.
 */
export function mergeConfigs(layers: readonly ComponentConfig[]): ComponentConfig {
  if (layers.length === 0) return emptyConfig();
  return layers.slice(1).reduce((higher, lower) => mergeTwo(higher, lower), cloneConfig(layers[0]));
}

function mergeTwo(higher: ComponentConfig, lower: ComponentConfig): ComponentConfig {
  const result: ComponentConfig = {
    config: mergeValues(higher.config, lower.config) as Record<string, unknown>,
    namespace: higher.namespace,
    injectNamespace: higher.injectNamespace,
    disabled: higher.disabled,
    subcomponents: { ...higher.subcomponents },
  };
  if (result.namespace === '') {
    result.namespace = lower.namespace;
    result.injectNamespace = lower.injectNamespace;
  }
  for (const [name, lowerChild] of Object.entries(lower.subcomponents)) {
    const higherChild = result.subcomponents[name];
    result.subcomponents[name] = higherChild ? mergeTwo(higherChild, lowerChild) : cloneConfig(lowerChild);
  }
  return result;
}

function mergeValues(higher: unknown, lower: unknown): unknown {
  if (higher === null || higher === undefined) return clone(lower);
  if (lower === null || lower === undefined) return clone(higher);
  if (Array.isArray(higher) && Array.isArray(lower)) return [...clone(higher) as unknown[], ...clone(lower) as unknown[]];
  if (isPlainObject(higher) && isPlainObject(lower)) {
    // Keys are plain data: `__proto__`, `constructor` or `toString` in a config are ordinary keys,
    // never looked up on or written to a prototype.
    const merged: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(higher)) setOwn(merged, key, mergeValues(value, Object.hasOwn(lower, key) ? lower[key] : undefined));
    for (const [key, value] of Object.entries(lower)) if (!Object.hasOwn(higher, key)) setOwn(merged, key, clone(value));
    return merged;
  }
  return clone(higher);
}

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function clone<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}

function cloneConfig(config: ComponentConfig): ComponentConfig {
  return structuredClone(config);
}

export interface ResolveConfigOptions extends Partial<LoadConfigOptions> {}

/**
 * The merged config of one component directory for an environment set: the parent's
 * `subcomponents.<name>` entry first (it beats the child's own files), then
 * `config/<env>.yaml` for each environment in the order given, then `config/common.yaml`
 * (Fabrikate's LoadComponent + LoadConfig order). Missing files add nothing.
 */
export async function resolveConfig(
  componentDir: string,
  environments: EnvironmentSet,
  parentOverride?: ComponentConfig,
  options: ResolveConfigOptions = {},
): Promise<ComponentConfig> {
  const loadOptions = { root: options.root, logger: options.logger ?? silentLogger };
  const layers: ComponentConfig[] = parentOverride ? [parentOverride] : [];
  for (const environment of [...environments.filter((env) => env !== 'common'), 'common']) {
    const layer = await loadConfig(componentDir, environment, loadOptions);
    if (layer) layers.push(layer);
  }
  return mergeConfigs(layers);
}
