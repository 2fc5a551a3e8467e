import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startGitServer, type GitServer } from '../support/gitServer';
import { repoRoot } from '../support/tools';
import { bundleOnce, componentYaml, fileBytes, refsOf, tipOf } from './updateImageTagHelpers';

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'dist', 'cli.js'), ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', GIT_TERMINAL_PROMPT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

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
