import { GitopsError } from '../errors';
import { isReservedKey } from '../names';

/** One `key.path=value` assignment of `set`. */
export interface SetValue {
  /** Key path segments; a quoted segment such as `"k8s.io/x"` is one segment. */
  path: string[];
  value: string;
  /** `key:=value`: write a typed YAML value instead of a string. */
  typed: boolean;
}

const CONTROL_CHARACTERS = /[\x00-\x1f\x7f]/;

/**
 * Splits a dotted key path. Double quotes keep dots inside one segment (`a."k8s.io/x".b`);
 * `""` inside quotes is a literal quote, as in Fabrikate's CSV-style splitting.
 */
export function parseKeyPath(text: string): string[] {
  const segments: string[] = [];
  let current = '';
  let quoted = false;
  let wasQuoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        current += '"';
        i++;
      } else if (char === '"') {
        quoted = false;
        if (i + 1 < text.length && text[i + 1] !== '.') {
          throw keyPathError(text, `a quoted segment must end at a "." (position ${i + 1})`);
        }
      } else {
        current += char;
      }
    } else if (char === '"') {
      if (current !== '' || wasQuoted) throw keyPathError(text, `a quote may only start a segment (position ${i + 1})`);
      quoted = true;
      wasQuoted = true;
    } else if (char === '.') {
      if (current === '' && !wasQuoted) throw keyPathError(text, 'it has an empty segment');
      segments.push(current);
      current = '';
      wasQuoted = false;
    } else {
      current += char;
    }
  }
  if (quoted) throw keyPathError(text, 'a quoted segment is not closed');
  if (current === '' && !wasQuoted) throw keyPathError(text, 'it has an empty segment');
  segments.push(current);
  for (const segment of segments) {
    if (CONTROL_CHARACTERS.test(segment)) throw keyPathError(text, 'it contains control characters');
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
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') quoted = !quoted;
    else if (text[i] === '=' && !quoted) {
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
  if (CONTROL_CHARACTERS.test(value)) {
    throw new GitopsError(`the value for ${JSON.stringify(key)} contains a newline or control character`, {
      field: key,
      hint: 'set single-line values only',
    });
  }
  return { path: parseKeyPath(key), value, typed };
}

/** The key path as the user would type it, quoting segments that hold dots or quotes. */
export function formatKeyPath(path: readonly string[]): string {
  return path.map((s) => (/[."=]/.test(s) || s === '' ? `"${s.replace(/"/g, '""')}"` : s)).join('.');
}

function keyPathError(text: string, reason: string): GitopsError {
  return new GitopsError(`key path ${JSON.stringify(text)} is not valid: ${reason}`, {
    field: text,
    hint: 'separate keys with ".", and quote a key that contains dots: a."k8s.io/name".b',
  });
}
