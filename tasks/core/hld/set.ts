import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, parse, parseDocument, Node, Pair, Scalar, YAMLMap } from 'yaml';
import { GitopsError } from '../errors';
import { Logger } from '../logger';
import { assertPlainName, hasControlCharacter } from '../names';
import { formatKeyPath, ListSelector, listSelector, SetValue } from './keypath';
import { FABRIKATE_JSON_OPTIONS, FABRIKATE_YAML_OPTIONS, FabrikateValueError, toFabrikateValue } from './fabrikateYaml';
import { parseYamlValue, readYamlText } from '../yaml/parse';
import { parseSource, type SourceDocument } from './yamlSource';
import { displayPath } from './sourceFile';
import { checkoutRoot, realPathInside } from '../paths';

export { parseAssignment, parseKeyPath, SetValue } from './keypath';

export interface SetRequest {
  environment: string;
  /** Dotted subcomponent path `a.b`, or '' for the component itself. */
  subcomponent: string;
  values: SetValue[];
  /** Fail instead of creating a subcomponent entry, `config:` or key that does not exist yet. */
  noNewKeys?: boolean;
}

export interface SetChange {
  /** Dotted key path inside `config` (quoted segments as typed). */
  key: string;
  /** Absent when the key was created. */
  oldValue?: unknown;
  newValue: unknown;
}

export interface SetTextResult {
  text: string;
  changed: boolean;
  changes: SetChange[];
}

export interface SetFileResult extends SetTextResult {
  file: string;
  created: boolean;
}

/**
 * Sets config values in the text of a config file by splicing only the bytes that change, so
 * comments, layout, quoting, anchors and line endings of everything else survive.
 */
export function setValuesInText(text: string, request: SetRequest, file: string): SetTextResult {
  const prefix = subcomponentPrefix(request.subcomponent, file);
  const json = file.toLowerCase().endsWith('.json');
  let current = text;
  const changes: SetChange[] = [];
  const applied: { path: string[]; value: unknown }[] = [];
  // The original text is parsed once, for the first edit and for the check of the result.
  let original: SourceDocument | undefined = parseSource(text, file);
  const parse = (source: string) => (source === text && original ? original : parseSource(source, file));
  for (const value of request.values) {
    const path = [...prefix, 'config', ...value.path];
    const edit = editOnce(current, parse(current), path, value, { file, json, noNewKeys: request.noNewKeys === true });
    applied.push({ path, value: edit.newValue });
    if (edit.text === undefined) continue;
    current = edit.text;
    changes.push({ key: formatKeyPath(value.path), ...(edit.existed ? { oldValue: edit.oldValue } : {}), newValue: edit.newValue });
  }
  if (current !== text) {
    const beforeValue = fabrikateValueOf(original.document, file);
    original = undefined; // the source tree is not needed for the check: let it go before the re-parse
    verifyEdit(text, beforeValue, current, applied, file);
  }
  return { text: current, changed: current !== text, changes };
}

/** The config file `set` edits: `config/<environment>.yaml`, or `.json` when only that exists. */
export function environmentConfigFile(componentDir: string, environment: string): string {
  assertPlainName(environment, 'environment', { field: 'environment' });
  const yamlFile = join(componentDir, 'config', `${environment}.yaml`);
  const jsonFile = join(componentDir, 'config', `${environment}.json`);
  return existsSync(yamlFile) || !existsSync(jsonFile) ? yamlFile : jsonFile;
}

/**
 * Edits `config/<environment>.yaml` (or `.json` when only that exists) of a component, creating
 * the file when it is missing. Writes nothing when no value changes.
 */
