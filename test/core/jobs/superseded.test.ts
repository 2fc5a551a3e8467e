import { strict as assert } from 'node:assert';
import { publishedBy, recordedRenderPerFolder, type RecordedRenders } from '../../../tasks/core/jobs/superseded';

const commit = (trailers: Record<string, string>) => ({ commit: 'c'.repeat(40), trailers });

describe('superseded: which render each environment folder holds', () => {
  it('reads the folders trailer, and the environment names of commits written before it existed', () => {
    assert.equal(publishedBy({ 'Gitops-Environment-Folders': 'clusters/prod, clusters/staging' }, { folder: 'clusters/prod', setName: 'prod' }), true);
    assert.equal(publishedBy({ 'Gitops-Environment-Folders': 'clusters/staging', 'Gitops-Environments': 'prod' }, { folder: 'clusters/prod', setName: 'prod' }), false);
    assert.equal(publishedBy({ 'Gitops-Environments': 'staging, prod-east-prod' }, { folder: 'prod-east-prod', setName: 'prod-east-prod' }), true);
    assert.equal(publishedBy({ 'Gitops-Environments': 'prod-east-prod' }, { folder: 'prod', setName: 'prod' }), false);
  });

  it('takes the newest publication per folder, skips commits without a record, ignores other HLD repositories', async () => {
    const history = [
      commit({ 'Gitops-Hld-Commit': 'b'.repeat(40), 'Gitops-Environment-Folders': 'staging' }),
      commit({}),
      commit({ 'Gitops-Hld-Commit': 'o'.repeat(40), 'Gitops-Environment-Folders': 'qa', 'Gitops-Hld-Repository': 'https://other/hld' }),
      commit({ 'Gitops-Hld-Commit': 'a'.repeat(40), 'Gitops-Environments': 'prod, staging, qa' }),
    ];
    const reads: number[] = [];
    const read = async (limit: number): Promise<RecordedRenders> => {
      reads.push(limit);
      return { commits: history.slice(0, limit), complete: limit >= history.length };
    };
    const found = await recordedRenderPerFolder(read, ['prod', 'staging', 'qa', 'dev'].map((f) => ({ folder: f, setName: f })), (t) => t['Gitops-Hld-Repository'] !== 'https://other/hld');
    assert.deepEqual(Object.fromEntries(found), { staging: 'b'.repeat(40), prod: 'a'.repeat(40) });
    assert.deepEqual(reads, [1, 16], 'history is read further only while a folder is unknown, and stops when complete');
  });

  it('stops at the tip when it already says where every folder came from', async () => {
    const reads: number[] = [];
    await recordedRenderPerFolder(async (limit) => {
      reads.push(limit);
      return { commits: [commit({ 'Gitops-Hld-Commit': 'b'.repeat(40), 'Gitops-Environment-Folders': 'prod' })], complete: false };
    }, [{ folder: 'prod', setName: 'prod' }], () => true);
    assert.deepEqual(reads, [1]);
  });
});
