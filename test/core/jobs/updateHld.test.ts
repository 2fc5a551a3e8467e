import { strict as assert } from 'node:assert';
import { parseTrailers } from '../../../tasks/core/git/commitMessage';
import { buildCommitMessage, expandTemplate } from '../../../tasks/core/jobs/commitMessage';
import { pullRequestBranchName } from '../../../tasks/core/names';
import { updateHld, type HldUpdateOptions } from '../../../tasks/core/jobs/updateHld';
import { imageTagValues } from '../../../tasks/core/jobs/updateImageTag';
import { parseAssignment } from '../../../tasks/core/hld/set';
import { silentLogger } from '../../../tasks/core/logger';
import { load } from 'js-yaml';
import { git } from '../../support/gitServer';
import { tempDir } from '../../support/tmp';
import { componentYaml, createFileRepo, fileBytes, refsOf } from '../../tasks/updateImageTagHelpers';

function options(url: string, subcomponent: string, values: string[], extra: Partial<HldUpdateOptions> = {}): HldUpdateOptions {
  return {
    target: { repositoryUrl: url, branch: 'main', componentPath: '', environment: 'prod', subcomponent },
    values: values.map((v) => parseAssignment(v)),
    noNewKeys: false,
    commit: { subject: `Update ${subcomponent}`, author: { name: 'CI', email: 'ci@example.com' }, trailers: { 'Gitops-Test': 'yes' } },
    push: { mode: 'direct', maxAttempts: 20 },
    provenance: { system: 'test', sourceCommit: 'abc123' },
    workDir: tempDir('hld-work-'),
    logger: silentLogger,
    ...extra,
  };
}

describe('updateHld (core, file:// repositories)', function () {
  this.timeout(120_000);

  it('re-applies the edit on the new tip when concurrent writers race (linear history, all values kept)', async () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    const repo = await createFileRepo({ 'component.yaml': componentYaml, 'config/prod.yaml': 'subcomponents: {}\n' });
    const results = await Promise.all(names.map((n) => updateHld(options(repo.url, n, [`image.tag=${n}-1`], { createSubcomponent: true }))));
    assert.ok(results.every((r) => r.changed));
    const config = load(await fileBytes(repo.bare, 'main', 'config/prod.yaml')) as { subcomponents: Record<string, { config: { image: { tag: string } } }> };
    for (const n of names) assert.equal(config.subcomponents[n].config.image.tag, `${n}-1`);
    assert.equal(await git(['--git-dir', repo.bare, 'rev-list', '--count', '--merges', 'main']), '0');
    assert.ok(results.some((r) => r.attempts > 1), 'at least one writer had to retry');
  });

  it('writes the commit trailers of the caller and of the provenance', async () => {
    const repo = await createFileRepo({ 'component.yaml': componentYaml });
    const result = await updateHld(options(repo.url, 'api', ['image.tag=v1'], { createEnvironment: true }));
    const trailers = parseTrailers(await git(['--git-dir', repo.bare, 'log', '-1', '--format=%B', 'main']));
    assert.equal(trailers['Gitops-Test'], 'yes');
    assert.equal(trailers['Gitops-Source-Commit'], 'abc123');
    assert.equal(result.file, 'config/prod.yaml');
    assert.deepEqual(result.changes, [{ key: 'image.tag', newValue: 'v1' }]);
  });

  it('a dry run edits nothing in the remote', async () => {
    const repo = await createFileRepo({ 'component.yaml': componentYaml });
    const before = await refsOf(repo.bare);
    const result = await updateHld(options(repo.url, 'api', ['image.tag=v1'], { dryRun: true, createEnvironment: true }));
    assert.equal(result.changed, true);
    assert.equal(await refsOf(repo.bare), before);
  });

  it('fails with noNewKeys when the subcomponent does not exist, committing nothing', async () => {
    const repo = await createFileRepo({ 'component.yaml': componentYaml, 'config/prod.yaml': 'subcomponents:\n  api:\n    config: {}\n' });
    const before = await refsOf(repo.bare);
    await assert.rejects(updateHld(options(repo.url, 'web', ['image.tag=v1'], { noNewKeys: true, createSubcomponent: true })), /does not exist and new keys are not allowed/);
    assert.equal(await refsOf(repo.bare), before);
  });
});

describe('image tag values and commit messages', () => {
  it('writes numeric-looking tags as typed strings and others as plain strings', () => {
    const values = imageTagValues({ imageTag: '1.10', imageRepository: 'myacr.azurecr.io/api', tagKey: 'image.tag', repositoryKey: 'image.repository', additionalValues: [] });
    assert.deepEqual(values[0], { path: ['image', 'tag'], value: '"1.10"', typed: true });
    assert.deepEqual(values[1], { path: ['image', 'repository'], value: 'myacr.azurecr.io/api', typed: false });
  });

  it('rejects a digest that is not sha256, naming the input', () => {
    assert.throws(() => imageTagValues({ imageTag: 'v1', tagKey: 'image.tag', repositoryKey: 'r', additionalValues: [], digest: 'md5:x', digestKey: 'image.digest' }),
      (e: Error & { field?: string }) => e.field === 'digest');
  });

  it('expands template placeholders and refuses unknown ones', () => {
    assert.equal(expandTemplate('Bump {tag} in {environment}', { tag: 'v1', environment: 'prod' }), 'Bump v1 in prod');
    assert.throws(() => expandTemplate('Bump {tga}', { tag: 'v1' }), /unknown placeholder \{tga\}/);
  });

  it('puts the template body between subject and trailers', () => {
    const message = buildCommitMessage({ subject: 'unused', template: 'Bump {tag}\n\nBecause.', placeholders: { tag: 'v1' }, trailers: { 'Gitops-Image': 'r:v1' } });
    assert.equal(message, 'Bump v1\n\nBecause.\n\nGitops-Image: r:v1\n');
  });

  it('derives a safe deterministic pull request branch', () => {
    assert.equal(pullRequestBranchName(['prod', 'app.api']), 'gitops/prod/app.api');
    assert.equal(pullRequestBranchName(['prod', 'a b/..c']), 'gitops/prod/a-b-.c');
    assert.equal(pullRequestBranchName(['prod', '']), 'gitops/prod/root');
  });
});
