import { strict as assert } from 'node:assert';
import { detectProvider, type RepoProvider } from '../../../tasks/core/pull-requests';

const table: [string, RepoProvider | undefined][] = [
  ['https://dev.azure.com/fabrikam/Platform/_git/manifests',
    { kind: 'azure', collectionUrl: 'https://dev.azure.com/fabrikam', project: 'Platform', repository: 'manifests' }],
  ['https://fabrikam@dev.azure.com/fabrikam/Platform/_git/manifests',
    { kind: 'azure', collectionUrl: 'https://dev.azure.com/fabrikam', project: 'Platform', repository: 'manifests' }],
  ['https://dev.azure.com/fabrikam/My%20Project/_git/hld%20repo',
    { kind: 'azure', collectionUrl: 'https://dev.azure.com/fabrikam', project: 'My Project', repository: 'hld repo' }],
  ['https://dev.azure.com/fabrikam/_git/Platform',
    { kind: 'azure', collectionUrl: 'https://dev.azure.com/fabrikam', project: 'Platform', repository: 'Platform' }],
  ['https://fabrikam.visualstudio.com/Platform/_git/manifests',
    { kind: 'azure', collectionUrl: 'https://fabrikam.visualstudio.com', project: 'Platform', repository: 'manifests' }],
  ['https://fabrikam.visualstudio.com/DefaultCollection/Platform/_git/manifests',
    { kind: 'azure', collectionUrl: 'https://fabrikam.visualstudio.com/DefaultCollection', project: 'Platform', repository: 'manifests' }],
  ['git@ssh.dev.azure.com:v3/fabrikam/Platform/manifests',
    { kind: 'azure', collectionUrl: 'https://dev.azure.com/fabrikam', project: 'Platform', repository: 'manifests' }],
  ['fabrikam@vs-ssh.visualstudio.com:v3/fabrikam/Platform/manifests',
    { kind: 'azure', collectionUrl: 'https://fabrikam.visualstudio.com', project: 'Platform', repository: 'manifests' }],
  ['https://tfs.contoso.com/tfs/DefaultCollection/Platform/_git/manifests',
    { kind: 'azure', collectionUrl: 'https://tfs.contoso.com/tfs/DefaultCollection', project: 'Platform', repository: 'manifests' }],
  ['https://github.com/contoso/manifests',
    { kind: 'github', apiUrl: 'https://api.github.com', owner: 'contoso', repository: 'manifests' }],
  ['https://github.com/contoso/manifests.git',
    { kind: 'github', apiUrl: 'https://api.github.com', owner: 'contoso', repository: 'manifests' }],
  ['https://x-access-token@github.com/contoso/manifests.git',
    { kind: 'github', apiUrl: 'https://api.github.com', owner: 'contoso', repository: 'manifests' }],
  ['git@github.com:contoso/manifests.git',
    { kind: 'github', apiUrl: 'https://api.github.com', owner: 'contoso', repository: 'manifests' }],
  ['ssh://git@github.com/contoso/manifests.git',
    { kind: 'github', apiUrl: 'https://api.github.com', owner: 'contoso', repository: 'manifests' }],
  ['https://gitlab.com/contoso/manifests.git', undefined],
  ['file:///tmp/manifests.git', undefined],
  ['/srv/git/manifests.git', undefined],
  ['https://dev.azure.com/fabrikam/Platform/_git/manifests/extra', undefined],
];

describe('detectProvider', () => {
  for (const [remote, expected] of table) {
    it(`${remote} → ${expected?.kind ?? "no provider"}`, () => {
      assert.deepEqual(detectProvider(remote), expected);
    });
  }

  it('uses the Azure collection override for a test double or an on-prem server', () => {
    assert.deepEqual(
      detectProvider('http://127.0.0.1:4321/fabrikam/Platform/_git/manifests', 'http://127.0.0.1:4321/fabrikam/'),
      { kind: 'azure', collectionUrl: 'http://127.0.0.1:4321/fabrikam', project: 'Platform', repository: 'manifests' });
  });

  it('uses the GitHub API override for GitHub Enterprise hosts', () => {
    assert.deepEqual(
      detectProvider('https://git.contoso.com/platform/manifests.git', 'https://git.contoso.com/api/v3'),
      { kind: 'github', apiUrl: 'https://git.contoso.com/api/v3', owner: 'platform', repository: 'manifests' });
  });
});
