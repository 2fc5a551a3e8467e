/** The CLI's side of issue 14: --image (repeated), --tag-policy, typo refusal and --create-environment. */
import { strict as assert } from 'node:assert';
import { load } from 'js-yaml';
import { startGitServer, type GitServer } from '../support/gitServer';
import { bundleOnce, fileBytes, messageOf, refsOf, tipOf, runCli } from './updateImageTagHelpers';

const cli = runCli;

describe('bedrock-gitops update-image-tag in daily use (bundled CLI, git over HTTP)', function () {
  this.timeout(180_000);
  let server: GitServer;
  let url: string;
  let bare: string;
  const token = () => ({ GITOPS_GIT_TOKEN: server.token });

  before(async () => {
    await bundleOnce();
    server = await startGitServer();
    url = await server.createRepo('hld', {
      files: {
        'component.yaml': 'name: hld\nsubcomponents:\n  - name: api\n    type: static\n    path: ./api\n  - name: web\n    type: static\n    path: ./web\n',
        'config/prod.yaml': 'subcomponents:\n  api:\n    config:\n      image:\n        tag: "1.4.0"\n',
        'config/staging.yaml': '{}\n',
      },
    });
    bare = server.repoPath('hld');
  });
  after(async () => server?.stop());

  it('--environment stagin exits 1 with "did you mean", pushes nothing; --create-environment allows a new one', async () => {
    const before = await refsOf(bare);
    const typo = await cli(['update-image-tag', '--hld-repo', url, '--environment', 'stagin', '--subcomponent', 'api', '--tag', '1.5.0'], token());
    assert.equal(typo.code, 1);
    assert.match(typo.stderr, /environment "stagin" has no config file.*did you mean "staging"\?/);
    assert.equal(await refsOf(bare), before);
    const created = await cli(['update-image-tag', '--hld-repo', url, '--environment', 'dr', '--subcomponent', 'api', '--tag', '1.5.0', '--create-environment'], token());
    assert.equal(created.code, 0, created.stderr);
    assert.match(await fileBytes(bare, 'main', 'config/dr.yaml'), /tag: "1\.5\.0"/);
  });

  it('repeated --image writes several images in one commit; an older version is kept unless --tag-policy any', async () => {
    const before = await tipOf(bare);
    const both = await cli(['update-image-tag', '--hld-repo', url, '--environment', 'prod', '--image', 'api=reg.example.com/api:1.3.9', '--image', 'web=reg.example.com/web:2.0.0'], token());
    assert.equal(both.code, 0, both.stderr);
    assert.match(both.stderr, /api image\.tag already has 1\.4\.0, newer than 1\.3\.9: not written/);
    const config = load(await fileBytes(bare, 'main', 'config/prod.yaml')) as { subcomponents: Record<string, { config: { image: { tag: string; repository?: string } } }> };
    assert.equal(config.subcomponents.api.config.image.tag, '1.4.0');
    assert.deepEqual(config.subcomponents.web.config.image, { repository: 'reg.example.com/web', tag: '2.0.0' });
    assert.equal(await refsOf(bare).then((r) => r.includes(before)), false, 'one new commit');
    assert.match(await messageOf(bare, 'main'), /^Gitops-Image: web=reg\.example\.com\/web:2\.0\.0$/m);

    const rollback = await cli(['update-image-tag', '--hld-repo', url, '--environment', 'prod', '--subcomponent', 'api', '--tag', '1.3.9', '--tag-policy', 'any'], token());
    assert.equal(rollback.code, 0, rollback.stderr);
    assert.match(await fileBytes(bare, 'main', 'config/prod.yaml'), /tag: "1\.3\.9"/);

    const bad = await cli(['update-image-tag', '--hld-repo', url, '--environment', 'prod', '--subcomponent', 'api', '--tag', '1', '--tag-policy', 'newest'], token());
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--tag-policy must be one of auto, semver, numeric, any/);
  });
});
