import { existsSync } from 'node:fs';
import { join, relative, isAbsolute } from 'node:path';
import { Document, isAlias, isMap, isScalar, isSeq, Node, Pair, Scalar, visit, YAMLMap } from 'yaml';
import { GitopsError } from '../errors';
import { Logger } from '../logger';
import { readYamlText } from '../yaml/parse';
import { parseSource } from './yamlSource';
import { checkoutRoot, realPathInside } from '../paths';

/**
 * Helpers shared by the component and config loaders: pick `<base>.yaml` over `<base>.json`,
 * and read typed fields out of parsed nodes so errors can name file, line and field.
 */
export interface LoadedSource {
  /** Absolute path. */
  path: string;
  /** Path shown to users: relative to the HLD root when given. */
  display: string;
  root: Node | null;
  document: Document.Parsed;
  lineOf(offset: number | undefined): number | undefined;
}

/** YAML wins over JSON when both exist (Fabrikate's order); undefined when neither exists. */
export async function readYamlOrJson(dir: string, base: string, root: string | undefined, logger: Logger): Promise<LoadedSource | undefined> {
  const yamlPath = join(dir, `${base}.yaml`);
  const jsonPath = join(dir, `${base}.json`);
  const hasYaml = existsSync(yamlPath);
  const hasJson = existsSync(jsonPath);
  if (!hasYaml && !hasJson) return undefined;
  const path = hasYaml ? yamlPath : jsonPath;
  const display = displayPath(path, root);
  if (hasYaml && hasJson) logger.warn(`${display}: ${base}.json is ignored because ${base}.yaml exists beside it`);
  if (root) {
    const what = base === 'component' || base === 'access' ? `${base} file` : 'config file';
    await realPathInside(await checkoutRoot(root), path, { what, rootLabel: 'the HLD repository', file: display });
  }
  const { document, lineOf } = parseSource(await readYamlText(path, display), display);
  warnDuplicateKeys(document, (offset) => lineOf(offset), display, logger);
  return { path, display, root: document.contents as Node | null, document, lineOf };
}

/** go-yaml v2 (non-strict) let the last of two equal keys win; we do too, and say so. */
function warnDuplicateKeys(document: Document.Parsed, lineOf: (offset: number | undefined) => number | undefined, display: string, logger: Logger): void {
  visit(document, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key) || pair.key.source === '<<') continue;
        const key = String(pair.key.value);
        if (seen.has(key)) logger.warn(`${display}:${lineOf(pair.key.range?.[0]) ?? '?'}: key ${JSON.stringify(key)} appears twice in one map; the last one wins, as in Fabrikate`);
        seen.add(key);
      }
    },
  });
}

export function displayPath(path: string, root: string | undefined): string {
  if (!root) return path;
  const rel = relative(root, path);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

/** Field reader bound to one file. */
export class FieldReader {
  constructor(readonly source: LoadedSource) {}

  line(node: Node | null | undefined): number | undefined {
    return this.source.lineOf(node?.range?.[0]);
  }

  error(message: string, node: Node | null | undefined, field: string, hint?: string): GitopsError {
    return new GitopsError(message, { file: this.source.display, line: this.line(node), field: field || undefined, hint });
  }

  /** A map node (null counts as empty), or an error naming what was expected. */
  map(node: Node | null | undefined, field: string, what: string): YAMLMap | undefined {
    if (node === null || node === undefined || (isScalar(node) && node.value === null)) return undefined;
    if (!isMap(node)) throw this.error(`${what} must be a map`, node, field);
    return node;
  }

  /**
   * The entries of a map in order, with `<<` merge keys expanded where they stand (go-yaml's
   * decode.go `merge`: merged keys overwrite earlier ones, later keys overwrite them, and in a
   * list of maps the first wins). Callers let the last entry of a key win.
   */
  entries(map: YAMLMap | undefined, field: string, depth = 0): { key: string; pair: Pair; value: Node | null; field: string }[] {
    if (!map) return [];
    if (depth > 20) throw this.error('merge keys (<<) nest too deeply', map, field);
    return map.items.flatMap((pair) => {
      const keyNode = pair.key as Node;
      if (isScalar(keyNode) && keyNode.source === '<<' && keyNode.type === Scalar.PLAIN) return this.mergedEntries(pair.value as Node | null, field, depth);
      if (!isScalar(keyNode)) throw this.error('keys must be plain text', keyNode, field);
      // go-yaml gave a Go string key the key's source text: `off:` is the key "off".
      const key = typeof keyNode.value === 'string' ? keyNode.value : keyNode.value === null ? '' : sourceText(keyNode);
      return [{ key, pair, value: (pair.value as Node | null) ?? null, field: field ? `${field}.${key}` : key }];
    });
  }

  private mergedEntries(value: Node | null, field: string, depth: number): { key: string; pair: Pair; value: Node | null; field: string }[] {
    const resolve = (node: unknown): Node | null | undefined => (isAlias(node) ? (node.resolve(this.source.document) as Node | undefined) : (node as Node | null));
    const target = resolve(value);
    const maps = isSeq(target) ? [...target.items].reverse().map(resolve) : [target];
    return maps.flatMap((node) => {
      if (!isMap(node)) throw this.error('a merge key (<<) needs a map or a list of maps', value, field);
      return this.entries(node, field, depth + 1);
    });
  }

  /**
   * A string field. Any other scalar is read by its source text, as go-yaml did for a Go string
   * field (so `version: 1.10` stays "1.10" and `branch: on` is "on").
   */
  string(node: Node | null, field: string, _options: { numbers?: boolean } = {}): string {
    if (node === null || (isScalar(node) && node.value === null)) return '';
    if (isScalar(node) && typeof node.value === 'string') return node.value;
    if (isScalar(node) && (typeof node.value === 'number' || typeof node.value === 'boolean')) return sourceText(node);
    throw this.error(`must be a string, not ${describeNode(node)}`, node, field);
  }

  boolean(node: Node | null, field: string): boolean {
    if (node === null || (isScalar(node) && node.value === null)) return false;
    if (isScalar(node) && typeof node.value === 'boolean') return node.value;
    throw this.error(`must be true or false, not ${describeNode(node)}`, node, field);
  }
}

function sourceText(node: Scalar): string {
  const token = (node as Scalar & { srcToken?: { source?: string } }).srcToken;
  return token?.source ?? String(node.value);
}

export function describeNode(node: Node | null): string {
  if (node === null) return 'empty';
  if (isMap(node)) return 'a map';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return node.value === null ? 'null' : `${typeof node.value} ${JSON.stringify(node.value)}`;
  return 'an alias';
}