export async function setValues(componentDir: string, request: SetRequest, logger: Logger, options: { root?: string } = {}): Promise<SetFileResult> {
  const file = environmentConfigFile(componentDir, request.environment);
  // A committed symlink (the file or config/) must not make us read or rewrite a file outside the repository.
  const root = await checkoutRoot(options.root ?? componentDir);
  // Reads and writes go to the checked real path, never through a link resolved a second time.
  const real = await realPathInside(root, file, { what: 'config file', rootLabel: 'the HLD repository', file: displayPath(file, root) });
  const created = !existsSync(file);
  if (created && request.noNewKeys) {
    throw new GitopsError(`config file does not exist and new keys are not allowed`, {
      file,
      hint: 'create the environment config first, or allow new keys',
    });
  }
  const before = created ? '' : await readYamlText(real, file);
  const result = setValuesInText(before, request, file);
  for (const change of result.changes) {
    const place = request.subcomponent ? `${request.subcomponent}: ` : '';
    logger.info(`${file}: ${place}${change.key} = ${JSON.stringify(change.newValue)}` +
      ('oldValue' in change ? ` (was ${JSON.stringify(change.oldValue)})` : ' (new)'));
  }
  if (result.changed) {
    await mkdir(dirname(real), { recursive: true });
    await writeFile(real, result.text);
  } else {
    logger.info(`${file}: no change`);
  }
  return { ...result, file, created: created && result.changed };
}

/**
 * `fab set --file`: the values of a YAML (or JSON) file, read with Fabrikate's scalar rules, as
 * assignments, one per leaf (Fabrikate's FlattenMap). A string stays a string; a number, boolean
 * or null keeps its type (Fabrikate wrote every value as a string). Keys holding dots stay one
 * key. Lists are refused, as Fabrikate did not support them.
 */
export function assignmentsFromFile(text: string, file: string): SetValue[] {
  const { document, lineOf } = parseSource(text, file);
  const root = document.contents as Node | null;
  if (root === null || (isScalar(root) && root.value === null)) return [];
  if (!isMap(root)) throw new GitopsError('a values file must hold a map of keys to values', { file, line: lineOf(root.range?.[0]) });
  const data = toFabrikateValue(root, document) as Record<string, unknown>;
  const values: SetValue[] = [];
  const walk = (map: Record<string, unknown>, prefix: string[]): void => {
    for (const [key, value] of Object.entries(map)) {
      const path = [...prefix, key];
      if (hasControlCharacter(key)) throw new GitopsError(`key ${JSON.stringify(key)} contains control characters`, { file, field: formatKeyPath(path) });
      if (Array.isArray(value)) {
        throw new GitopsError(`${formatKeyPath(path)} is a list; set --file takes maps of single values`, {
          file, field: formatKeyPath(path), hint: 'set list items one by one: key[0]=value or key[name=x].field=value',
        });
      }
      if (value !== null && typeof value === 'object') walk(value as Record<string, unknown>, path);
      else if (typeof value === 'string') {
        if (hasControlCharacter(value)) throw new GitopsError(`the value of ${formatKeyPath(path)} contains a newline or control character`, { file, field: formatKeyPath(path), hint: 'set single-line values only' });
        values.push({ path, value, typed: false });
      } else values.push({ path, value: value === null ? 'null' : typedText(value as number | boolean), typed: true });
    }
  };
  walk(data, []);
  return values;
}


function typedText(value: number | boolean): string {
  if (typeof value === 'boolean') return String(value);
  if (Number.isNaN(value)) return '.nan';
  if (!Number.isFinite(value)) return value > 0 ? '.inf' : '-.inf';
  // Floats keep a form Fabrikate's reader still sees as a float (signed exponent).
  const text = String(value);
  return /e\d/.test(text) ? text.replace('e', 'e+') : text;
}

interface EditContext {
  file: string;
  json: boolean;
  noNewKeys: boolean;
}

interface EditResult {
  /** Undefined when the value already holds what was asked. */
  text?: string;
  existed: boolean;
  oldValue?: unknown;
  newValue: unknown;
}

function subcomponentPrefix(subcomponent: string, file: string): string[] {
  if (subcomponent === '') return [];
  return subcomponent.split('.').flatMap((name) => [
    'subcomponents',
    assertPlainName(name, 'subcomponent name', { file, field: `subcomponent ${subcomponent}` }),
  ]);
}

