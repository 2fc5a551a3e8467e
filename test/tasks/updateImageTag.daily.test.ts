/**
 * Safe in daily use (issue 14), through the bundled task as the agent runs it: typos in the
 * environment or subcomponent are refused with the closest name, the newest build wins under
 * tagPolicy even when runs race, and several images land in one commit.
 */
import { strict as assert } from 'node:assert';
import { load } from 'js-yaml';
import { parseTrailers } from '../../tasks/core/git/commitMessage';
import { AzureDevOpsDouble } from '../support/azureDevOpsDouble';
import { git, startGitServer, type GitServer } from '../support/gitServer';
import { findLeaks, runTask, type TaskRun } from '../support/runTask';
import { bundleOnce, fileBytes, messageOf, refsOf, tipOf } from './updateImageTagHelpers';

const component = 'name: hld\nsubcomponents:\n  - name: api\n    type: helm\n    method: local\n    path: ./charts/api\n  - name: web\n    type: helm\n    method: local\n    path: ./charts/web\n';
const prod = 'subcomponents:\n  api:\n    config:\n      image:\n        repository: reg.example.com/api\n        tag: "5"\n  web:\n    config:\n      replicas: 2\n';
const staging = 'subcomponents:\n  api:\n    config:\n      image:\n        tag: "1.0.0"\n';

type Config = { subcomponents: Record<string, { config: { image?: { tag?: string; repository?: string }; replicas?: number } }> };

