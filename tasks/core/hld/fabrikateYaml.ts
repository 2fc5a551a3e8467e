import { Document, isAlias, isMap, isScalar, isSeq, Node, ScalarTag, Tags } from 'yaml';

/**
 * YAML as Fabrikate read it. Fabrikate parsed component and config files with a go-yaml v2 fork
 * (github.com/timfpark/yaml, `resolve.go`): YAML 1.1 booleans (`yes/no/on/off/y/n`) and nulls,
 * integers as Go's `strconv.ParseInt(text without "_", 0, 64)` reads them (`0644` is octal 420,
 * `0b101` is 5, `0o17` is 15, `0x1F` is 31, `1_000` is 1000), and floats only when they match
 * `^[-+]?[0-9]*\.?[0-9]+([eE][-+][0-9]+)?$`: the exponent needs a sign, so `1e3` and a short git
 * SHA such as `5640e21` stay strings while `1e+3` is a float. Timestamps and sexagesimal numbers
 * (`1:20`) stay strings. The `yaml` package's 1.1 schema differs on those last points, so its int,
 * float and timestamp tags are replaced here.
 */

export type GoScalar = { type: 'int' | 'float'; value: number };

const GO_INT = /^([-+]?)(?:0[xX]([0-9a-fA-F]+)|0[bB]([01]+)|0[oO]([0-7]+)|0([0-7]*)|([1-9][0-9]*))$/;
const GO_YAML_FLOAT = /^[-+]?[0-9]*\.?[0-9]+([eE][-+][0-9]+)?$/;
/** Go's ParseFloat syntax for a text starting with "." (resolve.go's '.' hint). */
const GO_DOT_FLOAT = /^\.[0-9](?:_?[0-9])*(?:[eE][-+]?[0-9](?:_?[0-9])*)?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * What resolve.go makes of a plain scalar that is not a keyword (bool, null, .inf, .nan, <<):
 * an int, a float, or undefined for a string.
 */
export function goScalar(text: string): GoScalar | undefined {
  const first = text[0];
  if (first === '.') {
    if (!GO_DOT_FLOAT.test(text)) return undefined;
    return { type: 'float', value: Number(text.replace(/_/g, '')) };
  }
  if (first === undefined || !/[-+0-9]/.test(first)) return undefined;
  const plain = text.replace(/_/g, '');
  const int = GO_INT.exec(plain);
  if (int) {
    const [, sign, hex, bin, oct, leadingZeroOct, dec] = int;
    const magnitude =
      hex !== undefined ? BigInt(`0x${hex}`)
        : bin !== undefined ? BigInt(`0b${bin}`)
          : oct !== undefined ? BigInt(`0o${oct}`)
            : leadingZeroOct !== undefined ? (leadingZeroOct ? BigInt(`0o${leadingZeroOct}`) : 0n)
              : BigInt(dec);
    const value = sign === '-' ? -magnitude : magnitude;
    // ParseInt (int64), then ParseUint (no sign) for larger values.
    if ((value >= INT64_MIN && value <= INT64_MAX) || (sign === '' && value <= UINT64_MAX)) {
      return { type: 'int', value: Number(value) };
    }
  }
  if (GO_YAML_FLOAT.test(plain)) {
    const value = Number(plain);
    // ParseFloat fails (ErrRange) beyond float64; the text then stays a string.
    if (Number.isFinite(value)) return { type: 'float', value };
  }
  return undefined;
}

/** A RegExp whose `test` is a predicate: the `yaml` package picks a tag by calling `tag.test.test(text)`. */
class Predicate extends RegExp {
  constructor(private readonly predicate: (text: string) => boolean) {
    super('(?:)');
  }
  override test(text: string): boolean {
    return this.predicate(text);
  }
}

const stringifyNumber: ScalarTag['stringify'] = (item) => String((item as { value: unknown }).value);

const goInt: ScalarTag = {
  identify: (value) => typeof value === 'number' && Number.isInteger(value),
  default: true,
  tag: 'tag:yaml.org,2002:int',
  test: new Predicate((text) => goScalar(text)?.type === 'int'),
  resolve: (text) => goScalar(text)?.value ?? Number.NaN,
  stringify: stringifyNumber,
};

const goFloat: ScalarTag = {
  identify: (value) => typeof value === 'number',
  default: true,
  tag: 'tag:yaml.org,2002:float',
  test: new Predicate((text) => goScalar(text)?.type === 'float'),
  resolve: (text) => goScalar(text)?.value ?? Number.NaN,
  stringify: stringifyNumber,
};

const goSpecialFloat: ScalarTag = {
  identify: (value) => typeof value === 'number' && !Number.isFinite(value),
  default: true,
  tag: 'tag:yaml.org,2002:float',
  test: /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
  resolve: (text) => (text.endsWith('an') || text.endsWith('AN') ? Number.NaN : text.startsWith('-') ? -Infinity : Infinity),
  stringify: stringifyNumber,
};

const REPLACED_TAGS = new Set(['tag:yaml.org,2002:int', 'tag:yaml.org,2002:float', 'tag:yaml.org,2002:timestamp']);

