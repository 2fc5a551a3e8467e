import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { GitopsError, ErrorLocation } from './errors';
import { isSymlink } from './paths';

/**
 * A plain name can be used as one path segment: no separators, no `..`, no control characters.
 * Component and environment names become folder and file names, so they must never escape the
 * output folder; they also become object keys, so `__proto__`, `constructor` and `prototype` are
 * refused.
 */
const PLAIN_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** Keys that reach an object's prototype when used as a property name. */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function isReservedKey(value: string): boolean {
  return RESERVED_KEYS.has(value);
}

export function isPlainName(value: string): boolean {
  return PLAIN_NAME.test(value) && value !== '.' && !value.includes('..') && value.length <= 253 && !isReservedKey(value);
}

export function assertPlainName(value: unknown, what: string, where: ErrorLocation = {}): string {
  if (typeof value !== 'string' || !isPlainName(value)) {
    const reserved = typeof value === 'string' && isReservedKey(value);
    throw new GitopsError(`${what} ${JSON.stringify(value)} is ${reserved ? 'a reserved name' : 'not a plain name'}`, {
      ...where,
      hint: reserved
        ? '__proto__, constructor and prototype cannot be used as names'
        : 'use letters, digits, ".", "_" and "-" only, starting with a letter or digit; no "/", "\\" or ".."',
    });
  }
  return value;
}

/** `.git` in any case (case-insensitive file systems), with the trailing dots or spaces Windows ignores, or its 8.3 name. */
function isGitFolderName(segment: string): boolean {
  return /^\.git[. ]*$/i.test(segment) || /^git~\d+$/i.test(segment);
}

/**
 * Whether `text` holds a C0 control character or DEL: the one check for every single-line value
 * (names, tags, keys, paths). `multiLine` allows the line breaks (\n, \r) of multi-line text.
 */
export function hasControlCharacter(text: string, options: { multiLine?: boolean } = {}): boolean {
  return (options.multiLine ? /[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]/ : /[\x00-\x1f\x7f]/).test(text);
}

/** A relative path inside some root: segments of plain names, no absolute path, no `..`, no `.git`. */
export function assertRelativePath(value: string, what: string, where: ErrorLocation = {}): string {
  const trimmed = value.replace(/^\.\/+/, '').replace(/\/+$/, '');
  if (trimmed === '' || trimmed === '.') return '';
  if (value.startsWith('/') || value.includes('\\') || /^[A-Za-z]:/.test(value) || hasControlCharacter(value)) {
    throw new GitopsError(`${what} ${JSON.stringify(value)} must be a relative path inside the repository`, where);
  }
  for (const segment of trimmed.split('/')) {
    if (segment === '..' || segment === '.' || segment === '') {
      throw new GitopsError(`${what} ${JSON.stringify(value)} must not contain "..", "." or empty segments`, where);
    }
    if (isGitFolderName(segment)) {
      throw new GitopsError(`${what} ${JSON.stringify(value)} must not contain a .git folder`, {
        ...where,
        hint: 'git\'s own folder is never a place for manifests or config; give a folder of the repository\'s files',
      });
    }
  }
  return trimmed;
}

/** Refuses a value that a program would read as an option (a leading `-`); returns it. */
export function assertNotOption(value: string, what: string, where: ErrorLocation = {}): string {
  if (value.trimStart().startsWith('-')) {
    throw new GitopsError(`${what} ${JSON.stringify(value)} must not start with "-"`, {
      ...where,
      hint: 'a value starting with "-" would be read as an option by git or helm',
    });
  }
  return value;
}

/**
 * git's ref-format rules (git check-ref-format --branch) for a branch or tag name, checked without
 * running git. `refs/heads/` (branches) or `refs/tags/` (tags) in front is accepted and stripped,
 * everywhere the same way. The error names the input or flag in `field`.
 */
