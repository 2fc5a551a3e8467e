import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AzureDevOpsDouble } from '../support/azureDevOpsDouble';
import { git, startGitServer, type GitServer } from '../support/gitServer';
import { findLeaks, runTask, type TaskRun, type TaskRunOptions } from '../support/runTask';
import { helm3, helm4, repoRoot } from '../support/tools';
import { tempDir } from '../support/tmp';
import { branchFiles, HldRepo, messageOf, serverEnv, tipOf } from './generateManifests.fixture';
import { ensureBundled } from '../support/bundle';
import { spawn } from 'node:child_process';

const timeoutMs = 240_000;

describe('GenerateManifests task (bundle, real git server)', function () {
  this.timeout(timeoutMs * 2);
  let server: GitServer;
  let repoCount = 0;
  const allRuns: TaskRun[] = [];

  before(async function () {
    this.timeout(timeoutMs);
    await ensureBundled();
    server = await startGitServer();
  });

  after(async () => {
    await server?.stop();
  });

  afterEach(() => {
    // Every run is scanned for the token, whatever the test asserted.
    for (const run of allRuns.splice(0)) assert.deepEqual(findLeaks(run, [server.token]), []);
  });

  /** A fresh HLD repository and empty manifest repository on the server. */
  async function repos(manifestFiles?: Record<string, string>): Promise<{ hld: HldRepo; manifestUrl: string; manifestBare: string; name: string }> {
    const name = `r${++repoCount}`;
    const hld = await HldRepo.create(await server.createRepo(`org/proj/_git/${name}-hld`), serverEnv(server));
    const manifestUrl = await server.createRepo(`org/proj/_git/${name}-manifests`, manifestFiles ? { files: manifestFiles } : {});
    return { hld, manifestUrl, manifestBare: server.repoPath(`org/proj/_git/${name}-manifests`), name };
  }

  async function publish(options: TaskRunOptions & { inputs: Record<string, string | boolean | undefined> }, token = server.token): Promise<TaskRun> {
    const run = await runTask('GenerateManifests', {
      timeoutMs,
      ...options,
      inputs: { helmPath: helm4, environments: 'prod', ...options.inputs },
      variables: { 'Build.BuildId': '42', 'Build.BuildNumber': '20250101.1', 'System.CollectionUri': 'https://dev.azure.com/org/', 'System.TeamProject': 'proj', 'Build.RequestedFor': 'Ada Lovelace', 'Build.RequestedForEmail': 'ada@example.com', ...options.variables },
      secrets: { 'System.AccessToken': token, ...options.secrets },
    });
    allRuns.push(run);
    return run;
  }

  function succeeded(run: TaskRun): void {
    assert.equal(run.result, 'Succeeded', `${run.message}\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-2000)}`);
    assert.equal(run.code, 0);
  }

  it('first publish renders prod and pushes one traceable commit', async () => {
    const { hld, manifestUrl, manifestBare } = await repos();
    const hldCommit = await git(['rev-parse', 'HEAD'], { cwd: hld.work });
    const checkout = await hld.checkout(hldCommit);
    const run = await publish({ inputs: { hldPath: checkout, manifestRepositoryUrl: manifestUrl } });
    succeeded(run);
    const tip = await tipOf(manifestBare);
    assert.equal(run.outputs.manifestsChanged, 'true');
    assert.equal(run.outputs.manifestCommitId, tip);
    const files = await branchFiles(manifestBare);
    assert.deepEqual(Object.keys(files).sort(), ['prod/base.yaml', 'prod/demo.yaml', 'prod/web.yaml']);
    assert.match(files['prod/web.yaml'], /replicas: 3/);
    assert.match(files['prod/web.yaml'], /namespace: web/);
    const message = await messageOf(manifestBare, tip!);
    assert.match(message, new RegExp(`^Generate manifests from HLD ${hldCommit.slice(0, 12)}: Initial HLD`));
    assert.match(message, new RegExp(`Gitops-Hld-Commit: ${hldCommit}`));
    assert.match(message, /Gitops-Hld-Repository: http:\/\/127\.0\.0\.1:\d+\/org\/proj\/_git\/r\d+-hld/);
    assert.match(message, /Gitops-Build: https:\/\/dev\.azure\.com\/org\/proj\/_build\/results\?buildId=42/);
    assert.match(message, /Gitops-Environments: prod/);
    assert.equal(await git(['--git-dir', manifestBare, 'log', '-1', '--format=%an <%ae>']), 'Ada Lovelace <ada@example.com>');
    assert.ok(existsSync(join(run.outputs.renderedPath, 'prod', 'web.yaml')));
    assert.ok(run.attachments.some((a) => a.type === 'Distributedtask.Core.Summary' && /Namespace/.test(a.content)));
    assert.deepEqual(findLeaks(run, [server.token], { 'hld .git/config': readFileSync(join(checkout, '.git', 'config'), 'utf8') }), []);
  });
  it('a no-op re-run makes no commit and reports manifestsChanged=false', async () => {
    const { hld, manifestUrl, manifestBare } = await repos();
    const inputs = { hldRepositoryUrl: hld.url, manifestRepositoryUrl: manifestUrl };
    succeeded(await publish({ inputs }));
    const tip = await tipOf(manifestBare);
    const again = await publish({ inputs });
    succeeded(again);
    assert.equal(again.outputs.manifestsChanged, 'false');
    assert.equal(again.outputs.manifestCommitId, '');
    assert.equal(await tipOf(manifestBare), tip);
  });

  it('removing a component deletes its file; adding an environment (helm 3) leaves prod alone', async () => {
    const { hld, manifestUrl, manifestBare } = await repos();
    succeeded(await publish({ inputs: { hldRepositoryUrl: hld.url, manifestRepositoryUrl: manifestUrl } }));
    const prodWeb = (await branchFiles(manifestBare))['prod/web.yaml'];
    await hld.commit('Drop base', { 'component.yaml': hld.read('component.yaml').replace(/  - name: base\n    type: static\n    path: \.\/manifests\n/, '') });
    const removed = await publish({ inputs: { hldRepositoryUrl: hld.url, manifestRepositoryUrl: manifestUrl } });
    succeeded(removed);
    assert.deepEqual(Object.keys(await branchFiles(manifestBare)).sort(), ['prod/demo.yaml', 'prod/web.yaml']);
    assert.match(removed.attachments[0].content, /removed/);
    const added = await publish({ inputs: { hldRepositoryUrl: hld.url, manifestRepositoryUrl: manifestUrl, environments: 'prod\nstaging', helmPath: helm3 } });
    succeeded(added);
    const files = await branchFiles(manifestBare);
    assert.match(files['staging/web.yaml'], /replicas: 2/);
    assert.equal(files['prod/web.yaml'], prodWeb);
    assert.match(await messageOf(manifestBare, (await tipOf(manifestBare))!), /Gitops-Environments: prod, staging/);
  });

  it('layers prod-east over prod over common into one folder; manifestPath keeps everything else untouched', async () => {
    const { hld, manifestUrl, manifestBare } = await repos({ 'README.md': 'keep me\n', 'clusters/other/app.yaml': 'kind: ConfigMap\n', 'prod/legacy.yaml': 'x: 1\n' });
    const run = await publish({ inputs: { hldRepositoryUrl: hld.url, manifestRepositoryUrl: manifestUrl, manifestPath: 'clusters', environments: 'prod-east prod' } });
    succeeded(run);
    const files = await branchFiles(manifestBare);
    assert.match(files['clusters/prod-east-prod/web.yaml'], /replicas: 5/);
    assert.match(files['clusters/prod-east-prod/web.yaml'], /message: "prod"/);
    assert.equal(files['README.md'], 'keep me');
    assert.equal(files['clusters/other/app.yaml'], 'kind: ConfigMap');
    assert.equal(files['prod/legacy.yaml'], 'x: 1');
  });

  it('dry run pushes nothing and attaches resources added/changed/removed with the diff', async () => {
    const { hld, manifestUrl, manifestBare } = await repos();
    succeeded(await publish({ inputs: { hldRepositoryUrl: hld.url, manifestRepositoryUrl: manifestUrl } }));
    const tip = await tipOf(manifestBare);
    await hld.commit('Change things', {
      'config/prod.yaml': 'subcomponents:\n  web:\n    config:\n      replicas: 4\n      message: prod\n',
      'manifests/quota.yaml': null,
      'manifests/limits.yaml': 'apiVersion: v1\nkind: LimitRange\nmetadata:\n  name: limits\n  namespace: web\n',
    });
    const run = await publish({ inputs: { hldRepositoryUrl: hld.url, manifestRepositoryUrl: manifestUrl, dryRun: true } });
    succeeded(run);
    assert.equal(await tipOf(manifestBare), tip);
    assert.equal(run.outputs.manifestsChanged, 'true');
    const summary = run.attachments.find((a) => a.type === 'Distributedtask.Core.Summary')!.content;
    assert.match(summary, /Dry run/);
    assert.match(summary, /\| added \| LimitRange \| web \| limits/);
    assert.match(summary, /\| removed \| ResourceQuota \| web \| quota/);
    assert.match(summary, /\| changed \| Deployment \| web \| web/);
    assert.match(summary, /```diff[\s\S]*-  replicas: 3\n\+  replicas: 4/);
  });

  it('deletion guard: refuses to empty an environment that holds resources, pushes nothing', async () => {
    const { hld, manifestUrl, manifestBare } = await repos();
    succeeded(await publish({ inputs: { hldRepositoryUrl: hld.url, manifestRepositoryUrl: manifestUrl } }));
    const tip = await tipOf(manifestBare);
    await hld.commit('Disable everything', { 'config/prod.yaml': 'subcomponents:\n  web:\n    disabled: true\n  base:\n    disabled: true\n' });
    const run = await publish({ inputs: { hldRepositoryUrl: hld.url, manifestRepositoryUrl: manifestUrl } });
    assert.equal(run.result, 'Failed');
    assert.notEqual(run.code, 0);
    assert.match(run.message ?? '', /refusing to publish.*"prod".*allowEmptyOutput/);
    assert.equal(await tipOf(manifestBare), tip);
  });

  it('a run of an older HLD commit after a newer one is superseded: success, nothing pushed', async () => {
    const { hld, manifestUrl, manifestBare } = await repos();
    const older = await git(['rev-parse', 'HEAD'], { cwd: hld.work });
    await hld.commit('Scale to 6', { 'config/prod.yaml': 'subcomponents:\n  web:\n    config:\n      replicas: 6\n' });
    const newer = await hld.commit('Unrelated edit', { 'README.md': 'hi\n' });
    succeeded(await publish({ inputs: { hldPath: await hld.checkout(newer), manifestRepositoryUrl: manifestUrl } }));
    const tip = await tipOf(manifestBare);
    const run = await publish({ inputs: { hldPath: await hld.checkout(older), manifestRepositoryUrl: manifestUrl } });
    succeeded(run);
    assert.match(run.message ?? '', /Superseded/);
    assert.equal(run.outputs.manifestsChanged, 'false');
    assert.equal(await tipOf(manifestBare), tip);
    assert.match((await branchFiles(manifestBare))['prod/web.yaml'], /replicas: 6/);
  });

  it('classic release: HLD cloned by URL, token from the SystemVssConnection endpoint, release recorded', async () => {
    const { hld, manifestUrl, manifestBare } = await repos();
    const run = await runTask('GenerateManifests', {
      timeoutMs,
      inputs: { helmPath: helm4, environments: 'prod', hldRepositoryUrl: hld.url, hldBranch: 'main', manifestRepositoryUrl: manifestUrl },
      variables: { 'System.HostType': 'release', 'Release.ReleaseId': '77', 'Release.ReleaseName': 'Release-77', 'Release.RequestedFor': 'Grace Hopper', 'System.CollectionUri': 'https://dev.azure.com/org/', 'System.TeamProject': 'proj' },
      endpoints: { SystemVssConnection: { url: 'https://dev.azure.com/org/', scheme: 'OAuth', parameters: { AccessToken: server.token } } },
    });
    allRuns.push(run);
    succeeded(run);
    const message = await messageOf(manifestBare, (await tipOf(manifestBare))!);
    assert.match(message, /Gitops-Release: https:\/\/dev\.azure\.com\/org\/proj\/_releaseProgress\?releaseId=77/);
    assert.equal(await git(['--git-dir', manifestBare, 'log', '-1', '--format=%an']), 'Grace Hopper');
  });

  it('a wrong token fails clearly and pushes nothing', async () => {
    const { manifestUrl, manifestBare } = await repos();
    const bareHld = tempDir('gm-local-hld-');
    await git(['init', '-q', '--bare', '-b', 'main', bareHld]);
    const local = await HldRepo.create(`file://${bareHld}`, serverEnv(server));
    const run = await publish({ inputs: { hldPath: local.work, manifestRepositoryUrl: manifestUrl } }, 'wrong-token-value-1234');
    assert.equal(run.result, 'Failed');
    assert.match(run.message ?? '', /authentication or permission denied/);
    assert.equal(await tipOf(manifestBare), undefined);
    assert.deepEqual(findLeaks(run, ['wrong-token-value-1234']), []);
  });

  it('file:// repositories need no credentials', async () => {
    const bareHld = tempDir('gm-file-hld-');
    await git(['init', '-q', '--bare', '-b', 'main', bareHld]);
    const hld = await HldRepo.create(`file://${bareHld}`, serverEnv(server));
    const bareManifests = tempDir('gm-file-manifests-');
    await git(['init', '-q', '--bare', '-b', 'main', bareManifests]);
    const run = await runTask('GenerateManifests', { timeoutMs, inputs: { helmPath: helm4, environments: 'prod', hldRepositoryUrl: hld.url, manifestRepositoryUrl: `file://${bareManifests}` } });
    succeeded(run);
    assert.match((await branchFiles(bareManifests))['prod/web.yaml'], /kind: Deployment/);
  });

  describe('pull requests against the Azure DevOps double', () => {
    let double: AzureDevOpsDouble;
    before(async () => {
      double = new AzureDevOpsDouble({ token: server.token, organization: 'org', project: 'proj', repository: 'pr-manifests' });
      await double.start();
    });
    after(() => double.stop());

    it('pullRequest mode pushes gitops/manifests/main and opens one PR, then updates it', async () => {
      const hld = await HldRepo.create(await server.createRepo('org/proj/_git/pr-hld'), serverEnv(server));
      const manifestUrl = await server.createRepo('org/proj/_git/pr-manifests', { files: { 'README.md': 'manifests\n' } });
      const inputs = { hldRepositoryUrl: hld.url, manifestRepositoryUrl: manifestUrl, pushMode: 'pullRequest', pullRequestApiUrl: double.collectionUrl };
      const run = await publish({ inputs });
      succeeded(run);
      assert.equal(double.unexpectedCalls.length, 0);
      assert.equal(double.pullRequests.length, 1);
      const pr = double.pullRequests[0];
      assert.equal(pr.sourceRefName, 'refs/heads/gitops/manifests/main');
      assert.equal(pr.targetRefName, 'refs/heads/main');
      assert.match(pr.title, /Generate manifests for prod from HLD [0-9a-f]{12}/);
      assert.match(pr.description, /Deployment/);
      assert.equal(run.outputs.pullRequestId, String(pr.pullRequestId));
      assert.ok(double.calls.filter((c) => c.method === 'POST').every((c) => c.apiVersion));
      const bare = server.repoPath('org/proj/_git/pr-manifests');
      assert.equal(run.outputs.manifestCommitId, await tipOf(bare, 'gitops/manifests/main'));
      assert.equal((await branchFiles(bare))['README.md'], 'manifests');
      assert.equal((await branchFiles(bare, 'main'))['prod/web.yaml'], undefined);
      await hld.commit('Scale', { 'config/prod.yaml': 'subcomponents:\n  web:\n    config:\n      replicas: 7\n' });
      const second = await publish({ inputs });
      succeeded(second);
      assert.equal(double.pullRequests.length, 1);
      assert.equal(second.outputs.pullRequestId, String(pr.pullRequestId));
      assert.match((await branchFiles(bare, 'gitops/manifests/main'))['prod/web.yaml'], /replicas: 7/);
    });

    it('once the target has the manifests, the stale PR is abandoned with a comment and its branch deleted', async () => {
      const stale = new AzureDevOpsDouble({ token: server.token, organization: 'org', project: 'proj', repository: 'stale-manifests' });
      await stale.start();
      try {
        const hld = await HldRepo.create(await server.createRepo('org/proj/_git/stale-hld'), serverEnv(server));
        const manifestUrl = await server.createRepo('org/proj/_git/stale-manifests', { files: { 'README.md': 'manifests\n' } });
        const bare = server.repoPath('org/proj/_git/stale-manifests');
        stale.gitDir = bare;
        const inputs = { hldRepositoryUrl: hld.url, manifestRepositoryUrl: manifestUrl, pushMode: 'pullRequest', pullRequestApiUrl: stale.collectionUrl };
        succeeded(await publish({ inputs }));
        const [pr] = stale.pullRequests;
        // Someone merges the manifests by hand (fast-forward), and the next run finds nothing to do.
        await git(['--git-dir', bare, 'update-ref', 'refs/heads/main', (await tipOf(bare, 'gitops/manifests/main'))!]);

        const again = await publish({ inputs });
        succeeded(again);
        assert.equal(again.outputs.manifestsChanged, 'false');
        assert.equal(again.outputs.pullRequestId ?? '', '');
        assert.equal(pr.status, 'abandoned');
        assert.match(pr.threads[0]?.comments[0]?.content ?? '', /^main already has the manifests rendered from HLD [0-9a-f]{12}; closed by https:\/\/dev\.azure\.com\/org\/proj\/_build\/results\?buildId=42\.$/);
        assert.equal(await tipOf(bare, 'gitops/manifests/main'), undefined, 'the PR branch is deleted');
        assert.match(again.message ?? '', new RegExp(`closed the stale pull request #${pr.pullRequestId}`));
        assert.deepEqual(again.warnings, []);
        assert.deepEqual(stale.unexpectedCalls, []);
      } finally {
        await stale.stop();
      }
    });

    it('a dry run in an HLD pull-request build comments the diff on that PR once', async () => {
      const hldDouble = new AzureDevOpsDouble({ token: server.token, organization: 'org', project: 'proj', repository: 'c-hld' });
      await hldDouble.start();
      try {
        hldDouble.pullRequests.push({
          pullRequestId: 9, sourceRefName: 'refs/heads/feature', targetRefName: 'refs/heads/main', title: 'HLD change', description: '',
          status: 'active', createdBy: { id: 'x', displayName: 'dev' }, reviewers: [], workItemRefs: [], threads: [],
        });
        const { hld, manifestUrl } = await repos();
        const options = {
          inputs: { hldRepositoryUrl: hld.url, manifestRepositoryUrl: manifestUrl, dryRun: true, commentOnPullRequest: true, pullRequestApiUrl: hldDouble.collectionUrl },
          variables: { 'System.PullRequest.PullRequestId': '9', 'Build.Repository.Uri': hldDouble.remoteUrl },
        };
        succeeded(await publish(options));
        succeeded(await publish(options));
        const threads = hldDouble.pullRequests[0].threads;
        assert.equal(threads.length, 1);
        assert.match(threads[0].comments[0].content, /Dry run[\s\S]*Deployment/);
        assert.equal(hldDouble.unexpectedCalls.length, 0);
      } finally {
        await hldDouble.stop();
      }
    });
  });

  it('6 runs of 6 successive HLD commits at once: all succeed, newest render wins, no merge commits', async () => {
    const { hld, manifestUrl, manifestBare } = await repos();
    const commits: string[] = [];
    for (let replicas = 11; replicas <= 16; replicas++) {
      commits.push(await hld.commit(`Scale to ${replicas}`, { 'config/prod.yaml': `subcomponents:\n  web:\n    config:\n      replicas: ${replicas}\n` }));
    }
    const checkouts = await Promise.all(commits.map((c) => hld.checkout(c)));
    const runs = await Promise.all(checkouts.map((dir) => publish({ inputs: { hldPath: dir, manifestRepositoryUrl: manifestUrl } })));
    runs.forEach(succeeded);
    assert.match((await branchFiles(manifestBare))['prod/web.yaml'], /replicas: 16/);
    assert.equal(await git(['--git-dir', manifestBare, 'rev-list', '--merges', '--count', 'main']), '0');
    const message = await messageOf(manifestBare, (await tipOf(manifestBare))!);
    assert.match(message, new RegExp(`Gitops-Hld-Commit: ${commits[5]}`));
  });

  it('a pre-receive hook rejection fails clearly after one attempt', async () => {
    const { hld, manifestUrl, manifestBare, name } = await repos();
    const marker = join(tempDir('gm-hook-'), 'calls');
    server.setHook(`org/proj/_git/${name}-manifests`, 'pre-receive', `#!/bin/sh\necho call >> ${marker}\necho "policy: manifests are frozen" >&2\nexit 1\n`);
    const run = await publish({ inputs: { hldRepositoryUrl: hld.url, manifestRepositoryUrl: manifestUrl } });
    assert.equal(run.result, 'Failed');
    assert.match(run.message ?? '', /rejected by the server/);
    assert.equal(readFileSync(marker, 'utf8').trim().split('\n').length, 1);
    assert.equal(await tipOf(manifestBare), undefined);
  });

  it('the git server dying during the push fails clearly; a re-run succeeds', async () => {
    const { hld, manifestUrl, manifestBare, name } = await repos();
    const marker = join(tempDir('gm-kill-'), 'started');
    server.setHook(`org/proj/_git/${name}-manifests`, 'pre-receive', `#!/bin/sh\ntouch ${marker}\nsleep 30\n`);
    const running = publish({ inputs: { hldRepositoryUrl: hld.url, manifestRepositoryUrl: manifestUrl } });
    while (!existsSync(marker)) await new Promise((r) => setTimeout(r, 50));
    server.kill();
    const run = await running;
    assert.equal(run.result, 'Failed');
    assert.match(run.message ?? '', /Pushing to main .* failed/);
    await server.restart();
    server.setHook(`org/proj/_git/${name}-manifests`, 'pre-receive', undefined);
    assert.equal(await tipOf(manifestBare), undefined);
    succeeded(await publish({ inputs: { hldRepositoryUrl: hld.url, manifestRepositoryUrl: manifestUrl } }));
    assert.ok(await tipOf(manifestBare));
  });

  it('CLI `bedrock-gitops publish` publishes with the token from GITOPS_GIT_TOKEN', async () => {
    const { hld, manifestUrl, manifestBare } = await repos();
    const result = await new Promise<{ code: number; out: string }>((resolve) => {
      const child = spawn(process.execPath, [join(repoRoot, 'bin', 'bedrock-gitops.js'), 'publish', '--hld-repo', hld.url, '--manifest-repo', manifestUrl, '--environments', 'prod', '--helm', helm4], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, GITOPS_GIT_TOKEN: server.token, GIT_TERMINAL_PROMPT: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c));
      child.stderr.on('data', (c: Buffer) => (out += c));
      child.on('close', (code) => resolve({ code: code ?? 1, out }));
    });
    assert.equal(result.code, 0, result.out);
    assert.ok(!result.out.includes(server.token));
    assert.match(result.out, /Pushed [0-9a-f]{40} to main/);
    assert.match((await branchFiles(manifestBare))['prod/web.yaml'], /replicas: 3/);
  });
});
