import { strict as assert } from 'node:assert';
import { GitPullRequestMergeStrategy, CommentThreadStatus } from 'azure-devops-node-api/interfaces/GitInterfaces';
import { detectProvider, pullRequestProvider, type PullRequestCommentOptions, type PullRequestOptions } from '../../../tasks/core/pull-requests';
import { GitopsError, describeError } from '../../../tasks/core/errors';
import { MemoryLogger } from '../../../tasks/core/logger';
import { AzureDevOpsDouble } from '../../support/azureDevOpsDouble';

/** Each call goes through the provider interface, bound to the options' target and token. */
async function createOrUpdatePullRequest({ provider, token, tokenKind = 'bearer', ...request }: PullRequestOptions) {
  return (await pullRequestProvider(provider, { token, tokenKind })).createOrUpdate(request);
}
async function postOrUpdatePullRequestComment({ provider, token, tokenKind = 'bearer', ...request }: PullRequestCommentOptions) {
  return (await pullRequestProvider(provider, { token, tokenKind })).postOrUpdateComment(request);
}

const token = 'azdo-secret-token-7f3e9a';
const reviewerId = '3b7d2c9e-1111-4e2a-9d3c-5a6b7c8d9e0f';

describe('Azure Repos pull requests (strict double)', () => {
  let azdo: AzureDevOpsDouble;

  beforeEach(async () => {
    azdo = new AzureDevOpsDouble({ token, identities: { 'alice@contoso.com': reviewerId } });
    await azdo.start();
  });
  afterEach(async () => {
    assert.deepEqual(azdo.unexpectedCalls, [], 'no calls to routes the real service would not have');
    await azdo.stop();
  });

  function options(overrides: Partial<PullRequestOptions> = {}): PullRequestOptions {
    const provider = detectProvider(azdo.remoteUrl, azdo.collectionUrl);
    assert.ok(provider);
    return {
      provider, token, sourceBranch: 'gitops/prod/frontend', targetBranch: 'main',
      title: 'Render prod: frontend 1.4.2', description: 'Rendered from HLD commit abc123',
      logger: new MemoryLogger(), ...overrides,
    };
  }

  it('creates a pull request from the source branch into the target branch', async () => {
    const result = await createOrUpdatePullRequest(options());
    assert.equal(result.created, true);
    assert.equal(azdo.pullRequests.length, 1);
    const pr = azdo.pullRequests[0];
    assert.equal(pr.sourceRefName, 'refs/heads/gitops/prod/frontend');
    assert.equal(pr.targetRefName, 'refs/heads/main');
    assert.equal(pr.title, 'Render prod: frontend 1.4.2');
    assert.equal(pr.description, 'Rendered from HLD commit abc123');
    assert.equal(result.id, pr.pullRequestId);
    assert.equal(result.url, `${azdo.collectionUrl}/Platform/_git/manifests/pullrequest/${pr.pullRequestId}`);
  });

  it('updates the open pull request of the same source branch instead of opening another', async () => {
    const first = await createOrUpdatePullRequest(options());
    const second = await createOrUpdatePullRequest(options({ title: 'Render prod: frontend 1.4.3', description: 'Rendered from HLD commit def456' }));
    assert.equal(second.created, false);
    assert.equal(second.id, first.id);
    assert.equal(azdo.pullRequests.length, 1);
    assert.equal(azdo.pullRequests[0].title, 'Render prod: frontend 1.4.3');
    assert.equal(azdo.pullRequests[0].description, 'Rendered from HLD commit def456');
    const patch = azdo.calls.filter((c) => c.method === 'PATCH');
    assert.deepEqual(patch.map((c) => c.body), [{ title: 'Render prod: frontend 1.4.3', description: 'Rendered from HLD commit def456' }]);
  });

  it('sets auto-complete with squash and delete-source-branch, by the identity that created the PR', async () => {
    await createOrUpdatePullRequest(options({ autoComplete: true, mergeStrategy: 'squash', deleteSourceBranch: true }));
    const patches = azdo.calls.filter((c) => c.method === 'PATCH');
    assert.equal(patches.length, 1);
    assert.deepEqual(patches[0].body, {
      autoCompleteSetBy: { id: azdo.creatorId },
      completionOptions: { mergeStrategy: GitPullRequestMergeStrategy.Squash, deleteSourceBranch: true, transitionWorkItems: false },
    });
    assert.equal(patches[0].apiVersion, '7.2-preview.2');
    assert.deepEqual(azdo.pullRequests[0].autoCompleteSetBy, { id: azdo.creatorId });
  });

  it('adds reviewers given as ids and as unique names, resolving names to identity ids', async () => {
    const otherId = '9a8b7c6d-2222-4e2a-9d3c-5a6b7c8d9e0f';
    await createOrUpdatePullRequest(options({ reviewers: [otherId, 'alice@contoso.com'] }));
    assert.deepEqual(azdo.pullRequests[0].reviewers.map((r) => r.id), [otherId, reviewerId]);
  });

  it('adds only the missing reviewers to an existing pull request', async () => {
    await createOrUpdatePullRequest(options({ reviewers: ['alice@contoso.com'] }));
    const extra = '9a8b7c6d-2222-4e2a-9d3c-5a6b7c8d9e0f';
    await createOrUpdatePullRequest(options({ reviewers: ['alice@contoso.com', extra] }));
    assert.deepEqual(azdo.pullRequests[0].reviewers.map((r) => r.id), [reviewerId, extra]);
    const posted = azdo.calls.filter((c) => c.path.endsWith('/reviewers'));
    assert.deepEqual(posted.map((c) => c.body), [[{ id: extra }]]);
  });

  it('fails clearly when a reviewer name matches no identity', async () => {
    await assert.rejects(createOrUpdatePullRequest(options({ reviewers: ['nobody@contoso.com'] })), (error: unknown) => {
      assert.ok(error instanceof GitopsError);
      assert.equal(error.field, 'reviewers');
      assert.match(error.message, /nobody@contoso\.com.*0 identities/);
      return true;
    });
    assert.equal(azdo.pullRequests.length, 0);
  });

  it('links work items when creating the pull request', async () => {
    await createOrUpdatePullRequest(options({ workItemIds: ['4711', '4712'] }));
    assert.deepEqual(azdo.pullRequests[0].workItemRefs, [{ id: '4711' }, { id: '4712' }]);
  });

  it('sends a PAT as Basic credentials, and the job token as Bearer', async () => {
    await createOrUpdatePullRequest(options({ tokenKind: 'pat' }));
    assert.equal(azdo.pullRequests.length, 1);
    assert.deepEqual([...new Set(azdo.calls.map((c) => c.authScheme))], ['Basic']);
    azdo.calls.length = 0;
    await createOrUpdatePullRequest(options({ title: 'again' }));
    assert.deepEqual([...new Set(azdo.calls.map((c) => c.authScheme))], ['Bearer']);
  });

  it('reports a wrong token as a credentials problem, without the token', async () => {
    const wrong = 'wrong-token-value-123456';
    await assert.rejects(createOrUpdatePullRequest(options({ token: wrong })), (error: unknown) => {
      assert.ok(error instanceof GitopsError);
      const text = describeError(error);
      assert.match(text, /HTTP 401/);
      assert.match(text, /System\.AccessToken|PAT/);
      assert.ok(!text.includes(wrong) && !text.includes(token));
      return true;
    });
    assert.equal(azdo.pullRequests.length, 0);
  });

  it('names the "Contribute to pull requests" permission when the identity may not write', async () => {
    azdo.denyWrites = true;
    await assert.rejects(createOrUpdatePullRequest(options()), (error: unknown) => {
      const text = describeError(error);
      assert.match(text, /HTTP 403/);
      assert.match(text, /Contribute to pull requests/);
      assert.ok(!text.includes(token));
      return true;
    });
  });

  it('posts a comment thread once, then updates the same thread found by its marker', async () => {
    const pr = await createOrUpdatePullRequest(options());
    const base = { ...options(), pullRequestId: pr.id, marker: 'bedrock-gitops:prod' };
    const first = await postOrUpdatePullRequestComment({ ...base, markdown: '## Render\n1 resource changed' });
    const second = await postOrUpdatePullRequestComment({ ...base, markdown: '## Render\n3 resources changed' });
    assert.equal(first.created, true);
    assert.equal(second.created, false);
    assert.equal(second.threadId, first.threadId);
    const threads = azdo.pullRequests[0].threads;
    assert.equal(threads.length, 1);
    assert.equal(threads[0].comments.length, 1);
    assert.equal(threads[0].status, CommentThreadStatus.Closed);
    assert.match(threads[0].comments[0].content, /^<!-- bedrock-gitops:prod -->\n## Render\n3 resources changed$/);
  });

  it('keeps comments with different markers in separate threads', async () => {
    const pr = await createOrUpdatePullRequest(options());
    const base = { ...options(), pullRequestId: pr.id };
    await postOrUpdatePullRequestComment({ ...base, marker: 'bedrock-gitops:prod', markdown: 'prod' });
    await postOrUpdatePullRequestComment({ ...base, marker: 'bedrock-gitops:dev', markdown: 'dev' });
    assert.equal(azdo.pullRequests[0].threads.length, 2);
  });
});
