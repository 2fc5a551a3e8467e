import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTrailers } from '../../tasks/core/git/commitMessage';
import { runProcess } from '../../tasks/core/exec';
import { git, startGitServer, type GitServer } from '../support/gitServer';
import { buildOciLayout, manifestDigest, seedImage, skopeoInspectRaw, type OciImage, type SkopeoCreds } from '../support/ociImage';
import { startRegistry, type TestRegistry } from '../support/registry';
import { AzureDevOpsDouble } from '../support/azureDevOpsDouble';
import { findLeaks, runTask, type TaskRun, type TaskRunOptions } from '../support/runTask';
import { tempDir } from '../support/tmp';
import { repoRoot } from '../support/tools';
import { bundleOnce, fileBytes, messageOf, refsOf, tipOf } from './updateImageTagHelpers';

const deployment = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: app }
spec:
  template:
    spec:
      containers:
        - name: app
          image: ${image}
`;

const prodConfig = `# production values
subcomponents:
  app:
    config:
      image:
        repository: old.example.com/team/app # set by promotion
        tag: "1.0.0"
        digest: ""
      replicas: 3
`;

/** Whether a tag exists in a registry, asked through skopeo (the independent judge). */
async function tagExists(ref: string, creds?: SkopeoCreds): Promise<boolean> {
  const args = ['inspect', '--raw', '--tls-verify=false', ...(creds ? ['--creds', `${creds.username}:${creds.password}`] : []), `docker://${ref}`];
  const result = await runProcess('skopeo', args, { timeoutMs: 60_000 });
  if (result.code === 0) return true;
  if (/manifest unknown|not found/i.test(result.stderr)) return false;
  throw new Error(`skopeo inspect ${ref}: ${result.stderr}`);
}

/** Source and target serve byte-identical manifests for the index and every platform. */
async function assertSameManifests(source: string, target: string, image: OciImage, sourceCreds?: SkopeoCreds, targetCreds?: SkopeoCreds) {
  const repoOf = (ref: string) => ref.replace(/:[^:/]+$/, '');
  assert.equal(await skopeoInspectRaw(target, targetCreds), await skopeoInspectRaw(source, sourceCreds), 'index');
  for (const manifest of image.manifests) {
    const at = (ref: string) => `${repoOf(ref)}@${manifest.digest}`;
    assert.equal(await skopeoInspectRaw(at(target), targetCreds), await skopeoInspectRaw(at(source), sourceCreds), `${manifest.platform.architecture} manifest`);
  }
}

