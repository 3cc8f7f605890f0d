import assert from 'node:assert/strict';
import { backoffDelay, KeyedQueue } from './keyed-queue.ts';

describe('KeyedQueue', () => {
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
    const q = new KeyedQueue({
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
    q.add('a'); // deduplicated while queued... already active: runs again afterwards
    q.add('a');
    release();
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(seen, ['a', 'a']);
    assert.equal(maxActive, 1);
  });
  it('retries a failing key with backoff', async () => {
    let calls = 0;
    const q = new KeyedQueue({
      baseDelayMs: 5,
      handler: async () => {
        calls++;
        if (calls < 3) throw new Error('boom');
      },
    });
    q.add('k');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(calls, 3);
  });
});
