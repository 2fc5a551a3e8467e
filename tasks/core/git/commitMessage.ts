import { displayUrl } from '../exec';
import { GitopsError } from '../errors';

export interface CommitMessageParts {
  subject: string;
  body?: string;
  /** `Key: value` lines at the end of the message (a list gives one line per item); undefined or empty values are left out. */
  trailers?: Record<string, string | string[] | undefined>;
}

const trailerKey = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
const trailerLine = /^([A-Za-z0-9][A-Za-z0-9-]*):[ \t]*(.*)$/;

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/\s+/g, ' ').trim();
}

/** A commit message whose trailers `git interpret-trailers` and parseTrailers can read back. */
export function formatCommitMessage(parts: CommitMessageParts): string {
  const subject = oneLine(parts.subject);
  if (!subject) throw new GitopsError('A commit message needs a subject', { field: 'subject' });
  const paragraphs = [subject];
  const body = parts.body?.replace(/\r\n/g, '\n').trim();
  if (body) paragraphs.push(body);
  const trailers: string[] = [];
  for (const [key, value] of Object.entries(parts.trailers ?? {})) {
    if (!trailerKey.test(key)) {
      throw new GitopsError(`Invalid commit trailer name "${key}"`, { field: 'trailers', hint: 'use letters, digits and dashes, e.g. Gitops-Source-Commit' });
    }
    for (const item of Array.isArray(value) ? value : [value]) {
      const clean = item === undefined ? '' : oneLine(item);
      if (clean) trailers.push(`${key}: ${clean}`);
    }
  }
  if (trailers.length) paragraphs.push(trailers.join('\n'));
  // A commit message is public and permanent: no URL in it keeps its user info (it may be a token).
  return displayUrl(`${paragraphs.join('\n\n')}\n`);
}

/**
 * The trailers of a commit message: its last paragraph, when every line of it is `Key: value`
 * (continuation lines start with whitespace). A key given twice keeps its last value.
 */
export function parseTrailers(message: string): Record<string, string> {
  const paragraphs = message.replace(/\r\n/g, '\n').trim().split(/\n[ \t]*\n/);
  if (paragraphs.length < 2) return {};
  const lines = paragraphs[paragraphs.length - 1].split('\n');
  const result: Record<string, string> = {};
  let lastKey: string | undefined;
  for (const line of lines) {
    if (/^[ \t]/.test(line) && lastKey) {
      result[lastKey] = `${result[lastKey]} ${line.trim()}`;
      continue;
    }
    const match = trailerLine.exec(line);
    if (!match) return {};
    lastKey = match[1];
    result[lastKey] = match[2].trim();
  }
  return result;
}
