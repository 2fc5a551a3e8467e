/**
 * A small evaluator for Azure Pipelines compile-time expressions (`${{ ... }}`), enough for our
 * templates: literals, property paths (`parameters.x`, loop variables, `a['b']`) and the common
 * functions. Anything else throws, so a template never silently escapes validation.
 */
export type Value = null | boolean | number | string | Value[] | { [key: string]: Value };
export type Scope = Record<string, Value>;

type Token = { kind: 'ident' | 'string' | 'number' | 'punct'; text: string };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === "'") {
      let text = '';
      i++;
      for (;;) {
        if (i >= source.length) throw new Error(`unterminated string in expression: ${source}`);
        if (source[i] === "'") {
          if (source[i + 1] === "'") { text += "'"; i += 2; continue; }
          i++;
          break;
        }
        text += source[i++];
      }
      tokens.push({ kind: 'string', text });
      continue;
    }
    const number = /^-?\d+(\.\d+)?/.exec(source.slice(i));
    if (number) { tokens.push({ kind: 'number', text: number[0] }); i += number[0].length; continue; }
    const ident = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(source.slice(i));
    if (ident) { tokens.push({ kind: 'ident', text: ident[0] }); i += ident[0].length; continue; }
    if ('().,[]'.includes(c)) { tokens.push({ kind: 'punct', text: c }); i++; continue; }
    throw new Error(`unexpected character '${c}' in expression: ${source}`);
  }
  return tokens;
}

type Node =
  | { type: 'literal'; value: Value }
  | { type: 'path'; root: string; steps: Node[] }
  | { type: 'call'; name: string; args: Node[] };

function parse(source: string): Node {
  const tokens = tokenize(source);
  let pos = 0;
  const peek = () => tokens[pos];
  const expect = (text: string) => {
    const token = tokens[pos++];
    if (!token || token.text !== text) throw new Error(`expected '${text}' in expression: ${source}`);
  };
  const parseExpression = (): Node => {
    const token = tokens[pos++];
    if (!token) throw new Error(`incomplete expression: ${source}`);
    if (token.kind === 'string') return { type: 'literal', value: token.text };
    if (token.kind === 'number') return { type: 'literal', value: Number(token.text) };
    if (token.kind !== 'ident') throw new Error(`unexpected '${token.text}' in expression: ${source}`);
    const lower = token.text.toLowerCase();
    if (lower === 'true' || lower === 'false') return { type: 'literal', value: lower === 'true' };
    if (lower === 'null') return { type: 'literal', value: null };
    if (peek()?.text === '(') {
      pos++;
      const args: Node[] = [];
      while (peek()?.text !== ')') {
        args.push(parseExpression());
        if (peek()?.text === ',') pos++;
        else if (peek()?.text !== ')') throw new Error(`expected ',' or ')' in expression: ${source}`);
      }
      expect(')');
      return { type: 'call', name: lower, args };
    }
    const steps: Node[] = [];
    for (;;) {
      if (peek()?.text === '.') {
        pos++;
        const name = tokens[pos++];
        if (!name || name.kind !== 'ident') throw new Error(`expected a property name in expression: ${source}`);
        steps.push({ type: 'literal', value: name.text });
      } else if (peek()?.text === '[') {
        pos++;
        steps.push(parseExpression());
        expect(']');
      } else break;
    }
    return { type: 'path', root: token.text, steps };
  };
  const node = parseExpression();
  if (pos !== tokens.length) throw new Error(`unexpected '${tokens[pos].text}' in expression: ${source}`);
  return node;
}

export function isTruthy(value: Value | undefined): boolean {
  if (value === null || value === undefined) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') return value !== '';
  return true;
}

export function toText(value: Value | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  throw new Error('an object or list cannot be inserted into a string');
}

function equals(left: Value, right: Value): boolean {
  if (typeof left === 'boolean') return left === isTruthy(typeof right === 'string' ? parseBoolean(right) : right);
  if (typeof left === 'number') return left === Number(right);
  if (typeof left === 'string' && (typeof right === 'string' || typeof right === 'number' || typeof right === 'boolean')) {
    return left.toLowerCase() === toText(right).toLowerCase();
  }
  return left === right;
}

function parseBoolean(text: string): boolean | string {
  if (/^true$/i.test(text)) return true;
  if (/^false$/i.test(text)) return false;
  return text;
}

/** Names a path's root may have: `parameters`, loop variables and nothing else at compile time here. */
export function evaluate(source: string, scope: Scope): Value {
  return evaluateNode(parse(source), scope, source, false);
}

/**
 * A step's, job's or stage's runtime `condition` with the given variables (e.g. Build.Reason),
 * assuming the earlier steps succeeded; no condition means `succeeded()`.
 */
export function conditionHolds(condition: Value | undefined, variables: Record<string, string>): boolean {
  if (condition === undefined || condition === null) return true;
  return isTruthy(evaluateNode(parse(String(condition)), { variables }, String(condition), true));
}

function evaluateNode(node: Node, scope: Scope, source: string, runtime: boolean): Value {
  if (node.type === 'literal') return node.value;
  if (node.type === 'path') {
    if (!(node.root in scope)) throw new Error(`unknown name '${node.root}' in expression: ${source}`);
    let current: Value | undefined = scope[node.root];
    for (const [index, step] of node.steps.entries()) {
      const key = toText(evaluateNode(step, scope, source, runtime));
      if (current === null || typeof current !== 'object') return null;
      if (node.root === 'parameters' && index === 0 && !(key in current)) {
        throw new Error(`parameter '${key}' is not declared (expression: ${source})`);
      }
      current = Array.isArray(current) ? current[Number(key)] : current[key];
      if (current === undefined) return null;
    }
    return current ?? null;
  }
  const args = node.args.map((arg) => evaluateNode(arg, scope, source, runtime));
  if (runtime && ['succeeded', 'succeededorfailed', 'always'].includes(node.name)) return true;
  if (runtime && ['failed', 'canceled'].includes(node.name)) return false;
  const text = (i: number) => toText(args[i]);
  switch (node.name) {
    case 'eq': return equals(args[0], args[1]);
    case 'ne': return !equals(args[0], args[1]);
    case 'and': return args.every(isTruthy);
    case 'or': return args.some(isTruthy);
    case 'not': return !isTruthy(args[0]);
    case 'coalesce': return args.find((a) => a !== null && a !== '') ?? null;
    case 'format': return text(0).replace(/\{(\d+)\}/g, (_, n: string) => toText(args[Number(n) + 1]));
    case 'contains': return text(0).toLowerCase().includes(text(1).toLowerCase());
    case 'startswith': return text(0).toLowerCase().startsWith(text(1).toLowerCase());
    case 'endswith': return text(0).toLowerCase().endsWith(text(1).toLowerCase());
    case 'in': return args.slice(1).some((a) => equals(args[0], a));
    case 'notin': return !args.slice(1).some((a) => equals(args[0], a));
    case 'lower': return text(0).toLowerCase();
    case 'upper': return text(0).toUpperCase();
    case 'replace': return text(0).split(text(1)).join(text(2));
    case 'join': return Array.isArray(args[1]) ? args[1].map(toText).join(text(0)) : text(1);
    case 'length': {
      const a = args[0];
      if (Array.isArray(a)) return a.length;
      if (a !== null && typeof a === 'object') return Object.keys(a).length;
      return toText(a).length;
    }
    default: throw new Error(`function '${node.name}' is not supported by the template validator (expression: ${source})`);
  }
}
