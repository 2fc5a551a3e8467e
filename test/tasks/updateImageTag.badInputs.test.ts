import { strict as assert } from 'node:assert';
import { startGitServer, type GitServer } from '../support/gitServer';
import { findLeaks, runTask } from '../support/runTask';
import { bundleOnce, componentYaml, refsOf } from './updateImageTagHelpers';

const config = 'subcomponents:\n  api:\n    config:\n      image:\n        repository: r\n        tag: old\n';

/** Each bad input: the inputs to override and the input name the error must mention. */
const badInputs: { what: string; inputs: Record<string, string>; names: RegExp }[] = [
  { what: 'an empty tag', inputs: { imageTag: '' }, names: /imageTag/ },
  { what: 'a tag starting with "-"', inputs: { imageTag: '-rc1' }, names: /imageTag/ },
  { what: 'a tag with "/"', inputs: { imageTag: 'feature/x' }, names: /imageTag/ },
  { what: 'a tag longer than 128 characters', inputs: { imageTag: 'a'.repeat(129) }, names: /imageTag/ },
  { what: 'a tag with a control character', inputs: { imageTag: 'v1\u0007' }, names: /imageTag/ },
  { what: 'an upper-case repository', inputs: { imageRepository: 'myacr.azurecr.io/Team/API' }, names: /imageRepository/ },
  { what: 'a repository with a tag', inputs: { imageRepository: 'myacr.azurecr.io/team/api:1.0' }, names: /imageRepository/ },
  { what: 'a repository with a URL scheme', inputs: { imageRepository: 'https://myacr.azurecr.io/team/api' }, names: /imageRepository/ },
  { what: 'an environment with a path', inputs: { environment: '../prod' }, names: /environment/ },
  { what: 'a subcomponent with an empty segment', inputs: { subcomponent: 'api..web' }, names: /subcomponent/ },
  { what: 'a subcomponent with a slash', inputs: { subcomponent: 'api/../../x' }, names: /subcomponent/ },
  { what: 'a componentPath leaving the HLD', inputs: { componentPath: '../outside' }, names: /componentPath/ },
  { what: 'an absolute componentPath', inputs: { componentPath: '/etc' }, names: /componentPath/ },
  { what: 'a componentPath that does not exist', inputs: { componentPath: 'no/such/folder' }, names: /componentPath/ },
  { what: 'a tagKey with an empty segment', inputs: { tagKey: 'image..tag' }, names: /tagKey/ },
  { what: 'a repositoryKey equal to the tagKey', inputs: { imageRepository: 'myacr.azurecr.io/api', repositoryKey: 'image.tag' }, names: /repositoryKey/ },
  { what: 'an additional value without "="', inputs: { additionalValues: 'replicas 3' }, names: /additionalValues/ },
  { what: 'an additional value setting the tag key again', inputs: { additionalValues: 'image.tag=other' }, names: /additionalValues/ },
  { what: 'maxPushAttempts out of range', inputs: { maxPushAttempts: '0' }, names: /maxPushAttempts/ },
  { what: 'maxPushAttempts not a number', inputs: { maxPushAttempts: 'many' }, names: /maxPushAttempts/ },
  { what: 'an unknown pushMode', inputs: { pushMode: 'force' }, names: /pushMode/ },
  { what: 'an unknown mergeStrategy', inputs: { pushMode: 'pullRequest', mergeStrategy: 'octopus' }, names: /mergeStrategy/ },
  { what: 'neither hldRepositoryUrl nor hldPath', inputs: { hldRepositoryUrl: '' }, names: /hldRepositoryUrl|hldPath/ },
  { what: 'a repository URL with credentials', inputs: { hldRepositoryUrl: 'http://user:secret@127.0.0.1:1/hld' }, names: /hldRepositoryUrl/ },
  { what: 'an invalid branch name', inputs: { hldBranch: 'main..x' }, names: /hldBranch/ },
  { what: 'a commit message with an unknown placeholder', inputs: { commitMessage: 'Bump {tga}' }, names: /commitMessage/ },
  { what: 'a missing key with noNewKeys', inputs: { noNewKeys: 'true', tagKey: 'image.version' }, names: /image\.version|new keys/ },
  { what: 'an author email that is not an address', inputs: { gitUserEmail: 'nobody' }, names: /gitUserEmail/ },
];

describe('UpdateImageTag rejects bad inputs before touching the HLD', function () {
  this.timeout(300_000);
  let server: GitServer;
  let url: string;
  let bare: string;

  before(async () => {
    await bundleOnce();
    server = await startGitServer();
    url = await server.createRepo('hld', { files: { 'component.yaml': componentYaml, 'config/prod.yaml': config, 'config/broken.yaml': 'subcomponents:\n  api: [\n' } });
    bare = server.repoPath('hld');
  });
  after(async () => server?.stop());

  const run = (overrides: Record<string, string>) => runTask('UpdateImageTag', {
    inputs: { hldRepositoryUrl: url, environment: 'prod', subcomponent: 'api', imageTag: 'v2', ...overrides },
    secrets: { 'System.AccessToken': server.token },
  });

  for (const bad of [...badInputs, { what: 'a config file that does not parse', inputs: { environment: 'broken' }, names: /broken\.yaml/ }]) {
    it(`fails on ${bad.what}, naming the input, with the repository untouched`, async () => {
      const before = await refsOf(bare);
      const result = await run(bad.inputs);
      assert.equal(result.result, 'Failed', `${result.message}\n${result.stdout}\n${result.stderr}`);
      assert.notEqual(result.code, 0);
      assert.match(result.message ?? '', bad.names);
      assert.equal(await refsOf(bare), before);
      assert.deepEqual(findLeaks(result, [server.token]), []);
    });
  }
});
