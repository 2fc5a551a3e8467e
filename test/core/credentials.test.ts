import { strict as assert } from 'node:assert';
import { azureDevOpsHosts, credentialAllowedFor, type ServiceCredential } from '../../tasks/core/credentials';
import { gitAuthFor, remoteUrl } from '../../tasks/core/git';

describe('where a credential may be sent', () => {
  const jobToken: ServiceCredential = { kind: 'bearer', token: 'job-token-123', hosts: azureDevOpsHosts('https://dev.azure.com/fabrikam/') };

  it('the job token goes to its own organisation, under both of its host names', () => {
    assert.ok(credentialAllowedFor(jobToken, 'https://dev.azure.com/fabrikam/shop/_git/hld'));
    assert.ok(credentialAllowedFor(jobToken, 'https://fabrikam.visualstudio.com/shop/_git/hld'));
  });

  it('the job token never goes to another host, such as github.com', () => {
    assert.equal(credentialAllowedFor(jobToken, 'https://github.com/fabrikam/hld.git'), false);
    assert.equal(gitAuthFor(jobToken, 'https://github.com/fabrikam/hld.git'), undefined);
    assert.equal(credentialAllowedFor(jobToken, 'https://contoso.visualstudio.com/x/_git/y'), false);
  });

  it('loopback is this machine: allowed (local servers, Azure DevOps Server on the agent)', () => {
    assert.ok(credentialAllowedFor(jobToken, 'http://127.0.0.1:8080/org/_git/hld'));
    assert.ok(credentialAllowedFor(jobToken, 'http://localhost/hld'));
  });

  it('a service connection without a host list goes to any http(s) remote, never to file:// or ssh', () => {
    const connection: ServiceCredential = { kind: 'basic', username: 'u', password: 'p4ssw0rd' };
    assert.ok(credentialAllowedFor(connection, 'https://github.com/fabrikam/hld.git'));
    assert.equal(credentialAllowedFor(connection, 'file:///srv/git/hld'), false);
    assert.equal(gitAuthFor(connection, 'git@github.com:fabrikam/hld.git'), undefined);
  });

  it('an on-premises collection allows its own host only', () => {
    assert.deepEqual(azureDevOpsHosts('https://tfs.contoso.local/tfs/DefaultCollection/'), ['tfs.contoso.local']);
    assert.deepEqual(azureDevOpsHosts('https://fabrikam.visualstudio.com/'), ['fabrikam.visualstudio.com', 'dev.azure.com/fabrikam']);
  });

  it('the job token of dev.azure.com/fabrikam never goes to another organisation on dev.azure.com', () => {
    assert.equal(credentialAllowedFor(jobToken, 'https://dev.azure.com/contoso/shop/_git/hld'), false);
    assert.equal(credentialAllowedFor(jobToken, 'https://dev.azure.com/fabrikam-evil/shop/_git/hld'), false);
    assert.equal(credentialAllowedFor(jobToken, 'https://dev.azure.com/'), false);
    assert.equal(gitAuthFor(jobToken, 'https://dev.azure.com/contoso/shop/_git/hld'), undefined);
    // Case and Azure Repos' user-name form do not matter.
    assert.ok(credentialAllowedFor(jobToken, 'https://fabrikam@dev.azure.com/Fabrikam/shop/_git/hld'));
    const classic: ServiceCredential = { kind: 'bearer', token: 't0ken-abc', hosts: azureDevOpsHosts('https://fabrikam.visualstudio.com/') };
    assert.ok(credentialAllowedFor(classic, 'https://dev.azure.com/fabrikam/shop/_git/hld'));
    assert.equal(credentialAllowedFor(classic, 'https://dev.azure.com/contoso/shop/_git/hld'), false);
    assert.deepEqual(azureDevOpsHosts('https://dev.azure.com/'), [], 'no organisation: nowhere on dev.azure.com');
  });

  it('no credential travels over plain http except to loopback (or an on-premises collection that is itself http)', () => {
    assert.equal(credentialAllowedFor(jobToken, 'http://dev.azure.com/fabrikam/shop/_git/hld'), false);
    assert.equal(credentialAllowedFor(jobToken, 'http://fabrikam.visualstudio.com/shop/_git/hld'), false);
    const connection: ServiceCredential = { kind: 'basic', username: 'u', password: 'p4ssw0rd' };
    assert.equal(credentialAllowedFor(connection, 'http://git.example.com/hld.git'), false);
    assert.equal(gitAuthFor(connection, 'http://git.example.com/hld.git'), undefined);
    assert.ok(credentialAllowedFor(connection, 'http://127.0.0.1:8080/hld.git'));
    const onPremises: ServiceCredential = { kind: 'bearer', token: 't0ken-abc', hosts: azureDevOpsHosts('http://tfs.contoso.local:8080/tfs/DefaultCollection/') };
    assert.ok(credentialAllowedFor(onPremises, 'http://tfs.contoso.local:8080/tfs/DefaultCollection/p/_git/hld'));
    assert.equal(credentialAllowedFor(onPremises, 'http://other.contoso.local/tfs/DefaultCollection/p/_git/hld'), false);
    assert.equal(credentialAllowedFor(jobToken, 'https://tfs.contoso.local/x'), false);
  });

  it('a URL that git could read as another host gets no credential; otherwise git is given the host that was judged', () => {
    // WHATWG URL ends the host at `\\` and at the last @; git and curl read `\\` as a character and split at the first @.
    for (const url of ['https://fabrikam.visualstudio.com\\@evil.example/p/_git/r', 'https://dev.azure.com\\fabrikam@evil.example/p/_git/r',
      'https://a@fabrikam.visualstudio.com@evil.example/r', 'https://fabrikam.visualstudio.com\t@evil.example/r', 'https:\\\\fabrikam.visualstudio.com\\p\\_git\\r']) {
      assert.equal(credentialAllowedFor(jobToken, url), false, url);
      assert.equal(gitAuthFor(jobToken, url), undefined, url);
    }
    // Odd but unambiguous spellings: git receives WHATWG's canonical form, the one credentialAllowedFor read.
    for (const [url, given] of [
      ['https:fabrikam.visualstudio.com/p/_git/r', 'https://fabrikam.visualstudio.com/p/_git/r'],
      ['HTTPS://Fabrikam@DEV.AZURE.COM/fabrikam/p/_git/r', 'https://dev.azure.com/fabrikam/p/_git/r'],
      ['https://evil.example:443@fabrikam.visualstudio.com/r', 'https://fabrikam.visualstudio.com/r'],
    ]) {
      assert.ok(gitAuthFor(jobToken, url), url);
      assert.equal(remoteUrl(url, true), given);
    }
  });
});