function editOnce(text: string, parsed: SourceDocument, path: string[], value: SetValue, context: EditContext): EditResult {
  const { document } = parsed;
  const source = new SourceText(text, context, document.contents ? detectIndentStep(document.contents, text) : 2);
  const root = document.contents as Node | null;
  if (root === null || (isScalar(root) && root.value === null)) {
    requireNewKeysAllowed(context, path, 0);
    const rendered = renderNewValue(value, context, false);
    return { text: source.insertIntoEmptyDocument(root as Scalar | null, path, rendered.text), existed: false, newValue: rendered.value };
  }
  let node: Node = root;
  let parentPair: Pair | undefined;
  let inFlow = false;
  for (let i = 0; i < path.length; i++) {
    const where = formatKeyPath(path.slice(0, i));
    if (isAlias(node)) throw aliasError(context.file, where, source.lineOf(node.range?.[0]));
    const selector = listSelector(path[i]);
    if (selector) {
      node = selectListItem(node, selector, path, i, context, source);
      inFlow = inFlow || (node as { flow?: boolean }).flow === true;
      parentPair = undefined;
      continue;
    }
    if (isScalar(node) && node.value === null && parentPair) {
      requireNewKeysAllowed(context, path, i);
      refuseNewListItems(context, path, i);
      const rendered = renderNewValue(value, context, inFlow);
      return { text: source.replaceNullWithMap(parentPair, node, path.slice(i), rendered.text, inFlow), existed: false, newValue: rendered.value };
    }
    if (!isMap(node)) {
      throw new GitopsError(`cannot set ${formatKeyPath(path)}: ${where || 'the file'} is not a map`, {
        file: context.file, line: source.lineOf(node.range?.[0]), field: where,
        hint: 'change or remove that value first',
      });
    }
    const map: YAMLMap = node;
    inFlow = inFlow || map.flow === true;
    const matches = map.items.filter((item) => isScalar(item.key) && keyText(item.key) === path[i]);
    if (matches.length > 1) {
      throw new GitopsError(`${formatKeyPath(path.slice(0, i + 1))} appears ${matches.length} times in one map; Fabrikate used the last one`, {
        file: context.file, line: source.lineOf((matches[1].key as Node).range?.[0]), field: formatKeyPath(path.slice(0, i + 1)),
        hint: 'remove the duplicate keys first, keeping the value that should stay',
      });
    }
    const pair = matches[0];
    if (!pair) {
      requireNewKeysAllowed(context, path, i);
      refuseNewListItems(context, path, i);
      const rendered = renderNewValue(value, context, inFlow);
      return { text: source.insertIntoMap(map, path.slice(i), rendered.text), existed: false, newValue: rendered.value };
    }
    parentPair = pair;
    node = pair.value as Node;
  }
  const field = formatKeyPath(path);
  if (isAlias(node)) throw aliasError(context.file, field, source.lineOf(node.range?.[0]));
  if (!isScalar(node)) {
    const kind = isSeq(node) ? 'a list' : 'a map';
    throw new GitopsError(`${field} holds ${kind}; set a key inside it instead`, {
      file: context.file, line: source.lineOf(node.range?.[0]), field,
    });
  }
  if (node.anchor && text.includes(`*${node.anchor}`)) {
    throw new GitopsError(`${field} is anchored (&${node.anchor}) and used by aliases; changing it would change them too`, {
      file: context.file, line: source.lineOf(node.range?.[0]), field,
      hint: 'give the aliased places their own value, or edit the anchor by hand',
    });
  }
  const rendered = renderReplacement(value, node, context, inFlow);
  if (sameValue(node.value, rendered.value)) return { existed: true, oldValue: node.value, newValue: rendered.value };
  return { text: source.replaceScalar(node, rendered.text), existed: true, oldValue: node.value, newValue: rendered.value };
}

/** A map key as go-yaml read it: its source text (`yes:` is the key "yes", not true). */
function keyText(key: Scalar): string {
  if (typeof key.value === 'string') return key.value;
  if (key.value === null) return '';
  return key.source ?? String(key.value);
}

