import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTrailers } from '../../tasks/core/git/commitMessage';
import { git, startGitServer, type GitServer } from '../support/gitServer';
import { findLeaks, runTask, type TaskRun } from '../support/runTask';
import { tempDir } from '../support/tmp';
import { bundleOnce, componentYaml, createFileRepo, fileBytes, messageOf, refsOf, tipOf } from './updateImageTagHelpers';

const prodConfig = `# production values
subcomponents:
  api:
    config:
      image:
        repository: myacr.azurecr.io/team/api # where CI pushes
        tag: "1.0.0"   # bumped by CI
      replicas: 3
`;

describe('UpdateImageTag task (bundle, git over HTTP with token auth)', function () {
  this.timeout(240_000);
  let server: GitServer;
  let repoCount = 0;

  before(async () => {
    await bundleOnce();
    server = await startGitServer();
  });
  after(async () => server?.stop());

  async function newRepo(files: Record<string, string> = { 'component.yaml': componentYaml, 'config/prod.yaml': prodConfig }) {
    const name = `hld-${++repoCount}`;
    const url = await server.createRepo(name, { files });
    return { url, bare: server.repoPath(name) };
  }

  const inputs = (url: string, extra: Record<string, string> = {}) => ({
    hldRepositoryUrl: url, hldBranch: 'main', environment: 'prod', subcomponent: 'api', imageTag: '1.2.3', ...extra,
  });
  const buildVariables = {
    'Build.BuildId': '4711',
    'Build.BuildNumber': '20250101.3',
    'Build.SourceVersion': '0123456789abcdef0123456789abcdef01234567',
    'Build.Repository.Name': 'api-service',
    'System.CollectionUri': 'https://dev.azure.com/fabrikam/',
    'System.TeamProject': 'Platform',
  };

  function assertNoLeaks(run: TaskRun, extra: Record<string, string> = {}) {
    assert.deepEqual(findLeaks(run, [server.token], extra), []);
  }

  it('sets the tag with System.AccessToken, pushes one commit and reports the outputs', async () => {
    const repo = await newRepo();
    const before = await tipOf(repo.bare);
    const run = await runTask('UpdateImageTag', {
      inputs: inputs(repo.url, { imageRepository: 'myacr.azurecr.io/team/api' }),
      variables: buildVariables,
      secrets: { 'System.AccessToken': server.token },
    });
    assert.equal(run.result, 'Succeeded', run.message + run.stdout);
    const after = await tipOf(repo.bare);
    assert.equal(run.outputs.hldCommitId, after);
    assert.equal(run.outputs.hldChanged, 'true');
    assert.equal(run.outputs.pullRequestId, '');
    assert.equal(await git(['--git-dir', repo.bare, 'rev-parse', `${after}^`]), before);
    const text = await fileBytes(repo.bare, 'main', 'config/prod.yaml');
    assert.equal(text, prodConfig.replace('tag: "1.0.0"', 'tag: "1.2.3"'));
    assertNoLeaks(run);
  });

  it('records image, build and source commit as commit trailers', async () => {
    const repo = await newRepo();
    const run = await runTask('UpdateImageTag', {
      inputs: inputs(repo.url, { imageRepository: 'myacr.azurecr.io/team/api' }),
      variables: buildVariables,
      secrets: { 'System.AccessToken': server.token },
    });
    assert.equal(run.result, 'Succeeded', run.message);
    const message = await messageOf(repo.bare, 'main');
    assert.match(message.split('\n')[0], /^Update api image to 1\.2\.3 in prod$/);
    const trailers = parseTrailers(message);
    assert.equal(trailers['Gitops-Image'], 'myacr.azurecr.io/team/api:1.2.3');
    assert.equal(trailers['Gitops-Build'], 'https://dev.azure.com/fabrikam/Platform/_build/results?buildId=4711');
    assert.equal(trailers['Gitops-Source-Commit'], buildVariables['Build.SourceVersion']);
    assert.equal(trailers['Gitops-Source-Repository'], 'api-service');
    assertNoLeaks(run);
  });

  it('attaches a Markdown summary with file, key, old and new value', async () => {
    const repo = await newRepo();
    const run = await runTask('UpdateImageTag', { inputs: inputs(repo.url), secrets: { 'System.AccessToken': server.token } });
    assert.equal(run.result, 'Succeeded', run.message);
    const summary = run.attachments.find((a) => a.type === 'Distributedtask.Core.Summary');
    assert.ok(summary, 'summary attachment');
    assert.match(summary.content, /\| config\/prod\.yaml \| image\.tag \| 1\.0\.0 \| 1\.2\.3 \|/);
    assert.match(summary.content, new RegExp(`Commit: ${run.outputs.hldCommitId.slice(0, 12)}`));
    assertNoLeaks(run);
  });

  it('commits nothing and reports hldChanged=false when the tag is already set', async () => {
    const repo = await newRepo();
    const before = await refsOf(repo.bare);
    const run = await runTask('UpdateImageTag', { inputs: inputs(repo.url, { imageTag: '1.0.0' }), secrets: { 'System.AccessToken': server.token } });
    assert.equal(run.result, 'Succeeded', run.message);
    assert.equal(run.outputs.hldChanged, 'false');
    assert.equal(run.outputs.hldCommitId, '');
    assert.equal(await refsOf(repo.bare), before);
    assertNoLeaks(run);
  });

  it('authenticates with the classic SystemVssConnection endpoint', async () => {
    const repo = await newRepo();
    const run = await runTask('UpdateImageTag', {
      inputs: inputs(repo.url),
      endpoints: { SystemVssConnection: { url: 'https://dev.azure.com/fabrikam/', scheme: 'OAuth', parameters: { AccessToken: server.token } } },
    });
    assert.equal(run.result, 'Succeeded', run.message);
    assert.equal(run.outputs.hldCommitId, await tipOf(repo.bare));
    assertNoLeaks(run);
  });

  it('authenticates with a Generic gitConnection (user name + token)', async () => {
    const repo = await newRepo();
    const run = await runTask('UpdateImageTag', {
      inputs: inputs(repo.url, { gitConnection: 'hld-connection' }),
      endpoints: { 'hld-connection': { url: server.baseUrl, parameters: { username: 'builder', password: server.token } } },
    });
    assert.equal(run.result, 'Succeeded', run.message);
    assert.equal(run.outputs.hldCommitId, await tipOf(repo.bare));
    assertNoLeaks(run);
  });

  it('DEBUG=* prints no token, and GIT_DIR or GIT_CONFIG_* pipeline variables do not redirect git', async () => {
    const repo = await newRepo();
    const elsewhere = tempDir('git-dir-');
    const run = await runTask('UpdateImageTag', {
      inputs: inputs(repo.url),
      // Pipeline variables reach the task as environment variables.
      variables: { GIT_DIR: elsewhere, GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'url.http://127.0.0.9/.insteadOf', GIT_CONFIG_VALUE_0: server.baseUrl },
      env: { DEBUG: '*' },
      secrets: { 'System.AccessToken': server.token },
    });
    assert.equal(run.result, 'Succeeded', run.message + run.stderr);
    assert.equal(run.outputs.hldCommitId, await tipOf(repo.bare));
    assert.deepEqual(readdirSync(elsewhere), []);
    assertNoLeaks(run);
  });

  it('fails clearly with a wrong token and leaves the repository untouched', async () => {
    const repo = await newRepo();
    const before = await refsOf(repo.bare);
    const wrong = 'wrong-token-0123456789';
    const run = await runTask('UpdateImageTag', { inputs: inputs(repo.url), secrets: { 'System.AccessToken': wrong } });
    assert.equal(run.result, 'Failed');
    assert.notEqual(run.code, 0);
    assert.match(run.message ?? '', /authentication|permission/i);
    assert.equal(await refsOf(repo.bare), before);
    assert.deepEqual(findLeaks(run, [wrong, server.token]), []);
  });

  it('writes a tag that looks like a number as a string', async () => {
    const repo = await newRepo({ 'component.yaml': componentYaml, 'config/prod.yaml': 'subcomponents:\n  api:\n    config:\n      image:\n        tag: 1.9\n' });
    const run = await runTask('UpdateImageTag', { inputs: inputs(repo.url, { imageTag: '1.10' }), secrets: { 'System.AccessToken': server.token } });
    assert.equal(run.result, 'Succeeded', run.message);
    assert.equal(await fileBytes(repo.bare, 'main', 'config/prod.yaml'), 'subcomponents:\n  api:\n    config:\n      image:\n        tag: "1.10"\n');
    assertNoLeaks(run);
  });

  it('sets additional values and the repository in the same commit', async () => {
    const repo = await newRepo();
    const before = await tipOf(repo.bare);
    const run = await runTask('UpdateImageTag', {
      inputs: inputs(repo.url, { imageRepository: 'myacr.azurecr.io/team/api2', additionalValues: 'podAnnotations.build=4711\nreplicas:=5' }),
      secrets: { 'System.AccessToken': server.token },
    });
    assert.equal(run.result, 'Succeeded', run.message);
    assert.equal(await git(['--git-dir', repo.bare, 'rev-list', '--count', `${before}..main`]), '1');
    const text = await fileBytes(repo.bare, 'main', 'config/prod.yaml');
    assert.match(text, /repository: myacr\.azurecr\.io\/team\/api2 # where CI pushes/);
    assert.match(text, /replicas: 5\n/);
    assert.match(text, /podAnnotations:\n {8}build: "4711"\n/);
    assertNoLeaks(run);
  });

  it('commits and pushes from an existing checkout given as hldPath (detached and behind the tip)', async () => {
    const repo = await createFileRepo({ 'component.yaml': componentYaml, 'config/prod.yaml': prodConfig });
    const checkout = join(tempDir('hld-checkout-'), 'hld');
    await git(['clone', '--quiet', repo.url, checkout]);
    await git(['checkout', '--quiet', '--detach'], { cwd: checkout });
    // Someone else pushes after the pipeline checked out.
    const other = join(tempDir('hld-other-'), 'hld');
    await git(['clone', '--quiet', repo.url, other]);
    await git(['commit', '--quiet', '--allow-empty', '-m', 'other change'], { cwd: other });
    await git(['push', '--quiet', 'origin', 'HEAD:main'], { cwd: other });
    const otherTip = await git(['rev-parse', 'HEAD'], { cwd: other });

    const run = await runTask('UpdateImageTag', { inputs: { ...inputs(''), hldPath: checkout } });
    assert.equal(run.result, 'Succeeded', run.message);
    assert.equal(await git(['--git-dir', repo.bare, 'rev-parse', 'main^']), otherTip);
    assert.equal(run.outputs.hldCommitId, await tipOf(repo.bare));
  });

  it('does not treat the default working directory (an empty hldPath filled in by the agent) as the HLD checkout', async () => {
    const repo = await createFileRepo({ 'component.yaml': componentYaml, 'config/prod.yaml': prodConfig });
    const checkout = join(tempDir('hld-sources-'), 's');
    await git(['clone', '--quiet', repo.url, checkout]);
    const before = await refsOf(repo.bare);
    const run = await runTask('UpdateImageTag', { inputs: { ...inputs(''), hldPath: checkout }, cwd: checkout });
    assert.equal(run.result, 'Failed');
    assert.match(run.message ?? '', /hldRepositoryUrl/);
    assert.equal(await refsOf(repo.bare), before);
  });

  it('works against a file:// repository without credentials', async () => {
    const repo = await createFileRepo({ 'component.yaml': componentYaml, 'config/prod.yaml': prodConfig });
    const run = await runTask('UpdateImageTag', { inputs: inputs(repo.url) });
    assert.equal(run.result, 'Succeeded', run.message);
    assert.equal(run.outputs.hldCommitId, await tipOf(repo.bare));
  });

  it('edits config/<env>.yaml of the component at componentPath', async () => {
    const repo = await newRepo({ 'component.yaml': componentYaml, 'api/ring0/component.yaml': 'name: ring0\n', 'api/ring0/config/prod.yaml': 'subcomponents:\n  chart:\n    config:\n      image:\n        tag: a\n' });
    const run = await runTask('UpdateImageTag', {
      inputs: inputs(repo.url, { componentPath: 'api/ring0', subcomponent: 'chart', imageTag: 'b' }),
      secrets: { 'System.AccessToken': server.token },
    });
    assert.equal(run.result, 'Succeeded', run.message);
    assert.match(await fileBytes(repo.bare, 'main', 'api/ring0/config/prod.yaml'), /tag: b\n/);
    assertNoLeaks(run);
  });

  it('leaves no credential in the clone it used (nothing left behind) or in the hldPath checkout config', async () => {
    const repo = await newRepo();
    const checkout = join(tempDir('hld-http-checkout-'), 'hld');
    await git(['clone', '--quiet', repo.url, checkout], { env: server.authEnv });
    const run = await runTask('UpdateImageTag', { inputs: { ...inputs(''), hldPath: checkout }, secrets: { 'System.AccessToken': server.token } });
    assert.equal(run.result, 'Succeeded', run.message);
    assertNoLeaks(run, { '.git/config': readFileSync(join(checkout, '.git', 'config'), 'utf8') });
    assert.equal(run.outputs.hldCommitId, await tipOf(repo.bare));
  });
});

describe('UpdateImageTag format preservation (bundle, byte diff)', function () {
  this.timeout(240_000);
  before(bundleOnce);

  const cases: { name: string; before: string; after: string; subcomponent?: string; tag?: string }[] = [
    {
      name: 'comments and blank lines',
      before: '# prod\n\nsubcomponents:\n  # the API\n  api:\n    config:\n\n      image:\n        tag: old   # CI\n\n      # end\n',
      after: '# prod\n\nsubcomponents:\n  # the API\n  api:\n    config:\n\n      image:\n        tag: v2   # CI\n\n      # end\n',
    },
    {
      name: 'anchors and aliases elsewhere',
      before: 'defaults: &defaults\n  replicas: 2\nsubcomponents:\n  api:\n    config:\n      <<: *defaults\n      image:\n        tag: old\n  web:\n    config: *defaults\n',
      after: 'defaults: &defaults\n  replicas: 2\nsubcomponents:\n  api:\n    config:\n      <<: *defaults\n      image:\n        tag: v2\n  web:\n    config: *defaults\n',
    },
    {
      name: 'block scalars',
      before: 'subcomponents:\n  api:\n    config:\n      notes: |\n        keep\n        these lines\n      image:\n        tag: >-\n          old\n      after: x\n',
      after: 'subcomponents:\n  api:\n    config:\n      notes: |\n        keep\n        these lines\n      image:\n        tag: "v2"\n      after: x\n',
    },
    {
      name: 'flow maps',
      before: 'subcomponents:\n  api:\n    config:\n      image: {repository: r, tag: old}\n',
      after: 'subcomponents:\n  api:\n    config:\n      image: {repository: r, tag: v2}\n',
    },
    {
      name: 'quoted keys and single-quoted values',
      before: 'subcomponents:\n  "api":\n    \'config\':\n      "image":\n        \'tag\': \'old\'\n',
      after: 'subcomponents:\n  "api":\n    \'config\':\n      "image":\n        \'tag\': \'v2\'\n',
    },
    {
      name: 'CRLF line endings',
      before: 'subcomponents:\r\n  api:\r\n    config:\r\n      image:\r\n        tag: old\r\n      replicas: 1\r\n',
      after: 'subcomponents:\r\n  api:\r\n    config:\r\n      image:\r\n        tag: v2\r\n      replicas: 1\r\n',
    },
    {
      name: 'a subcomponent without config:',
      before: 'subcomponents:\n  api:\n    source: ./api # local\n  web: {}\n',
      after: 'subcomponents:\n  api:\n    source: ./api # local\n    config:\n      image:\n        tag: v2\n  web: {}\n',
    },
    {
      name: 'a file without subcomponents:',
      before: '# only component values\nconfig:\n  region: west\n',
      after: '# only component values\nconfig:\n  region: west\nsubcomponents:\n  api:\n    config:\n      image:\n        tag: v2\n',
    },
  ];

  for (const testCase of cases) {
    it(`changes only the tag bytes in a config with ${testCase.name}`, async () => {
      const repo = await createFileRepo({ 'component.yaml': componentYaml, 'config/prod.yaml': testCase.before });
      const run = await runTask('UpdateImageTag', {
        inputs: { hldRepositoryUrl: repo.url, environment: 'prod', subcomponent: testCase.subcomponent ?? 'api', imageTag: testCase.tag ?? 'v2' },
      });
      assert.equal(run.result, 'Succeeded', run.message);
      assert.equal(JSON.stringify(await fileBytes(repo.bare, 'main', 'config/prod.yaml')), JSON.stringify(testCase.after));
    });
  }

  for (const tag of ['007', '2e3', 'true']) {
    it(`writes the tag ${tag} so it reads back as a string`, async () => {
      const repo = await createFileRepo({ 'component.yaml': componentYaml, 'config/prod.yaml': 'subcomponents:\n  api:\n    config:\n      image:\n        tag: 1\n' });
      const run = await runTask('UpdateImageTag', { inputs: { hldRepositoryUrl: repo.url, environment: 'prod', subcomponent: 'api', imageTag: tag } });
      assert.equal(run.result, 'Succeeded', run.message);
      assert.equal(await fileBytes(repo.bare, 'main', 'config/prod.yaml'), `subcomponents:\n  api:\n    config:\n      image:\n        tag: "${tag}"\n`);
    });
  }
});

