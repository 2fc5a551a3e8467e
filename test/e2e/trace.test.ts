/**
 * "Where is my build?" on a real chain: the bundled tasks build the history (UpdateImageTag,
 * GenerateManifests, PromoteContainer), the CLI adds a second build, then `bedrock-gitops trace`,
 * `history` and `rollback` run as processes against the git server, with Flux and Argo CD doubles
 * as cluster sources, and the HTML page is opened in headless Chromium.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTrailers } from '../../tasks/core/git/commitMessage';
import { runProcess, type RunResult } from '../../tasks/core/exec';
import { ArgoCdApiDouble, FluxApiDouble } from '../support/clusterDoubles';
import { git } from '../support/gitServer';
import { tempDir } from '../support/tmp';
import { repoRoot } from '../support/tools';
import { bundleOnce } from '../tasks/updateImageTagHelpers';
import {
  BUILD_ID, IMAGE_REPOSITORY, checkoutHld, cleanupCheckout, generateManifests, promoteContainer, pushBuiltImage, startChain, updateImageTag, type Chain,
} from './chain';

const cli = join(repoRoot, 'dist', 'cli.js');
const SECOND_BUILD = '1208';

export function findChromium(): string | undefined {
  return ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
}

/** A PNG screenshot of an HTML file by a real headless Chromium; returns the PNG path. */
export function screenshot(chromium: string, html: string, png: string, size = '1200,900'): void {
  const profile = mkdtempSync(join(tmpdir(), 'bg-chromium-'));
  const result = spawnSync(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`, '--hide-scrollbars', `--window-size=${size}`, `--screenshot=${png}`, `file://${html}`],
  { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'ignore', 'pipe'] });
  if (!existsSync(png)) throw new Error(`chromium wrote no screenshot: ${result.stderr}`);
}

