import assert from 'node:assert/strict';
import { FAST_PROBE_MS, FAST_PROBE_WINDOW_MS, ProbeTracker, probeTiming } from './probe-state.ts';

describe('node agent: probe decisions', () => {
  it('applies the spec defaults', () => {
    assert.deepEqual(probeTiming({}), {
      initialDelayMs: 0,
      periodMs: 10_000,
      timeoutMs: 1000,
      successThreshold: 1,
      failureThreshold: 3,
    });
    assert.equal(probeTiming({ periodSeconds: 2, initialDelaySeconds: 5 }).initialDelayMs, 5000);
  });

  it('starts readiness as failure, liveness as success, startup as unknown', () => {
    assert.equal(new ProbeTracker('readiness', {}, 0).result, 'failure');
    assert.equal(new ProbeTracker('liveness', {}, 0).result, 'success');
    assert.equal(new ProbeTracker('startup', {}, 0).result, 'unknown');
  });

  it('becomes ready on the first success and probes fast until then', () => {
    const t = new ProbeTracker('readiness', { periodSeconds: 10 }, 0);
    assert.equal(t.nextDelayMs(0), FAST_PROBE_MS);
    assert.equal(t.record(false, 100), false);
    assert.equal(t.record(true, 200), true);
    assert.equal(t.result, 'success');
    assert.equal(t.nextDelayMs(300), 10_000);
  });

  it('stops probing fast after the window', () => {
    const t = new ProbeTracker('readiness', { periodSeconds: 3 }, 0);
    assert.equal(t.nextDelayMs(FAST_PROBE_WINDOW_MS + 1), 3000);
  });

  it('needs failureThreshold failures a period apart, even while probing fast', () => {
    const t = new ProbeTracker('startup', { periodSeconds: 1, failureThreshold: 3 }, 0);
    for (let ms = 0; ms < 2000; ms += 100) assert.equal(t.record(false, ms), false, `at ${ms}`);
    assert.equal(t.record(false, 2000), true);
    assert.equal(t.failed, true);
  });

  it('honours thresholds once it has succeeded', () => {
    const t = new ProbeTracker(
      'readiness',
      { periodSeconds: 1, failureThreshold: 2, successThreshold: 2 },
      0,
    );
    t.record(true, 0);
    assert.equal(t.result, 'failure');
    t.record(true, 100);
    assert.equal(t.result, 'success');
    assert.equal(t.record(false, 1100), false);
    assert.equal(t.record(false, 2100), true);
    assert.equal(t.result, 'failure');
    t.record(true, 3100);
    assert.equal(t.result, 'failure');
    assert.equal(t.record(true, 4100), true);
  });

  it('liveness fails after failureThreshold consecutive failures', () => {
    const t = new ProbeTracker('liveness', { failureThreshold: 2 }, 0);
    t.record(false, 0);
    t.record(true, 10_000);
    t.record(false, 20_000);
    assert.equal(t.failed, false);
    t.record(false, 30_000);
    assert.equal(t.failed, true);
  });
});
