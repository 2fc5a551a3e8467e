/**
 * Expands an Azure Pipelines YAML file the way the server does at compile time, so that the
 * result can be validated against the service schema (which rejects `${{ }}` keys):
 * - `${{ expr }}` scalars are evaluated (a whole-value expression keeps its type: a list or
 *   mapping parameter is inserted as such; inside a longer string it is converted to text;
 *   booleans inserted as a whole value become `true`/`false`);
 * - `${{ if }}` / `${{ elseif }}` / `${{ else }}` keys and sequence items keep only the branch
 *   the condition selects (so each branch is validated by the parameter sets that select it);
 * - `${{ each v in list }}` repeats its body for each item (mappings: `v.key`, `v.value`);
 * - a sequence item that evaluates to a list (a stepList parameter) is spliced in;
 * - `- template: file` items (and `file@alias` with a known alias) are loaded, their parameters
 *   bound (declared names only, types and `values` checked, required ones given) and their
 *   stages/jobs/steps/variables spliced in.
 * Runtime `$[ ]` and macro `$( )` syntax is left as text.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as yaml from 'js-yaml';
import { evaluate, isTruthy, toText, type Scope, type Value } from './expressions';

export interface ExpandOptions {
  /** Repository alias → folder on disk, for `template: x.yml@alias`. */
  repositories?: Record<string, string>;
  /** Files already being expanded (cycle guard). */
  stack?: string[];
}

export interface ParameterDeclaration {
  name: string;
  type: string;
  default?: Value;
  values?: string[];
  displayName?: string;
}

export function loadYamlFile(file: string): Value {
  return yaml.load(readFileSync(file, 'utf8'), { schema: yaml.FAILSAFE_SCHEMA, filename: file }) as Value;
}

const whole = /^\$\{\{((?:(?!\}\})[\s\S])*)\}\}$/;
const embedded = /\$\{\{([\s\S]*?)\}\}/g;

function directive(key: string): { kind: 'if' | 'elseif' | 'else' | 'each' | 'insert'; rest: string } | undefined {
  const m = whole.exec(key.trim());
  if (!m) return undefined;
  const body = m[1].trim();
  let d = /^(if|elseif)\s+([\s\S]+)$/.exec(body);
  if (d) return { kind: d[1] as 'if' | 'elseif', rest: d[2] };
  if (body === 'else') return { kind: 'else', rest: '' };
  d = /^each\s+([\s\S]+)$/.exec(body);
  if (d) return { kind: 'each', rest: d[1] };
  if (body === 'insert') return { kind: 'insert', rest: '' };
  return undefined;
}

