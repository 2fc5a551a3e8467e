import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseKubeconfig, revisionCommit } from '../../../tasks/core/cluster';
import { GitopsError } from '../../../tasks/core/errors';
import { formatCommitMessage } from '../../../tasks/core/git/commitMessage';
import { silentLogger } from '../../../tasks/core/logger';
import { environmentHistory, previousChange, rollbackTarget } from '../../../tasks/core/trace/history';
import { parseLog, readHistory, type CommitRecord } from '../../../tasks/core/trace/log';
import { buildOf, setIncludes } from '../../../tasks/core/trace/model';
import { fileHistoryUrl, previousTagLine } from '../../../tasks/core/trace/previousTag';
import { traceHtml } from '../../../tasks/core/trace/render';
import { traceImage, validateQuery } from '../../../tasks/core/trace/trace';
import { git, testGitEnv } from '../../support/gitServer';
import { tempDir } from '../../support/tmp';

const HLD = 'https://dev.azure.com/org/p/_git/hld';
const MANIFESTS = 'https://dev.azure.com/org/p/_git/manifests';
const digest = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

/** Histories built newest first, the way `git log --topo-order` returns them. */
class History {
  readonly commits: CommitRecord[] = [];
  private n = 0;
  add(trailers: Record<string, string>, subject = 'change'): string {
    const sha = (++this.n).toString(16).padStart(40, this === manifestsRef ? 'b' : 'a');
    this.commits.unshift({ sha, parents: [], time: `2026-01-01T00:${String(this.n).padStart(2, '0')}:00+00:00`, author: 'CI', authorEmail: 'ci@example.com', subject, trailers });
    return sha;
  }
}
let manifestsRef: History | undefined;

function setTag(hld: History, environment: string, tag: string, extra: Record<string, string> = {}): string {
  return hld.add({ 'Gitops-Image': `acr.io/api:${tag}`, 'Gitops-Image-Tag': tag, 'Gitops-Environment': environment, 'Gitops-Subcomponent': 'api', 'Gitops-Build': tag, ...extra });
}
function render(manifests: History, hldCommit: string, environments: string, repository = HLD): string {
  return manifests.add({ 'Gitops-Hld-Repository': repository, 'Gitops-Hld-Commit': hldCommit, 'Gitops-Environments': environments });
}
const trace = (hld: History, manifests: History, query: Parameters<typeof traceImage>[0]['query'], clusters?: Parameters<typeof traceImage>[0]['clusters']) =>
  traceImage({ query, hldRepository: HLD, manifestRepository: MANIFESTS, hld: hld.commits, manifests: manifests.commits, clusters });

