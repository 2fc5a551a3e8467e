import { silentLogger } from '../logger';
import { loadConfig, LoadConfigOptions } from './config';
import { ComponentConfig, emptyConfig, EnvironmentSet } from './model';

/**
 * Merges config layers, highest precedence first, the way Fabrikate did (conjungo with
 * Overwrite=false, then its MergeNamespaces pass; timfpark/conjungo `merge`, `mergeMap`,
 * `mergeSlice`, fabrikate `ComponentConfig.Merge`):
 * - maps merge key by key; the higher layer's keys keep their order, new keys follow;
 * - a scalar from the higher layer wins;
 * - NULL (conjungo's isEmpty): a null in the higher layer stays null (and reaches helm, removing
 *   the chart's default) unless a lower layer has a value for the same key, which then wins; a
 *   null in a lower layer adds nothing to a map the higher layer already has, but a lower map
 *   that is new to the higher layer is taken whole, nulls included;
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
  return withoutMarks(layers.slice(1).reduce((higher, lower) => mergeTwo(higher, lower), cloneConfig(layers[0])));
}

function withoutMarks(config: ComponentConfig): ComponentConfig {
  delete config.configAbsent;
  for (const child of Object.values(config.subcomponents)) withoutMarks(child);
  return config;
}

function mergeTwo(higher: ComponentConfig, lower: ComponentConfig): ComponentConfig {
  // A layer without `config:` is Go's nil map: the next layer's map is taken whole.
  const absent = higher.configAbsent === true;
  const result: ComponentConfig = {
    config: absent ? clone(lower.config) : (mergeValues(higher.config, lower.config) as Record<string, unknown>),
    namespace: higher.namespace,
    injectNamespace: higher.injectNamespace,
    disabled: higher.disabled,
    subcomponents: { ...higher.subcomponents },
  };
  if (absent && lower.configAbsent) result.configAbsent = true;
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

/** conjungo `merge(target=higher, source=lower)`; undefined means "no key". */
function mergeValues(higher: unknown, lower: unknown): unknown {
  if (lower === null || lower === undefined) return higher === undefined ? undefined : clone(higher);
  if (higher === null || higher === undefined) return clone(lower);
  if (Array.isArray(higher) && Array.isArray(lower)) return [...clone(higher) as unknown[], ...clone(lower) as unknown[]];
  if (isPlainObject(higher) && isPlainObject(lower)) {
    // Keys are plain data: `__proto__`, `constructor` or `toString` in a config are ordinary keys,
    // never looked up on or written to a prototype.
    const merged: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(higher)) setKey(merged, key, mergeValues(value, Object.hasOwn(lower, key) ? lower[key] : undefined));
    for (const [key, value] of Object.entries(lower)) {
      if (!Object.hasOwn(merged, key) && value !== null && value !== undefined) setKey(merged, key, clone(value));
    }
    return merged;
  }
  return clone(higher);
}

function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  if (value === undefined) return;
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
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

export interface ResolveConfigOptions extends Partial<LoadConfigOptions> {
  /** The HLD's root component (its config starts as an empty map, as in Fabrikate's WalkComponentTree). */
  isRoot?: boolean;
}

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
  // Fabrikate's root starts from an empty (non-nil) config map; a child from the parent's entry
  // or, without one, from nothing (LoadComponent + LoadConfig). A missing file is an empty layer.
  const start: ComponentConfig = options.isRoot ? emptyConfig() : { ...emptyConfig(), configAbsent: true };
  const layers: ComponentConfig[] = parentOverride ? [start, parentOverride] : [start];
  for (const environment of [...environments.filter((env) => env !== 'common'), 'common']) {
    layers.push((await loadConfig(componentDir, environment, loadOptions)) ?? emptyConfig());
  }
  return mergeConfigs(layers);
}