/** The list item `[i]` or `[key=value]` selects; set never creates list items. */
function selectListItem(node: Node, selector: ListSelector, path: string[], at: number, context: EditContext, source: SourceText): Node {
  const where = formatKeyPath(path.slice(0, at));
  const field = formatKeyPath(path.slice(0, at + 1));
  if (!isSeq(node)) {
    throw new GitopsError(`cannot select ${field}: ${where} is not a list`, {
      file: context.file, line: source.lineOf(node.range?.[0]), field,
      hint: 'list selectors ([0], [name=web]) address items of an existing list; set cannot create lists',
    });
  }
  let item: unknown;
  if ('index' in selector) {
    item = node.items[selector.index];
  } else {
    const found = node.items.filter((candidate) => {
      const target = isAlias(candidate) ? undefined : candidate;
      if (!isMap(target)) return false;
      const keyPair = target.items.find((pair) => isScalar(pair.key) && keyText(pair.key) === selector.key);
      return keyPair !== undefined && isScalar(keyPair.value) && keyPair.value.value !== null && String(keyPair.value.value) === selector.value;
    });
    if (found.length > 1) {
      throw new GitopsError(`${field} matches ${found.length} items of ${where}`, {
        file: context.file, line: source.lineOf(node.range?.[0]), field, hint: 'use a key whose value is unique in the list, or an index',
      });
    }
    item = found[0];
  }
  if (item === undefined || item === null) {
    const count = node.items.length;
    throw new GitopsError(`${field} does not exist: ${where} has ${count} item${count === 1 ? '' : 's'}${'index' in selector ? '' : ` and none with ${selector.key}: ${selector.value}`}`, {
      file: context.file, line: source.lineOf(node.range?.[0]), field,
      hint: 'set edits existing list items only; add the item to the list first',
    });
  }
  if (isAlias(item)) throw aliasError(context.file, field, source.lineOf((item as Node).range?.[0]));
  return item as Node;
}

function refuseNewListItems(context: EditContext, path: string[], missingAt: number): void {
  const selectorAt = path.findIndex((segment, index) => index >= missingAt && listSelector(segment));
  if (selectorAt < 0) return;
  const missing = formatKeyPath(path.slice(0, missingAt + 1));
  throw new GitopsError(`cannot set ${formatKeyPath(path)}: ${missing} does not exist, and set does not create lists or list items`, {
    file: context.file, field: missing, hint: 'create the list with its items first',
  });
}

function requireNewKeysAllowed(context: EditContext, path: string[], missingAt: number): void {
  if (!context.noNewKeys) return;
  const missing = formatKeyPath(path.slice(0, missingAt + 1));
  throw new GitopsError(`${missing} does not exist and new keys are not allowed`, {
    file: context.file, field: missing,
    hint: 'check the subcomponent and key names, or allow new keys',
  });
}

function aliasError(file: string, field: string, line: number | undefined): GitopsError {
  return new GitopsError(`cannot edit through the alias at ${field || 'the file root'}`, {
    file, line, field,
    hint: 'editing an alias would change the anchored value everywhere; set the value on the anchor or replace the alias with its own map',
  });
}

/** Byte-level edits of one source text, in its own indentation and line-ending style. */
class SourceText {
  readonly eol: string;
  private readonly lineStarts: number[] = [0];

  constructor(private readonly text: string, private readonly context: EditContext, private readonly step: number) {
    this.eol = text.includes('\r\n') ? '\r\n' : '\n';
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') this.lineStarts.push(i + 1);
  }

  lineOf(offset: number | undefined): number | undefined {
    if (offset === undefined) return undefined;
    let line = 0;
    while (line + 1 < this.lineStarts.length && this.lineStarts[line + 1] <= offset) line++;
    return line + 1;
  }

  private column(offset: number): number {
    return offset - (this.text.lastIndexOf('\n', offset - 1) + 1);
  }

  private splice(start: number, end: number, insert: string): string {
    return this.text.slice(0, start) + insert + this.text.slice(end);
  }

  /** Inserts whole lines after the line holding `offset` (keeps a missing final newline missing). */
  private insertLinesAfter(offset: number, lines: string): string {
    const lineEnd = offset > 0 && this.text[offset - 1] === '\n' ? offset - 1 : this.text.indexOf('\n', offset);
    if (lineEnd === -1) return this.text + this.eol + lines;
    return this.splice(lineEnd + 1, lineEnd + 1, lines + this.eol);
  }

  private blockLines(path: string[], leaf: string, column: number): string {
    return path
      .map((key, depth) => ' '.repeat(column + depth * this.step) + renderKey(key, this.context.json, false) + ':' +
        (depth === path.length - 1 ? ` ${leaf}` : ''))
      .join(this.eol);
  }

  /** `{a: {b: leaf}}`, or indented JSON when `indent` is given. */
  private flowValue(path: string[], leaf: string, indent?: number): string {
    const [key, ...rest] = path;
    const inner = rest.length === 0 ? leaf : this.flowValue(rest, leaf, indent === undefined ? undefined : indent + this.step);
    const entry = `${renderKey(key, this.context.json, true)}: ${inner}`;
    if (indent === undefined) return `{${entry}}`;
    return `{${this.eol}${' '.repeat(indent + this.step)}${entry}${this.eol}${' '.repeat(indent)}}`;
  }

