import { strict as assert } from 'node:assert';
import { GitopsError } from '../../../tasks/core/errors';
import { formatCommitMessage, parseTrailers } from '../../../tasks/core/git/commitMessage';
import { git } from '../../support/gitServer';

describe('commit message trailers', () => {
  const trailers = {
    'Gitops-Source-Commit': '0123456789abcdef0123456789abcdef01234567',
    'Gitops-Image': 'myacr.azurecr.io/app@sha256:' + 'ab'.repeat(32),
    'Gitops-Build': 'https://dev.azure.com/org/proj/_build/results?buildId=42',
  };

  it('formats subject, body and trailers as separate paragraphs', () => {
    assert.equal(
      formatCommitMessage({ subject: 'Update app to v2', body: 'Environment: dev', trailers: { 'Gitops-Build': '42' } }),
      'Update app to v2\n\nEnvironment: dev\n\nGitops-Build: 42\n',
    );
  });

  it('round-trips trailers through parseTrailers', () => {
    assert.deepEqual(parseTrailers(formatCommitMessage({ subject: 's', body: 'b', trailers })), trailers);
  });

  it('writes trailers that git interpret-trailers itself reads', async () => {
    const parsed = await git(['interpret-trailers', '--parse'], { input: formatCommitMessage({ subject: 's', trailers }) });
    assert.equal(parsed, Object.entries(trailers).map(([k, v]) => `${k}: ${v}`).join('\n'));
  });

  it('skips undefined and empty trailer values', () => {
    const message = formatCommitMessage({ subject: 's', trailers: { 'Release-Id': undefined, Empty: '  ', 'Gitops-Build': '7' } });
    assert.deepEqual(parseTrailers(message), { 'Gitops-Build': '7' });
  });

  it('puts a newline inside a value or the subject on one line, so it cannot forge a trailer', () => {
    const message = formatCommitMessage({ subject: 'a\nb', trailers: { 'Gitops-Image': 'x\n\nGitops-Build: forged' } });
    assert.equal(message.split('\n')[0], 'a b');
    assert.deepEqual(parseTrailers(message), { 'Gitops-Image': 'x Gitops-Build: forged' });
  });

  it('rejects a trailer name git could not parse', () => {
    assert.throws(() => formatCommitMessage({ subject: 's', trailers: { 'bad key': 'v' } }), (e: unknown) => e instanceof GitopsError && e.field === 'trailers');
  });

  it('finds no trailers in a message without a trailer paragraph', () => {
    assert.deepEqual(parseTrailers('Key: value'), {});
    assert.deepEqual(parseTrailers('subject\n\njust a body\nKey: value'), {});
  });

  it('joins folded continuation lines', () => {
    assert.deepEqual(parseTrailers('s\n\nGitops-Note: first\n  second'), { 'Gitops-Note': 'first second' });
  });
});
