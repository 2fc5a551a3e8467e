import { displayUrl } from './exec';

/**
 * The one error type users see. It carries where the problem is (file, line, field or input)
 * and what to do about it, so every layer can add context without losing it.
 */
export interface ErrorLocation {
  /** File the problem is in, as the user knows it (relative to the HLD when possible). */
  file?: string;
  /** 1-based line number inside `file`. */
  line?: number;
  /** Field, key path or input name, e.g. `subcomponents[2].name` or `imageTag`. */
  field?: string;
}

export class GitopsError extends Error {
  readonly file?: string;
  readonly line?: number;
  readonly field?: string;
  /** What the user can do about it. */
  readonly hint?: string;

  constructor(message: string, where: ErrorLocation & { hint?: string; cause?: unknown } = {}) {
    super(message, where.cause === undefined ? undefined : { cause: where.cause });
    this.name = 'GitopsError';
    this.file = where.file;
    this.line = where.line;
    this.field = where.field;
    this.hint = where.hint;
  }

  /** One line for people: `file:line: field: message. hint` */
  describe(): string {
    const place = [this.file && (this.line ? `${this.file}:${this.line}` : this.file), this.field]
      .filter(Boolean)
      .join(': ');
    const text = place ? `${place}: ${this.message}` : this.message;
    // No URL's user info is ever shown: it may be a token (https://TOKEN@host/...).
    return displayUrl(this.hint ? `${text} (${this.hint})` : text);
  }
}

/** Why a registry operation failed, for callers that decide which setting was wrong. */
export type RegistryFailure =
  /** The registry (or its token service) refused the credentials, or the identity lacks rights. */
  | 'access-denied'
  /** ACR refused the Azure AD token at /oauth2/exchange (the identity lacks a role on it). */
  | 'azure-ad-refused'
  /** The target tag already names another image and may not move. */
  | 'tag-moved';

/** A registry failure with its kind and the registry it concerns; the message stays for people. */
export class RegistryError extends GitopsError {
  constructor(readonly failure: RegistryFailure, readonly registry: string, message: string, where: ErrorLocation & { hint?: string; cause?: unknown } = {}) {
    super(message, where);
    this.name = 'RegistryError';
  }
}

/**
 * The error naming the task input it is about: a GitopsError without a field gets `field`, one
 * whose field is a generic name (`branch`, `url`) gets the input from `renames`. Other errors pass.
 */
export function naming(error: unknown, field: string, renames: Record<string, string> = {}): unknown {
  if (!(error instanceof GitopsError)) return error;
  const named = !error.field ? field : Object.hasOwn(renames, error.field) ? renames[error.field] : undefined;
  if (!named) return error;
  return new GitopsError(error.message, { file: error.file, line: error.line, field: named, hint: error.hint, cause: error.cause });
}

/** Human-readable text for any thrown value. */
export function describeError(error: unknown): string {
  if (error instanceof GitopsError) return error.describe();
  if (error instanceof Error) return displayUrl(error.message);
  return displayUrl(String(error));
}
