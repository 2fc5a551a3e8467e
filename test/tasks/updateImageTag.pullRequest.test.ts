import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AzureDevOpsDouble, type DoublePullRequest } from '../support/azureDevOpsDouble';
import { git, startGitServer, type GitServer } from '../support/gitServer';
import { GithubDouble } from '../support/githubDouble';
import { findLeaks, runTask } from '../support/runTask';
import { tempDir } from '../support/tmp';
import { bundleOnce, componentYaml, fileBytes, refsOf } from './updateImageTagHelpers';

const config = 'subcomponents:\n  api:\n    config:\n      image:\n        tag: old\n';
const configWith = (tag: string) => config.replace('tag: old', `tag: ${tag}`);

/** Someone sets the value directly on main, outside the pull request (a push to the bare repository). */
async function pushToMain(bare: string, content: string): Promise<void> {
  const work = join(tempDir('hld-direct-'), 'work');
  await git(['clone', '--quiet', '--branch', 'main', bare, work]);
  writeFileSync(join(work, 'config/prod.yaml'), content);
  await git(['-c', 'user.name=Operator', '-c', 'user.email=op@example.com', 'commit', '--quiet', '-am', 'Set the tag by hand'], { cwd: work });
  await git(['push', '--quiet', 'origin', 'HEAD:refs/heads/main'], { cwd: work });
}

const branchesOf = async (bare: string) => (await refsOf(bare)).split('\n').map((line) => line.split(' ')[0]);

function otherPullRequest(id: number, sourceRefName: string, targetRefName: string): DoublePullRequest {
  return {
    pullRequestId: id, sourceRefName, targetRefName, title: 'Someone else', description: '', status: 'active',
    createdBy: { id: 'someone', displayName: 'Someone' }, reviewers: [], workItemRefs: [], threads: [],
  };
}