describe('trace: reading the trailers back', () => {
  let hld: History;
  let manifests: History;
  beforeEach(() => {
    hld = new History();
    manifests = new History();
    manifestsRef = manifests;
  });

  it('published, then superseded by the next tag; a tag the renderer skipped is "superseded" without a manifest commit', () => {
    const one = setTag(hld, 'staging', '1');
    const m1 = render(manifests, one, 'staging');
    setTag(hld, 'staging', '2');
    const three = setTag(hld, 'staging', '3');
    const m3 = render(manifests, three, 'staging');
    const t1 = trace(hld, manifests, { image: 'acr.io/api:1' }).environments[0];
    assert.equal(t1.manifestCommit?.sha, m1);
    assert.equal(t1.status, 'superseded');
    assert.equal(t1.statusText, 'superseded by 2');
    const t2 = trace(hld, manifests, { build: '2' }).environments[0];
    assert.equal(t2.manifestCommit, null, 'never rendered: the render jumped from 1 to 3');
    assert.equal(t2.statusText, 'superseded by 3');
    const t3 = trace(hld, manifests, { image: 'acr.io/api:3' }).environments[0];
    assert.deepEqual([t3.status, t3.manifestCommit?.sha], ['published', m3]);
    setTag(hld, 'staging', '4');
    assert.equal(trace(hld, manifests, { image: 'acr.io/api:4' }).environments[0].statusText, 'not yet published');
  });

  it('a render of a later HLD commit publishes it too; renders of another HLD repository or another environment do not', () => {
    const one = setTag(hld, 'prod', '1');
    const unrelated = hld.add({}, 'docs');
    render(manifests, one, 'prod', 'https://dev.azure.com/org/p/_git/other-hld');
    render(manifests, unrelated, 'staging');
    assert.equal(trace(hld, manifests, { image: 'acr.io/api:1' }).environments[0].status, 'not-published');
    const m = render(manifests, unrelated, 'prod-east');
    const traced = trace(hld, manifests, { image: 'acr.io/api:1' }).environments[0];
    assert.deepEqual([traced.status, traced.manifestCommit?.sha], ['published', m], 'the set prod-east includes prod');
    assert.ok(setIncludes('east-prod', 'prod') && setIncludes('prod', 'prod') && !setIncludes('preprod', 'prod') && setIncludes('x', 'common'));
  });

  it('follows a promotion by digest and by source image from the build to the other environment', () => {
    const build = setTag(hld, 'staging', '7', { 'Gitops-Build': 'https://dev.azure.com/org/p/_build/results?buildId=7', 'Gitops-Build-Number': '20260101.7' });
    const promoted = hld.add({ 'Gitops-Image': `prod.io/api@${digest(9)}`, 'Gitops-Image-Tag': '7', 'Gitops-Environment': 'prod', 'Gitops-Subcomponent': 'api',
      'Gitops-Source-Image': `acr.io/api:7@${digest(9)}`, 'Gitops-Tag': '7', 'Gitops-Release': 'https://vsrm/r/3' });
    for (const query of [{ build: '7' }, { build: '20260101.7' }, { digest: digest(9) }, { hldCommit: promoted.slice(0, 8) }, { image: 'acr.io/api:7' }]) {
      const result = trace(hld, manifests, query);
      assert.deepEqual(result.environments.map((e) => [e.name, e.hldCommit.sha]), [['staging', build], ['prod', promoted]], JSON.stringify(query));
      assert.deepEqual(result.environments[1].promotion, { sourceImage: 'acr.io/api:7', sourceDigest: digest(9), targetImage: 'prod.io/api:7', targetDigest: digest(9), registry: 'prod.io' });
    }
    assert.equal(trace(hld, manifests, { image: 'acr.io/api:8' }).environments.length, 0);
    assert.equal(buildOf({ 'Gitops-Build': 'https://jenkins.example.com/job/api/42/' })?.id, '42');
  });

  it('cluster: applied when the newest render at the applied revision has the image; Argo CD must be healthy', () => {
    const one = setTag(hld, 'staging', '1');
    const m1 = render(manifests, one, 'staging');
    const two = setTag(hld, 'staging', '2');
    const m2 = render(manifests, two, 'staging');
    const flux = (revision: string) => ({ staging: { kind: 'flux' as const, name: 'flux:flux-system/apps', revision } });
    assert.equal(trace(hld, manifests, { image: 'acr.io/api:2' }, flux(m2)).environments[0].status, 'applied');
    const behind = trace(hld, manifests, { image: 'acr.io/api:2' }, flux(m1)).environments[0];
    assert.equal(behind.status, 'not-applied');
    assert.match(behind.cluster!.reason, /has 1$/);
    assert.equal(trace(hld, manifests, { image: 'acr.io/api:2' }, flux('f'.repeat(40))).environments[0].cluster!.applied, null);
    const argo = { staging: { kind: 'argocd' as const, name: 'argocd:s', revision: m2, healthy: false, detail: 'Synced, Progressing' } };
    assert.match(trace(hld, manifests, { image: 'acr.io/api:2' }, argo).environments[0].cluster!.reason, /not healthy \(Synced, Progressing\)/);
  });

  it('refuses a query that is missing, doubled or malformed, naming the flag', () => {
    const field = (fn: () => void) => {
      try {
        fn();
      } catch (error) {
        return (error as GitopsError).field;
      }
      return 'no error';
    };
    assert.equal(field(() => validateQuery({})), '--image');
    assert.equal(field(() => validateQuery({ image: 'a:1', build: '2' })), '--image');
    assert.equal(field(() => validateQuery({ image: 'acr.io/api' })), '--image');
    assert.equal(field(() => validateQuery({ digest: 'sha256:abc' })), '--digest');
    assert.equal(field(() => validateQuery({ hldCommit: '--all' })), '--hld-commit');
    assert.equal(field(() => validateQuery({ build: 'a b' })), '--build');
  });

  it('history and rollback targets: --previous skips tags that were rolled back from', () => {
    setTag(hld, 'staging', '1');
    setTag(hld, 'staging', '2');
    setTag(hld, 'staging', '3');
    const history = () => environmentHistory({ hld: hld.commits, hldRepository: HLD, environment: 'staging', subcomponent: 'api' });
    assert.deepEqual(history().entries.map((e) => e.tag), ['3', '2', '1']);
    assert.equal(rollbackTarget(history(), { previous: true }).tag, '2');
    setTag(hld, 'staging', '2', { 'Gitops-Rollback-From': '3' });
    assert.equal(previousChange(history().entries), 3);
    assert.equal(rollbackTarget(history(), { previous: true }).tag, '1', 'not forward to 3 again');
    assert.throws(() => rollbackTarget(history(), { tag: '2' }), /already runs 2/);
    assert.throws(() => rollbackTarget(history(), { tag: '9' }), (e: GitopsError) => e.field === '--to' && /never ran 9/.test(e.message));
    assert.throws(() => rollbackTarget(environmentHistory({ hld: [], hldRepository: HLD, environment: 'x', subcomponent: 'api' }), { previous: true }), /no image changes/);
  });

  it('the HTML page escapes commit text and links only http(s) URLs', () => {
    hld.add({ 'Gitops-Image': 'acr.io/api:1', 'Gitops-Image-Tag': '1', 'Gitops-Environment': 'dev', 'Gitops-Subcomponent': 'api', 'Gitops-Build': 'javascript:alert(1)' }, '<script>alert(1)</script>');
    const html = traceHtml(trace(hld, manifests, { image: 'acr.io/api:1' }));
    assert.doesNotMatch(html, /<script>alert/);
    assert.match(html, /&lt;script&gt;/);
    assert.doesNotMatch(html, /href="javascript:/);
  });
});

describe('previous tag in the task summaries', () => {
  it('names the replaced tag and links the config file\'s history on Azure Repos and GitHub', () => {
    const changes = [{ key: 'image.repository', oldValue: 'a', newValue: 'b' }, { key: 'image.tag', oldValue: '1.0@sha256:' + 'c'.repeat(64), newValue: '1.1' }];
    assert.equal(previousTagLine(changes, '1.1', 'config/prod.yaml'), 'Previous tag of prod: `1.0`, what `bedrock-gitops rollback --previous` restores (see `bedrock-gitops history`).');
    assert.match(previousTagLine(changes, '1.1', 'svc/config/prod.yaml', { repositoryUrl: 'https://dev.azure.com/o/p/_git/hld', branch: 'main' })!,
      /\[`1\.0`\]\(https:\/\/dev\.azure\.com\/o\/p\/_git\/hld\?path=%2Fsvc%2Fconfig%2Fprod\.yaml&version=GBmain&_a=history\)/);
    assert.equal(fileHistoryUrl('https://x@github.com/o/hld.git', 'release/1', 'config/a b.yaml'), 'https://github.com/o/hld/commits/release/1/config/a%20b.yaml');
    assert.equal(fileHistoryUrl('file:///tmp/hld', 'main', 'config/prod.yaml'), undefined);
    assert.equal(previousTagLine([{ key: 'image.tag', newValue: '1.1' }], '1.1', 'config/prod.yaml'), undefined, 'a new key replaced nothing');
  });
});

describe('trace: reading a repository history with git', () => {
  it('reads trailers of commits made by the tasks\' message format, bounded by count, from a file:// repository', async () => {
    const dir = tempDir('bg-history-');
    const env = testGitEnv();
    await git(['init', '-q', '-b', 'main', dir], { env });
    for (let i = 1; i <= 5; i++) {
      writeFileSync(join(dir, 'f'), String(i));
      await git(['add', 'f'], { cwd: dir, env });
      await git(['commit', '-q', '-F', '-'], { cwd: dir, env, input: formatCommitMessage({ subject: `change ${i}`, body: 'Body: not a trailer\n\nmore', trailers: { 'Gitops-Image-Tag': `v${i}`, 'Gitops-Environment': 'dev' } }) });
    }
    const commits = await readHistory({ url: `file://${dir}`, branch: 'main', field: '--hld-repo', workDir: tempDir('bg-work-'), logger: silentLogger, maxCommits: 3 });
    assert.deepEqual(commits.map((c) => c.trailers['Gitops-Image-Tag']), ['v5', 'v4', 'v3']);
    assert.equal(commits[0].subject, 'change 5');
    assert.equal(commits[0].author, 'Test Author');
    await assert.rejects(readHistory({ url: `file://${dir}`, branch: 'nope', field: '--hld-repo', workDir: tempDir('bg-work-'), logger: silentLogger }), /has no branch nope/);
    await assert.rejects(readHistory({ url: '--upload-pack=touch /tmp/x', branch: 'main', field: '--hld-repo', workDir: tempDir('bg-work-'), logger: silentLogger }), /is not a git URL/);
    await assert.rejects(readHistory({ url: `file://${dir}`, branch: 'main', field: '--hld-repo', workDir: tempDir('bg-work-'), logger: silentLogger, since: '$(id)' }), /is not a date/);
  });

  it('parseLog takes NUL-separated records only as git writes them: checked ids, times and count; control characters replaced', () => {
    const sha = 'a'.repeat(40);
    const record = (id: string, subject: string, trailers = '') => [id, '', '2026-01-01T00:00:00+00:00', 'Ann', 'ann@example.invalid', subject, trailers, ''].join('\x00');
    const good = `${record(sha, 'ok', 'Gitops-Build: \x1b]0;t\x07x\n')}\x00`;
    const [commit] = parseLog(good, 1);
    assert.equal(commit.sha, sha);
    assert.equal(commit.trailers['Gitops-Build'], '\ufffd]0;t\ufffdx');
    assert.throws(() => parseLog(good, 2), /1 records for 2 commits/);
    assert.throws(() => parseLog(`${record('not-a-sha', 'x')}\x00`), /no valid commit id/);
    assert.throws(() => parseLog(`${record(sha, 'x')}junk\x00`), /does not end where it should/);
    assert.deepEqual(parseLog('', 0), []);
  });
});

describe('cluster: kubeconfig and revisions', () => {
  const kubeconfig = (user: string) => `apiVersion: v1
kind: Config
current-context: a
clusters:
- name: c
  cluster: { server: "https://k8s.example.com:443/", certificate-authority-data: ${Buffer.from('CA PEM').toString('base64')} }
contexts:
- name: a
  context: { cluster: c, user: u, namespace: apps }
users:
- name: u
  user: ${user}
`;
  it('reads the current context: server, CA, token or client certificate; refuses exec plugins', () => {
    const access = parseKubeconfig(kubeconfig('{ token: abc }'), { field: '--kubeconfig' });
    assert.deepEqual(access, { server: 'https://k8s.example.com:443', ca: 'CA PEM', cert: undefined, key: undefined, insecureSkipVerify: false, token: 'abc', namespace: 'apps' });
    const certs = parseKubeconfig(kubeconfig(`{ client-certificate-data: ${Buffer.from('CERT').toString('base64')}, client-key-data: ${Buffer.from('KEY').toString('base64')} }`), { field: 'f' });
    assert.deepEqual([certs.cert, certs.key, certs.token], ['CERT', 'KEY', undefined]);
    assert.throws(() => parseKubeconfig(kubeconfig('{ exec: { command: kubelogin } }'), { field: 'kubernetesConnection' }), (e: GitopsError) => e.field === 'kubernetesConnection' && /exec or auth-provider/.test(e.message));
    assert.throws(() => parseKubeconfig(kubeconfig('{ token: abc }'), { field: 'f', context: 'other' }), /no context named "other"/);
    assert.throws(() => parseKubeconfig('{}', { field: 'f' }), /no current-context/);
  });

  it('takes the commit from Flux v2 and older Flux revision formats', () => {
    const sha = 'a'.repeat(40);
    assert.equal(revisionCommit(`main@sha1:${sha}`), sha);
    assert.equal(revisionCommit(`main/${sha}`), sha);
    assert.equal(revisionCommit(sha), sha);
    assert.equal(revisionCommit('v1.2.3@sha256:abc'), undefined);
    assert.equal(revisionCommit(undefined), undefined);
  });
});