describe('PromoteContainer task (bundle, real registries, git over HTTP)', function () {
  this.timeout(300_000);
  let plain: TestRegistry;
  let secure: TestRegistry;
  let tokenRegistry: TestRegistry;
  let server: GitServer;
  let image: OciImage;
  let other: OciImage;
  let manifestsUrl: string;
  let hldUrl: string;
  let hldBare: string;
  let secureCreds: SkopeoCreds;
  const source = () => `${plain.host}/team/app:1.2.3`;

  before(async () => {
    const [bundled, layout, otherLayout, a, b, c, s] = await Promise.all([
      bundleOnce(),
      buildOciLayout(tempDir('promote-layout-'), { layersPerPlatform: 2, layerBytes: 384 * 1024, seed: 'promote-task', tag: 'v1' }),
      buildOciLayout(tempDir('promote-other-'), { layersPerPlatform: 1, layerBytes: 64 * 1024, seed: 'promote-other', tag: 'v1' }),
      startRegistry(),
      startRegistry({ auth: 'htpasswd', users: { pusher: 'prod-registry-pass-7' } }),
      startRegistry({ auth: 'token', users: { puller: 'token-registry-pass-9' } }),
      startGitServer(),
    ]);
    void bundled;
    [image, other, plain, secure, tokenRegistry, server] = [layout, otherLayout, a, b, c, s];
    secureCreds = { username: secure.username!, password: secure.password! };
    await seedImage(image.dir, source());
    manifestsUrl = await server.createRepo('manifests', {
      files: {
        'staging/app.yaml': deployment(source()),
        'qa/app.yaml': deployment(`${plain.host}/team/app:1.2.2`),
      },
    });
    hldUrl = await server.createRepo('hld', {
      files: { 'config/prod.yaml': prodConfig, 'config/dr.yaml': prodConfig, 'config/canary.yaml': prodConfig },
    });
    hldBare = server.repoPath('hld');
  });

  after(async () => {
    await Promise.all([plain?.stop(), secure?.stop(), tokenRegistry?.stop(), server?.stop()]);
  });

  const targetEndpoint = (password = secure.password!) => ({
    prodRegistry: { url: `https://${secure.host}`, parameters: { registry: secure.host, username: secure.username!, password } },
  });

  function promote(inputs: Record<string, string>, options: Omit<TaskRunOptions, 'inputs'> = {}): Promise<TaskRun> {
    return runTask('PromoteContainer', {
      inputs: {
        sourceImage: source(),
        targetRegistry: secure.host,
        targetRegistryConnection: 'prodRegistry',
        verification: 'manifestRepo',
        verifyManifestRepositoryUrl: manifestsUrl,
        verifyManifestBranch: 'main',
        verifyEnvironmentPath: 'staging',
        ...inputs,
      },
      variables: { 'Build.BuildId': '812', 'System.CollectionUri': 'https://dev.azure.com/fabrikam/', 'System.TeamProject': 'Shop', ...options.variables },
      secrets: options.secrets ?? { 'System.AccessToken': server.token },
      endpoints: { ...targetEndpoint(), ...options.endpoints },
      env: options.env,
      timeoutMs: 240_000,
    });
  }

  const hldInputs = { hldRepositoryUrl: '', hldBranch: 'main', environment: 'prod', subcomponent: 'app', pinDigest: 'digestKey' };
  const withHld = (extra: Record<string, string> = {}) => ({ ...hldInputs, hldRepositoryUrl: hldUrl, ...extra });
  const succeeded = (run: TaskRun) => assert.equal(run.result, 'Succeeded', `${run.message}\n${run.stdout}\n${run.stderr}`);
  const leaks = (run: TaskRun, extra: string[] = []) => findLeaks(run, [server.token, secure.password!, tokenRegistry.password!, ...extra]);

  it('refuses when pre-production does not run the image: nothing copied, HLD untouched', async () => {
    const refsBefore = await refsOf(hldBare);
    const run = await promote(withHld({ verifyEnvironmentPath: 'qa' }));
    assert.equal(run.result, 'Failed');
    assert.match(run.message ?? '', /pre-production does not run .*team\/app:1\.2\.3@sha256:/);
    assert.match(run.message ?? '', /deployed there: .*team\/app:1\.2\.2/);
    assert.equal(await tagExists(`${secure.host}/team/app:1.2.3`, secureCreds), false);
    assert.equal(await refsOf(hldBare), refsBefore);
    assert.deepEqual(leaks(run), []);
  });

  it('dry run resolves and verifies but copies, commits and pushes nothing', async () => {
    const refsBefore = await refsOf(hldBare);
    const run = await promote(withHld({ dryRun: 'true' }));
    succeeded(run);
    assert.equal(run.outputs.promotedDigest, image.rootDigest);
    assert.equal(run.outputs.promotedImage, `${secure.host}/team/app@${image.rootDigest}`);
    assert.equal(run.outputs.bytesCopied, '0');
    assert.equal(run.outputs.hldChanged, 'false');
    assert.equal(run.outputs.hldCommitId, '');
    assert.equal(await tagExists(`${secure.host}/team/app:1.2.3`, secureCreds), false);
    assert.equal(await refsOf(hldBare), refsBefore);
    const summary = run.attachments.find((a) => a.type === 'Distributedtask.Core.Summary')?.content ?? '';
    assert.match(summary, /Dry run/);
    assert.match(summary, /image\.digest/, 'the summary shows what would be written');
    assert.deepEqual(leaks(run), []);
  });

  it('promotes a two-platform image to an htpasswd registry and writes registry, tag and digest into the HLD', async () => {
    const run = await promote(withHld());
    succeeded(run);
    assert.equal(run.outputs.promotedDigest, image.rootDigest);
    assert.equal(run.outputs.promotedImage, `${secure.host}/team/app@${image.rootDigest}`);
    assert.ok(Number(run.outputs.bytesCopied) >= image.blobBytes, `bytesCopied ${run.outputs.bytesCopied} < ${image.blobBytes}`);
    await assertSameManifests(source(), `${secure.host}/team/app:1.2.3`, image, undefined, secureCreds);

    const tip = await tipOf(hldBare);
    assert.equal(run.outputs.hldCommitId, tip);
    assert.equal(run.outputs.hldChanged, 'true');
    assert.equal(await fileBytes(hldBare, 'main', 'config/prod.yaml'), prodConfig
      .replace('old.example.com/team/app', `"${secure.host}/team/app"`)
      .replace('tag: "1.0.0"', 'tag: "1.2.3"')
      .replace('digest: ""', `digest: "${image.rootDigest}"`));
    const trailers = parseTrailers(await messageOf(hldBare, 'main'));
    assert.equal(trailers['Gitops-Image'], `${secure.host}/team/app@${image.rootDigest}`);
    assert.equal(trailers['Gitops-Source-Image'], `${source()}@${image.rootDigest}`);

    const summary = run.attachments.find((a) => a.type === 'Distributedtask.Core.Summary')?.content ?? '';
    for (const text of [image.rootDigest, 'linux/amd64', 'linux/arm64', tip.slice(0, 12), 'MiB']) assert.ok(summary.includes(text), `summary lacks ${text}:\n${summary}`);
    assert.deepEqual(leaks(run), []);
  });

  it('a re-run is idempotent: nothing uploaded, HLD unchanged', async () => {
    const tip = await tipOf(hldBare);
    const run = await promote(withHld());
    succeeded(run);
    assert.equal(run.outputs.bytesCopied, '0');
    assert.equal(run.outputs.hldChanged, 'false');
    assert.equal(run.outputs.hldCommitId, '');
    assert.equal(await tipOf(hldBare), tip);
    assert.deepEqual(leaks(run), []);
  });

  it('pinDigest tagAtDigest writes tag@digest as the tag (classic release variables, SystemVssConnection token)', async () => {
    const run = await promote(withHld({ environment: 'dr', pinDigest: 'tagAtDigest' }), {
      secrets: {},
      variables: {
        'System.HostType': 'release', 'Release.ReleaseId': '77', 'Release.ReleaseName': 'Release-77',
        'Release.EnvironmentName': 'production', 'Release.RequestedFor': 'Release Manager', 'Build.BuildId': undefined,
      },
      endpoints: { SystemVssConnection: { url: 'https://dev.azure.com/fabrikam/', scheme: 'OAuth', parameters: { AccessToken: server.token } } },
    });
    succeeded(run);
    const text = await fileBytes(hldBare, 'main', 'config/dr.yaml');
    assert.match(text, new RegExp(`tag: "?1\\.2\\.3@${image.rootDigest}"?\\n`));
    assert.match(text, /digest: ""/, 'the digest key is left alone');
    const message = await messageOf(hldBare, 'main');
    assert.match(parseTrailers(message)['Gitops-Release'] ?? '', /releaseId=77/);
    assert.equal(await git(['--git-dir', hldBare, 'log', '-1', '--format=%an']), 'Release Manager');
    assert.deepEqual(leaks(run), []);
  });

  it('refuses to move a target tag that points at another digest unless overwriteTag is set', async () => {
    await seedImage(other.dir, `${secure.host}/team/app:taken`, { creds: secureCreds });
    const refused = await promote({ targetTag: 'taken', verification: 'none' });
    assert.equal(refused.result, 'Failed');
    assert.match(refused.message ?? '', /already points at sha256:/);
    assert.match(refused.message ?? '', /overwriteTag/);
    assert.equal(manifestDigest(await skopeoInspectRaw(`${secure.host}/team/app:taken`, secureCreds)), other.rootDigest);

    const allowed = await promote({ targetTag: 'taken', verification: 'none', overwriteTag: 'true' });
    succeeded(allowed);
    assert.equal(manifestDigest(await skopeoInspectRaw(`${secure.host}/team/app:taken`, secureCreds)), image.rootDigest);
    assert.ok(allowed.warnings.some((w) => /verification is off/.test(w)), 'skipping verification warns');
    assert.deepEqual([...leaks(refused), ...leaks(allowed)], []);
  });

  it('a bad HLD input fails before anything is copied or verified', async () => {
    const refsBefore = await refsOf(hldBare);
    const run = await promote(withHld({ environment: '../prod', targetTag: 'bad-input' }));
    assert.equal(run.result, 'Failed');
    assert.match(run.message ?? '', /environment/);
    assert.equal(await tagExists(`${secure.host}/team/app:bad-input`, secureCreds), false);
    assert.equal(await refsOf(hldBare), refsBefore);
    assert.ok(!/checking pre-production manifests/.test(run.stdout), 'failed before cloning the manifest repository');
  });

  it('a wrong registry password fails clearly, naming the connection input', async () => {
    const run = await promote({ targetTag: 'wrong-pass', verification: 'none' }, { endpoints: targetEndpoint('not-the-password-31') });
    assert.equal(run.result, 'Failed');
    assert.match(run.message ?? '', /targetRegistryConnection/);
    assert.match(run.message ?? '', /rejected the credentials/);
    assert.equal(await tagExists(`${secure.host}/team/app:wrong-pass`, secureCreds), false);
    assert.deepEqual(leaks(run, ['not-the-password-31']), []);
  });

  it('pulls from a token-auth registry through its service connection', async () => {
    const creds = { username: tokenRegistry.username!, password: tokenRegistry.password! };
    await seedImage(image.dir, `${tokenRegistry.host}/team/app:1.2.3`, { creds });
    const run = await promote({
      sourceImage: `${tokenRegistry.host}/team/app:1.2.3`, sourceRegistryConnection: 'stagingRegistry',
      targetRegistry: plain.host, targetRegistryConnection: '', targetRepository: 'prod/app', verification: 'none',
    }, { endpoints: { stagingRegistry: { url: `https://${tokenRegistry.host}`, parameters: { registry: tokenRegistry.host, ...creds } } } });
    succeeded(run);
    assert.equal(run.outputs.promotedImage, `${plain.host}/prod/app@${image.rootDigest}`);
    await assertSameManifests(`${tokenRegistry.host}/team/app:1.2.3`, `${plain.host}/prod/app:1.2.3`, image, creds);
    assert.ok(tokenRegistry.tokenRequests.some((r) => r.account === 'puller' && r.scopes.some((s) => s.includes('team/app:pull'))));
    assert.deepEqual(leaks(run), []);
  });

  it('same-registry promotion mounts every blob instead of uploading it', async () => {
    const run = await promote({ targetRegistry: plain.host, targetRegistryConnection: '', targetRepository: 'mirror/app', verification: 'none' });
    succeeded(run);
    assert.match(run.stdout, / 0 blobs uploaded .*, [1-9]\d* mounted/);
    assert.ok(Number(run.outputs.bytesCopied) < 16 * 1024, `bytesCopied ${run.outputs.bytesCopied}: only manifests may be written`);
    await assertSameManifests(source(), `${plain.host}/mirror/app:1.2.3`, image);
  });

  it('with verifySyncTag checks the commit the GitOps agent applied', async () => {
    const url = await server.createRepo('manifests-sync', { files: { 'staging/app.yaml': deployment(`${plain.host}/team/app:1.2.2`) } });
    const work = tempDir('sync-work-');
    await git(['clone', '-q', url, work], { env: server.authEnv });
    await git(['tag', 'flux-sync'], { cwd: work });
    writeFileSync(join(work, 'staging/app.yaml'), deployment(source()));
    await git(['commit', '-qam', 'deploy 1.2.3'], { cwd: work });
    await git(['push', '-q', 'origin', 'main', 'refs/tags/flux-sync'], { cwd: work, env: server.authEnv });
    const inputs = { verifyManifestRepositoryUrl: url, verifySyncTag: 'flux-sync', targetTag: 'synced' };

    const refused = await promote(inputs);
    assert.equal(refused.result, 'Failed');
    assert.match(refused.message ?? '', /at tag flux-sync/);
    assert.equal(await tagExists(`${secure.host}/team/app:synced`, secureCreds), false);

    await git(['tag', '-f', 'flux-sync'], { cwd: work });
    await git(['push', '-q', '-f', 'origin', 'refs/tags/flux-sync'], { cwd: work, env: server.authEnv });
    const allowed = await promote(inputs);
    succeeded(allowed);
    assert.equal(manifestDigest(await skopeoInspectRaw(`${secure.host}/team/app:synced`, secureCreds)), image.rootDigest);
    assert.deepEqual([...leaks(refused), ...leaks(allowed)], []);
  });

  it('pull-request mode opens one PR in Azure Repos with the promoted image and reports it', async () => {
    const azure = new AzureDevOpsDouble({ token: server.token });
    await azure.start();
    try {
      const name = `${azure.organization}/${azure.project}/_git/${azure.repository}`;
      const url = await server.createRepo(name, { files: { 'config/prod.yaml': prodConfig } });
      const bare = server.repoPath(name);
      const mainBefore = await tipOf(bare);
      const run = await promote(withHld({ hldRepositoryUrl: url, pushMode: 'pullRequest', pullRequestApiUrl: azure.collectionUrl }));
      succeeded(run);
      assert.equal(azure.pullRequests.length, 1);
      const pr = azure.pullRequests[0];
      assert.equal(run.outputs.pullRequestId, String(pr.pullRequestId));
      assert.ok(run.outputs.pullRequestUrl.includes(String(pr.pullRequestId)));
      assert.equal(run.outputs.hldChanged, 'true');
      assert.equal(await tipOf(bare), mainBefore, 'main untouched until the PR merges');
      assert.match(await fileBytes(bare, pr.sourceRefName.replace('refs/heads/', ''), 'config/prod.yaml'), new RegExp(`digest: "${image.rootDigest}"`));
      const summary = run.attachments.find((a) => a.type === 'Distributedtask.Core.Summary')?.content ?? '';
      assert.match(summary, new RegExp(`#${pr.pullRequestId}`));
      assert.deepEqual(leaks(run), []);
    } finally {
      await azure.stop();
    }
  });

  it('CLI `bedrock-gitops promote` runs the same job with credentials from the environment', async () => {
    const cli = join(repoRoot, 'dist', 'cli.js');
    const args = [cli, 'promote', '--source', source(), '--target-registry', secure.host, '--target-tag', 'cli',
      '--verify-repo', manifestsUrl, '--verify-path', 'staging',
      '--hld-repo', hldUrl, '--environment', 'canary', '--subcomponent', 'app', '--pin-digest', 'digestKey'];
    const env = {
      ...process.env, GIT_TERMINAL_PROMPT: '0', GITOPS_GIT_TOKEN: server.token,
      GITOPS_TARGET_REGISTRY_USERNAME: secure.username, GITOPS_TARGET_REGISTRY_PASSWORD: secure.password,
    };
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c));
      child.stderr.on('data', (c: Buffer) => (stderr += c));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.split('\n')[0], `${secure.host}/team/app@${image.rootDigest}`);
    assert.match(result.stdout, new RegExp(`HLD commit: ${await tipOf(hldBare)}`));
    const text = await fileBytes(hldBare, 'main', 'config/canary.yaml');
    assert.match(text, new RegExp(`tag: "?cli"?`));
    assert.match(text, new RegExp(`digest: "${image.rootDigest}"`));
    for (const secret of [server.token, secure.password!]) {
      assert.ok(!result.stdout.includes(secret) && !result.stderr.includes(secret), 'no secret in CLI output');
    }
  });
});

