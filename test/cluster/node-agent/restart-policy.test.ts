import assert from 'node:assert/strict';
import { BACKOFF, Backoff, effectivePolicy, shouldRestart } from './restart-policy.ts';

describe('node agent: restart policy and back-off', () => {
  it('restarts the first crash at once, then doubles up to the cap', () => {
    const b = new Backoff();
    const delays = Array.from({ length: 7 }, () => b.next());
    assert.deepEqual(delays, [0, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    assert.equal(b.currentMs, 10_000);
  });

  it('starts over after a long enough run or a reset', () => {
    const b = new Backoff();
    b.next();
    b.next();
    assert.equal(b.next(), 2000);
    assert.equal(b.next(BACKOFF.resetAfterMs), 0);
    b.next();
    b.reset();
    assert.equal(b.next(), 0);
  });

  it('decides restarts by policy and exit code', () => {
    assert.equal(shouldRestart('Always', 0), true);
    assert.equal(shouldRestart('Always', 1), true);
    assert.equal(shouldRestart('OnFailure', 0), false);
    assert.equal(shouldRestart('OnFailure', 2), true);
    assert.equal(shouldRestart('Never', 1), false);
  });

  it('derives the policy of init and sidecar containers', () => {
    assert.equal(effectivePolicy('regular', undefined), 'Always');
    assert.equal(effectivePolicy('regular', 'Never'), 'Never');
    assert.equal(effectivePolicy('init', 'Always'), 'OnFailure');
    assert.equal(effectivePolicy('init', 'Never'), 'Never');
    assert.equal(effectivePolicy('sidecar', 'Never'), 'Always');
  });
});
