import { strict as assert } from 'node:assert';
import { GitopsError } from '../../../tasks/core/errors';
import { connectPullRequests } from '../../../tasks/core/pull-requests';

/** The field a refusal names, so the user knows which input to fix. */
async function refusal(promise: Promise<unknown>): Promise<{ field?: string; message: string }> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof GitopsError, `expected a GitopsError, got ${String(error)}`);
  return { field: error.field, message: error.message };
}

describe('connectPullRequests: the one place that picks the provider and its token', () => {
  const azureRemote = 'https://dev.azure.com/fabrikam/Platform/_git/manifests';
  const jobToken = { kind: 'bearer' as const, token: 'job-token-1234', hosts: ['dev.azure.com'] };

  it('picks Azure Repos for a /_git/ remote and GitHub for github.com', async () => {
    assert.equal((await connectPullRequests({ repositoryUrl: azureRemote, credential: jobToken })).name, 'Azure DevOps');
    assert.equal((await connectPullRequests({ repositoryUrl: 'https://github.com/contoso/hld.git', credential: { kind: 'bearer', token: 't' } })).name, 'GitHub');
  });

  it('names pullRequestApiUrl for a remote that is neither (and takes the setting for GitHub Enterprise)', async () => {
    const remote = 'https://git.contoso.com/platform/hld.git';
    assert.equal((await refusal(connectPullRequests({ repositoryUrl: remote, credential: { kind: 'bearer', token: 't' } }))).field, 'pullRequestApiUrl');
    const provider = await connectPullRequests({ repositoryUrl: remote, credential: { kind: 'bearer', token: 't' }, apiUrl: 'https://git.contoso.com/api/v3' });
    assert.equal(provider.name, 'GitHub');
  });

  it('names gitConnection without a token, and when the job token would leave its organisation', async () => {
    assert.equal((await refusal(connectPullRequests({ repositoryUrl: azureRemote }))).field, 'gitConnection');
    const elsewhere = await refusal(connectPullRequests({ repositoryUrl: 'https://github.com/contoso/hld.git', credential: jobToken }));
    assert.equal(elsewhere.field, 'gitConnection');
    assert.ok(!elsewhere.message.includes(jobToken.token));
  });
});
