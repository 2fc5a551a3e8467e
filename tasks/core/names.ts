import { GitopsError, ErrorLocation } from './errors';

/**
 * A plain name can be used as one path segment: no separators, no `..`, no control characters.
 * Component and environment names become folder and file names, so they must never escape the
 * output folder.
 */
const PLAIN_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

export function isPlainName(value: string): boolean {
  return PLAIN_NAME.test(value) && value !== '.' && !value.includes('..') && value.length <= 253;
}

export function assertPlainName(value: unknown, what: string, where: ErrorLocation = {}): string {
  if (typeof value !== 'string' || !isPlainName(value)) {
    throw new GitopsError(`${what} ${JSON.stringify(value)} is not a plain name`, {
      ...where,
      hint: 'use letters, digits, ".", "_" and "-" only, starting with a letter or digit; no "/", "\\" or ".."',
    });
  }
  return value;
}

/** A relative path inside some root: segments of plain names, no absolute path, no `..`. */
export function assertRelativePath(value: string, what: string, where: ErrorLocation = {}): string {
  const trimmed = value.replace(/^\.\/+/, '').replace(/\/+$/, '');
  if (trimmed === '' || trimmed === '.') return '';
  if (value.startsWith('/') || value.includes('\\') || /[\x00-\x1f\x7f]/.test(value)) {
    throw new GitopsError(`${what} ${JSON.stringify(value)} must be a relative path inside the repository`, where);
  }
  for (const segment of trimmed.split('/')) {
    if (segment === '..' || segment === '.' || segment === '') {
      throw new GitopsError(`${what} ${JSON.stringify(value)} must not contain "..", "." or empty segments`, where);
    }
  }
  return trimmed;
}