describe('UpdateImageTag pull-request mode (Azure DevOps and GitHub doubles)', function () {
  this.timeout(300_000);
  const token = 'pr-token-abcdef0123456789';
  let server: GitServer;
  let azure: AzureDevOpsDouble;
  let github: GithubDouble;
  // One double per repository of the stale-PR cases, each knowing the bare repository behind it.
  let azureStale: AzureDevOpsDouble;
  let azureQuiet: AzureDevOpsDouble;
  let azureOtherToken: AzureDevOpsDouble;
  let githubStale: GithubDouble;

  before(async () => {
    await bundleOnce();
    server = await startGitServer({ token });
    azure = new AzureDevOpsDouble({ token });
    github = new GithubDouble({ token });
    azureStale = new AzureDevOpsDouble({ token, repository: 'stale' });
    azureQuiet = new AzureDevOpsDouble({ token, repository: 'unchanged' });
    azureOtherToken = new AzureDevOpsDouble({ token: 'a-token-of-another-organisation', repository: 'denied' });
    githubStale = new GithubDouble({ token, repository: 'stale' });
    for (const double of [azure, github, azureStale, azureQuiet, azureOtherToken, githubStale]) await double.start();
  });
  after(async () => {
    await server?.stop();
    for (const double of [azure, github, azureStale, azureQuiet, azureOtherToken, githubStale]) await double?.stop();
  });

  const runPr = (url: string, apiUrl: string, tag: string, extra: Record<string, string> = {}) => runTask('UpdateImageTag', {
    inputs: { hldRepositoryUrl: url, environment: 'prod', subcomponent: 'api', imageTag: tag, pushMode: 'pullRequest', pullRequestApiUrl: apiUrl, ...extra },
    secrets: { 'System.AccessToken': token },
    variables: { 'Build.BuildId': '4711' },
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

  it('opens no pull request when the target branch already has the tag, and calls no PR API beyond the lookup', async () => {
    const name = `${azureQuiet.organization}/${azureQuiet.project}/_git/${azureQuiet.repository}`;
    const url = await server.createRepo(name, { files: { 'component.yaml': componentYaml, 'config/prod.yaml': config } });
    azureQuiet.gitDir = server.repoPath(name);
    const refs = await refsOf(server.repoPath(name));
    const run = await runPr(url, azureQuiet.collectionUrl, 'old');
    assert.equal(run.result, 'Succeeded', run.message);
    assert.equal(run.outputs.hldChanged, 'false');
    assert.equal(run.outputs.pullRequestId, '');
    assert.equal(azureQuiet.pullRequests.length, 0);
    assert.equal(await refsOf(server.repoPath(name)), refs);
    const apiCalls = azureQuiet.calls.filter((c) => c.path.includes('/_apis/git/repositories/'));
    assert.deepEqual(apiCalls.map((c) => `${c.method} ${c.path.replace(/^.*\/repositories\//, '')}`), ['GET unchanged/pullRequests']);
    assert.deepEqual(run.warnings, []);
    assert.deepEqual(findLeaks(run, [token]), []);
  });

  it('Azure Repos: a PR whose tag is already on main is abandoned with a comment and its branch deleted', async () => {
    const name = `${azureStale.organization}/${azureStale.project}/_git/${azureStale.repository}`;
    const url = await server.createRepo(name, { files: { 'component.yaml': componentYaml, 'config/prod.yaml': config } });
    const bare = server.repoPath(name);
    azureStale.gitDir = bare;
    const opened = await runPr(url, azureStale.collectionUrl, 'v2', { autoComplete: 'true' });
    assert.equal(opened.result, 'Succeeded', `${opened.message}\n${opened.stdout}`);
    const [pr] = azureStale.pullRequests;
    assert.ok(pr.autoCompleteSetBy, 'auto-complete set by the first run');
    // Pull requests the task must never touch: another source branch, and our branch into another target.
    azureStale.pullRequests.push(otherPullRequest(900, 'refs/heads/feature/api', 'refs/heads/main'));
    azureStale.pullRequests.push(otherPullRequest(901, 'refs/heads/gitops/prod/api', 'refs/heads/release'));

    await pushToMain(bare, configWith('v2'));
    const run = await runPr(url, azureStale.collectionUrl, 'v2');

    assert.equal(run.result, 'Succeeded', `${run.message}\n${run.stdout}`);
    assert.equal(run.outputs.hldChanged, 'false');
    assert.equal(run.outputs.pullRequestId, '');
    assert.equal(run.outputs.pullRequestUrl, '');
    assert.equal(pr.status, 'abandoned');
    assert.equal(pr.autoCompleteSetBy, undefined, 'abandoning cancels auto-complete');
    assert.equal(pr.threads.length, 1);
    assert.match(pr.threads[0].comments[0].content, /^main already has these values \(config\/prod\.yaml: image\.tag = v2\); closed by Azure Pipelines build 4711\.$/);
    assert.ok(!(await branchesOf(bare)).includes('refs/heads/gitops/prod/api'), 'the PR branch is deleted');
    assert.deepEqual(azureStale.pullRequests.filter((p) => p.pullRequestId >= 900).map((p) => p.status), ['active', 'active']);
    assert.match(run.stdout, new RegExp(`Closed the stale pull request #${pr.pullRequestId} .*deleted gitops/prod/api`));
    const summary = run.attachments.find((a) => a.type === 'Distributedtask.Core.Summary')?.content ?? '';
    assert.match(summary, new RegExp(`closed the stale pull request #${pr.pullRequestId}`), 'the summary names the closed PR');
    assert.deepEqual(run.warnings, []);
    assert.deepEqual(azureStale.unexpectedCalls, []);
    assert.deepEqual(findLeaks(run, [token]), []);
  });

  it('a stale PR that cannot be closed (token refused) warns naming the input and still succeeds', async () => {
    const name = `${azureOtherToken.organization}/${azureOtherToken.project}/_git/${azureOtherToken.repository}`;
    const url = await server.createRepo(name, { files: { 'component.yaml': componentYaml, 'config/prod.yaml': config } });
    const run = await runPr(url, azureOtherToken.collectionUrl, 'old');
    assert.notEqual(run.result, 'Failed', run.message);
    assert.equal(run.outputs.hldChanged, 'false');
    assert.equal(run.warnings.length, 1, run.stdout);
    assert.match(run.warnings[0], /Could not close a stale pull request from gitops\/prod\/api.*gitConnection.*HTTP 401/);
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

  it('GitHub: a PR whose tag is already on main is closed with a comment and its branch deleted', async () => {
    const name = `${githubStale.owner}/${githubStale.repository}`;
    const url = await server.createRepo(name, { files: { 'component.yaml': componentYaml, 'config/prod.yaml': config } });
    const bare = server.repoPath(name);
    githubStale.gitDir = bare;
    const opened = await runPr(url, githubStale.apiUrl, 'v2');
    assert.equal(opened.result, 'Succeeded', `${opened.message}\n${opened.stdout}`);
    const [pull] = githubStale.pullRequests;

    await pushToMain(bare, configWith('v2'));
    const run = await runPr(url, githubStale.apiUrl, 'v2');

    assert.equal(run.result, 'Succeeded', `${run.message}\n${run.stdout}`);
    assert.equal(run.outputs.hldChanged, 'false');
    assert.equal(run.outputs.pullRequestId, '');
    assert.equal(run.outputs.pullRequestUrl, '');
    assert.equal(pull.state, 'closed');
    assert.deepEqual(pull.comments.map((c) => c.body), ['main already has these values (config/prod.yaml: image.tag = v2); closed by Azure Pipelines build 4711.']);
    assert.ok(!(await branchesOf(bare)).includes('refs/heads/gitops/prod/api'), 'the PR branch is deleted');
    assert.match(run.stdout, new RegExp(`Closed the stale pull request #${pull.number} `));
    assert.deepEqual(run.warnings, []);
    assert.deepEqual(githubStale.unexpectedCalls, []);
    assert.deepEqual(findLeaks(run, [token]), []);
  });
});
