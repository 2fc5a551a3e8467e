import { strict as assert } from 'node:assert';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { detectProvider, pullRequestProvider, type PullRequestCommentOptions, type PullRequestOptions } from '../../../tasks/core/pull-requests';
import { GitopsError, describeError } from '../../../tasks/core/errors';
import { MemoryLogger } from '../../../tasks/core/logger';
import { GithubDouble } from '../../support/githubDouble';

/** Each call goes through the provider interface, bound to the options' target and token. */
async function createOrUpdatePullRequest({ provider, token, tokenKind = 'bearer', ...request }: PullRequestOptions) {
  return (await pullRequestProvider(provider, { token, tokenKind })).createOrUpdate(request);
}
async function postOrUpdatePullRequestComment({ provider, token, tokenKind = 'bearer', ...request }: PullRequestCommentOptions) {
  return (await pullRequestProvider(provider, { token, tokenKind })).postOrUpdateComment(request);
}

const token = 'ghs_secretTokenValue0123';

describe('GitHub pull requests (strict double)', () => {
  let github: GithubDouble;

  beforeEach(async () => {
    github = new GithubDouble({ token });
    await github.start();
  });
  afterEach(async () => {
    assert.deepEqual(github.unexpectedCalls, [], 'no calls to routes GitHub would not have');
    await github.stop();
  });

  function options(overrides: Partial<PullRequestOptions> = {}): PullRequestOptions {
    const provider = detectProvider('https://github.com/contoso/manifests.git', github.apiUrl);
    assert.ok(provider);
    return {
      provider, token, sourceBranch: 'refs/heads/gitops/prod/frontend', targetBranch: 'main',
      title: 'Render prod', description: 'Rendered from abc123', logger: new MemoryLogger(), ...overrides,
    };
  }

  it('creates a pull request with head and base branch names', async () => {
    const result = await createOrUpdatePullRequest(options());
    assert.deepEqual(result, { id: 1, url: 'https://github.com/contoso/manifests/pull/1', created: true });
    assert.deepEqual(github.calls.find((c) => c.method === 'POST')?.body,
      { title: 'Render prod', head: 'gitops/prod/frontend', base: 'main', body: 'Rendered from abc123' });
  });

  it('updates the open pull request of the same head branch', async () => {
    await createOrUpdatePullRequest(options());
    const second = await createOrUpdatePullRequest(options({ title: 'Render prod again', description: 'Rendered from def456' }));
    assert.equal(second.created, false);
    assert.equal(second.id, 1);
    assert.equal(github.pullRequests.length, 1);
    assert.equal(github.pullRequests[0].title, 'Render prod again');
    assert.equal(github.pullRequests[0].body, 'Rendered from def456');
    assert.equal(github.calls.find((c) => c.method === 'GET')?.query.head, 'contoso:gitops/prod/frontend');
  });

  it('requests reviewers by login', async () => {
    await createOrUpdatePullRequest(options({ reviewers: ['alice', 'bob'] }));
    assert.deepEqual(github.pullRequests[0].requestedReviewers, ['alice', 'bob']);
  });

  it('warns that auto-complete and work items are Azure-only', async () => {
    const logger = new MemoryLogger();
    await createOrUpdatePullRequest(options({ autoComplete: true, workItemIds: ['42'], logger }));
    assert.equal(logger.warnings.length, 2);
    assert.match(logger.warnings[0], /autoComplete.*Azure Repos only/);
    assert.match(logger.warnings[1], /workItemIds.*Azure Repos only/);
  });

  it('reports a wrong token without quoting it', async () => {
    const wrong = 'ghp_wrongTokenValue999';
    await assert.rejects(createOrUpdatePullRequest(options({ token: wrong })), (error: unknown) => {
      assert.ok(error instanceof GitopsError);
      const text = describeError(error);
      assert.match(text, /GitHub rejected the credentials.*HTTP 401/);
      assert.ok(!text.includes(wrong));
      return true;
    });
  });

  it('posts a comment once, then edits the same comment found by its marker', async () => {
    const pr = await createOrUpdatePullRequest(options());
    const base = { ...options(), pullRequestId: pr.id, marker: 'bedrock-gitops:prod' };
    const first = await postOrUpdatePullRequestComment({ ...base, markdown: 'one' });
    const second = await postOrUpdatePullRequestComment({ ...base, markdown: 'two' });
    assert.equal(first.created, true);
    assert.equal(second.created, false);
    assert.equal(second.threadId, first.threadId);
    assert.deepEqual(github.pullRequests[0].comments.map((c) => c.body), ['<!-- bedrock-gitops:prod -->\ntwo']);
  });

  it('never follows a redirect: the token stays with the API host and the error names the action', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const listen = async (server: Server, host: string) => {
      await new Promise<void>((done) => server.listen(0, host, done));
      return `http://${host}:${(server.address() as AddressInfo).port}`;
    };
    const elsewhere = createServer((req, res) => { seen.push(req.headers); res.writeHead(200, { 'content-type': 'application/json' }).end('[]'); });
    const target = await listen(elsewhere, '127.0.0.3');
    const redirecting = createServer((req, res) => res.writeHead(307, { location: `${target}${req.url}` }).end());
    const apiUrl = await listen(redirecting, '127.0.0.1');
    try {
      const provider = detectProvider('https://github.com/contoso/manifests.git', apiUrl);
      assert.ok(provider);
      await assert.rejects(createOrUpdatePullRequest({ ...options(), provider }), (error: unknown) => {
        assert.ok(error instanceof GitopsError);
        assert.match(describeError(error), /GitHub failed to list pull requests \(no HTTP status\)/);
        assert.ok(!describeError(error).includes(token));
        return true;
      });
      assert.deepEqual(seen, [], 'a request reached the host the redirect named');
    } finally {
      redirecting.close();
      elsewhere.close();
    }
  });
});