export function assertRefName(value: string, field: string, kind: 'branch' | 'tag' = 'branch'): string {
  const prefix = kind === 'branch' ? 'refs/heads/' : 'refs/tags/';
  const name = value.trim().startsWith(prefix) ? value.trim().slice(prefix.length) : value.trim();
  const bad =
    !name ||
    name.length > 255 ||
    /[\x00-\x20\x7f~^:?*[\\]/.test(name) ||
    name.includes('..') ||
    name.includes('//') ||
    name.includes('@{') ||
    name === '@' ||
    name === 'HEAD' ||
    name.startsWith('-') ||
    // `refs/heads/refs/heads/x` would name a branch called `refs/heads/x`: a mistake, never meant.
    name.startsWith('refs/') ||
    /^\/|[/.]$/.test(name) ||
    name.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock'));
  if (bad) {
    throw new GitopsError(`${field} ${JSON.stringify(value)} is not a valid ${kind} name`, {
      field,
      hint: `use a ${kind} name such as ${kind === 'branch' ? 'main or release/1.2' : 'v1.2 or flux-sync'} (no leading "-", no spaces, "..", "@{", ":", "~", "^", "?", "*", "[" or "\\", no part starting with "." or ending in ".lock")`,
    });
  }
  return name;
}

/** assertRefName for branches: the name without `refs/heads/`. */
export function assertBranchName(value: string, field: string): string {
  return assertRefName(value, field, 'branch');
}

/**
 * An output folder inside a checkout by path must be inside it for real: a symlink committed on
 * the way (`generated -> /elsewhere`, or to another folder of the checkout) would make the run
 * empty and rewrite whatever it points at. Any symlink between the two is refused.
 */
function assertNoLinkBetween(base: string, output: string, field: string, what: string): void {
  const from = resolve(base);
  const rel = relative(from, resolve(output));
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return;
  let current = from;
  for (const segment of rel.split(sep)) {
    current = resolve(current, segment);
    if (isSymlink(current)) {
      throw new GitopsError(`${field} ${JSON.stringify(output)} goes through the symlink ${JSON.stringify(relative(from, current).split(sep).join('/'))} in the ${what}; refused`, {
        field,
        hint: 'a symlink in the checkout must not redirect where output is written: remove the link, or give an output folder outside the checkout',
      });
    }
  }
}

/** The real path of `path`, or of its nearest existing ancestor joined with the rest (it may not exist yet). */
function realPathOf(path: string): string {
  const absolute = resolve(path);
  if (existsSync(absolute)) return realpathSync(absolute);
  const parent = dirname(absolute);
  return parent === absolute ? absolute : resolve(realPathOf(parent), basename(absolute));
}

/** Whether `inner` is `outer` or inside it (after resolving symbolic links). */
export function isInsideOrSame(inner: string, outer: string): boolean {
  const rel = relative(realPathOf(outer), realPathOf(inner));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * An output folder that is replaced in part must not be, contain or sit inside a git checkout or
 * a folder the run owns: writing there would delete HLD folders or corrupt a clone. Sitting inside
 * one listed with `mayContain` is fine (Fabrikate's `<hld>/generated`). No `.git` segment either.
 */
export function assertSeparateOutput(
  output: string,
  field: string,
  others: readonly { path: string | undefined; what: string; mayContain?: boolean }[],
): void {
  const absolute = realPathOf(output);
  if (absolute.split(sep).some(isGitFolderName)) {
    throw new GitopsError(`${field} ${JSON.stringify(output)} is inside a .git folder`, { field, hint: 'write the output to a folder of its own' });
  }
  for (const other of others) {
    if (!other.path) continue;
    if (other.mayContain) assertNoLinkBetween(other.path, output, field, other.what);
    const overlaps = isInsideOrSame(other.path, output) || (!other.mayContain && isInsideOrSame(output, other.path));
    if (overlaps) {
      throw new GitopsError(`${field} ${JSON.stringify(output)} overlaps the ${other.what} (${other.path})`, {
        field,
        hint: 'the output folder\'s environment folders are replaced on every run: give a folder of its own, outside the checkouts',
      });
    }
  }
}

/** A branch name git accepts from arbitrary text: `gitops/<segments>` with unsafe characters replaced. */
export function pullRequestBranchName(segments: string[]): string {
  const clean = segments.map((segment) =>
    segment.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/\.{2,}/g, '.').replace(/^[.-]+|[.-]+$/g, '').replace(/\.lock$/i, '-lock') || 'root');
  return ['gitops', ...clean].join('/');
}
