/**
 * The Fabrikate HLD as plain data. `../../../../shared/docs/fabrikate.md` is the reference.
 *
 * A component file (component.yaml/json) declares one component with inline subcomponents.
 * Subcomponents of type `helm` and `static` are *inlined*: they share the parent's directory and
 * logical path. Other subcomponents (type `component`) live in their own directory (local: relative
 * to the parent's directory; git: cloned into `<parent dir>/components/<name>`) that has its own
 * component file and `config/` folder.
 */

export type ComponentType = 'component' | 'helm' | 'static' | 'kustomize';
export type ComponentMethod = 'local' | 'git' | 'helm' | 'http';
export type HookName = 'before-install' | 'after-install' | 'before-generate' | 'after-generate';
export const HOOK_NAMES: readonly HookName[] = ['before-install', 'after-install', 'before-generate', 'after-generate'];

/** Where a value was declared, for error messages. */
export interface Origin {
  /** Path of the file, relative to the HLD root when possible. */
  file: string;
  /** Field path inside the file, e.g. `subcomponents[1]`. Empty for the file's root. */
  field: string;
  /** 1-based line when known. */
  line?: number;
}

/** One component as declared (validated, defaults filled in). */
export interface ComponentDefinition {
  name: string;
  type: ComponentType;
  /** `local` when the file leaves it empty. */
  method: ComponentMethod;
  /** '' when not set. */
  source: string;
  path: string;
  version: string;
  branch: string;
  hooks: Partial<Record<HookName, string[]>>;
  subcomponents: ComponentDefinition[];
  origin: Origin;
}

/** The contents of config/<env>.yaml, and of a parent's `subcomponents.<name>` entry. */
export interface ComponentConfig {
  config: Record<string, unknown>;
  /** '' when not set. */
  namespace: string;
  injectNamespace: boolean;
  disabled: boolean;
  subcomponents: Record<string, ComponentConfig>;
  /**
   * Set while merging when the layer had no `config:` map (Go's nil map, which conjungo replaces
   * by the next layer's map as a whole). Never set on a resolved config.
   */
  configAbsent?: boolean;
}

/** A component placed in the tree, with its configuration merged for one environment set. */
export interface ComponentNode {
  definition: ComponentDefinition;
  /**
   * Directory of the component's own files: for a non-inlined component its folder (holding
   * component.yaml and config/); for an inlined one, the parent's folder.
   */
  directory: string;
  /** `./` for the root; `<parent logical>/<name>` for a non-inlined child; the parent's for inlined. */
  logicalPath: string;
  inlined: boolean;
  /**
   * Folder the component's files must stay in (symlinks and `..` included): the HLD root, or for
   * a git component and everything below it, its fetched tree `components/<name>`.
   */
  boundary?: string;
  /**
   * The git source URL its component file came from, when that file was fetched (the component
   * itself or an ancestor is `method: git`); undefined for files of the HLD repository itself.
   */
  remoteSource?: string;
  /** Merged configuration for the environment set of this tree. */
  config: ComponentConfig;
  children: ComponentNode[];
}

/** Environment set in precedence order, highest first: `['prod-east', 'prod']` (then common). */
export type EnvironmentSet = readonly string[];

/** The folder name of an environment set's output: `prod-east-prod`, or `common` when empty. */
export function environmentSetName(environments: EnvironmentSet): string {
  return environments.length === 0 ? 'common' : environments.join('-');
}

export function emptyConfig(): ComponentConfig {
  return { config: {}, namespace: '', injectNamespace: false, disabled: false, subcomponents: {} };
}
