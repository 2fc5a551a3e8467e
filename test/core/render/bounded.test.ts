import { strict as assert } from 'node:assert';
import { runBounded } from '../../../tasks/core/render/bounded';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('render runBounded', () => {
  it('keeps results in input order with at most `limit` running', async () => {
    let running = 0;
    let peak = 0;
    const results = await runBounded([30, 10, 20, 5], 2, async (ms, index) => {
      running++;
      peak = Math.max(peak, running);
      await pause(ms);
      running--;
      return index;
    });
    assert.deepEqual(results, [0, 1, 2, 3]);
    assert.equal(peak, 2);
  });

  it('starts nothing new after a failure and rejects only when running work has finished', async () => {
    const started: number[] = [];
    let slowFinished = false;
    await assert.rejects(
      runBounded([0, 1, 2, 3], 2, async (item) => {
        started.push(item);
        if (item === 0) throw new Error('first fails');
        await pause(50);
        slowFinished = true;
      }),
      /first fails/,
    );
    assert.deepEqual(started, [0, 1]);
    assert.ok(slowFinished);
  });
});
