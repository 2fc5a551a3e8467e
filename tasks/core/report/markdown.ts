/** Escapes characters Markdown would read as formatting, links, HTML or table cells. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/[\\`*_[\]<>|~&]/g, '\\$&');
}

/**
 * Breaks `##vso[` so nothing in a report (a chart value, a commit message) can be read by the
 * agent as a logging command if the text is ever echoed.
 */
export function neutraliseLoggingCommands(text: string): string {
  return text.replace(/##vso\[/gi, (match) => `##\u200b${match.slice(2)}`);
}

/** A code fence longer than any backtick run inside `content`, so the content cannot close it. */
export function fenced(language: string, content: string): string {
  const longestRun = Math.max(0, ...(content.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longestRun + 1));
  const body = content.endsWith('\n') ? content : `${content}\n`;
  return `${fence}${language}\n${body}${fence}\n`;
}

export function table(headers: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n') + '\n';
}

export function link(text: string, url: string | undefined): string {
  const label = escapeMarkdown(text);
  return url ? `[${label}](${url.replace(/[()\s]/g, encodeURIComponent)})` : label;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}
