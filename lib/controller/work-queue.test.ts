import assert from 'node:assert/strict';
import { backoffDelay, WorkQueue } from './work-queue.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WorkQueue', () => {
  it('doubles the backoff per failure up to the cap', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 10].map((n) => backoffDelay(n, 100, 1000)),
      [0, 100, 200, 400, 1000],
    );
  });

  it('never runs one key twice at once and re-runs a key added while active', async () => {
    const seen: string[] = [];
    let active = 0;
    let maxActive = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const q = new WorkQueue({
      concurrency: 4,
      handler: async (key) => {
        active++;
        maxActive = Math.max(maxActive, active);
        seen.push(key);
        if (seen.length === 1) await gate;
        active--;
      },
    });
    q.add('a');
    q.add('a'); // active: runs once more afterwards
    q.add('a'); // ... but only once
    release();
    await sleep(20);
    assert.deepEqual(seen, ['a', 'a']);
    assert.equal(maxActive, 1);
  });

  it('collapses adds of a waiting key and runs different keys in parallel', async () => {
    const seen: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const q = new WorkQueue({
      concurrency: 1,
      handler: async (key) => {
        seen.push(key);
        if (key === 'a') await gate;
      },
    });
    q.add('a');
    q.add('b');
    q.add('b');
    q.add('c');
    assert.equal(q.depth, 2);
    release();
    await sleep(10);
    assert.deepEqual(seen, ['a', 'b', 'c']);
  });

  it('addAfter keeps the earliest pending requeue of a key', async () => {
    const seen: number[] = [];
    const start = Date.now();
    const q = new WorkQueue({ handler: async () => void seen.push(Date.now() - start) });
    q.addAfter('k', 200);
    q.addAfter('k', 20);
    q.addAfter('k', 100);
    await sleep(260);
    assert.equal(seen.length, 1);
    assert.ok(seen[0] >= 15 && seen[0] < 150, `ran after ${seen[0]} ms`);
    q.stop();
  });

  it('rate-limited requeues back off per key until forgotten', async () => {
    const q = new WorkQueue({ handler: async () => {}, baseDelayMs: 5, maxDelayMs: 40 });
    assert.deepEqual([q.addRateLimited('k'), q.addRateLimited('k'), q.addRateLimited('k')], [5, 10, 20]);
    assert.equal(q.addRateLimited('other'), 5);
    q.forget('k');
    assert.equal(q.failuresOf('k'), 0);
    assert.equal(q.addRateLimited('k'), 5);
    q.stop();
  });

  it('does nothing after stop', async () => {
    let calls = 0;
    const q = new WorkQueue({ handler: async () => void calls++ });
    q.stop();
    q.add('k');
    q.addAfter('k', 1);
    await sleep(10);
    assert.equal(calls, 0);
  });
});
