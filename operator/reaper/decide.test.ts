import assert from 'node:assert/strict';
import { Annotation, Reason, type Run, RunPhase } from '../../lib/api.ts';
import { judgeAssignment, ReapResult, type ReaperPodView, reap } from './decide.ts';
import { ttlDeadlineMs } from './ttl.ts';

const NOW = Date.parse('2026-01-01T00:01:00Z');
const run = (phase: RunPhase, over: Partial<Run['spec']> = {}, attempt = 1): Run => ({
  metadata: { name: 'r', namespace: 'ns', uid: 'u', resourceVersion: '5', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { runtime: 'bash', args: ['true'], ...over },
  status: {
    phase,
    attempt,
    assignedPod: 'pod-a',
    assignedPodUID: 'pa',
    scheduledTime: '2026-01-01T00:00:01.000000Z',
    startTime: phase === RunPhase.Running ? '2026-01-01T00:00:02.000000Z' : undefined,
    conditions: [{ type: 'Scheduled', status: 'True', reason: 'Scheduled' }],
  },
});
const pod = (over: Partial<ReaperPodView> = {}): ReaperPodView => ({
  uid: 'pa',
  ready: true,
  heartbeatMs: NOW - 5000,
  finished: false,
  ...over,
});
const judge = (r: Run, p: ReaperPodView | undefined) => judgeAssignment({ run: r, pod: p, nowMs: NOW })?.reason;

describe('stale Run reaper', () => {
  it('leaves a Run on a healthy pod alone, and Runs that are not active', () => {
    assert.equal(judge(run(RunPhase.Running), pod()), undefined);
    assert.equal(judge(run(RunPhase.Succeeded), undefined), undefined);
    assert.equal(judge(run(RunPhase.Pending), undefined), undefined);
    const restoring = run(RunPhase.Running);
    restoring.metadata.annotations = { [Annotation.Restoring]: 'true' };
    assert.equal(judge(restoring, undefined), undefined);
  });
  it('a deleted or replaced pod is PodGone, in Scheduled as in Running', () => {
    assert.equal(judge(run(RunPhase.Running), undefined), Reason.PodGone);
    assert.equal(judge(run(RunPhase.Scheduled), undefined), Reason.PodGone);
    assert.equal(judge(run(RunPhase.Running), pod({ uid: 'other' })), Reason.PodGone);
  });
  it('a terminating pod: Scheduled Runs move once their claim window has surely passed, Running ones after the grace period', () => {
    assert.equal(judge(run(RunPhase.Scheduled), pod({ deletionMs: NOW + 20_000 })), Reason.PodTerminating);
    // Assigned just now: it may be running unclaimed, and runtimed claims or hands it back itself.
    const fresh = run(RunPhase.Scheduled);
    fresh.status!.scheduledTime = '2026-01-01T00:00:59.000000Z';
    const horizon = Date.parse(fresh.status!.scheduledTime) + 1000 + 1000 + 2000;
    const judgeAt = (nowMs: number, deletionMs: number) =>
      judgeAssignment({ run: fresh, pod: pod({ deletionMs }), nowMs })?.reason;
    assert.equal(judgeAt(NOW, NOW + 20_000), undefined);
    assert.equal(judgeAt(horizon, horizon + 20_000), Reason.PodTerminating);
    // The grace period ends first: nothing of the pod runs any more.
    assert.equal(judgeAt(NOW, NOW), Reason.PodTerminating);
    assert.equal(judge(run(RunPhase.Running), pod({ deletionMs: NOW + 20_000 })), undefined);
    assert.equal(judge(run(RunPhase.Running), pod({ deletionMs: NOW - 1 })), Reason.PodTerminating);
    assert.equal(judge(run(RunPhase.Running), pod({ finished: true })), Reason.PodTerminating);
  });
  it('a heartbeat older than 30 s, or NotReady for longer, is PodUnhealthy', () => {
    assert.equal(judge(run(RunPhase.Running), pod({ heartbeatMs: NOW - 30_000 })), undefined);
    assert.equal(judge(run(RunPhase.Running), pod({ heartbeatMs: NOW - 30_001 })), Reason.PodUnhealthy);
    assert.equal(judge(run(RunPhase.Running), pod({ heartbeatMs: undefined })), Reason.PodUnhealthy);
    assert.equal(judge(run(RunPhase.Running), pod({ ready: false, notReadySinceMs: NOW - 10_000 })), undefined);
    assert.equal(judge(run(RunPhase.Running), pod({ ready: false, notReadySinceMs: NOW - 31_000 })), Reason.PodUnhealthy);
  });
  it('an assignment left unclaimed for 30 s on a healthy pod is PodUnhealthy', () => {
    const r = run(RunPhase.Scheduled);
    r.status!.scheduledTime = '2026-01-01T00:00:30.500000Z';
    assert.equal(judge(r, pod()), undefined);
    r.status!.scheduledTime = '2026-01-01T00:00:29.000000Z';
    assert.equal(judge(r, pod()), Reason.PodUnhealthy);
  });
  it('a never-claimed Run is rescheduled without spending an attempt', () => {
    const a = reap(run(RunPhase.Scheduled), { reason: Reason.PodGone, message: 'Runtime Pod pod-a was deleted' }, NOW);
    assert.equal(a.result, ReapResult.Reschedule);
    assert.equal(a.status.phase, RunPhase.Pending);
    assert.equal(a.status.attempt, 0);
    assert.equal(a.status.assignedPod, null);
    assert.equal(a.status.message, 'Runtime Pod pod-a was deleted before it started the Run; rescheduling');
  });
  it('a Scheduled Run on a runtimed that went silent within its claim window counts its attempt', () => {
    const r = run(RunPhase.Scheduled, { retryPolicy: { maxAttempts: 2 } });
    r.status!.scheduledTime = '2026-01-01T00:00:20.000000Z';
    const scheduledMs = Date.parse(r.status!.scheduledTime);
    const horizon = scheduledMs + 1000 + 1000 + 2000;
    // Silent since 1 s after the assignment: it may be running the Run unclaimed.
    const early = judgeAssignment({ run: r, pod: pod({ heartbeatMs: scheduledMs + 1000 }), nowMs: scheduledMs + 40_000 });
    assert.equal(early?.mayHaveStarted, true);
    const retried = reap(r, early!, NOW);
    assert.equal(retried.result, ReapResult.Retry);
    assert.equal(retried.status.attempt, 1);
    assert.match(String(retried.status.message), /^attempt 1 of 2 ended PodUnhealthy: runtimed on Runtime Pod pod-a has not/);
    // Still beating after the window had surely passed: it would have claimed what it started.
    const late = judgeAssignment({ run: r, pod: pod({ heartbeatMs: horizon }), nowMs: horizon + 30_001 });
    assert.equal(late?.reason, Reason.PodUnhealthy);
    assert.equal(late?.mayHaveStarted, undefined);
    assert.equal(reap(r, late!, NOW).result, ReapResult.Reschedule);
    // Its last beat came just before it went silent, inside the window: 30 s after the assignment
    // the heartbeat is not stale yet, and the unclaimed assignment is not taken for a missed one
    // (it may be running); once the heartbeat is stale the attempt counts. (The fault suite's
    // frozen runtimed ran such a Run twice in one attempt before.)
    const beat = scheduledMs + 500;
    assert.equal(judgeAssignment({ run: r, pod: pod({ heartbeatMs: beat }), nowMs: scheduledMs + 30_001 }), undefined);
    const stale = judgeAssignment({ run: r, pod: pod({ heartbeatMs: beat }), nowMs: beat + 30_001 });
    assert.equal(stale?.mayHaveStarted, true);
    assert.equal(reap(r, stale!, NOW).result, ReapResult.Retry);
    // A Running Run is judged as before.
    const running = judgeAssignment({ run: run(RunPhase.Running), pod: pod({ heartbeatMs: 0 }), nowMs: NOW });
    assert.equal(running?.mayHaveStarted, undefined);
  });
  it('a claimed Run is retried while attempts remain, else fails with the reason', () => {
    const verdict = { reason: Reason.PodUnhealthy, message: 'stale' } as const;
    const retry = reap(run(RunPhase.Running, { retryPolicy: { maxAttempts: 3, backoffSeconds: 1 } }), verdict, NOW);
    assert.equal(retry.result, ReapResult.Retry);
    assert.equal(retry.status.phase, RunPhase.Pending);
    assert.equal(retry.status.reason, Reason.RetryBackoff);
    assert.equal(retry.status.attempt, 1);
    assert.equal(retry.status.retryAfter, '2026-01-01T00:01:01.000000Z');
    const end = reap(run(RunPhase.Running), verdict, NOW);
    assert.equal(end.result, ReapResult.End);
    assert.equal(end.status.phase, RunPhase.Failed);
    assert.equal(end.status.reason, Reason.PodUnhealthy);
    assert.equal(end.status.message, 'stale');
    assert.equal(end.status.conditions!.find((c) => c.type === 'Failed')!.reason, Reason.PodUnhealthy);
  });
  it('a Run whose cancel was requested ends Cancelled, never retried', () => {
    const a = reap(
      run(RunPhase.Running, { cancelRequested: true, retryPolicy: { maxAttempts: 3 } }),
      { reason: Reason.PodGone, message: 'gone' },
      NOW,
    );
    assert.equal(a.result, ReapResult.End);
    assert.equal(a.status.phase, RunPhase.Cancelled);
    assert.equal(a.status.reason, Reason.Cancelled);
  });
});

describe('ttlSecondsAfterFinished', () => {
  const done = (ttl?: number): Run => ({
    metadata: { name: 'r', namespace: 'ns', uid: 'u' },
    spec: { runtime: 'bash', ttlSecondsAfterFinished: ttl },
    status: { phase: RunPhase.Succeeded, completionTime: '2026-01-01T00:00:00.500000Z' },
  });
  it('is due ttl seconds after completionTime', () => {
    assert.equal(ttlDeadlineMs(done(10)), Date.parse('2026-01-01T00:00:10.500Z'));
    assert.equal(ttlDeadlineMs(done(0)), Date.parse('2026-01-01T00:00:00.500Z'));
  });
  it('never for unset TTL, unfinished or already deleting Runs', () => {
    assert.equal(ttlDeadlineMs(done()), undefined);
    assert.equal(ttlDeadlineMs({ ...done(1), status: { phase: RunPhase.Running } }), undefined);
    const deleting = done(1);
    deleting.metadata.deletionTimestamp = '2026-01-01T00:00:01Z';
    assert.equal(ttlDeadlineMs(deleting), undefined);
  });
});
