import { escapeMarkdown, formatBytes, link, neutraliseLoggingCommands, table } from './markdown';

export interface ValueChange {
  file: string;
  /** Dotted key path, e.g. `subcomponents.frontend.config.image.tag`. */
  key: string;
  /** Undefined when the key was added. */
  oldValue?: string;
  newValue: string;
}

export interface PromotionReport {
  sourceImage: string;
  targetImage: string;
  digest: string;
  bytesCopied: number;
  blobsCopied?: number;
  blobsSkipped?: number;
  platforms?: string[];
}

export interface ChangeSummaryInput {
  title: string;
  changes: ValueChange[];
  commit?: { sha: string; url?: string };
  pullRequest?: { id: number; url: string; created?: boolean };
  promotion?: PromotionReport;
  /** Shown when there were no changes, e.g. "The tag was already set". */
  note?: string;
}

/** The UpdateImageTag / PromoteContainer summary: what was promoted, which values changed, where the commit or PR is. */
export function renderChangeSummary(input: ChangeSummaryInput): string {
  const parts = [`## ${escapeMarkdown(input.title)}\n`];
  if (input.promotion) parts.push(promotionSection(input.promotion));
  if (input.changes.length === 0) {
    parts.push(`No configuration changed${input.note ? `: ${escapeMarkdown(input.note)}` : '.'}\n`);
  } else {
    parts.push(table(['File', 'Key', 'Old value', 'New value'], input.changes.map((c) => [
      escapeMarkdown(c.file),
      escapeMarkdown(c.key),
      c.oldValue === undefined ? '(not set)' : escapeMarkdown(c.oldValue),
      escapeMarkdown(c.newValue),
    ])));
  }
  if (input.pullRequest) {
    const verb = input.pullRequest.created === false ? 'Updated pull request' : 'Pull request';
    parts.push(`${verb}: ${link(`#${input.pullRequest.id}`, input.pullRequest.url)}\n`);
  }
  if (input.commit) parts.push(`Commit: ${link(input.commit.sha.slice(0, 12), input.commit.url)}\n`);
  return neutraliseLoggingCommands(parts.join('\n'));
}

function promotionSection(p: PromotionReport): string {
  const rows: string[][] = [
    ['Source', escapeMarkdown(p.sourceImage)],
    ['Target', escapeMarkdown(p.targetImage)],
    ['Digest', escapeMarkdown(p.digest)],
    ['Copied', `${formatBytes(p.bytesCopied)}${p.blobsCopied === undefined ? '' : ` in ${p.blobsCopied} blobs`}${p.blobsSkipped ? `, ${p.blobsSkipped} already present` : ''}`],
  ];
  if (p.platforms?.length) rows.push(['Platforms', p.platforms.map(escapeMarkdown).join(', ')]);
  return `### Promotion\n\n${table(['', ''], rows)}`;
}
