import { strict as assert } from 'node:assert';
import { startGitServer, type GitServer } from '../support/gitServer';
import { bundleOnce, componentYaml, fileBytes, refsOf, tipOf, runCli } from './updateImageTagHelpers';

const cli = runCli;

describe('bedrock-gitops update-image-tag (bundled CLI, git over HTTP)', function () {
  this.timeout(180_000);
  let server: GitServer;
  let url: string;
  let bare: string;

  before(async () => {
    await bundleOnce();
    server = await startGitServer();
    url = await server.createRepo('hld', { files: { 'component.yaml': componentYaml, 'config/prod.yaml': 'subcomponents:\n  api:\n    config:\n      image:\n        tag: old\n' } });
    bare = server.repoPath('hld');
  });
  after(async () => server?.stop());

  it('pushes the tag with the token from GITOPS_GIT_TOKEN and prints the commit', async () => {
    const result = await cli(['update-image-tag', '--hld-repo', url, '--environment', 'prod', '--subcomponent', 'api', '--tag', 'cli-1'], { GITOPS_GIT_TOKEN: server.token });
    assert.equal(result.code, 0, result.stderr);
    const tip = await tipOf(bare);
    assert.match(result.stdout, new RegExp(`commit ${tip}`));
    assert.match(await fileBytes(bare, 'main', 'config/prod.yaml'), /tag: cli-1\n/);
    assert.ok(!`${result.stdout}${result.stderr}`.includes(server.token));
  });

  it('fails with exit code 1 and a message naming the input on a bad tag', async () => {
    const before = await refsOf(bare);
    const result = await cli(['update-image-tag', '--hld-repo', url, '--environment', 'prod', '--subcomponent', 'api', '--tag', 'bad/tag'], { GITOPS_GIT_TOKEN: server.token });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--tag/);
    assert.equal(await refsOf(bare), before);
  });

  it('fails clearly without a token', async () => {
    const result = await cli(['update-image-tag', '--hld-repo', url, '--environment', 'prod', '--subcomponent', 'api', '--tag', 'cli-2'], {});
    assert.equal(result.code, 1);
    assert.match(result.stderr, /authentication|permission/i);
  });
});