function fabrikateTags(tags: Tags): Tags {
  const kept = tags.filter((tag) => typeof tag === 'string' || !REPLACED_TAGS.has(tag.tag));
  return [...kept, goSpecialFloat, goInt, goFloat];
}

/**
 * Options for `parseDocument` that read scalars as the fork did. Duplicate keys are allowed (the
 * last one wins, as in go-yaml v2's non-strict Unmarshal); `<<` merge keys are recognised.
 */
export const FABRIKATE_YAML_OPTIONS = {
  version: '1.1' as const,
  merge: true,
  uniqueKeys: false,
  customTags: fabrikateTags,
};

/**
 * Options for `.json` files, which Fabrikate read with encoding/json: every JSON number is a
 * number (`1e3` is 1000 there), keys are strings, and the last of two equal keys wins.
 */
export const FABRIKATE_JSON_OPTIONS = {
  version: '1.2' as const,
  schema: 'core' as const,
  uniqueKeys: false,
};

/** Values produced through aliases before the document counts as an alias bomb. */
const MAX_ALIAS_VALUES = 100_000;

export class FabrikateValueError extends Error {
  constructor(message: string, readonly node: Node | null) {
    super(message);
  }
}

/**
 * The plain value go-yaml v2 (the fork) decodes into `map[string]interface{}`:
 * - map keys are the key's source text (`yes: 1` has the key "yes", `1: a` the key "1");
 * - `<<` merges the referenced map(s) at its position: it overwrites keys set before it, later
 *   keys overwrite it, and in a list of maps the earlier map wins (decode.go `merge`);
 * - a duplicate key: the last one wins;
 * - timestamps are strings; `!!binary` is the decoded text.
 */
export function toFabrikateValue(node: Node | null | undefined, document: Document): unknown {
  let aliasValues = 0;
  let throughAlias = 0;
  const count = (): void => {
    if (throughAlias > 0 && ++aliasValues > MAX_ALIAS_VALUES) {
      throw new FabrikateValueError(`aliases expand to more than ${MAX_ALIAS_VALUES} values`, node ?? null);
    }
  };
  const resolveAlias = (alias: Node): Node => {
    const target = isAlias(alias) ? (alias.resolve(document) as Node | undefined) : alias;
    if (!target) throw new FabrikateValueError(`unknown anchor *${(alias as { source?: string }).source ?? ''}`, alias);
    return target;
  };
  const viaAlias = <T>(fn: () => T): T => {
    throughAlias++;
    try {
      return fn();
    } finally {
      throughAlias--;
    }
  };
  const convert = (current: Node | null | undefined, depth: number): unknown => {
    if (depth > 200) throw new FabrikateValueError('values are nested too deeply (an alias may refer to itself)', current ?? null);
    count();
    if (current === null || current === undefined) return null;
    if (isAlias(current)) return viaAlias(() => convert(resolveAlias(current), depth + 1));
    if (isScalar(current)) {
      const value = current.value;
      if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
      if (value instanceof Date) return current.source;
      if (typeof value === 'bigint') return Number(value);
      return value;
    }
    if (isSeq(current)) return current.items.map((item) => convert(item as Node, depth + 1));
    if (isMap(current)) {
      const out: Record<string, unknown> = {};
      fill(current, out, depth);
      return out;
    }
    throw new FabrikateValueError('unsupported YAML node', current);
  };
  const fill = (map: Node, out: Record<string, unknown>, depth: number): void => {
    if (!isMap(map)) throw new FabrikateValueError('map merge (<<) requires a map or a list of maps as the value', map);
    for (const pair of map.items) {
      const keyNode = pair.key as Node | null;
      if (isScalar(keyNode) && keyNode.source === '<<' && keyNode.type === 'PLAIN') {
        merge(pair.value as Node | null, out, depth);
        continue;
      }
      const key = goKey(keyNode);
      Object.defineProperty(out, key, { value: convert(pair.value as Node | null, depth + 1), enumerable: true, writable: true, configurable: true });
    }
  };
  const merge = (value: Node | null, out: Record<string, unknown>, depth: number): void => {
    if (isAlias(value)) {
      viaAlias(() => fill(resolveAlias(value), out, depth + 1));
    } else if (isSeq(value)) {
      for (const item of [...value.items].reverse()) {
        const itemNode = item as Node;
        if (isAlias(itemNode)) viaAlias(() => fill(resolveAlias(itemNode), out, depth + 1));
        else fill(itemNode, out, depth + 1);
      }
    } else if (value) {
      fill(value, out, depth + 1);
    } else {
      throw new FabrikateValueError('map merge (<<) requires a map or a list of maps as the value', value);
    }
  };
  const goKey = (keyNode: Node | null): string => {
    const target = isAlias(keyNode) ? resolveAlias(keyNode) : keyNode;
    if (target === null || target === undefined) return '';
    if (!isScalar(target)) throw new FabrikateValueError('a map key must be a scalar, not a map or list', keyNode);
    if (target.value === null) return '';
    if (typeof target.value === 'string') return target.value;
    return target.source ?? String(target.value);
  };
  return convert(node, 0);
}
