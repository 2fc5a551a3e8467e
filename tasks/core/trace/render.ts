/** The trace and history for people: a terminal table and a self-contained HTML page. */
import type { EnvironmentHistory } from './history';
import { printable } from './log';
import type { TraceEnvironment, TraceResult } from './trace';

const short = (sha: string | undefined) => (sha ? sha.slice(0, 12) : '-');
const when = (iso: string | undefined) => (iso ? iso.replace('T', ' ').replace(/(:\d\d)([+-]\d\d:\d\d|Z)$/, '$1 $2').trim() : '-');

/**
 * Columns padded to their widest cell; the last column is not padded. Cells come from commit
 * text: control characters (terminal escape sequences) are replaced, never printed.
 */
export function formatTable(header: string[], cellRows: string[][]): string {
  const rows = cellRows.map((row) => row.map(printable));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function buildText(e: TraceEnvironment): string {
  if (!e.build) return e.release ? `release ${e.release}` : '-';
  return e.build.number && e.build.number !== e.build.id ? `${e.build.number} (${e.build.id})` : e.build.id;
}

/** `repository:tag` (the digest is in the details), or the image as recorded. */
function shortImage(e: TraceEnvironment): string {
  const repository = /^(.+?)(?::[^:/@]+)?(?:@sha256:[a-f0-9]{64})?$/.exec(e.image)?.[1];
  return e.image.includes('/') && repository ? `${repository}:${e.tag}` : e.image;
}

export function traceTable(result: TraceResult): string {
  if (result.environments.length === 0) {
    return `No HLD commit in the last ${result.read.hldCommits} commits sets this image.`;
  }
  const rows = result.environments.map((e) => [
    e.name + (e.subcomponent ? `/${e.subcomponent}` : ''),
    shortImage(e),
    `${short(e.hldCommit.sha)} ${when(e.hldCommit.time)}`,
    buildText(e),
    e.promotion ? `${e.promotion.registry} ${e.promotion.targetDigest ? e.promotion.targetDigest.slice(0, 19) : ''}`.trim() : '-',
    e.manifestCommit ? short(e.manifestCommit.sha) : '-',
    e.statusText,
  ]);
  const table = formatTable(['ENVIRONMENT', 'IMAGE', 'HLD COMMIT', 'BUILD', 'PROMOTION', 'MANIFEST', 'STATUS'], rows);
  const details = result.environments.map((e) => {
    const lines = [`${e.name}${e.subcomponent ? `/${e.subcomponent}` : ''}:`];
    if (e.digest) lines.push(`  image       ${e.image}`);
    lines.push(`  HLD commit  ${e.hldCommit.sha} by ${e.hldCommit.author} at ${when(e.hldCommit.time)}${e.hldCommit.url ? ` ${e.hldCommit.url}` : ''}`);
    if (e.build) lines.push(`  build       ${buildText(e)}${e.build.url ? ` ${e.build.url}` : ''}${e.sourceCommit ? `, source commit ${e.sourceCommit}` : ''}`);
    if (e.promotion) lines.push(`  promotion   ${e.promotion.sourceImage}${e.promotion.sourceDigest ? `@${e.promotion.sourceDigest}` : ''} -> ${e.promotion.targetImage}${e.promotion.targetDigest ? `@${e.promotion.targetDigest}` : ''}`);
    lines.push(`  manifests   ${e.manifestCommit ? `${e.manifestCommit.sha} at ${when(e.manifestCommit.time)}` : e.supersededBy ? `superseded by ${e.supersededBy.tag} (HLD ${short(e.supersededBy.hldCommit)})` : 'not yet published'}`);
    if (e.cluster) lines.push(`  cluster     ${e.cluster.name}: ${e.cluster.applied === true ? 'applied' : e.cluster.applied === false ? 'not applied' : 'unknown'} (${e.cluster.reason})`);
    return lines.join('\n');
  });
  return `${table}\n\n${details.map((d) => d.split('\n').map(printable).join('\n')).join('\n')}`;
}

export function historyTable(history: EnvironmentHistory): string {
  if (history.entries.length === 0) return `No image changes for ${history.environment}${history.subcomponent ? `/${history.subcomponent}` : ''} in the last ${history.read.hldCommits} HLD commits.`;
  const rows = history.entries.map((e) => [
    `${e.current ? '* ' : '  '}${e.tag}`,
    e.repository ?? '',
    short(e.hldCommit),
    history.read.manifestCommits === undefined ? '' : short(e.manifestCommit ?? undefined),
    e.build ? (e.build.number ?? e.build.id) : '-',
    when(e.time),
    e.rollbackFrom ? `rollback from ${e.rollbackFrom}` : '',
  ]);
  const header = ['TAG', 'REPOSITORY', 'HLD COMMIT', history.read.manifestCommits === undefined ? '' : 'MANIFEST', 'BUILD', 'TIME', 'NOTE'];
  const keep = header.map((h, i) => (h !== '' && h !== 'REPOSITORY') || rows.some((r) => r[i] !== ''));
  return formatTable(header.filter((_, i) => keep[i]), rows.map((r) => r.filter((_, i) => keep[i])));
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** Only http(s) links reach the page; anything else (javascript:, data:) is shown as text. */
const safeUrl = (url: string | undefined) => (url && /^https?:\/\//i.test(url) ? url : undefined);

const STATUS_COLOURS: Record<string, string> = {
  applied: '#1a7f37', published: '#0969da', 'not-applied': '#bf8700', 'not-published': '#6e7781', superseded: '#8250df',
};

/** One self-contained page (no scripts, no external resources) with a timeline per environment. */
export function traceHtml(result: TraceResult, generatedAt = new Date().toISOString()): string {
  const what = Object.entries(result.query).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(', ');
  const sections = result.environments.map((e) => {
    const events = e.timeline.map((event) => {
      const title = safeUrl(event.url) ? `<a href="${escapeHtml(event.url!)}">${escapeHtml(event.title)}</a>` : escapeHtml(event.title);
      return `<li class="event ${event.kind}"><span class="dot"></span><div class="when">${event.time ? escapeHtml(when(event.time)) : ''}</div>`
        + `<div class="what"><span class="kind">${event.kind}</span> ${title}${event.detail ? `<div class="detail">${escapeHtml(event.detail)}</div>` : ''}</div></li>`;
    }).join('\n');
    const colour = STATUS_COLOURS[e.status] ?? '#6e7781';
    return `<section class="env">
<h2>${escapeHtml(e.name)}${e.subcomponent ? ` <span class="sub">/ ${escapeHtml(e.subcomponent)}</span>` : ''} <span class="status" style="background:${colour}">${escapeHtml(e.statusText)}</span></h2>
<div class="image">${escapeHtml(e.image)}</div>
<ol class="timeline">
${events}
</ol>
</section>`;
  }).join('\n');
  const empty = result.environments.length === 0 ? `<p class="empty">No HLD commit in the last ${result.read.hldCommits} commits sets this image.</p>` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Trace: ${escapeHtml(what)}</title>
<style>
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; margin: 24px; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
.meta { color: #59636e; margin-bottom: 20px; }
.env { border: 1px solid #d1d9e0; border-radius: 8px; padding: 12px 18px; margin-bottom: 16px; }
.env h2 { font-size: 17px; margin: 0; }
.sub { color: #59636e; font-weight: normal; }
.status { color: #fff; border-radius: 12px; padding: 1px 10px; font-size: 12px; font-weight: 600; margin-left: 8px; vertical-align: middle; }
.image { font-family: ui-monospace, Menlo, Consolas, monospace; color: #59636e; margin: 4px 0 10px; word-break: break-all; }
.timeline { list-style: none; margin: 0; padding: 0 0 0 14px; border-left: 2px solid #d1d9e0; }
.event { position: relative; display: flex; gap: 14px; padding: 6px 0 6px 12px; }
.dot { position: absolute; left: -21px; top: 11px; width: 12px; height: 12px; border-radius: 50%; background: #0969da; border: 2px solid #fff; }
.build .dot { background: #6e7781; } .promotion .dot { background: #bf8700; } .manifest .dot { background: #1a7f37; }
.cluster .dot { background: #0550ae; } .superseded .dot { background: #8250df; }
.when { width: 190px; flex: none; color: #59636e; font-variant-numeric: tabular-nums; }
.kind { display: inline-block; min-width: 78px; font-size: 11px; text-transform: uppercase; letter-spacing: .04em; color: #59636e; }
.detail { color: #59636e; font-size: 13px; }
a { color: #0969da; text-decoration: none; }
</style>
</head>
<body>
<h1>Where is ${escapeHtml(what)}?</h1>
<div class="meta">HLD ${escapeHtml(result.hldRepository)} · manifests ${escapeHtml(result.manifestRepository)} · ${result.read.hldCommits} HLD and ${result.read.manifestCommits} manifest commits read · ${escapeHtml(generatedAt)}</div>
${empty}${sections}
</body>
</html>
`;
}
