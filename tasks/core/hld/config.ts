import { join } from 'node:path';
import { isScalar, Node } from 'yaml';
import { FabrikateValueError, toFabrikateValue } from './fabrikateYaml';
import { Logger } from '../logger';
import { assertPlainName, isPlainName, isReservedKey } from '../names';
import { ComponentConfig, emptyConfig } from './model';
import { FieldReader, describeNode, readYamlOrJson } from './sourceFile';

export interface LoadConfigOptions {
  /** HLD root, so messages show paths relative to it. */
  root?: string;
  logger: Logger;
}

const CONFIG_FIELDS = new Set(['config', 'namespace', 'injectNamespace', 'disabled', 'subcomponents']);

/**
 * Reads `config/<environment>.yaml` (or `.json`; YAML wins) of a component directory.
 * Undefined when the environment has no file: that layer simply adds nothing.
 */
export async function loadConfig(dir: string, environment: string, options: LoadConfigOptions): Promise<ComponentConfig | undefined> {
  assertPlainName(environment, 'environment', { field: 'environment' });
  const source = await readYamlOrJson(join(dir, 'config'), environment, options.root, options.logger);
  if (!source) return undefined;
  return readConfig(new FieldReader(source), source.root, '', options.logger);
}

/** Object.assign without setters: a `__proto__` key is copied as a plain key, never sets a prototype. */
function assignOwn(target: Record<string, unknown>, source: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(source)) Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

function readConfig(reader: FieldReader, node: Node | null, field: string, logger: Logger): ComponentConfig {
  const result = emptyConfig();
  const map = reader.map(node, field, field ? `subcomponent config ${field}` : 'the config file');
  // Go's nil map: a subcomponent entry without `config:`, or `config: null` anywhere.
  if (field !== '') result.configAbsent = true;
  for (const entry of reader.entries(map, field)) {
    switch (entry.key) {
      case 'config': {
        const values = plainMap(reader, entry.value, entry.field);
        // A second `config:` (duplicate or from a << merge) adds its keys to the first, as go-yaml
        // decoded into the existing map; `config: null` resets it.
        result.config = values ? assignOwn(result.configAbsent ? {} : result.config, values) : {};
        if (values) delete result.configAbsent;
        else result.configAbsent = true;
        break;
      }
      case 'namespace':
        result.namespace = reader.string(entry.value, entry.field);
        break;
      case 'injectNamespace':
        result.injectNamespace = reader.boolean(entry.value, entry.field);
        break;
      case 'disabled':
        result.disabled = reader.boolean(entry.value, entry.field);
        break;
      case 'subcomponents':
        for (const child of reader.entries(reader.map(entry.value, entry.field, entry.field), entry.field)) {
          if (!isPlainName(child.key)) {
            throw reader.error(`subcomponent name ${JSON.stringify(child.key)} is ${isReservedKey(child.key) ? 'a reserved name' : 'not a plain name'}`, child.pair.key as Node, child.field);
          }
          result.subcomponents[child.key] = readConfig(reader, child.value, child.field, logger);
        }
        break;
      default:
        logger.warn(`${reader.source.display}: unknown field ${entry.field} is ignored (expected ${[...CONFIG_FIELDS].join(', ')})`);
    }
  }
  return result;
}

/**
 * The `config:` values as plain data, decoded as Fabrikate's go-yaml fork did (fabrikateYaml.ts),
 * checked to be a map; undefined for null.
 */
function plainMap(reader: FieldReader, node: Node | null, field: string): Record<string, unknown> | undefined {
  if (node === null || (isScalar(node) && node.value === null)) return undefined;
  let value: unknown;
  try {
    value = toFabrikateValue(node, reader.source.document);
  } catch (error) {
    if (error instanceof FabrikateValueError) throw reader.error(error.message, error.node ?? node, field);
    throw error;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw reader.error(`must be a map of values, not ${describeNode(node)}`, node, field);
  }
  return value as Record<string, unknown>;
}

/**
 * `access.yaml` beside component.yaml: source URL -> NAME of the environment variable that holds
 * its token. Core never reads the environment; callers resolve names with resolveAccessTokens.
 */
export async function loadAccess(dir: string, options: LoadConfigOptions = { logger: { debug() {}, info() {}, warn() {} } }): Promise<Record<string, string>> {
  const source = await readYamlOrJson(dir, 'access', options.root, options.logger);
  if (!source) return {};
  const reader = new FieldReader(source);
  const access: Record<string, string> = {};
  for (const entry of reader.entries(reader.map(source.root, '', 'access.yaml'), '')) {
    const variable = reader.string(entry.value, entry.key);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) {
      throw reader.error('must name an environment variable (letters, digits and _); the value is not shown in case it is a token', entry.value, entry.key,
        'access.yaml maps a source URL to the NAME of a variable holding the token, never the token itself');
    }
    access[entry.key] = variable;
  }
  return access;
}

export interface ResolvedAccess {
  /** Source URL -> token, for the variables that are set. */
  tokens: Record<string, string>;
  /** Variables named in access.yaml that are unset or empty. */
  missing: { source: string; variable: string }[];
  /** Variables access.yaml may not name (see reservedAccessVariable); never read. */
  refused: { source: string; variable: string }[];
}

/**
 * Variables access.yaml may never name, in any case: this tool's own (`GITOPS_*`, `BEDROCK_*`,
 * `ARGOCD_*`), the proxy settings (they hold the agent's proxy password), and the Azure Pipelines
 * agent's (`SYSTEM_*` such as `SYSTEM_ACCESSTOKEN`, `AGENT_*`, `ENDPOINT_*`, `SECRET_*`, `INPUT_*`,
 * `VSTS_*`). Any other name (`GIT_SOURCE_TOKEN`, `MY_CHARTS_PAT`, ...) works as in Fabrikate.
 */
const RESERVED_ACCESS_VARIABLE = /^(?:(?:GITOPS|BEDROCK|ARGOCD|SYSTEM|AGENT|ENDPOINT|SECRET|INPUT|VSTS)_\w*|(?:HTTPS?|ALL|FTP|NO)_PROXY)$/i;

export function reservedAccessVariable(variable: string): boolean {
  return RESERVED_ACCESS_VARIABLE.test(variable);
}

export function resolveAccessTokens(access: Record<string, string>, env: Record<string, string | undefined>): ResolvedAccess {
  const resolved: ResolvedAccess = { tokens: {}, missing: [], refused: [] };
  for (const [source, variable] of Object.entries(access)) {
    if (reservedAccessVariable(variable)) {
      resolved.refused.push({ source, variable });
      continue;
    }
    const token = env[variable];
    if (token) resolved.tokens[source] = token;
    else resolved.missing.push({ source, variable });
  }
  return resolved;
}