describe('trace, history and rollback on a real GitOps chain (CLI processes)', function () {
  this.timeout(300_000);
  let chain: Chain;
  let flux: FluxApiDouble;
  let argo: ArgoCdApiDouble;
  let kubeconfig: string;
  let stagingBuildCommit: string;
  let promotionCommit: string;
  /** The page written by the first trace (both environments applied), screenshot by the last test. */
  let page: string;
  const kubeToken = 'kube-token-7f3a9c';
  const argoToken = 'argo-token-51be2d';

  const bedrock = (args: string[], extra: Record<string, string> = {}): Promise<RunResult> =>
    runProcess(process.execPath, [cli, ...args], { cwd: repoRoot, env: { PATH: process.env.PATH, GITOPS_GIT_TOKEN: chain.git.token, HOME: tempDir('bg-home-'), ...extra } });
  const tip = (bare: string) => git(['--git-dir', bare, 'rev-parse', 'refs/heads/main']);

  before(async function () {
    this.timeout(600_000);
    const [, started] = await Promise.all([bundleOnce(), startChain()]);
    chain = started;
    flux = new FluxApiDouble(kubeToken);
    argo = new ArgoCdApiDouble(argoToken);
    await Promise.all([flux.start(), argo.start()]);
    kubeconfig = join(tempDir('bg-kube-'), 'config');
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: staging',
      'clusters:', '- name: staging', '  cluster:', `    server: ${flux.url}`,
      'contexts:', '- name: staging', '  context:', '    cluster: staging', '    user: ci',
      'users:', '- name: ci', '  user:', `    token: ${kubeToken}`, '',
    ].join('\n'));

    // Build 1207: pushed, written to staging by UpdateImageTag, rendered, promoted to prod, rendered.
    await pushBuiltImage(chain);
    const checkout = await checkoutHld(chain);
    const updated = await updateImageTag(chain, checkout, BUILD_ID);
    await cleanupCheckout(chain, checkout);
    assert.equal(updated.result, 'Succeeded', updated.message);
    const summaryOf = (run: typeof updated) => run.attachments.map((a) => a.content).join('\n');
    assert.match(summaryOf(updated), /Previous tag of staging: \[?`0\.1\.0`/, 'UpdateImageTag summary names the previous tag');
    stagingBuildCommit = await tip(chain.hldBare);
    for (const env of ['staging', 'prod']) assert.equal((await generateManifests(chain, env)).result, 'Succeeded');
    const promoted = await promoteContainer(chain, BUILD_ID);
    assert.equal(promoted.result, 'Succeeded', promoted.message);
    assert.match(summaryOf(promoted), /Previous tag of prod: \[`0\.1\.0`\]\(http:\/\/127\.0\.0\.1:\d+\/fabrikam\/_git\/hld\?path=%2Fconfig%2Fprod\.yaml&version=GBmain&_a=history\)/,
      'PromoteContainer summary links the previous tag to the history of the environment\'s config');
    promotionCommit = await tip(chain.hldBare);
    assert.equal((await generateManifests(chain, 'prod', 'GenerateManifests prod after promotion')).result, 'Succeeded');
  });

  after(async () => {
    await Promise.all([chain?.stop(), flux?.stop(), argo?.stop()]);
  });

  const putFlux = (revision: string) => {
    flux.put({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'apps', namespace: 'flux-system' },
      spec: { interval: '1m', path: './staging', prune: true, sourceRef: { kind: 'GitRepository', name: 'manifests' } },
      status: { lastAppliedRevision: `main@sha1:${revision}`, conditions: [{ type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded', message: `Applied revision: main@sha1:${revision}` }] } });
    flux.put({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'manifests', namespace: 'flux-system' },
      spec: { url: chain.manifestUrl, interval: '1m', ref: { branch: 'main' } }, status: { artifact: { revision: `main@sha1:${revision}`, path: 'x', url: 'http://source-controller/x' } } });
  };
  const putArgo = (revision: string, health: string) => argo.put({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'prod-apps', namespace: 'argocd' },
    spec: { project: 'default', source: { repoURL: chain.manifestUrl, path: 'prod', targetRevision: 'main' }, destination: { server: 'https://kubernetes.default.svc', namespace: 'api' } },
    status: { sync: { status: 'Synced', revision }, health: { status: health } } });

  it('trace --image --json: staging set by the build, prod by the promotion, both published, both applied per the cluster doubles', async () => {
    const manifestTip = await tip(chain.manifestBare);
    putFlux(manifestTip);
    putArgo(manifestTip, 'Healthy');
    const image = `${chain.preprod.host}/${IMAGE_REPOSITORY}:${BUILD_ID}`;
    page = join(tempDir('bg-trace-html-'), 'trace.html');
    const run = await bedrock(['trace', '--hld-repo', chain.hldUrl, '--manifest-repo', chain.manifestUrl, '--image', image, '--json', '--html', page,
      '--cluster', 'staging=flux:flux-system/apps', '--kubeconfig', kubeconfig, '--cluster', 'prod=argocd:prod-apps', '--argocd-server', argo.url], { ARGOCD_AUTH_TOKEN: argoToken });
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.deepEqual(result.environments.map((e: { name: string }) => e.name), ['staging', 'prod']);
    const [staging, prod] = result.environments;
    for (const e of result.environments) for (const key of ['name', 'hldCommit', 'manifestCommit', 'image', 'build', 'status']) assert.ok(key in e, `${e.name} has ${key}`);
    assert.equal(staging.hldCommit.sha, stagingBuildCommit);
    assert.equal(staging.image, image);
    assert.equal(staging.build.id, BUILD_ID);
    assert.equal(staging.sourceCommit, 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678');
    assert.equal(parseTrailers(await git(['--git-dir', chain.manifestBare, 'log', '-1', '--format=%B', staging.manifestCommit.sha]))['Gitops-Hld-Commit'], stagingBuildCommit);
    assert.equal(prod.hldCommit.sha, promotionCommit);
    assert.equal(prod.manifestCommit.sha, manifestTip, 'prod published by the render after the promotion');
    assert.equal(prod.promotion.registry, chain.prod.host);
    assert.match(prod.promotion.sourceDigest, /^sha256:/);
    assert.equal(prod.promotion.sourceDigest, prod.promotion.targetDigest, 'copied by digest');
    assert.equal(staging.status, 'applied');
    assert.equal(prod.status, 'applied');
    assert.deepEqual(flux.calls.map((c) => `${c.method} ${c.path}`), [
      'GET /apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/apps',
      'GET /apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/manifests',
    ]);
    assert.deepEqual(argo.calls.map((c) => `${c.method} ${c.path}${c.query}`), ['GET /api/v1/applications/prod-apps']);
    assert.ok([...flux.calls, ...argo.calls].every((c) => c.authorized));
    assert.ok(!run.stdout.includes(chain.git.token) && !run.stderr.includes(argoToken) && !run.stdout.includes(kubeToken));
  });

  it('a second build (CLI update-image-tag) is "not yet published"; the first is then "superseded by" it in staging; --digest and --build find the same', async () => {
    const write = await bedrock(['update-image-tag', '--hld-repo', chain.hldUrl, '--environment', 'staging', '--subcomponent', 'api', '--tag', SECOND_BUILD,
      '--repository', `${chain.preprod.host}/${IMAGE_REPOSITORY}`], { GITOPS_BUILD_ID: SECOND_BUILD, GITOPS_BUILD_URL: `https://ci.example.com/job/api/${SECOND_BUILD}/` });
    assert.equal(write.code, 0, write.stderr);
    const second = await bedrock(['trace', '--hld-repo', chain.hldUrl, '--manifest-repo', chain.manifestUrl, '--build', SECOND_BUILD, '--json']);
    assert.equal(second.code, 0, second.stderr);
    const [staging2] = JSON.parse(second.stdout).environments;
    assert.equal(staging2.status, 'not-published');
    assert.equal(staging2.manifestCommit, null);
    assert.equal(staging2.build.url, `https://ci.example.com/job/api/${SECOND_BUILD}/`);

    const first = await bedrock(['trace', '--hld-repo', chain.hldUrl, '--manifest-repo', chain.manifestUrl, '--build', BUILD_ID]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^staging\/api .*superseded by 1208$/m);
    assert.match(first.stdout, /^prod\/api .*published$/m);

    const prodDigest = JSON.parse((await bedrock(['trace', '--hld-repo', chain.hldUrl, '--manifest-repo', chain.manifestUrl, '--hld-commit', promotionCommit.slice(0, 10), '--json'])).stdout)
      .environments.find((e: { name: string }) => e.name === 'prod').promotion.targetDigest;
    const byDigest = JSON.parse((await bedrock(['trace', '--hld-repo', chain.hldUrl, '--manifest-repo', chain.manifestUrl, '--digest', prodDigest, '--json'])).stdout);
    assert.deepEqual(byDigest.environments.map((e: { name: string; hldCommit: { sha: string } }) => [e.name, e.hldCommit.sha]), [['staging', stagingBuildCommit], ['prod', promotionCommit]]);
  });

  it('a cluster that has not applied the render, or an unhealthy Argo CD app, is "not applied"', async () => {
    // The render before the promotion's: prod still had 0.1.0 there.
    putArgo(await git(['--git-dir', chain.manifestBare, 'rev-parse', 'main~1']), 'Healthy');
    const run = await bedrock(['trace', '--hld-repo', chain.hldUrl, '--manifest-repo', chain.manifestUrl, '--hld-commit', promotionCommit, '--json',
      '--cluster', 'prod=argocd:prod-apps', '--argocd-server', argo.url], { ARGOCD_AUTH_TOKEN: argoToken });
    assert.equal(run.code, 0, run.stderr);
    const prod = JSON.parse(run.stdout).environments.find((e: { name: string }) => e.name === 'prod');
    assert.equal(prod.status, 'not-applied');
    assert.match(prod.cluster.reason, /^applied revision [0-9a-f]{12} has an image set before the history read/);
    putArgo(await tip(chain.manifestBare), 'Degraded');
    const degraded = JSON.parse((await bedrock(['trace', '--hld-repo', chain.hldUrl, '--manifest-repo', chain.manifestUrl, '--hld-commit', promotionCommit, '--json',
      '--cluster', 'prod=argocd:prod-apps', '--argocd-server', argo.url], { ARGOCD_AUTH_TOKEN: argoToken })).stdout).environments.find((e: { name: string }) => e.name === 'prod');
    assert.equal(degraded.status, 'not-applied');
    assert.match(degraded.cluster.reason, /not healthy \(Synced, Degraded\)/);
    const badToken = await bedrock(['trace', '--hld-repo', chain.hldUrl, '--manifest-repo', chain.manifestUrl, '--hld-commit', promotionCommit,
      '--cluster', 'prod=argocd:prod-apps', '--argocd-server', argo.url], { ARGOCD_AUTH_TOKEN: 'wrong' });
    assert.equal(badToken.code, 1);
    assert.match(badToken.stderr, /--cluster.*HTTP 401|HTTP 401/);
  });

  it('history lists staging\'s tags newest first; rollback --previous writes the older tag with a Gitops-Rollback-From trailer', async () => {
    const history = await bedrock(['history', '--hld-repo', chain.hldUrl, '--manifest-repo', chain.manifestUrl, '--environment', 'staging', '--subcomponent', 'api', '--json']);
    assert.equal(history.code, 0, history.stderr);
    const entries = JSON.parse(history.stdout).entries;
    assert.deepEqual(entries.map((e: { tag: string }) => e.tag), [SECOND_BUILD, BUILD_ID]);
    assert.equal(entries[0].manifestCommit, null);
    assert.equal(entries[1].hldCommit, stagingBuildCommit);
    assert.ok(entries[1].manifestCommit);

    const rollback = await bedrock(['rollback', '--hld-repo', chain.hldUrl, '--environment', 'staging', '--subcomponent', 'api', '--previous']);
    assert.equal(rollback.code, 0, rollback.stderr);
    assert.match(rollback.stdout, /rollback 1208 -> 1207: commit [0-9a-f]{40}/);
    const message = await git(['--git-dir', chain.hldBare, 'log', '-1', '--format=%B', 'main']);
    const trailers = parseTrailers(message);
    assert.equal(trailers['Gitops-Rollback-From'], SECOND_BUILD);
    assert.equal(trailers['Gitops-Image-Tag'], BUILD_ID);
    assert.match(await git(['--git-dir', chain.hldBare, 'show', 'main:config/staging.yaml']), /tag: "1207" # set by the build/);

    const table = await bedrock(['history', '--hld-repo', chain.hldUrl, '--environment', 'staging', '--subcomponent', 'api']);
    assert.match(table.stdout, /^\* 1207 .*rollback from 1208$/m);
    const again = await bedrock(['rollback', '--hld-repo', chain.hldUrl, '--environment', 'staging', '--subcomponent', 'api', '--previous']);
    assert.equal(again.code, 1, 'nothing older than 1207 that was not rolled back from');
    assert.match(again.stderr, /no earlier tag/);
    const unknown = await bedrock(['rollback', '--hld-repo', chain.hldUrl, '--environment', 'staging', '--subcomponent', 'api', '--to', '9.9.9']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /never ran 9\.9\.9/);
  });

  it('--html wrote one self-contained page that headless Chromium renders (screenshot)', async function () {
    const chromium = findChromium();
    if (!chromium) this.skip();
    const html = readFileSync(page, 'utf8');
    assert.doesNotMatch(html, /<script|<link|src=|url\(/i, 'no scripts or external resources');
    assert.match(html, /<section class="env">[\s\S]*staging[\s\S]*<section class="env">[\s\S]*prod/);
    assert.equal((html.match(/class="status" style="background:#1a7f37">applied \(/g) ?? []).length, 2, 'both environments applied');
    const png = join(tempDir('bg-trace-png-'), 'trace.png');
    screenshot(chromium!, page, png);
    const bytes = readFileSync(png);
    assert.equal(bytes.subarray(1, 4).toString(), 'PNG');
    assert.ok(statSync(png).size > 10_000, 'a rendered page, not a blank one');
    // Chromium's own dump of the DOM shows both timelines were laid out.
    const dom = execFileSync(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run', `--user-data-dir=${mkdtempSync(join(tmpdir(), 'bg-chromium-'))}`, '--dump-dom', `file://${page}`], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] });
    assert.equal((dom.match(/class="event /g) ?? []).length, (html.match(/class="event /g) ?? []).length);
    if (process.env.TRACE_SCREENSHOT) writeFileSync(process.env.TRACE_SCREENSHOT, bytes);
    if (process.env.TRACE_HTML) writeFileSync(process.env.TRACE_HTML, html);
  });
});
