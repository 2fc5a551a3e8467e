/**
 * Pictures of what GenerateManifests writes, as Azure DevOps shows it: the run summary (the
 * "Rendered manifests" section of a run's Extensions tab) and the dry-run comment on an HLD pull
 * request. The Markdown comes from the real job (tasks/core/jobs/generateManifests.ts) run against
 * the example HLD and a local manifest repository: a first publish, then a change to prod (new
 * image tag, more replicas) rendered as a dry run and then published. The Markdown becomes HTML
 * with markdown-it, inside a page styled like Azure DevOps, and headless Chromium screenshots it.
 *
 *   node --import tsx scripts/render-report-images.ts     writes images/run-summary.png and
 *                                                          images/pull-request-comment.png
 * Needs chromium (Debian: apt-get install -y chromium). KEEP_REPORT_HTML=1 keeps the HTML pages.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAssignment, setValues } from '../tasks/core/hld/set';
import { generateManifests, type GenerateManifestsOptions } from '../tasks/core/jobs/generateManifests';
import { silentLogger } from '../tasks/core/logger';

const root = join(__dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'bedrock-report-images-'));
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, {
  cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'Mona Operator', GIT_AUTHOR_EMAIL: 'mona@contoso.example', GIT_COMMITTER_NAME: 'Mona Operator', GIT_COMMITTER_EMAIL: 'mona@contoso.example' },
}).trim();

/** The example HLD without the chart-repository component (that needs the demo's server), as a git repository. */
function exampleHld(): string {
  cpSync(join(root, 'examples', 'hld'), join(work, 'hld'), { recursive: true });
  cpSync(join(root, 'examples', 'charts'), join(work, 'charts'), { recursive: true });
  const component = join(work, 'hld', 'component.yaml');
  writeFileSync(component, readFileSync(component, 'utf8').replace(/ {2}# A chart from a chart repository[\s\S]*?version: 0\.1\.0\n/, ''));
  const hld = join(work, 'hld');
  git(hld, 'init', '--quiet', '--initial-branch', 'main');
  git(hld, 'add', '.');
  git(hld, 'commit', '--quiet', '-m', 'Initial HLD');
  return hld;
}

async function summaries(): Promise<{ runSummary: string; pullRequestComment: string }> {
  const hld = exampleHld();
  const manifests = join(work, 'manifests.git');
  git(work, 'init', '--quiet', '--bare', '--initial-branch', 'main', manifests);
  const helm = join(root, '.tools', 'helm4', 'helm');
  let run = 0;
  const job = (extra: Partial<GenerateManifestsOptions>) => generateManifests({
    hld: { dir: hld },
    environmentSets: [['staging'], ['prod']],
    outputDir: join(work, `rendered-${++run}`),
    manifest: { url: `file://${manifests}`, branch: 'main' },
    provenance: { system: 'Azure Pipelines', buildId: '1207', buildNumber: '20261129.3' },
    helmPath: helm,
    workDir: join(work, `work-${run}`),
    env: process.env,
    logger: silentLogger,
    ...extra,
  });
  await job({});
  await setValues(hld, { environment: 'prod', subcomponent: 'frontend', values: ['image.tag=1.30', 'replicaCount:=5'].map((text) => parseAssignment(text)) }, silentLogger);
  git(hld, 'commit', '--quiet', '--all', '-m', 'frontend 1.30 with five replicas in prod');
  const dryRun = await job({ dryRun: true });
  const published = await job({});
  return { pullRequestComment: dryRun.summary, runSummary: published.summary };
}

/** markdown-it, as Azure DevOps renders Markdown: tables, fenced code, no raw HTML. */
function toHtml(markdown: string): string {
  const MarkdownIt = createRequire(__filename)('markdown-it') as new (options: object) => { render(text: string): string };
  return new MarkdownIt({ html: false, linkify: true }).render(markdown);
}

const styles = `
  * { box-sizing: border-box; }
  body { margin: 0; background: #f8f8f8; font-family: "Segoe UI", "Noto Sans", "DejaVu Sans", sans-serif; font-size: 14px; color: rgba(0,0,0,.9); }
  .bar { height: 48px; background: #fff; border-bottom: 1px solid #eaeaea; display: flex; align-items: center; padding: 0 20px; gap: 24px; font-size: 14px; color: rgba(0,0,0,.55); }
  .bar b { color: rgba(0,0,0,.9); font-weight: 600; }
  .tab { padding: 14px 0; }
  .tab.active { color: rgba(0,0,0,.9); border-bottom: 2px solid #0078d4; font-weight: 600; }
  .page { padding: 20px; }
  .card { background: #fff; border-radius: 4px; box-shadow: 0 1.6px 3.6px rgba(0,0,0,.13), 0 .3px .9px rgba(0,0,0,.11); padding: 16px 20px; }
  .section-title { font-size: 14px; font-weight: 600; margin: 0 0 12px; display: flex; align-items: center; gap: 8px; }
  .markdown h2 { font-size: 20px; font-weight: 600; margin: 4px 0 12px; }
  .markdown h3 { font-size: 16px; font-weight: 600; margin: 18px 0 8px; }
  .markdown p { margin: 0 0 10px; line-height: 20px; }
  .markdown table { border-collapse: collapse; margin: 0 0 12px; }
  .markdown th, .markdown td { border: 1px solid #dcdcdc; padding: 4px 10px; text-align: left; }
  .markdown th { background: #f4f4f4; font-weight: 600; }
  .markdown pre { background: #f4f4f4; border: 1px solid #e6e6e6; border-radius: 2px; padding: 8px 12px; margin: 0 0 12px; font-size: 12px; line-height: 17px; overflow: hidden; }
  .markdown code { font-family: Consolas, "DejaVu Sans Mono", monospace; }
  .markdown a { color: #0078d4; text-decoration: none; }
  .markdown blockquote { margin: 0 0 10px; padding: 0 12px; border-left: 3px solid #c8c8c8; color: rgba(0,0,0,.7); }
  .thread { display: flex; gap: 12px; }
  .avatar { width: 32px; height: 32px; border-radius: 50%; background: #5c2d91; color: #fff; display: flex; align-items: center; justify-content: center; font-weight: 600; flex: none; }
  .who { margin: 0 0 8px; } .who b { font-weight: 600; } .who span { color: rgba(0,0,0,.55); margin-left: 8px; }
  .status { color: #107c10; font-weight: 600; }
`;

function page(title: string, bar: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title><style>${styles}</style></head>`
    + `<body><div class="bar">${bar}</div><div class="page">${body}</div>`
    + '<script>document.body.dataset.height = String(document.documentElement.scrollHeight);</script></body></html>';
}

function runSummaryPage(markdown: string): string {
  const bar = '<b>fabrikam-hld</b><span>#20261129.3 • frontend 1.30 with five replicas in prod</span>'
    + '<span class="tab">Summary</span><span class="tab">Tests</span><span class="tab active">Rendered manifests</span>';
  return page('Run summary', bar, `<div class="card"><div class="markdown">${toHtml(markdown)}</div></div>`);
}

function pullRequestCommentPage(markdown: string): string {
  const bar = '<b>!42 frontend 1.30 with five replicas in prod</b>'
    + '<span class="tab active">Overview</span><span class="tab">Files</span><span class="tab">Updates</span><span class="tab">Commits</span>';
  const thread = `<div class="card thread"><div class="avatar">PB</div><div style="flex:1; min-width:0">`
    + `<p class="who"><b>fabrikam Build Service (contoso)</b><span>just now</span></p>`
    + `<div class="markdown">${toHtml(markdown)}</div><p class="status">Active</p></div></div>`;
  return page('Pull request comment', bar, thread);
}

const chromiumFlags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--hide-scrollbars', '--force-device-scale-factor=1'];

/** Screenshots `html` at `width` pixels and the page's full height into `png`. */
function screenshot(html: string, width: number, png: string): void {
  const file = join(work, `${png.split('/').pop()}.html`);
  writeFileSync(file, html);
  const profile = mkdtempSync(join(work, 'chromium-'));
  const chromium = (args: string[]) => execFileSync('chromium', [...chromiumFlags, `--user-data-dir=${profile}`, ...args, `file://${file}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const dom = chromium([`--window-size=${width},800`, '--dump-dom']);
  const height = Number(/data-height="(\d+)"/.exec(dom)?.[1]);
  if (!height) throw new Error(`could not measure ${file}`);
  chromium([`--window-size=${width},${height}`, `--screenshot=${png}`]);
}

async function main(): Promise<void> {
  const { runSummary, pullRequestComment } = await summaries();
  mkdirSync(join(root, 'images'), { recursive: true });
  screenshot(runSummaryPage(runSummary), 1000, join(root, 'images', 'run-summary.png'));
  screenshot(pullRequestCommentPage(pullRequestComment), 1000, join(root, 'images', 'pull-request-comment.png'));
  console.log('wrote images/run-summary.png and images/pull-request-comment.png');
}

main()
  .catch((error: unknown) => {
    console.error(`render-report-images failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  })
  .finally(() => {
    if (process.env.KEEP_REPORT_HTML) console.log(`pages kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  });
