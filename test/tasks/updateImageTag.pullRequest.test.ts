import { strict as assert } from 'node:assert';
import { AzureDevOpsDouble } from '../support/azureDevOpsDouble';
import { git, startGitServer, type GitServer } from '../support/gitServer';
import { GithubDouble } from '../support/githubDouble';
import { findLeaks, runTask } from '../support/runTask';
import { bundleOnce, componentYaml, fileBytes, refsOf } from './updateImageTagHelpers';

const config = 'subcomponents:\n  api:\n    config:\n      image:\n        tag: old\n';

describe('UpdateImageTag pull-request mode (Azure DevOps and GitHub doubles)', function () {
  this.timeout(300_000);
  const token = 'pr-token-abcdef0123456789';
  let server: GitServer;
  let azure: AzureDevOpsDouble;
  let github: GithubDouble;

  before(async () => {
    await bundleOnce();
    server = await startGitServer({ token });
    azure = new AzureDevOpsDouble({ token });
    github = new GithubDouble({ token });
    await azure.start();
    await github.start();
  });
  after(async () => {
    await server?.stop();
    await azure?.stop();
    await github?.stop();
  });

  const runPr = (url: string, apiUrl: string, tag: string, extra: Record<string, string> = {}) => runTask('UpdateImageTag', {
    inputs: { hldRepositoryUrl: url, environment: 'prod', subcomponent: 'api', imageTag: tag, pushMode: 'pullRequest', pullRequestApiUrl: apiUrl, ...extra },
    secrets: { 'System.AccessToken': token },
  });

  it('Azure Repos: opens one PR from gitops/prod/api, then a newer tag updates the same PR', async () => {
    const name = `${azure.organization}/${azure.project}/_git/${azure.repository}`;
    const url = await server.createRepo(name, { files: { 'component.yaml': componentYaml, 'config/prod.yaml': config } });
    const bare = server.repoPath(name);
    const mainBefore = await git(['--git-dir', bare, 'rev-parse', 'main']);

    const first = await runPr(url, azure.collectionUrl, 'v2', { autoComplete: 'true', mergeStrategy: 'squash' });
    assert.equal(first.result, 'Succeeded', `${first.message}\n${first.stdout}`);
    assert.equal(azure.pullRequests.length, 1);
    const pr = azure.pullRequests[0];
    assert.equal(pr.sourceRefName, 'refs/heads/gitops/prod/api');
    assert.equal(pr.targetRefName, 'refs/heads/main');
    assert.equal(first.outputs.pullRequestId, String(pr.pullRequestId));
    assert.ok(first.outputs.pullRequestUrl.includes(String(pr.pullRequestId)));
    assert.ok(pr.autoCompleteSetBy, 'auto-complete set');
    assert.match(pr.description, /image\.tag/);
    assert.equal(await git(['--git-dir', bare, 'rev-parse', 'main']), mainBefore, 'main untouched');
    assert.match(await fileBytes(bare, 'gitops/prod/api', 'config/prod.yaml'), /tag: v2\n/);

    const second = await runPr(url, azure.collectionUrl, 'v3');
    assert.equal(second.result, 'Succeeded', second.message);
    assert.equal(azure.pullRequests.length, 1, 'same PR updated');
    assert.equal(second.outputs.pullRequestId, first.outputs.pullRequestId);
    assert.match(await fileBytes(bare, 'gitops/prod/api', 'config/prod.yaml'), /tag: v3\n/);
    // Rebuilt from main each time: exactly one commit ahead of the target.
    assert.equal(await git(['--git-dir', bare, 'rev-list', '--count', 'main..gitops/prod/api']), '1');
    assert.deepEqual(azure.unexpectedCalls, []);
    for (const run of [first, second]) assert.deepEqual(findLeaks(run, [token]), []);
  });

  it('opens no pull request when the target branch already has the tag', async () => {
    const name = `${azure.organization}/${azure.project}/_git/unchanged`;
    const url = await server.createRepo(name, { files: { 'component.yaml': componentYaml, 'config/prod.yaml': config } });
    const refs = await refsOf(server.repoPath(name));
    const count = azure.pullRequests.length;
    const run = await runPr(url, azure.collectionUrl, 'old');
    assert.equal(run.result, 'Succeeded', run.message);
    assert.equal(run.outputs.hldChanged, 'false');
    assert.equal(run.outputs.pullRequestId, '');
    assert.equal(azure.pullRequests.length, count);
    assert.equal(await refsOf(server.repoPath(name)), refs);
    assert.deepEqual(findLeaks(run, [token]), []);
  });

  it('GitHub: opens one PR and updates it with a newer tag', async () => {
    const name = `${github.owner}/${github.repository}`;
    const url = await server.createRepo(name, { files: { 'component.yaml': componentYaml, 'config/prod.yaml': config } });
    const first = await runPr(url, github.apiUrl, 'v2');
    assert.equal(first.result, 'Succeeded', `${first.message}\n${first.stdout}`);
    assert.equal(github.pullRequests.length, 1);
    assert.equal(github.pullRequests[0].head, 'gitops/prod/api');
    assert.equal(github.pullRequests[0].base, 'main');
    const second = await runPr(url, github.apiUrl, 'v3');
    assert.equal(second.result, 'Succeeded', second.message);
    assert.equal(github.pullRequests.length, 1);
    assert.equal(second.outputs.pullRequestId, String(github.pullRequests[0].number));
    assert.match(github.pullRequests[0].title, /v3/);
    assert.deepEqual(github.unexpectedCalls, []);
    for (const run of [first, second]) assert.deepEqual(findLeaks(run, [token]), []);
  });
});
