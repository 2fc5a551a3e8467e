/** The previous tag of an environment, as the tasks' summaries show it: what a rollback restores. */
import { escapeMarkdown } from '../report';

interface TagChange { key: string; oldValue?: unknown; newValue: unknown }

/**
 * The browser page of a file's history on Azure Repos or GitHub (where the previous tag and the
 * commit that set it are listed); undefined for other hosts.
 */
export function fileHistoryUrl(repositoryUrl: string | undefined, branch: string, file: string): string | undefined {
  if (!repositoryUrl || !/^https?:\/\//i.test(repositoryUrl)) return undefined;
  const base = repositoryUrl.replace(/^(https?:\/\/)[^/@]*@/i, '$1').replace(/\/+$/, '').replace(/\.git$/, '');
  const path = file.split('/').map(encodeURIComponent).join('/');
  if (/\/_git\//.test(base)) return `${base}?path=${encodeURIComponent(`/${file}`)}&version=GB${encodeURIComponent(branch)}&_a=history`;
  if (/github/i.test(base)) return `${base}/commits/${branch.split('/').map(encodeURIComponent).join('/')}/${path}`;
  return undefined;
}

/**
 * A Markdown line naming the tag the change replaced (linked to the file's history when the host
 * has one), or undefined when it replaced no earlier tag.
 */
export function previousTagLine(changes: readonly TagChange[], newTag: string, file: string, history?: { repositoryUrl?: string; branch: string }): string | undefined {
  const change = changes.find((c) => String(c.newValue) === newTag || String(c.newValue).startsWith(`${newTag}@`));
  if (!change || change.oldValue === undefined || change.oldValue === null || String(change.oldValue) === '') return undefined;
  const previous = String(change.oldValue).replace(/@sha256:[a-f0-9]{64}$/, '');
  if (previous === newTag) return undefined;
  const environment = /config\/([^/]+)\.yaml$/.exec(file)?.[1];
  const url = history && fileHistoryUrl(history.repositoryUrl, history.branch, file);
  const tag = url ? `[\`${previous}\`](${url})` : `\`${previous}\``;
  return `Previous tag${environment ? ` of ${escapeMarkdown(environment)}` : ''}: ${tag}, what \`bedrock-gitops rollback --previous\` restores (see \`bedrock-gitops history\`).`;
}
