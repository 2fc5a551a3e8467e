/** The previous tag of an environment, as the tasks' summaries show it: what a rollback restores. */
import { escapeMarkdown } from '../report';

interface TagChange { key: string; oldValue?: unknown; newValue: unknown }

/** A Markdown line naming the tag the change replaced, or undefined when it set no earlier tag. */
export function previousTagLine(changes: readonly TagChange[], newTag: string, file: string): string | undefined {
  const change = changes.find((c) => String(c.newValue) === newTag || String(c.newValue).startsWith(`${newTag}@`));
  if (!change || change.oldValue === undefined || change.oldValue === null || String(change.oldValue) === '') return undefined;
  const previous = String(change.oldValue).replace(/@sha256:[a-f0-9]{64}$/, '');
  if (previous === newTag) return undefined;
  const environment = /config\/([^/]+)\.yaml$/.exec(file)?.[1];
  return `Previous tag${environment ? ` of ${escapeMarkdown(environment)}` : ''}: \`${previous}\`, what \`bedrock-gitops rollback --previous\` restores (see \`bedrock-gitops history\`).`;
}
