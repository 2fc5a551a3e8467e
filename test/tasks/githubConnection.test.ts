import { strict as assert } from 'node:assert';
import { startGitServer, type GitServer } from '../support/gitServer';
import { GithubDouble } from '../support/githubDouble';
import { findLeaks, runTask, type TaskRun } from '../support/runTask';
import { helm4 } from '../support/tools';
import { baseHld, HldRepo, serverEnv } from './generateManifests.fixture';
import { bundleOnce, componentYaml, fileBytes } from './updateImageTagHelpers';

/**
 * GitHub repositories through a GitHub service connection (`connectedService:github`), with no job
 * token at all: the connection's token clones and pushes (as `x-access-token`) and calls the REST API.
 */
describe('GitHub service connection (gitHubConnection)', function () {
  this.timeout(300_000);
  const token = 'ghp_connectionToken0123456789abcdef';
  const connection = '41111111-2222-3333-4444-555555555555';
  let server: GitServer;
  let github: GithubDouble;
  let hldGithub: GithubDouble;

  before(async () => {
    await bundleOnce();
    server = await startGitServer({ token });
    github = new GithubDouble({ token, owner: 'contoso', repository: 'hld' });
    hldGithub = new GithubDouble({ token, owner: 'contoso', repository: 'hld-pr' });
    await Promise.all([github.start(), hldGithub.start()]);
  });
  after(async () => {
    await Promise.all([server?.stop(), github?.stop(), hldGithub?.stop()]);
  });

  const endpoint = (scheme: string, parameters: Record<string, string>) => ({ [connection]: { url: 'https://github.com', scheme, parameters } });
  const noLeaks = (run: TaskRun) => assert.deepEqual(findLeaks(run, [token]), []);

  it('UpdateImageTag opens the pull request on GitHub with a personal access token connection', async () => {
    const url = await server.createRepo('contoso/hld', { files: { 'component.yaml': componentYaml, 'config/prod.yaml': 'subcomponents:\n  api:\n    config:\n      image:\n        tag: old\n' } });
    const run = await runTask('UpdateImageTag', {
      inputs: {
        hldRepositoryUrl: url, environment: 'prod', subcomponent: 'api', imageTag: '2.4.0',
        pushMode: 'pullRequest', pullRequestApiUrl: github.apiUrl, gitHubConnection: connection,
      },
      endpoints: endpoint('PersonalAccessToken', { accessToken: token }),
    });
    assert.equal(run.result, 'Succeeded', `${run.message}\n${run.stdout}`);
    assert.equal(github.pullRequests.length, 1);
    assert.equal(run.outputs.pullRequestId, String(github.pullRequests[0].number));
    assert.match(await fileBytes(server.repoPath('contoso/hld'), 'gitops/prod/api', 'config/prod.yaml'), /tag: "?2\.4\.0"?\n/);
    assert.deepEqual(github.unexpectedCalls, []);
    assert.ok(run.secretsRegistered.includes(token), 'the token is masked');
    noLeaks(run);
  });

  it('GenerateManifests comments on the GitHub pull request by its number, not the internal id', async () => {
    const url = await server.createRepo('contoso/hld-pr');
    const manifestUrl = await server.createRepo('contoso/hld-pr-manifests');
    await HldRepo.create(url, serverEnv(server), baseHld);
    hldGithub.pullRequests.push({ number: 1, title: 'HLD change', body: '', head: 'feature', base: 'main', state: 'open', requestedReviewers: [], comments: [] });
    const run = await runTask('GenerateManifests', {
      inputs: {
        hldRepositoryUrl: url, manifestRepositoryUrl: manifestUrl, environments: 'prod', dryRun: true, helmPath: helm4,
        commentOnPullRequest: true, pullRequestApiUrl: hldGithub.apiUrl, gitHubConnection: connection,
      },
      variables: { 'System.PullRequest.PullRequestId': '1987654321', 'System.PullRequest.PullRequestNumber': '1', 'Build.Repository.Uri': url },
      endpoints: endpoint('OAuth', { AccessToken: token }),
    });
    assert.equal(run.result, 'Succeeded', `${run.message}\n${run.stdout}`);
    const [pull] = hldGithub.pullRequests;
    assert.equal(pull.comments.length, 1, 'the diff is commented on #1');
    assert.match(pull.comments[0].body, /Dry run/);
    assert.ok(!hldGithub.calls.some((c) => c.path.includes('1987654321')), 'the internal pull request id is never used');
    assert.deepEqual(hldGithub.unexpectedCalls, []);
    noLeaks(run);
  });

  it('a GitHub connection with an unsupported scheme fails naming gitHubConnection', async () => {
    const url = await server.createRepo('contoso/hld-scheme', { files: { 'component.yaml': componentYaml, 'config/prod.yaml': 'subcomponents: {}\n' } });
    const run = await runTask('UpdateImageTag', {
      inputs: { hldRepositoryUrl: url, environment: 'prod', subcomponent: 'api', imageTag: '1', gitHubConnection: connection },
      endpoints: endpoint('UsernamePassword', { username: 'octocat', password: token }),
    });
    assert.equal(run.result, 'Failed');
    assert.match(run.message ?? '', /^gitHubConnection: GitHub service connection "41111111-[-\d]+" uses the authentication scheme UsernamePassword/);
    noLeaks(run);
  });
});
