// bin/bedrock-gitops.js keeps the compiled CLI bundle in a V8 code cache in the user's cache folder:
// the second run starts from it, behaves the same (output, exit code, errors), and a damaged or
// foreign cache file is rejected by V8 and replaced, never trusted.
import { strict as assert } from 'node:assert';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess, RunResult } from '../../tasks/core/exec';
import { ensureBundled } from '../support/bundle';
import { repoRoot } from '../support/tools';
import { tempDir } from '../support/tmp';

const bin = join(repoRoot, 'bin', 'bedrock-gitops.js');

describe('bedrock-gitops start-up code cache', () => {
  before(async function () {
    this.timeout(60000);
    await ensureBundled();
  });

  const run = (cache: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> =>
    runProcess(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH, HOME: tempDir('bg-home-'), BEDROCK_GITOPS_CACHE: cache, ...env } });

  it('is written by the first run of a command and used by the next, with the same results', async () => {
    const cache = tempDir('bg-user-cache-');
    const first = await run(cache, ['generate', '--concurrency', 'zero']);
    const files = readdirSync(join(cache, 'v8'));
    assert.equal(files.length, 1, files.join(', '));
    assert.match(files[0], /^generate-[0-9a-f]{32}\.bin$/);
    const written = readFileSync(join(cache, 'v8', files[0]));
    assert.ok(written.length > 10_000, 'the cache holds compiled code');
    const second = await run(cache, ['generate', '--concurrency', 'zero']);
    assert.deepEqual([second.code, second.stdout, second.stderr], [first.code, first.stdout, first.stderr]);
    assert.equal(first.code, 2, "a usage error");
    assert.match(first.stderr, /--concurrency must be a positive whole number/);
    assert.deepEqual(readFileSync(join(cache, 'v8', files[0])), written, 'a cache that was used is not rewritten');
    const version = await run(cache, ['--version']);
    assert.equal(version.code, 0);
    // Options are not commands: their runs share one cache file.
    assert.deepEqual(readdirSync(join(cache, 'v8')).map((f) => f.replace(/-[0-9a-f]+\.bin$/, '')).sort(), ['generate', 'other']);
  });

  it('a damaged cache file is rejected and replaced; the command works as without it', async () => {
    const cache = tempDir('bg-user-cache-');
    await run(cache, ['--help']);
    const [file] = readdirSync(join(cache, 'v8'));
    writeFileSync(join(cache, 'v8', file), Buffer.alloc(50_000, 7));
    const result = await run(cache, ['--help']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Usage: bedrock-gitops <command>/);
    assert.notDeepEqual(readFileSync(join(cache, 'v8', file)), Buffer.alloc(50_000, 7), 'the damaged file was replaced');
  });

  it('a cache file others may write is not used (compiled code is trusted as code)', async () => {
    const cache = tempDir('bg-user-cache-');
    await run(cache, ['--help']);
    const [file] = readdirSync(join(cache, 'v8'));
    const path = join(cache, 'v8', file);
    // A planted file: valid for this bundle, but group-writable. It is compiled around, then replaced.
    chmodSync(path, 0o666);
    const planted = readFileSync(path);
    const result = await run(cache, ['--help']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(statSync(path).mode & 0o777, 0o600, 'replaced by a private file');
    assert.ok(readFileSync(path).length > 0 && planted.length > 0);
  });

  it('BEDROCK_GITOPS_NO_CODE_CACHE=1 writes nothing', async () => {
    const cache = tempDir('bg-user-cache-');
    const result = await run(cache, ['--help'], { BEDROCK_GITOPS_NO_CODE_CACHE: '1' });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(readdirSync(cache), []);
  });
});
