import { GitopsError } from '../errors';
import { hasControlCharacter, isReservedKey } from '../names';

/** One `key.path=value` assignment of `set`. */
export interface SetValue {
  /** Key path segments; a quoted segment such as `"k8s.io/x"` is one segment. */
  path: string[];
  value: string;
  /** `key:=value`: write a typed YAML value instead of a string. */
  typed: boolean;
}


/**
 * A list selector inside a key path is kept as one segment starting with NUL (which no real
 * segment can hold: control characters are refused), so paths stay string arrays.
 */
const SELECTOR_MARK = '\u0000';

export type ListSelector = { index: number } | { key: string; value: string };

/** The list selector a segment stands for, or undefined for a plain key. */
export function listSelector(segment: string): ListSelector | undefined {
  if (!segment.startsWith(SELECTOR_MARK)) return undefined;
  const body = segment.slice(1);
  const equals = body.indexOf('=');
  return equals < 0 ? { index: Number(body) } : { key: body.slice(0, equals), value: body.slice(equals + 1) };
}

function selectorSegment(text: string, body: string): string {
  if (/^[0-9]+$/.test(body)) {
    if (!Number.isSafeInteger(Number(body))) throw keyPathError(text, `list index [${body}] is too large`);
    return SELECTOR_MARK + String(Number(body));
  }
  const equals = body.indexOf('=');
  if (equals <= 0) {
    throw keyPathError(text, `[${body}] is not a list selector: use [index] or [key=value]; quote the segment ("a[b]") if the brackets are part of a key name`);
  }
  return SELECTOR_MARK + body;
}

/**
 * Splits a dotted key path. Double quotes keep dots inside one segment (`a."k8s.io/x".b`);
 * `""` inside quotes is a literal quote, as in Fabrikate's CSV-style splitting. Brackets after a
 * segment select a list item: `images[0].tag` by index, `containers[name=web].image` by the
 * value of a key of the item (the way image updaters address containers).
 */
export function parseKeyPath(text: string): string[] {
  const segments: string[] = [];
  let current = '';
  let quoted = false;
  let wasQuoted = false;
  let afterSelector = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        current += '"';
        i++;
      } else if (char === '"') {
        quoted = false;
        if (i + 1 < text.length && text[i + 1] !== '.' && text[i + 1] !== '[') {
          throw keyPathError(text, `a quoted segment must end at a "." (position ${i + 1})`);
        }
      } else {
        current += char;
      }
    } else if (char === '[') {
      const close = text.indexOf(']', i + 1);
      if (close < 0) throw keyPathError(text, 'a "[" is not closed');
      if (!afterSelector) {
        if (current === '' && !wasQuoted) throw keyPathError(text, 'a list selector must follow a key: name[0]');
        segments.push(current);
      }
      segments.push(selectorSegment(text, text.slice(i + 1, close)));
      current = '';
      wasQuoted = false;
      afterSelector = true;
      i = close;
      if (i + 1 < text.length && text[i + 1] !== '.' && text[i + 1] !== '[') {
        throw keyPathError(text, `a list selector must end at a "." (position ${i + 2})`);
      }
    } else if (char === ']') {
      throw keyPathError(text, `a "]" without "[" (position ${i + 1}); quote the segment if it is part of a key name`);
    } else if (char === '"') {
      if (current !== '' || wasQuoted || afterSelector) throw keyPathError(text, `a quote may only start a segment (position ${i + 1})`);
      quoted = true;
      wasQuoted = true;
    } else if (char === '.') {
      if (afterSelector) {
        afterSelector = false;
        continue;
      }
      if (current === '' && !wasQuoted) throw keyPathError(text, 'it has an empty segment');
      segments.push(current);
      current = '';
      wasQuoted = false;
    } else {
      if (afterSelector) throw keyPathError(text, `a list selector must end at a "." (position ${i + 1})`);
      current += char;
    }
  }
  if (quoted) throw keyPathError(text, 'a quoted segment is not closed');
  if (!afterSelector) {
    if (current === '' && !wasQuoted) throw keyPathError(text, 'it has an empty segment');
    segments.push(current);
  }
  for (const segment of segments) {
    if (!listSelector(segment) && hasControlCharacter(segment)) throw keyPathError(text, 'it contains control characters');
    if (isReservedKey(segment)) throw keyPathError(text, `"${segment}" is a reserved key (__proto__, constructor and prototype cannot be set)`);
  }
  return segments;
}

/**
 * Parses `key.path=value` (string value) or `key.path:=value` (typed value). The key ends at
 * the first `=` outside a quoted segment, so values may contain `=`.
 */
export function parseAssignment(text: string): SetValue {
  let quoted = false;
  let equals = -1;
  let bracket = false;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"' && !bracket) quoted = !quoted;
    else if (text[i] === '[' && !quoted) bracket = true;
    else if (text[i] === ']' && !quoted) bracket = false;
    else if (text[i] === '=' && !quoted && !bracket) {
      equals = i;
      break;
    }
  }
  if (equals < 0) {
    throw new GitopsError(`${JSON.stringify(text)} is not a key=value assignment`, {
      field: text,
      hint: 'write key.path=value, or key.path:=value for a number, boolean, null or list',
    });
  }
  let key = text.slice(0, equals);
  const value = text.slice(equals + 1);
  const typed = key.endsWith(':');
  if (typed) key = key.slice(0, -1);
  if (hasControlCharacter(value)) {
    throw new GitopsError(`the value for ${JSON.stringify(key)} contains a newline or control character`, {
      field: key,
      hint: 'set single-line values only',
    });
  }
  return { path: parseKeyPath(key), value, typed };
}

/** The key path as the user would type it, quoting segments that hold dots or quotes. */
export function formatKeyPath(path: readonly string[]): string {
  let text = '';
  for (const segment of path) {
    const selector = listSelector(segment);
    if (selector) {
      text += 'index' in selector ? `[${selector.index}]` : `[${selector.key}=${selector.value}]`;
      continue;
    }
    const shown = /[."=[\]]/.test(segment) || segment === '' ? `"${segment.replace(/"/g, '""')}"` : segment;
    text += (text === '' ? '' : '.') + shown;
  }
  return text;
}

function keyPathError(text: string, reason: string): GitopsError {
  return new GitopsError(`key path ${JSON.stringify(text)} is not valid: ${reason}`, {
    field: text,
    hint: 'separate keys with ".", and quote a key that contains dots: a."k8s.io/name".b',
  });
}