describe('UpdateImageTag in daily use: typos refused, newest build wins, several images (bundle, git over HTTP)', function () {
  this.timeout(600_000);
  let server: GitServer;
  let count = 0;

  before(async () => {
    await bundleOnce();
    server = await startGitServer();
  });
  after(async () => server?.stop());

  async function newRepo(files: Record<string, string> = { 'component.yaml': component, 'config/prod.yaml': prod, 'config/staging.yaml': staging }) {
    const name = `daily-${++count}`;
    const url = await server.createRepo(name, { files });
    return { url, bare: server.repoPath(name) };
  }
  const run = (url: string, inputs: Record<string, string>) => runTask('UpdateImageTag', {
    inputs: { hldRepositoryUrl: url, environment: 'prod', subcomponent: 'api', ...inputs },
    secrets: { 'System.AccessToken': server.token },
    timeoutMs: 400_000,
  });
  const ok = (r: TaskRun) => {
    assert.equal(r.result, 'Succeeded', `${r.message}\n${r.stdout}\n${r.stderr}`);
    assert.deepEqual(findLeaks(r, [server.token]), []);
  };
  const configAt = async (bare: string, file = 'config/prod.yaml') => load(await fileBytes(bare, 'main', file)) as Config;

  describe('typos are refused', () => {
    it('an environment without a config file fails, suggests the closest one, and pushes nothing', async () => {
      const repo = await newRepo();
      const before = await refsOf(repo.bare);
      const r = await run(repo.url, { environment: 'stagin', imageTag: '1.0.1' });
      assert.equal(r.result, 'Failed');
      assert.match(r.message ?? '', /environment "stagin" has no config file/);
      assert.match(r.message ?? '', /did you mean "staging"\?/);
      assert.match(r.message ?? '', /createEnvironment/);
      assert.equal(await refsOf(repo.bare), before);
    });

    it('createEnvironment starts the new environment on purpose', async () => {
      const repo = await newRepo();
      const r = await run(repo.url, { environment: 'canary', imageTag: '1.0.1', createEnvironment: 'true' });
      ok(r);
      assert.equal(r.outputs.hldChanged, 'true');
      assert.equal((await configAt(repo.bare, 'config/canary.yaml')).subcomponents.api.config.image?.tag, '1.0.1');
    });

    it('a subcomponent outside the component tree fails with the closest name; createSubcomponent allows it', async () => {
      const repo = await newRepo();
      const before = await refsOf(repo.bare);
      const typo = await run(repo.url, { subcomponent: 'apii', imageTag: '6' });
      assert.equal(typo.result, 'Failed');
      assert.match(typo.message ?? '', /subcomponent "apii" is not in the component tree.*did you mean "api"\?/);
      assert.equal(await refsOf(repo.bare), before);

      const nested = await run(repo.url, { subcomponent: 'api.sidecar', imageTag: '6' });
      assert.equal(nested.result, 'Failed', 'a helm subcomponent has no subcomponents of its own');
      assert.match(nested.message ?? '', /subcomponent "api.sidecar" is not in the component tree/);

      const meant = await run(repo.url, { subcomponent: 'worker', imageTag: '6', createSubcomponent: 'true' });
      ok(meant);
      assert.equal((await configAt(repo.bare)).subcomponents.worker.config.image?.tag, '6');
    });

    it('a key missing under an existing subcomponent is still created (first deployment), unless noNewKeys', async () => {
      const repo = await newRepo();
      const strict = await run(repo.url, { subcomponent: 'web', imageTag: '3', noNewKeys: 'true' });
      assert.equal(strict.result, 'Failed');
      assert.match(strict.message ?? '', /does not exist and new keys are not allowed/);
      const first = await run(repo.url, { subcomponent: 'web', imageTag: '3' });
      ok(first);
      const config = await configAt(repo.bare);
      assert.equal(config.subcomponents.web.config.image?.tag, '3');
      assert.equal(config.subcomponents.web.config.replicas, 2);
    });
  });

  describe('the newest build wins (tagPolicy)', () => {
    it('an older build succeeds without a commit, warns and names the newer tag already there', async () => {
      const repo = await newRepo();
      const before = await tipOf(repo.bare);
      const r = await run(repo.url, { imageTag: '4' });
      ok(r);
      assert.equal(r.outputs.hldChanged, 'false');
      assert.equal(r.outputs.hldCommitId, '');
      assert.equal(await tipOf(repo.bare), before);
      assert.ok(r.warnings.some((w) => /stays 5: it is newer than 4/.test(w)), r.warnings.join('\n'));
      assert.match(r.message ?? '', /already has 5, newer than 4: not written/);
      const summary = r.attachments.find((a) => a.type === 'Distributedtask.Core.Summary')?.content ?? '';
      assert.match(summary, /api keeps image\.tag 5, newer than 4/);
    });

    it('tagPolicy any writes the older tag (explicit rollback); a newer build number is written as usual', async () => {
      const repo = await newRepo();
      const rollback = await run(repo.url, { imageTag: '4', tagPolicy: 'any' });
      ok(rollback);
      assert.equal(rollback.outputs.hldChanged, 'true');
      assert.equal((await configAt(repo.bare)).subcomponents.api.config.image?.tag, '4');
      const newer = await run(repo.url, { imageTag: '12' });
      ok(newer);
      assert.equal((await configAt(repo.bare)).subcomponents.api.config.image?.tag, '12', '12 is newer than 4 as a number, not as text');
    });

    it('tagPolicy numeric fails on a tag that is not a build number, before anything is cloned', async () => {
      const repo = await newRepo();
      const before = await refsOf(repo.bare);
      const r = await run(repo.url, { imageTag: 'main-abc', tagPolicy: 'numeric' });
      assert.equal(r.result, 'Failed');
      assert.match(r.message ?? '', /"main-abc" is not a whole number/);
      const semver = await run(repo.url, { imageTag: '6', tagPolicy: 'semver' });
      assert.equal(semver.result, 'Failed');
      assert.equal(await refsOf(repo.bare), before);
    });

    it('pull-request mode: an older build opens no pull request and pushes no branch', async () => {
      const azure = new AzureDevOpsDouble({ token: server.token, repository: 'older' });
      await azure.start();
      try {
        const name = `${azure.organization}/${azure.project}/_git/${azure.repository}`;
        const url = await server.createRepo(name, { files: { 'component.yaml': component, 'config/prod.yaml': prod } });
        const bare = server.repoPath(name);
        const before = await refsOf(bare);
        const r = await run(url, { imageTag: '4', pushMode: 'pullRequest', pullRequestApiUrl: azure.collectionUrl });
        ok(r);
        assert.equal(r.outputs.hldChanged, 'false');
        assert.equal(r.outputs.pullRequestId, '');
        assert.equal(azure.pullRequests.length, 0);
        assert.equal(await refsOf(bare), before, 'no gitops/prod/api branch');
        assert.ok(r.warnings.some((w) => /stays 5/.test(w)));
        const newer = await run(url, { imageTag: '6', pushMode: 'pullRequest', pullRequestApiUrl: azure.collectionUrl });
        ok(newer);
        assert.equal(azure.pullRequests.length, 1, 'a newer build still opens its pull request');
        assert.deepEqual(azure.unexpectedCalls, []);
      } finally {
        await azure.stop();
      }
    });

    for (const [kind, tags] of [
      ['build numbers 1..8', Array.from({ length: 8 }, (_, i) => String(i + 1))],
      ['versions 1.0.1..1.0.8', Array.from({ length: 8 }, (_, i) => `1.0.${i + 1}`)],
    ] as const) {
      it(`8 concurrent runs writing ${kind} in random order always end with the highest; an old re-run changes nothing`, async () => {
        const repo = await newRepo({ 'component.yaml': component, 'config/prod.yaml': 'subcomponents:\n  api:\n    config:\n      image:\n        tag: "0"\n' });
        const order = [...tags].sort(() => Math.random() - 0.5);
        const runs = await Promise.all(order.map((tag) => run(repo.url, { imageTag: tag, maxPushAttempts: '30' })));
        runs.forEach(ok);
        const highest = tags[tags.length - 1];
        assert.equal((await configAt(repo.bare)).subcomponents.api.config.image?.tag, highest, `order ${order.join(' ')}`);
        assert.equal(runs[order.indexOf(highest)].outputs.hldChanged, 'true');
        assert.equal(await git(['--git-dir', repo.bare, 'rev-list', '--count', '--merges', 'main']), '0');
        const tip = await tipOf(repo.bare);
        const again = await run(repo.url, { imageTag: tags[2] });
        ok(again);
        assert.equal(again.outputs.hldChanged, 'false');
        assert.equal(await tipOf(repo.bare), tip);
      });
    }
  });

  describe('several images in one commit', () => {
    it('writes every image of the images input in one commit with one trailer per image', async () => {
      const repo = await newRepo();
      const before = Number(await git(['--git-dir', repo.bare, 'rev-list', '--count', 'main']));
      const r = await run(repo.url, {
        subcomponent: '',
        images: 'api=reg.example.com/team/api:7\n\nweb=20',
        tagKey: 'image.tag',
      });
      ok(r);
      assert.equal(r.outputs.hldChanged, 'true');
      assert.equal(Number(await git(['--git-dir', repo.bare, 'rev-list', '--count', 'main'])), before + 1);
      const config = await configAt(repo.bare);
      assert.deepEqual(config.subcomponents.api.config.image, { repository: 'reg.example.com/team/api', tag: '7' });
      assert.equal(config.subcomponents.web.config.image?.tag, '20');
      const message = await messageOf(repo.bare, 'main');
      assert.match(message, /^Gitops-Image: api=reg\.example\.com\/team\/api:7$/m);
      assert.match(message, /^Gitops-Image: web=20$/m);
      assert.equal(parseTrailers(message)['Gitops-Environment'], 'prod');
    });

    it('leaves out only the image whose tag is older than the HLD, and refuses a typo in any line', async () => {
      const repo = await newRepo();
      const r = await run(repo.url, { subcomponent: '', images: 'api=3\nweb=9' });
      ok(r);
      assert.equal(r.outputs.hldChanged, 'true');
      const config = await configAt(repo.bare);
      assert.equal(config.subcomponents.api.config.image?.tag, '5', 'api keeps the newer 5');
      assert.equal(config.subcomponents.web.config.image?.tag, '9');
      assert.ok(r.warnings.some((w) => /api image\.tag stays 5/.test(w)));

      const before = await refsOf(repo.bare);
      const typo = await run(repo.url, { subcomponent: '', images: 'api=10\nwbe=10' });
      assert.equal(typo.result, 'Failed');
      assert.match(typo.message ?? '', /subcomponent "wbe" is not in the component tree.*did you mean "web"\?/);
      assert.match(typo.message ?? '', /images/);
      const bad = await run(repo.url, { subcomponent: '', images: 'api=reg.example.com/api' });
      assert.equal(bad.result, 'Failed');
      assert.match(bad.message ?? '', /images line 1 .* has no tag/);
      const both = await run(repo.url, { subcomponent: 'api', images: 'web=10' });
      assert.equal(both.result, 'Failed');
      assert.match(both.message ?? '', /either images or imageTag, imageRepository and subcomponent/);
      assert.equal(await refsOf(repo.bare), before);
    });
  });
});