  insertIntoEmptyDocument(root: Scalar | null, path: string[], leaf: string): string {
    if (this.context.json) {
      const body = this.flowValue(path, leaf, 0);
      if (root?.range && root.range[1] > root.range[0]) return this.splice(root.range[0], root.range[1], body);
      return this.text + body + this.eol;
    }
    const lines = this.blockLines(path, leaf, 0);
    if (root?.range && root.range[1] > root.range[0]) return this.splice(root.range[0], root.range[1], lines);
    if (this.text === '' ) return lines + this.eol;
    return this.text.endsWith('\n') ? this.text + lines + this.eol : this.text + this.eol + lines;
  }

  insertIntoMap(map: YAMLMap, path: string[], leaf: string): string {
    if (map.flow) return this.insertIntoFlowMap(map, path, leaf);
    const first = map.items[0].key as Node;
    const last = map.items[map.items.length - 1];
    const lastEnd = endOfPair(last);
    return this.insertLinesAfter(lastEnd, this.blockLines(path, leaf, this.column(first.range![0])));
  }

  private insertIntoFlowMap(map: YAMLMap, path: string[], leaf: string): string {
    const [open, end] = [map.range![0], map.range![1]];
    const close = this.text.lastIndexOf('}', end - 1);
    if (map.items.length === 0) return this.splice(close, close, this.flowValue(path, leaf).slice(1, -1));
    const firstKeyStart = (map.items[0].key as Node).range![0];
    const multiline = this.text.slice(open, firstKeyStart).includes('\n');
    const lastEnd = endOfPair(map.items[map.items.length - 1]);
    const afterLast = this.text.slice(lastEnd, close);
    const trailingComma = /^\s*,/.test(afterLast);
    const entryStart = trailingComma ? lastEnd + afterLast.indexOf(',') + 1 : lastEnd;
    if (multiline) {
      const indent = this.column(firstKeyStart);
      const value = path.length === 1 ? leaf : this.flowValue(path.slice(1), leaf, this.context.json ? indent : undefined);
      const entry = `${renderKey(path[0], this.context.json, true)}: ${value}`;
      return this.splice(entryStart, entryStart, `${trailingComma ? '' : ','}${this.eol}${' '.repeat(indent)}${entry}${trailingComma ? ',' : ''}`);
    }
    const entry = this.flowValue(path, leaf).slice(1, -1);
    return this.splice(entryStart, entryStart, `${trailingComma ? ' ' : ', '}${entry}${trailingComma ? ',' : ''}`);
  }

  replaceNullWithMap(pair: Pair, nullNode: Scalar, path: string[], leaf: string, inFlow: boolean): string {
    const [start, end] = [nullNode.range![0], nullNode.range![1]];
    const hasText = end > start;
    if (inFlow || this.context.json) {
      const value = this.flowValue(path, leaf);
      return hasText ? this.splice(start, end, value) : this.splice(start, start, ` ${value}`);
    }
    const lines = this.blockLines(path, leaf, this.column((pair.key as Node).range![0]) + this.step);
    if (!hasText) return this.insertLinesAfter((pair.key as Node).range![1], lines);
    let cut = start;
    while (cut > 0 && (this.text[cut - 1] === ' ' || this.text[cut - 1] === '\t')) cut--;
    return this.splice(cut, end, this.eol + lines);
  }

  replaceScalar(node: Scalar, rendered: string): string {
    const [start, end] = [node.range![0], node.range![1]];
    const isBlock = node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED;
    // A block scalar's range runs through its final line break, which the new one-line value still needs.
    const tail = isBlock && this.text[end - 1] === '\n' ? this.eol : '';
    if (end === start) return this.splice(start, start, (this.text[start - 1] === ':' ? ' ' : '') + rendered);
    return this.splice(start, end, rendered + tail);
  }
}

function endOfPair(pair: Pair): number {
  const value = pair.value as Node | null;
  if (value?.range) return value.range[1];
  return (pair.key as Node).range![1];
}

