import { escapeMarkdown, fenced, link, neutraliseLoggingCommands, plural, table } from './markdown';
import { noNamespaceLabel } from './resources';
import type { EnvironmentDiff, FileChange, TreeDiff } from './treeDiff';

export interface SummaryInput {
  diff: TreeDiff;
  title?: string;
  /** Dry run (HLD pull request): nothing was pushed. */
  dryRun?: boolean;
  commit?: { sha: string; url?: string };
  pullRequest?: { id: number; url: string };
  /** Byte budget for the whole Markdown; diffs are cut first. Default 60 000. */
  maxBytes?: number;
}

export const defaultSummaryMaxBytes = 60_000;

/** Room kept for the truncation notes themselves. */
const noteReserve = 400;

/**
 * The GenerateManifests summary: per environment, a table of resource changes, the changed files
 * and their unified diffs, all within `maxBytes` (diffs are truncated with a note saying how much is missing).
 */
export function renderSummaryMarkdown(input: SummaryInput): string {
  const maxBytes = input.maxBytes ?? defaultSummaryMaxBytes;
  const head = header(input);
  const sections = input.diff.environments.map((env) => ({ env, overview: neutraliseLoggingCommands(environmentOverview(env)) }));
  const fixedBytes = byteLength(head) + sections.reduce((sum, s) => sum + byteLength(s.overview), 0);
  const budget: DiffBudget = { remaining: Math.max(0, maxBytes - fixedBytes - noteReserve), omittedLines: 0, omittedFiles: 0, exhausted: false };

  const parts = [head];
  for (const { env, overview } of sections) {
    parts.push(overview);
    const contentChanges = env.files.filter((file) => !file.formattingOnly);
    if (contentChanges.length > 0) parts.push(renderDiffs(contentChanges, budget));
  }
  if (budget.omittedFiles > 0 || budget.omittedLines > 0) {
    parts.push(`> **Diff truncated:** ${plural(budget.omittedLines, 'more line')} in ${plural(budget.omittedFiles, 'file')} not shown `
      + `(summary limit ${Math.round(maxBytes / 1000)} KB). Compare the branches in the repository for the full diff.\n`);
  }
  return neutraliseLoggingCommands(parts.join('\n'));
}

function header(input: SummaryInput): string {
  const envs = input.diff.environments;
  const changed = envs.filter((e) => e.files.length > 0);
  const lines = [`## ${escapeMarkdown(input.title ?? 'Rendered manifests')}`, ''];
  if (input.dryRun) lines.push('Dry run: nothing was committed or pushed.', '');
  lines.push(changed.length === 0
    ? `No changes in ${plural(envs.length, 'environment')}.`
    : `${plural(changed.length, 'environment')} of ${envs.length} changed: ${changed.map((e) => escapeMarkdown(e.folder)).join(', ')}.`);
  if (input.commit) lines.push('', `Commit: ${link(input.commit.sha.slice(0, 12), input.commit.url)}`);
  if (input.pullRequest) lines.push('', `Pull request: ${link(`#${input.pullRequest.id}`, input.pullRequest.url)}`);
  return lines.join('\n') + '\n';
}

function environmentOverview(env: EnvironmentDiff): string {
  const name = escapeMarkdown(env.folder);
  if (env.files.length === 0) return `### ${name}\n\nNo changes (${plural(env.unchangedFiles, 'file')} unchanged).\n`;
  const counts = ['added', 'changed', 'removed']
    .map((kind) => [kind, env.resources.filter((r) => r.change === kind).length] as const)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${n} ${kind}`);
  const lines = [`### ${name}`, '', `Resources: ${counts.length ? counts.join(', ') : 'none changed'}; files: ${plural(env.files.length, 'changed file')}, ${env.unchangedFiles} unchanged.`, ''];
  if (env.resources.length > 0) {
    lines.push(table(['Change', 'Kind', 'Namespace', 'Name', 'File'], env.resources.map((r) => [
      r.change,
      escapeMarkdown(r.kind),
      r.clusterScoped ? '(cluster)' : escapeMarkdown(r.namespace ?? noNamespaceLabel),
      escapeMarkdown(r.name),
      escapeMarkdown(r.file),
    ])));
  }
  const formatting = env.files.filter((f) => f.formattingOnly).length;
  if (formatting > 0) {
    lines.push(`${plural(formatting, 'file')} changed only in formatting (same documents, e.g. after migrating from Fabrikate); their diffs are not shown.`, '');
  }
  lines.push(table(['File', 'Change'], env.files.map((f) => [
    escapeMarkdown(f.path),
    f.opaque ? `${f.change} (not Kubernetes YAML)` : f.formattingOnly ? 'formatting only (same documents)' : f.change,
  ])));
  return lines.join('\n');
}

interface DiffBudget { remaining: number; omittedLines: number; omittedFiles: number; exhausted: boolean }

/** Diffs in order until the budget runs out; after the first cut everything else is only counted. */
function renderDiffs(files: FileChange[], budget: DiffBudget): string {
  let text = '';
  for (const file of files) {
    const diff = neutraliseLoggingCommands(file.diff ?? `(diff of ${file.path} too large to compute)\n`);
    const block = fenced('diff', diff);
    if (budget.exhausted) {
      budget.omittedLines += countLines(diff);
      budget.omittedFiles += 1;
      continue;
    }
    if (byteLength(block) <= budget.remaining) {
      text += block;
      budget.remaining -= byteLength(block);
      continue;
    }
    const lines = diff.split('\n').filter((l, i, all) => i < all.length - 1 || l !== '');
    const shown: string[] = [];
    let used = byteLength(fenced('diff', ''));
    for (const line of lines) {
      const size = byteLength(line) + 1;
      if (used + size > budget.remaining) break;
      shown.push(line);
      used += size;
    }
    if (shown.length > 0) {
      text += fenced('diff', shown.join('\n'));
      budget.remaining -= used;
    }
    budget.omittedLines += lines.length - shown.length;
    budget.omittedFiles += 1;
    budget.exhausted = true;
  }
  return text;
}

function countLines(text: string): number {
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
