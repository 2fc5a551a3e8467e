/**
 * `bedrock-gitops rollback` in pull-request mode, as a process: the HLD is on the git server with
 * token auth, the pull request API is the strict Azure DevOps double.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { parseTrailers } from '../../tasks/core/git/commitMessage';
import { runProcess, type RunResult } from '../../tasks/core/exec';
import { AzureDevOpsDouble } from '../support/azureDevOpsDouble';
import { git, startGitServer, type GitServer } from '../support/gitServer';
import { tempDir } from '../support/tmp';
import { repoRoot } from '../support/tools';
import { bundleOnce, componentYaml } from '../tasks/updateImageTagHelpers';

describe('bedrock-gitops rollback --push-mode pullRequest', function () {
  this.timeout(120_000);
  const token = 'rollback-token-4f1e';
  let server: GitServer;
  let azure: AzureDevOpsDouble;

  before(async function () {
    this.timeout(300_000);
    await bundleOnce();
    server = await startGitServer({ token });
    azure = new AzureDevOpsDouble({ token, repository: 'hld' });
    await azure.start();
  });
  after(async () => {
    await server?.stop();
    await azure?.stop();
  });

  const bedrock = (args: string[], env: Record<string, string> = {}): Promise<RunResult> =>
    runProcess(process.execPath, [join(repoRoot, 'dist', 'cli.js'), ...args], { env: { PATH: process.env.PATH, HOME: tempDir('bg-home-'), GITOPS_GIT_TOKEN: token, ...env } });

  it('opens one pull request that restores the previous tag with the rollback trailer; main is untouched', async () => {
    const name = `${azure.organization}/${azure.project}/_git/hld`;
    const url = await server.createRepo(name, { files: { 'component.yaml': componentYaml, 'config/prod.yaml': 'subcomponents:\n  api:\n    config:\n      image:\n        repository: acr.io/api # by the build\n        tag: v0\n' } });
    azure.gitDir = server.repoPath(name);
    for (const tag of ['v1', 'v2']) {
      const set = await bedrock(['update-image-tag', '--hld-repo', url, '--environment', 'prod', '--subcomponent', 'api', '--tag', tag, '--repository', 'acr.io/api'], { GITOPS_BUILD_ID: tag });
      assert.equal(set.code, 0, set.stderr);
    }
    const main = await git(['--git-dir', server.repoPath(name), 'rev-parse', 'main']);
    const run = await bedrock(['rollback', '--hld-repo', url, '--environment', 'prod', '--subcomponent', 'api', '--previous', '--push-mode', 'pullRequest', '--pr-api-url', azure.collectionUrl]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^rollback v2 -> v1: pull request #\d+: /m);
    assert.equal(azure.pullRequests.length, 1);
    assert.equal(azure.pullRequests[0].sourceRefName, 'refs/heads/gitops/prod/api');
    assert.equal(await git(['--git-dir', server.repoPath(name), 'rev-parse', 'main']), main, 'main untouched');
    const branch = 'gitops/prod/api';
    assert.match(await git(['--git-dir', server.repoPath(name), 'show', `${branch}:config/prod.yaml`]), /repository: acr.io\/api # by the build\n        tag: v1$/);
    const trailers = parseTrailers(await git(['--git-dir', server.repoPath(name), 'log', '-1', '--format=%B', branch]));
    assert.equal(trailers['Gitops-Rollback-From'], 'v2');
    assert.equal(trailers['Gitops-Image-Tag'], 'v1');
    assert.deepEqual(azure.unexpectedCalls, []);
    assert.ok(!run.stdout.includes(token) && !run.stderr.includes(token));
  });

  it('refuses --to and --previous together, and neither, as a usage error', async () => {
    for (const extra of [['--to', 'v1', '--previous'], []]) {
      const run = await bedrock(['rollback', '--hld-repo', 'https://example.invalid/hld', '--environment', 'prod', '--subcomponent', 'api', ...extra]);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /give exactly one of --to TAG and --previous/);
    }
  });
});