/** The indentation step the file already uses (first nested block map), 2 when there is none. */
function detectIndentStep(root: unknown, text: string): number {
  const column = (offset: number) => offset - (text.lastIndexOf('\n', offset - 1) + 1);
  const queue: unknown[] = [root];
  while (queue.length > 0) {
    const node = queue.shift();
    if (!isMap(node)) continue;
    for (const pair of node.items) {
      const child = pair.value;
      if (isMap(child) && child.items.length > 0) {
        // Measured from the key's line, also in JSON: `  "a": {` then `    "b"` is a step of 2.
        const parentColumn = column((pair.key as Node).range![0]);
        const childColumn = column((child.items[0].key as Node).range![0]);
        const multiline = !child.flow || text.slice(child.range![0], (child.items[0].key as Node).range![0]).includes('\n');
        if (multiline && childColumn > parentColumn) return childColumn - parentColumn;
        queue.push(child);
      }
    }
  }
  if (isMap(root) && root.flow && root.items.length > 0) {
    const firstKey = (root.items[0].key as Node).range![0];
    if (text.slice(root.range![0], firstKey).includes('\n')) return Math.max(1, column(firstKey) - column(root.range![0]));
  }
  return 2;
}

interface RenderedValue {
  text: string;
  value: unknown;
}

const YAML_KEYWORD = /^(y|n|yes|no|on|off|true|false|null|~|=|<<)$/i;
const PLAIN_SAFE = /^[A-Za-z_/][A-Za-z0-9_./@+-]*$/;
const DECIMAL = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$/;

/** True when the text reads back as this same string under YAML 1.2 and 1.1 (helm) rules. */
function isPlainSafe(text: string): boolean {
  if (!PLAIN_SAFE.test(text) || YAML_KEYWORD.test(text)) return false;
  try {
    return parse(text) === text && parse(text, { version: '1.1' }) === text;
  } catch {
    return false;
  }
}

function renderKey(key: string, json: boolean, flow: boolean): string {
  if (json) return JSON.stringify(key);
  return isPlainSafe(key) && !(flow && /[,[\]{}]/.test(key)) ? key : JSON.stringify(key);
}

function renderString(value: string, json: boolean, style?: Scalar.Type): string {
  if (json) return JSON.stringify(value);
  if (style === Scalar.QUOTE_SINGLE) return `'${value.replace(/'/g, "''")}'`;
  if (style === Scalar.QUOTE_DOUBLE) return JSON.stringify(value);
  return isPlainSafe(value) ? value : JSON.stringify(value);
}

function parseTyped(value: SetValue, context: EditContext): unknown {
  const field = formatKeyPath(value.path);
  let parsed: unknown;
  try {
    parsed = parseYamlValue(value.value.trim() === '' ? 'null' : value.value, `${context.file}: value of ${field}`, context.json ? FABRIKATE_JSON_OPTIONS : FABRIKATE_YAML_OPTIONS);
  } catch (error) {
    throw new GitopsError(`the typed value ${JSON.stringify(value.value)} is not a valid YAML value`, {
      file: context.file, field, cause: error,
      hint: 'use a number, true/false, null, a quoted string or a flow value like [1, 2] or {a: 1}',
    });
  }
  if (typeof parsed === 'number' && !Number.isFinite(parsed) && context.json) {
    throw new GitopsError(`${JSON.stringify(value.value)} cannot be written to a JSON file`, { file: context.file, field });
  }
  return parsed;
}

