/**
 * What a hostile HLD change or a hostile remote component can make the agent do, through the
 * bundled GenerateManifests task and the CLI: hooks (turned off, remote ones skipped by default),
 * Secret values in diffs, dry runs without any token, and "superseded" decided per environment.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AzureDevOpsDouble } from '../support/azureDevOpsDouble';
import { git, startGitServer, type GitServer } from '../support/gitServer';
import { findLeaks, runTask, type TaskRun } from '../support/runTask';
import { tempDir } from '../support/tmp';
import { helm4, repoRoot } from '../support/tools';
import { baseHld, branchFiles, HldRepo, messageOf, serverEnv, tipOf } from '../tasks/generateManifests.fixture';
import { bundleOnce, createFileRepo, refsOf } from '../tasks/updateImageTagHelpers';

const timeoutMs = 180_000;

function succeeded(run: TaskRun): void {
  assert.equal(run.result, 'Succeeded', `${run.message}\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-2000)}`);
  assert.equal(run.code, 0);
}

async function emptyBare(): Promise<string> {
  const bare = tempDir('sec-bare-');
  await git(['init', '-q', '--bare', '-b', 'main', bare]);
  return bare;
}

describe('hooks, secrets in diffs, token-less dry runs, per-environment superseded (bundled task)', function () {
  this.timeout(600_000);
  let server: GitServer;

  before(async function () {
    this.timeout(300_000);
    await bundleOnce();
    server = await startGitServer();
  });
  after(async () => server?.stop());

  describe('hooks', () => {
    /** An HLD whose root component has a before-install hook creating `marker`. */
    function hookHld(marker: string): Record<string, string> {
      return {
        ...baseHld,
        'component.yaml': `name: demo\nhooks:\n  before-install:\n    - touch '${marker}'\n${baseHld['component.yaml'].replace(/^name: demo\n/, '')}`,
      };
    }

    it('runHooks=false runs no hook and says so; the default runs them', async () => {
      const marker = join(tempDir('hook-marker-'), 'ran');
      const hld = await createFileRepo(hookHld(marker));
      const off = await runTask('GenerateManifests', { timeoutMs, inputs: { helmPath: helm4, environments: 'prod', hldRepositoryUrl: hld.url, runHooks: 'false' } });
      succeeded(off);
      assert.equal(existsSync(marker), false, 'a hook ran with runHooks=false');
      assert.match(off.stdout, /before-install: 1 hook command\(s\) not run \(hooks are turned off/);
      const on = await runTask('GenerateManifests', { timeoutMs, inputs: { helmPath: helm4, environments: 'prod', hldRepositoryUrl: hld.url } });
      succeeded(on);
      assert.equal(existsSync(marker), true, 'the hook did not run by default');
    });

    it('hooks of a component fetched from a remote git source are skipped unless allowRemoteHooks', async () => {
      const marker = join(tempDir('remote-hook-'), 'pwned');
      // A local component inside the fetched one: its component.yaml came from the remote source too.
      const nested = join(tempDir('remote-hook-'), 'nested');
      const componentUrl = await server.createRepo(`remote-${Date.now()}`, {
        files: {
          'component.yaml': `name: shared\nhooks:\n  before-install:\n    - touch '${marker}'\n  after-generate:\n    - touch '${marker}'\nsubcomponents:\n  - name: cm\n    type: static\n    path: ./manifests\n  - name: inner\n    source: ./inner\n`,
          'manifests/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n',
          'inner/component.yaml': `name: inner\nhooks:\n  before-generate:\n    - touch '${nested}'\n`,
        },
      });
      const hld = await createFileRepo({
        'component.yaml': `name: root\nsubcomponents:\n  - name: shared\n    method: git\n    source: ${componentUrl}\n    branch: main\n`,
        'access.yaml': `${componentUrl}: COMPONENT_TOKEN\n`,
      });
      const run = (inputs: Record<string, string> = {}) => runTask('GenerateManifests', {
        // This HLD configures no environment: the environment check is not what is tested here.
        timeoutMs, env: { COMPONENT_TOKEN: server.token }, inputs: { helmPath: helm4, environments: 'prod', hldRepositoryUrl: hld.url, allowEnvironmentsWithoutConfig: 'true', ...inputs },
      });
      const skipped = await run();
      succeeded(skipped);
      assert.equal(existsSync(marker), false, 'a remote hook ran without allowRemoteHooks');
      assert.equal(existsSync(nested), false, 'the hook of a local component inside a remote one ran without allowRemoteHooks');
      assert.ok(skipped.warnings.some((w) => /comes from the remote git source .*before-install hook .*skipped.*allowRemoteHooks: true.*--allow-remote-hooks/.test(w)), skipped.warnings.join('\n'));
      assert.ok(skipped.warnings.some((w) => /after-generate hook/.test(w)));
      assert.deepEqual(findLeaks(skipped, [server.token]), []);

      const allowed = await run({ allowRemoteHooks: 'true' });
      succeeded(allowed);
      assert.equal(existsSync(marker), true, 'allowRemoteHooks=true did not run the remote hook');
      assert.equal(existsSync(nested), true);
    });

    it('CLI: generate --no-hooks runs none; without it the HLD\'s own hooks run', async () => {
      const marker = join(tempDir('cli-hook-'), 'ran');
      const dir = tempDir('cli-hook-hld-');
      for (const [path, content] of Object.entries(hookHld(marker))) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), content);
      }
      const cli = (args: string[]) => new Promise<{ code: number; output: string }>((resolve) => {
        const child = spawn(process.execPath, [join(repoRoot, 'bin', 'bedrock-gitops.js'), ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (c: Buffer) => (output += c.toString()));
        child.stderr.on('data', (c: Buffer) => (output += c.toString()));
        child.on('close', (code) => resolve({ code: code ?? 1, output }));
      });
      const off = await cli(['generate', 'prod', '--helm', helm4, '--no-hooks']);
      assert.equal(off.code, 0, off.output);
      assert.equal(existsSync(marker), false);
      const on = await cli(['generate', 'prod', '--helm', helm4]);
      assert.equal(on.code, 0, on.output);
      assert.equal(existsSync(marker), true);
    });
  });

  it('Secret data and stringData values never reach stdout, the summary or the PR comment; changed keys are shown', async () => {
    const secret = (password: string, extra: string) => [
      'apiVersion: v1', 'kind: Secret', 'metadata:', '  name: db', '  namespace: web', 'type: Opaque',
      'data:', `  password: ${Buffer.from(password).toString('base64')}`, `  user: ${Buffer.from('admin-user-value').toString('base64')}`, extra,
      'stringData:', `  connection: Server=db;Password=${password}`, '',
    ].join('\n');
    const values = ['first-pass-Kq9', 'second-pass-Zr4', 'added-key-Xy7', 'admin-user-value'];
    const double = new AzureDevOpsDouble({ token: server.token, organization: 'org', project: 'proj', repository: 'sec-hld' });
    await double.start();
    try {
      double.pullRequests.push({
        pullRequestId: 11, sourceRefName: 'refs/heads/feature', targetRefName: 'refs/heads/main', title: 'rotate', description: '',
        status: 'active', createdBy: { id: 'x', displayName: 'dev' }, reviewers: [], workItemRefs: [], threads: [],
      });
      const hld = await HldRepo.create(await server.createRepo(`org/proj/_git/sec-hld-${Date.now()}`), serverEnv(server), { ...baseHld, 'manifests/secret.yaml': secret('first-pass-Kq9', '') });
      const manifestUrl = await server.createRepo(`org/proj/_git/sec-manifests-${Date.now()}`);
      const publish = (inputs: Record<string, string>, variables: Record<string, string> = {}) => runTask('GenerateManifests', {
        timeoutMs,
        inputs: { helmPath: helm4, environments: 'prod', hldRepositoryUrl: hld.url, manifestRepositoryUrl: manifestUrl, ...inputs },
        variables: { 'System.CollectionUri': 'https://dev.azure.com/org/', 'System.TeamProject': 'proj', ...variables },
        secrets: { 'System.AccessToken': server.token },
      });
      const first = await publish({});
      succeeded(first);
      await hld.commit('Rotate the password', { 'manifests/secret.yaml': secret('second-pass-Zr4', `  apikey: ${Buffer.from('added-key-Xy7').toString('base64')}`) });
      const dry = await publish({ dryRun: 'true', commentOnPullRequest: 'true', pullRequestApiUrl: double.collectionUrl },
        { 'System.PullRequest.PullRequestId': '11', 'Build.Repository.Uri': double.remoteUrl });
      succeeded(dry);
      const comment = double.pullRequests[0].threads[0]?.comments[0]?.content ?? '';
      assert.match(comment, /password: \(redacted, changed\)/);
      assert.match(comment, /\+\s+apikey: \(redacted\)/);
      assert.match(comment, /\| changed \| Secret \| web \| db/);
      for (const run of [first, dry]) assert.deepEqual(findLeaks(run, [server.token, ...values], { 'PR comment': comment }), []);
      assert.equal(double.unexpectedCalls.length, 0);
    } finally {
      await double.stop();
    }
  });

  it('a pull-request dry run needs no token at all: Succeeded, nothing pushed, the PR comment skipped with a warning', async () => {
    const bareHld = await emptyBare();
    const hld = await HldRepo.create(`file://${bareHld}`, serverEnv(server));
    const bareManifests = await emptyBare();
    succeeded(await runTask('GenerateManifests', { timeoutMs, inputs: { helmPath: helm4, environments: 'prod', hldRepositoryUrl: hld.url, manifestRepositoryUrl: `file://${bareManifests}` } }));
    await hld.commit('Scale', { 'config/prod.yaml': 'subcomponents:\n  web:\n    config:\n      replicas: 9\n' });
    const before = await refsOf(bareManifests);
    const run = await runTask('GenerateManifests', {
      timeoutMs,
      inputs: { helmPath: helm4, environments: 'prod', hldPath: await hld.checkout(await git(['rev-parse', 'HEAD'], { cwd: hld.work })), manifestRepositoryUrl: `file://${bareManifests}`, dryRun: 'true', commentOnPullRequest: 'true', runHooks: 'false' },
      variables: { 'System.PullRequest.PullRequestId': '5', 'Build.Reason': 'PullRequest', 'Build.Repository.Uri': 'https://dev.azure.com/org/proj/_git/hld' },
      // No System.AccessToken, no SystemVssConnection endpoint, no service connection.
    });
    succeeded(run);
    assert.equal(run.outputs.manifestsChanged, 'true');
    assert.match(run.attachments.find((a) => a.type === 'Distributedtask.Core.Summary')?.content ?? '', /-\s+replicas: 3\n\+\s+replicas: 9/);
    assert.ok(run.warnings.some((w) => /cannot comment on pull request 5: no token/.test(w)), run.warnings.join('\n'));
    assert.equal(await refsOf(bareManifests), before);
  });

  it('superseded is per environment: a newer render of staging does not stop prod; staging itself is skipped', async () => {
    const bareHld = await emptyBare();
    const hld = await HldRepo.create(`file://${bareHld}`, serverEnv(server));
    const older = await git(['rev-parse', 'HEAD'], { cwd: hld.work });
    const newer = await hld.commit('Scale staging to 4', { 'config/staging.yaml': 'subcomponents:\n  web:\n    config:\n      replicas: 4\n' });
    const bareManifests = await emptyBare();
    const run = async (commit: string, environments: string) => runTask('GenerateManifests', {
      timeoutMs, inputs: { helmPath: helm4, environments, hldPath: await hld.checkout(commit), manifestRepositoryUrl: `file://${bareManifests}` },
    });

    const staging = await run(newer, 'staging');
    succeeded(staging);
    assert.match(await messageOf(bareManifests, (await tipOf(bareManifests))!), /Gitops-Environment-Folders: staging/);

    const prod = await run(older, 'prod');
    succeeded(prod);
    assert.doesNotMatch(prod.message ?? '', /Superseded/);
    const afterProd = await branchFiles(bareManifests);
    assert.match(afterProd['prod/web.yaml'], /replicas: 3/, 'prod must get the older commit\'s render: nothing newer rendered prod');
    assert.match(await messageOf(bareManifests, (await tipOf(bareManifests))!), new RegExp(`Gitops-Hld-Commit: ${older}`));

    const tip = await tipOf(bareManifests);
    const stale = await run(older, 'staging');
    succeeded(stale);
    assert.match(stale.message ?? '', /Superseded/);
    assert.equal(await tipOf(bareManifests), tip);

    const both = await run(older, 'staging, prod');
    succeeded(both);
    assert.match(both.message ?? '', /staging skipped \(newer render present\)/);
    assert.ok(both.warnings.some((w) => new RegExp(`staging: not published; it already holds the render of HLD commit ${newer}`).test(w)), both.warnings.join('\n'));
    assert.equal(await tipOf(bareManifests), tip, 'prod was already at this commit, staging is newer: nothing to push');
    assert.match((await branchFiles(bareManifests))['staging/web.yaml'], /replicas: 4/);
  });
});