function isMapping(v: Value | undefined): v is { [key: string]: Value } {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function parameterDeclarations(document: Value, file: string): ParameterDeclaration[] {
  if (!isMapping(document) || document.parameters === undefined) return [];
  const list = document.parameters;
  if (!Array.isArray(list)) throw new Error(`${file}: 'parameters' must be a list of typed parameters`);
  return list.map((p) => {
    if (!isMapping(p) || typeof p.name !== 'string') throw new Error(`${file}: every parameter needs a name`);
    return {
      name: p.name,
      type: typeof p.type === 'string' ? p.type : 'string',
      default: p.default,
      values: Array.isArray(p.values) ? (p.values as string[]) : undefined,
      displayName: typeof p.displayName === 'string' ? p.displayName : undefined,
    };
  });
}

/** Binds given values (already expanded) to a file's declared parameters, as the server does. */
export function bindParameters(declared: ParameterDeclaration[], given: Record<string, Value>, file: string): Record<string, Value> {
  const names = new Set(declared.map((p) => p.name));
  for (const name of Object.keys(given)) {
    if (!names.has(name)) throw new Error(`${file}: unexpected parameter '${name}' (not declared by the template)`);
  }
  const bound: Record<string, Value> = {};
  for (const p of declared) {
    const value = p.name in given ? given[p.name] : p.default;
    if (value === undefined) throw new Error(`${file}: parameter '${p.name}' is required (no default) and was not given`);
    bound[p.name] = coerce(value, p, file);
  }
  return bound;
}

function coerce(value: Value, p: ParameterDeclaration, file: string): Value {
  const fail = (why: string): never => { throw new Error(`${file}: parameter '${p.name}' (${p.type}) ${why}`); };
  let result: Value = value;
  switch (p.type) {
    case 'string':
      if (typeof value === 'boolean' || typeof value === 'number') result = String(value).toLowerCase();
      else if (typeof value !== 'string') fail('must be a string');
      break;
    case 'boolean':
      if (typeof value === 'boolean') break;
      if (typeof value !== 'string' || !/^(true|false)$/i.test(value)) fail(`must be true or false, not ${JSON.stringify(value)}`);
      result = /^true$/i.test(value as string);
      break;
    case 'number':
      if (Number.isNaN(Number(value))) fail('must be a number');
      result = Number(value);
      break;
    case 'object':
      break;
    case 'step': case 'job': case 'deployment': case 'stage':
      if (!isMapping(value)) fail('must be a mapping');
      break;
    case 'stepList': case 'jobList': case 'deploymentList': case 'stageList':
      if (!Array.isArray(value)) fail('must be a list');
      break;
    default:
      fail('has an unknown type');
  }
  if (p.values && !p.values.includes(toText(result))) fail(`must be one of ${p.values.join(', ')}, not ${JSON.stringify(result)}`);
  return result;
}

class Expander {
  constructor(private readonly file: string, private readonly options: ExpandOptions) {}

  scalar(text: string, scope: Scope): Value {
    const m = whole.exec(text.trim());
    if (m && !directive(text)) {
      const value = evaluate(m[1], scope);
      if (typeof value === 'boolean') return value ? 'true' : 'false';
      if (typeof value === 'number') return String(value);
      return value === null ? '' : value;
    }
    return text.replace(embedded, (_, source: string) => toText(evaluate(source, scope)));
  }

  node(value: Value, scope: Scope): Value {
    if (typeof value === 'string') return this.scalar(value, scope);
    if (Array.isArray(value)) return this.sequence(value, scope);
    if (isMapping(value)) return this.mapping(value, scope);
    return value;
  }

  sequence(items: Value[], scope: Scope): Value[] {
    const out: Value[] = [];
    let chainTaken: boolean | undefined;
    for (const item of items) {
      const key = isMapping(item) && Object.keys(item).length === 1 ? Object.keys(item)[0] : undefined;
      const d = key !== undefined ? directive(key) : undefined;
      if (d && key !== undefined && isMapping(item)) {
        const body = item[key];
        const chosen = this.choose(d, scope, chainTaken);
        chainTaken = chosen.chainTaken;
        for (const s of chosen.scopes) {
          const expanded = this.node(body, s);
          if (Array.isArray(expanded)) out.push(...expanded);
          else out.push(expanded);
        }
        continue;
      }
      chainTaken = undefined;
      if (isMapping(item) && typeof item.template === 'string') {
        out.push(...this.include(item, scope));
        continue;
      }
      const expanded = this.node(item, scope);
      if (typeof item === 'string' && Array.isArray(expanded)) out.push(...expanded);
      else out.push(expanded);
    }
    return out;
  }

  mapping(map: { [key: string]: Value }, scope: Scope): { [key: string]: Value } {
    const out: { [key: string]: Value } = {};
    let chainTaken: boolean | undefined;
    for (const [key, body] of Object.entries(map)) {
      const d = directive(key);
      if (d) {
        const chosen = this.choose(d, scope, chainTaken);
        chainTaken = chosen.chainTaken;
        for (const s of chosen.scopes) {
          const expanded = this.node(body, s);
          if (!isMapping(expanded)) throw new Error(`${this.file}: '${key}' inside a mapping must hold a mapping`);
          Object.assign(out, expanded);
        }
        continue;
      }
      chainTaken = undefined;
      const name = toText(this.scalar(key, scope));
      if (name in out) throw new Error(`${this.file}: key '${name}' is set twice`);
      out[name] = this.node(body, scope);
    }
    return out;
  }

  /** Returns the scopes the body is expanded in (none, one, or one per loop item). */
  choose(d: ReturnType<typeof directive> & object, scope: Scope, chainTaken: boolean | undefined): { scopes: Scope[]; chainTaken: boolean | undefined } {
    if (d.kind === 'if') {
      const taken = isTruthy(evaluate(d.rest, scope));
      return { scopes: taken ? [scope] : [], chainTaken: taken };
    }
    if (d.kind === 'elseif' || d.kind === 'else') {
      if (chainTaken === undefined) throw new Error(`${this.file}: \${{ ${d.kind} }} without a preceding \${{ if }}`);
      if (chainTaken) return { scopes: [], chainTaken: true };
      const taken = d.kind === 'else' || isTruthy(evaluate(d.rest, scope));
      return { scopes: taken ? [scope] : [], chainTaken: d.kind === 'else' ? undefined : taken };
    }
    if (d.kind === 'each') {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)\s+in\s+([\s\S]+)$/.exec(d.rest.trim());
      if (!m) throw new Error(`${this.file}: malformed \${{ each ${d.rest} }}`);
      const collection = evaluate(m[2], scope);
      const items: Value[] = Array.isArray(collection)
        ? collection
        : isMapping(collection)
          ? Object.entries(collection).map(([k, v]) => ({ key: k, value: v }))
          : collection === null ? [] : (() => { throw new Error(`${this.file}: \${{ each }} over a scalar: ${m[2]}`); })();
      return { scopes: items.map((item) => ({ ...scope, [m[1]]: item })), chainTaken: undefined };
    }
    throw new Error(`${this.file}: \${{ insert }} is not supported by the template validator`);
  }

  include(item: { [key: string]: Value }, scope: Scope): Value[] {
    const reference = toText(this.scalar(item.template as string, scope));
    for (const key of Object.keys(item)) {
      if (key !== 'template' && key !== 'parameters') throw new Error(`${this.file}: unexpected '${key}' beside template: ${reference}`);
    }
    const [path, alias] = reference.split('@');
    let file: string;
    if (alias !== undefined && alias !== 'self') {
      const folder = this.options.repositories?.[alias];
      if (!folder) throw new Error(`${this.file}: template ${reference}: repository alias '${alias}' is not declared in resources.repositories`);
      file = resolve(folder, path.replace(/^\//, ''));
    } else {
      file = resolve(dirname(this.file), path);
    }
    const given = item.parameters === undefined ? {} : this.node(item.parameters, scope);
    if (!isMapping(given)) throw new Error(`${this.file}: parameters of template ${reference} must be a mapping`);
    const expanded = expandFile(file, given, this.options);
    const body = ['stages', 'jobs', 'steps', 'variables'].filter((k) => k in expanded);
    if (body.length !== 1) throw new Error(`${file}: a template used from ${this.file} must hold exactly one of stages, jobs, steps, variables`);
    return expanded[body[0]] as Value[];
  }
}

/** Expands a whole file with the given parameter values (template) or its defaults (pipeline). */
export function expandFile(file: string, given: Record<string, Value> = {}, options: ExpandOptions = {}): { [key: string]: Value } {
  const stack = options.stack ?? [];
  if (stack.includes(file)) throw new Error(`template cycle: ${[...stack, file].join(' -> ')}`);
  const document = loadYamlFile(file);
  if (!isMapping(document)) throw new Error(`${file}: the file must hold a mapping`);
  return expandDocument(document, file, given, { ...options, stack: [...stack, file] });
}

export function expandDocument(
  document: { [key: string]: Value },
  file: string,
  given: Record<string, Value>,
  options: ExpandOptions,
): { [key: string]: Value } {
  const parameters = bindParameters(parameterDeclarations(document, file), given, file);
  const expander = new Expander(file, options);
  const out: { [key: string]: Value } = {};
  for (const [key, value] of Object.entries(document)) {
    if (key === 'parameters') continue;
    out[key] = key === 'resources' ? value : expander.node(value, { parameters });
  }
  return out;
}