function renderTyped(value: SetValue, context: EditContext): RenderedValue {
  const parsed = parseTyped(value, context);
  if (context.json) return { text: JSON.stringify(parsed), value: parsed };
  const trimmed = value.value.trim();
  if (typeof parsed === 'string') return { text: renderString(parsed, false), value: parsed };
  if (parsed !== null && typeof parsed === 'object') {
    return { text: /^[[{]/.test(trimmed) ? trimmed : JSON.stringify(parsed), value: parsed };
  }
  return { text: trimmed === '' ? 'null' : trimmed, value: parsed };
}

function renderNewValue(value: SetValue, context: EditContext, _inFlow: boolean): RenderedValue {
  if (value.typed) return renderTyped(value, context);
  return { text: renderString(value.value, context.json), value: value.value };
}

/** Keeps the old value's kind (number, boolean) and quoting style where the new value allows it. */
function renderReplacement(value: SetValue, old: Scalar, context: EditContext, inFlow: boolean): RenderedValue {
  if (value.typed) return renderTyped(value, context);
  if (typeof old.value === 'number' && DECIMAL.test(value.value)) return { text: value.value, value: Number(value.value) };
  if (typeof old.value === 'boolean' && (value.value === 'true' || value.value === 'false')) {
    return { text: value.value, value: value.value === 'true' };
  }
  const keepsStyle = typeof old.value === 'string' || old.type !== Scalar.PLAIN;
  const style = keepsStyle ? old.type : undefined;
  if (style === Scalar.PLAIN && !context.json) {
    // A plain string stays plain when the new text reads back as the same string there.
    return { text: readsBackAsPlainString(value.value, inFlow) ? value.value : JSON.stringify(value.value), value: value.value };
  }
  const plainStyle = style === Scalar.BLOCK_FOLDED || style === Scalar.BLOCK_LITERAL ? Scalar.QUOTE_DOUBLE : style;
  return { text: renderString(value.value, context.json, plainStyle), value: value.value };
}

/**
 * True when `text`, written plain as a map value (block) or list item (flow), reads back as that
 * same string under Fabrikate's rules and YAML 1.2's, so `nginx:v1.0.0` or `new value` can
 * replace a plain value without quotes, while `5640e21`, `on`, `a: b` or `x #y` get quoted.
 */
function readsBackAsPlainString(text: string, flow: boolean): boolean {
  if (text === '' || text !== text.trim() || hasControlCharacter(text)) return false;
  const probe = flow ? `[${text}]\n` : `k: ${text}\n`;
  for (const options of [FABRIKATE_YAML_OPTIONS, {}]) {
    const document = parseDocument(probe, options);
    if (document.errors.length > 0 || document.warnings.length > 0) return false;
    const contents = document.contents;
    const item = flow
      ? (isSeq(contents) && contents.items.length === 1 ? contents.items[0] : undefined)
      : (isMap(contents) && contents.items.length === 1 ? contents.items[0].value : undefined);
    if (!isScalar(item) || item.type !== Scalar.PLAIN || item.value !== text) return false;
  }
  return true;
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b) && typeof a === typeof b;
}

/** Re-reads the edited text: it must equal the original with exactly the requested values set. */
function verifyEdit(before: string, beforeValue: unknown, after: string, applied: { path: string[]; value: unknown }[], file: string): void {
  const expected = (beforeValue ?? {}) as Record<string, unknown>;
  for (const { path, value } of applied) {
    let node = expected as Record<string, unknown>;
    const slot = (segment: string): string => {
      const selector = listSelector(segment);
      if (!selector) return segment;
      const list = node as unknown as Record<string, unknown>[];
      const index = 'index' in selector ? selector.index
        : list.findIndex((item) => item !== null && typeof item === 'object' && item[selector.key] !== undefined && item[selector.key] !== null && String(item[selector.key]) === selector.value);
      return String(index);
    };
    for (const segment of path.slice(0, -1)) {
      const key = slot(segment);
      if (node[key] === null || node[key] === undefined) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[slot(path[path.length - 1])] = value;
  }
  let actual: unknown;
  try {
    actual = fabrikateData(after, file);
    if (file.toLowerCase().endsWith('.json') && isJson(before)) actual = JSON.parse(after);
  } catch (error) {
    throw new GitopsError('internal error: the edited config no longer parses; nothing was written', { file, cause: error });
  }
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new GitopsError('internal error: the edited config does not hold the requested values; nothing was written', {
      file,
      hint: 'please report this with the config file',
    });
  }
}

function fabrikateData(text: string, file: string): unknown {
  return fabrikateValueOf(parseSource(text, file).document, file);
}

/** The file's values as Fabrikate decoded them; what it could not decode is a GitopsError naming the file. */
function fabrikateValueOf(document: SourceDocument['document'], file: string): unknown {
  try {
    return toFabrikateValue(document.contents as Node | null, document);
  } catch (error) {
    if (error instanceof FabrikateValueError) throw new GitopsError(error.message, { file, hint: 'fix the YAML of the config file' });
    throw error;
  }
}

function isJson(text: string): boolean {
  if (text.trim() === '') return true;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
