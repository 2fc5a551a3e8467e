import { strict as assert } from 'node:assert';
import { GitopsError } from '../../../tasks/core/errors';
import { MemoryLogger } from '../../../tasks/core/logger';
import { basicAuth, bearerAuth, secretsOf } from '../../../tasks/core/git/auth';
import { assertNoCredentialsInUrl, displayUrl, runGit } from '../../../tasks/core/git/git';
import { tempDir } from '../../support/tmp';

describe('git auth and runGit', () => {
  it('bearerAuth builds the header Azure Pipelines uses for System.AccessToken', () => {
    assert.equal(bearerAuth('tok123').header, 'AUTHORIZATION: bearer tok123');
  });

  it('basicAuth base64-encodes user:secret, as for a PAT with an empty user', () => {
    assert.equal(basicAuth('', 'pat123').header, `AUTHORIZATION: basic ${Buffer.from(':pat123').toString('base64')}`);
  });

  it('secretsOf lists the raw secret, its base64 form and the header', () => {
    const auth = basicAuth('u', 'pat123');
    const encoded = Buffer.from('u:pat123').toString('base64');
    assert.deepEqual(new Set(secretsOf(auth)), new Set(['pat123', encoded, auth.header, `basic ${encoded}`]));
    assert.deepEqual(secretsOf(undefined), []);
  });

  it('an empty token is refused with a hint', () => {
    assert.throws(() => bearerAuth(''), (e: unknown) => e instanceof GitopsError && /System.AccessToken/.test(e.describe()));
  });

  it('refuses URLs with a password or token in them, but accepts a bare user name', () => {
    assert.throws(() => assertNoCredentialsInUrl('https://me:s3cret@dev.azure.com/o/p/_git/r'), /contains credentials/);
    assert.doesNotThrow(() => assertNoCredentialsInUrl('https://org@dev.azure.com/o/p/_git/r'));
    assert.equal(displayUrl('https://org@dev.azure.com/o/p/_git/r'), 'https://dev.azure.com/o/p/_git/r');
  });

  it('runGit passes the header only through the environment and redacts it from output', async () => {
    const auth = bearerAuth('tok-abcdef-123');
    const logger = new MemoryLogger();
    // `git config --get` prints the value git sees: proof the header arrives, and is redacted.
    const result = await runGit(['config', '--get', 'http.extraheader'], { cwd: tempDir(), auth, logger });
    assert.equal(result.code, 0);
    assert.equal(result.stdout.trim(), 'AUTHORIZATION: bearer ***');
    assert.ok(!logger.lines.some((l) => l.message.includes('tok-abcdef-123')));
  });

  it('runGit refuses an argument with embedded credentials before starting git', async () => {
    const logger = new MemoryLogger();
    await assert.rejects(runGit(['clone', 'https://u:pw123456@example.com/r', tempDir()], { logger }), /contains credentials/);
    assert.equal(logger.lines.length, 0);
  });
});
