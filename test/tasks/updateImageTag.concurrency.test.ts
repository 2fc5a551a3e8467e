import { strict as assert } from 'node:assert';
import { load } from 'js-yaml';
import { git, startGitServer, type GitServer } from '../support/gitServer';
import { findLeaks, runTask } from '../support/runTask';
import { bundleOnce, componentYaml, fileBytes } from './updateImageTagHelpers';

// One 16-way race is enough for the suite: test/core/git/retry.test.ts runs 16 writers through the
// same push-with-retry code in one process, and `npm run bench` runs 16 task processes. Here four
// bundled task processes prove the task level (clone, edit, retry, outputs) under contention.
const services = Array.from({ length: 4 }, (_, i) => `svc${String(i).padStart(2, '0')}`);

function configFor(names: string[]): string {
  return `# one entry per microservice\nsubcomponents:\n${names.map((n) => `  ${n}:\n    config:\n      image:\n        tag: initial\n`).join('')}`;
}

describe('UpdateImageTag under contention (4 task processes, one HLD repo over HTTP)', function () {
  this.timeout(600_000);
  let server: GitServer;

  before(async () => {
    await bundleOnce();
    server = await startGitServer();
  });
  after(async () => server?.stop());

  const run = (url: string, subcomponent: string, tag: string) => runTask('UpdateImageTag', {
    inputs: { hldRepositoryUrl: url, environment: 'prod', subcomponent, imageTag: tag, maxPushAttempts: '20' },
    secrets: { 'System.AccessToken': server.token },
    timeoutMs: 400_000,
  });

  it('4 runs for 4 subcomponents all succeed, every value lands, history stays linear', async () => {
    const url = await server.createRepo('contention', { files: { 'component.yaml': componentYaml, 'config/prod.yaml': configFor(services) } });
    const bare = server.repoPath('contention');
    const runs = await Promise.all(services.map((s) => run(url, s, `build-${s}`)));
    for (const [i, r] of runs.entries()) {
      assert.equal(r.result, 'Succeeded', `${services[i]}: ${r.message}\n${r.stderr}`);
      assert.equal(r.outputs.hldChanged, 'true');
      assert.deepEqual(findLeaks(r, [server.token]), []);
    }
    const config = load(await fileBytes(bare, 'main', 'config/prod.yaml')) as { subcomponents: Record<string, { config: { image: { tag: string } } }> };
    for (const s of services) assert.equal(config.subcomponents[s].config.image.tag, `build-${s}`);
    assert.equal(await git(['--git-dir', bare, 'rev-list', '--count', '--merges', 'main']), '0');
    assert.equal(await git(['--git-dir', bare, 'rev-list', '--count', 'main']), String(services.length + 1));
    const commits = new Set(runs.map((r) => r.outputs.hldCommitId));
    assert.equal(commits.size, services.length);
  });

  it('4 runs racing on the same key all succeed and the final value is one of theirs', async () => {
    const url = await server.createRepo('same-key', { files: { 'component.yaml': componentYaml, 'config/prod.yaml': configFor(['api']) } });
    const bare = server.repoPath('same-key');
    const tags = Array.from({ length: 4 }, (_, i) => `race-${i}`);
    const runs = await Promise.all(tags.map((tag) => run(url, 'api', tag)));
    for (const r of runs) {
      assert.equal(r.result, 'Succeeded', `${r.message}\n${r.stderr}`);
      assert.deepEqual(findLeaks(r, [server.token]), []);
    }
    const config = load(await fileBytes(bare, 'main', 'config/prod.yaml')) as { subcomponents: { api: { config: { image: { tag: string } } } } };
    assert.ok(tags.includes(config.subcomponents.api.config.image.tag), config.subcomponents.api.config.image.tag);
    assert.equal(await git(['--git-dir', bare, 'rev-list', '--count', '--merges', 'main']), '0');
  });
});
