import { strict as assert } from 'node:assert';
import { mkdirSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { runProcess } from '../../tasks/core/exec';
import { ensureBundled } from '../support/bundle';
import { tempDir } from '../support/tmp';
import { repoRoot } from '../support/tools';

const demo = join(repoRoot, 'scripts', 'demo.mjs');

function occupy(port: number): Promise<Server | undefined> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined)).listen(port, '127.0.0.1', () => resolve(server));
  });
}

const close = (server: Server | undefined) => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));

/** No `    at file:line` frames: the demo ends with its own line, not a stack trace. */
const noStackTrace = (text: string) => assert.doesNotMatch(text, /^\s+at .+:\d+:\d+\)?$/m, text);

describe('npm run demo on a busy or bare machine', function () {
  this.timeout(120_000);
  before(() => ensureBundled());

  it('stops with one line naming DEMO_CHART_PORT when the port it is told to use is taken', async () => {
    const busy = await occupy(0);
    const port = (busy!.address() as { port: number }).port;
    try {
      const result = await runProcess(process.execPath, [demo], { cwd: repoRoot, env: { ...process.env, DEMO_RENDER_ONLY: '1', DEMO_CHART_PORT: String(port) } });
      assert.equal(result.code, 1);
      noStackTrace(result.stderr);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr, new RegExp(`port ${port} \\(DEMO_CHART_PORT\\) is in use`));
    } finally {
      await close(busy);
    }
  });

  it('renders the example HLD on a free port when 8879 (the port the example names) is taken', async () => {
    const busy = await occupy(8879); // undefined if something else holds it already: taken either way
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, DEMO_RENDER_ONLY: '1' };
      delete env.DEMO_CHART_PORT;
      const result = await runProcess(process.execPath, [demo], { cwd: repoRoot, env });
      assert.equal(result.code, 0, result.stderr);
      const served = /chart repository: http:\/\/127\.0\.0\.1:(\d+)/.exec(result.stdout);
      assert.ok(served, result.stdout);
      assert.notEqual(served[1], '8879');
      assert.match(result.stdout, /prod\/.*cache.*\.yaml/, 'the chart from the demo chart repository was rendered');
    } finally {
      await close(busy);
    }
  });

  it('without docker-registry, skopeo and apt-get, stops at once with one line saying what to install', async () => {
    // A PATH with only sh and git: what a machine without the Debian packages (and not root with apt) has.
    const bin = join(tempDir('bg-demo-path-'), 'bin');
    mkdirSync(bin);
    for (const tool of ['sh', 'git']) {
      const found = await runProcess('sh', ['-c', `command -v ${tool}`]);
      symlinkSync(found.stdout.trim(), join(bin, tool));
    }
    const started = Date.now();
    const result = await runProcess(process.execPath, [demo], { cwd: repoRoot, env: { PATH: bin, HOME: process.env.HOME } });
    assert.equal(result.code, 1);
    noStackTrace(result.stderr);
    assert.deepEqual(result.stderr.trim().split('\n'), [
      'Missing programs for the demo: docker-registry, skopeo, htpasswd; install them first with `sudo apt-get install -y --no-install-recommends docker-registry skopeo apache2-utils`',
    ]);
    assert.ok(Date.now() - started < 10_000, 'it stops before starting anything');
  });
});
