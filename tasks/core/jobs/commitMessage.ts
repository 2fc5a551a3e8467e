import { GitopsError } from '../errors';
import { formatCommitMessage } from '../git/commitMessage';

/** Default templates of the tasks' `commitMessage` inputs (see their task.json). */
export const defaultImageTagMessage = 'Update {subcomponent} image to {tag} in {environment}';

const placeholderPattern = /\{([A-Za-z][A-Za-z0-9]*)\}/g;

/**
 * Fills `{name}` placeholders. An unknown placeholder is an error rather than silently left in
 * the message, so a typo in the template shows up in the first run.
 */
export function expandTemplate(template: string, placeholders: Record<string, string | undefined>, field = 'commitMessage'): string {
  return template.replace(placeholderPattern, (whole, name: string) => {
    if (!Object.hasOwn(placeholders, name)) {
      throw new GitopsError(`unknown placeholder ${whole} in the commit message template`, {
        field,
        hint: `use ${Object.keys(placeholders).map((p) => `{${p}}`).join(', ')}`,
      });
    }
    return placeholders[name] ?? '';
  });
}

export interface CommitMessageRequest {
  /** Used when there is no template, or the template expands to nothing. */
  subject: string;
  body?: string;
  /** User template: its first line becomes the subject, the rest the body. */
  template?: string;
  placeholders: Record<string, string | undefined>;
  trailers: Record<string, string | string[] | undefined>;
}

/** A commit message from the user's template (or the default subject) with the audit trailers appended. */
export function buildCommitMessage(request: CommitMessageRequest): string {
  const expanded = request.template?.trim() ? expandTemplate(request.template, request.placeholders).replace(/\r\n/g, '\n').trim() : '';
  if (expanded) {
    const [subject, ...rest] = expanded.split('\n');
    return formatCommitMessage({ subject, body: rest.join('\n'), trailers: request.trailers });
  }
  return formatCommitMessage({ subject: request.subject, body: request.body, trailers: request.trailers });
}
