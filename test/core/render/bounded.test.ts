import { strict as assert } from 'node:assert';
import { runBounded, WorkLimiter } from '../../../tasks/core/render/bounded';

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

describe('render WorkLimiter', () => {
  it('runs at most `limit` at once, also for work added while running', async () => {
    const limiter = new WorkLimiter(2);
    let running = 0;
    let peak = 0;
    const task = (ms: number, then?: () => Promise<unknown>) => limiter.run(async () => {
      running++;
      peak = Math.max(peak, running);
      await pause(ms);
      running--;
    }).then(() => then?.());
    await Promise.all([task(20, () => Promise.all([task(10), task(10), task(10)])), task(5), task(5)]);
    assert.equal(peak, 2);
  });

  it('starts nothing after a failure: waiting and later work reject with it', async () => {
    const limiter = new WorkLimiter(1);
    const started: string[] = [];
    const first = limiter.run(async () => { started.push('a'); await pause(10); throw new Error('a fails'); });
    const waiting = limiter.run(async () => { started.push('b'); });
    await assert.rejects(first, /a fails/);
    await assert.rejects(waiting, /a fails/);
    await assert.rejects(limiter.run(async () => { started.push('c'); }), /a fails/);
    assert.deepEqual(started, ['a']);
  });
});
