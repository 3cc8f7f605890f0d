import assert from 'node:assert/strict';
import { Reason, type Run, RunPhase } from './api.ts';
import { backoffSeconds, decideRetry, NEVER_RETRIED } from './retry.ts';
import { endOfAttemptStatus, type Outcome } from './run-status.ts';

const run = (attempt: number, retryPolicy?: Run['spec']['retryPolicy'], cancelRequested?: boolean): Run => ({
  metadata: { name: 'r', namespace: 'ns', uid: 'u1' },
  spec: { runtime: 'bash', args: ['true'], retryPolicy, cancelRequested },
  status: {
    phase: RunPhase.Running,
    attempt,
    assignedPod: 'p',
    assignedPodUID: 'pu',
    startTime: 't',
    conditions: [{ type: 'Running', status: 'True', reason: 'Claimed' }],
  },
});
const failed: Outcome = { phase: RunPhase.Failed, reason: Reason.Failed, message: 'exit code 3', exitCode: 3 };

describe('retry policy', () => {
  it('doubles the backoff per attempt and caps it at 60 s', () => {
    const r = run(1, { maxAttempts: 10, backoffSeconds: 2 });
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7].map((a) => backoffSeconds(r, a)),
      [2, 4, 8, 16, 32, 60, 60],
    );
    assert.equal(backoffSeconds(run(1, { maxAttempts: 3, backoffSeconds: 0 }), 5), 0);
    assert.equal(backoffSeconds(run(1, { maxAttempts: 100, backoffSeconds: 1 }), 100), 60);
  });
  it('uses a backoffSeconds above the cap as is', () => {
    assert.equal(backoffSeconds(run(1, { maxAttempts: 3, backoffSeconds: 120 }), 3), 120);
  });
  it('retries Failed and Timeout while attempts remain', () => {
    const d = decideRetry(run(1, { maxAttempts: 2, backoffSeconds: 3 }), failed, 1000);
    assert.deepEqual(d, { retry: true, delaySeconds: 3, retryAfterMs: 4000 });
    const t = decideRetry(
      run(1, { maxAttempts: 2, backoffSeconds: 1 }),
      { phase: RunPhase.Timeout, reason: Reason.Timeout, message: 'timed out' },
      0,
    );
    assert.equal(t.retry, true);
    for (const reason of [Reason.PodGone, Reason.PodUnhealthy, Reason.ExecutionLost, Reason.RuntimeError])
      assert.equal(decideRetry(run(1, { maxAttempts: 2 }), { ...failed, reason }, 0).retry, true, reason);
  });
  it('retries only the reasons retryOn names, when it names any', () => {
    const timeout: Outcome = { phase: RunPhase.Timeout, reason: Reason.Timeout, message: 'timed out' };
    const onlyTimeout = run(1, { maxAttempts: 3, retryOn: [Reason.Timeout] });
    assert.equal(decideRetry(onlyTimeout, timeout, 0).retry, true);
    assert.equal(decideRetry(onlyTimeout, failed, 0).retry, false);
    assert.equal(decideRetry(onlyTimeout, { ...failed, reason: Reason.PodGone }, 0).retry, false);
    const infra = run(1, { maxAttempts: 3, retryOn: [Reason.PodGone, Reason.ExecutionLost] });
    assert.equal(decideRetry(infra, { ...failed, reason: Reason.PodGone }, 0).retry, true);
    assert.equal(decideRetry(infra, failed, 0).retry, false);
    // An empty list retries nothing.
    assert.equal(decideRetry(run(1, { maxAttempts: 3, retryOn: [] }), failed, 0).retry, false);
  });
  it('stops at maxAttempts and by default (one attempt)', () => {
    assert.equal(decideRetry(run(2, { maxAttempts: 2 }), failed, 0).retry, false);
    assert.equal(decideRetry(run(1), failed, 0).retry, false);
  });
  it('never retries cancellations, output validation failures, successes, or a cancel-requested Run', () => {
    for (const reason of NEVER_RETRIED)
      assert.equal(decideRetry(run(1, { maxAttempts: 5 }), { ...failed, reason }, 0).retry, false, reason);
    assert.equal(
      decideRetry(run(1, { maxAttempts: 5 }), { phase: RunPhase.Cancelled, reason: Reason.Cancelled, message: '' }, 0)
        .retry,
      false,
    );
    assert.equal(
      decideRetry(run(1, { maxAttempts: 5 }), { phase: RunPhase.Succeeded, reason: Reason.Completed, message: '' }, 0)
        .retry,
      false,
    );
    assert.equal(decideRetry(run(1, { maxAttempts: 5 }, true), failed, 0).retry, false);
  });
  it('a retry goes straight back to Pending, keeping the attempt and clearing the assignment', () => {
    const { status, retried } = endOfAttemptStatus(run(1, { maxAttempts: 3, backoffSeconds: 2 }), failed, Date.parse('2026-01-01T00:00:00Z'));
    assert.equal(retried, true);
    assert.equal(status.phase, RunPhase.Pending);
    assert.equal(status.reason, Reason.RetryBackoff);
    assert.equal(status.attempt, 1);
    assert.equal(status.retryAfter, '2026-01-01T00:00:02.000000Z');
    assert.equal(status.assignedPod, null);
    assert.equal(status.assignedPodUID, null);
    assert.equal(status.startTime, null);
    assert.equal(status.outputs, null);
    assert.equal(status.message, 'attempt 1 of 3 ended Failed: exit code 3; retrying in 2s');
    const running = status.conditions!.find((c) => c.type === 'Running')!;
    assert.equal(running.status, 'False');
    assert.equal(running.reason, Reason.Failed);
    assert.equal(status.conditions!.find((c) => c.type === 'Scheduled')!.reason, Reason.RetryBackoff);
  });
  it('the last attempt ends terminal', () => {
    const { status, retried } = endOfAttemptStatus(run(3, { maxAttempts: 3 }), failed);
    assert.equal(retried, false);
    assert.equal(status.phase, RunPhase.Failed);
    assert.equal(status.reason, Reason.Failed);
  });
});
