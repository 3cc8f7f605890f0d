// The attempt lifecycle's decisions and transitions (attempt.ts), without a cluster: what runtimed
// does for each state of a Run and of its own record, and where the claim window puts the claim.
import assert from 'node:assert/strict';
import { Reason, type Run } from '../lib/api.ts';
import { ClaimWindow } from '../lib/claim-window.ts';
import {
  advance,
  type Attempt,
  attemptKey,
  CANCELLED_BEFORE_START,
  decide,
  newAttempt,
  type Observation,
  Stage,
} from './attempt.ts';

const T0 = Date.parse('2026-12-04T01:00:00.000000Z');
const iso = (ms: number) => new Date(ms).toISOString();

const run = (status: Run['status'], cancelRequested = false): Run => ({
  metadata: { name: 'r', namespace: 'ns', uid: 'u', resourceVersion: '10' },
  spec: { runtime: 'bash', cancelRequested },
  status,
});
const sched = {
  phase: 'Scheduled' as const,
  assignedPod: 'pod-a',
  assignedPodUID: 'pu',
  attempt: 1,
  scheduledTime: iso(T0),
};
const running = { ...sched, phase: 'Running' as const, startTime: iso(T0 + 5) };

const obs = (o: Partial<Observation> & { run: Run | undefined }): Observation => ({
  attempt: undefined,
  podName: 'pod-a',
  podUID: 'pu',
  accepting: true,
  finished: false,
  listedAtStart: false,
  nowMs: T0 + 5,
  ...o,
});

/** A record of `r` in `stage` with the given fields. */
const held = (r: Run, stage: Attempt['stage'], fields: Partial<Attempt> = {}): Attempt => ({
  ...newAttempt(r, { claimFirst: false }),
  stage,
  busy: false,
  ...fields,
});

describe('runtimed attempt lifecycle: decide', () => {
  describe('a Run it does not hold yet', () => {
    it('starts a fresh assignment unclaimed: no write before the execution', () => {
      assert.deepEqual(decide(obs({ run: run(sched) })), { type: 'start', claimFirst: false, probeFirst: false });
    });
    it('claims first an assignment it sees later than the start limit (a lagging watch)', () => {
      const late = T0 + ClaimWindow.startWithinMs + 1;
      assert.deepEqual(decide(obs({ run: run(sched), nowMs: late })), { type: 'start', claimFirst: true, probeFirst: false });
    });
    it('probes the Runtime Server first for a Run assigned before it started (an earlier runtimed may run it)', () => {
      assert.deepEqual(decide(obs({ run: run(sched), listedAtStart: true })), {
        type: 'start',
        claimFirst: false,
        probeFirst: true,
      });
      const late = T0 + ClaimWindow.startWithinMs + 1;
      assert.deepEqual(decide(obs({ run: run(sched), listedAtStart: true, nowMs: late })), {
        type: 'start',
        claimFirst: true,
        probeFirst: true,
      });
      // Cancelled, or on a terminating pod: still probe first, and never claim.
      assert.deepEqual(decide(obs({ run: run(sched, true), listedAtStart: true, nowMs: late })), {
        type: 'start',
        claimFirst: false,
        probeFirst: true,
      });
      assert.deepEqual(decide(obs({ run: run(sched), listedAtStart: true, nowMs: late, accepting: false })), {
        type: 'start',
        claimFirst: false,
        probeFirst: true,
      });
    });
    it('claims at once an execution an earlier runtimed started, found by the probe past its window', () => {
      const r = run(sched);
      const found = advance(newAttempt(r, { claimFirst: false }), { type: 'found', atMs: T0 + 5000 });
      assert.deepEqual(decide(obs({ run: r, attempt: found, nowMs: T0 + 5000, listedAtStart: true })), { type: 'claim' });
    });
    it('ignores Runs of another pod, or of an earlier pod with the same name', () => {
      assert.deepEqual(decide(obs({ run: run({ ...sched, assignedPod: 'pod-b' }) })), { type: 'none' });
      assert.deepEqual(decide(obs({ run: run({ ...sched, assignedPodUID: 'old' }) })), { type: 'none' });
    });
    it('ends a Scheduled Run whose cancel was requested without running it', () => {
      assert.deepEqual(decide(obs({ run: run(sched, true) })), {
        type: 'end',
        ending: { kind: 'outcome', outcome: CANCELLED_BEFORE_START },
      });
    });
    it('hands an assignment back unspent once the pod is terminating', () => {
      const step = decide(obs({ run: run(sched), accepting: false }));
      assert.equal(step.type, 'end');
      assert.deepEqual(step.type === 'end' && step.ending.kind, 'handBack');
      assert.equal(step.type === 'end' && step.ending.kind === 'handBack' && step.ending.reason, Reason.PodTerminating);
    });
    it('adopts a Running Run it has no record of (runtimed restarted)', () => {
      assert.deepEqual(decide(obs({ run: run(running) })), { type: 'adopt' });
    });
    it('does not adopt a Run it already ended when a late event arrives', () => {
      assert.deepEqual(decide(obs({ run: run(running), finished: true })), { type: 'none' });
    });
    it('leaves terminal and Pending Runs alone', () => {
      assert.deepEqual(decide(obs({ run: run({ ...sched, phase: 'Succeeded' }) })), { type: 'none' });
      assert.deepEqual(decide(obs({ run: run({ phase: 'Pending' }) })), { type: 'none' });
      assert.deepEqual(decide(obs({ run: undefined })), { type: 'none' });
    });
  });

  describe('an attempt it holds', () => {
    it('waits while the workspace is prepared, claiming meanwhile only when it must claim first', () => {
      const r = run(sched);
      assert.deepEqual(decide(obs({ run: r, attempt: held(r, Stage.Preparing, { busy: true }) })), { type: 'none' });
      assert.deepEqual(
        decide(obs({ run: r, attempt: held(r, Stage.Preparing, { busy: true, claimFirst: true }) })),
        { type: 'claim' },
      );
    });
    it('executes once prepared, after the claim when it claims first', () => {
      const r = run(sched);
      assert.deepEqual(decide(obs({ run: r, attempt: held(r, Stage.Prepared) })), { type: 'execute' });
      assert.deepEqual(decide(obs({ run: r, attempt: held(r, Stage.Prepared, { claimFirst: true }) })), { type: 'claim' });
      const claimed = run(running);
      assert.deepEqual(
        decide(obs({ run: claimed, attempt: held(claimed, Stage.Prepared, { claimFirst: true, claimed: true }) })),
        { type: 'execute' },
      );
    });
    it('fails a Run whose workspace could not be prepared, in one write', () => {
      const r = run(sched);
      const step = decide(obs({ run: r, attempt: held(r, Stage.Prepared, { prepareError: 'bad ref' }) }));
      assert.deepEqual(step, {
        type: 'end',
        ending: { kind: 'outcome', outcome: { phase: 'Failed', reason: Reason.PrepareSource, message: 'bad ref' } },
      });
    });
    it('ends a prepared Run cancelled before it started, and hands one back when the pod terminates', () => {
      const cancelled = run(sched, true);
      assert.deepEqual(decide(obs({ run: cancelled, attempt: held(cancelled, Stage.Prepared) })), {
        type: 'end',
        ending: { kind: 'outcome', outcome: CANCELLED_BEFORE_START },
      });
      const r = run(sched);
      const step = decide(obs({ run: r, attempt: held(r, Stage.Prepared), accepting: false }));
      assert.equal(step.type === 'end' && step.ending.kind, 'handBack');
    });
    it('claims an execution still going at the end of its window, not before', () => {
      const r = run(sched);
      const a = held(r, Stage.Executing, { busy: true, startedMs: T0 + 10 });
      assert.deepEqual(decide(obs({ run: r, attempt: a, nowMs: T0 + 20 })), {
        type: 'none',
        requeueAfterMs: ClaimWindow.unclaimedMs - 10,
      });
      assert.deepEqual(decide(obs({ run: r, attempt: a, nowMs: T0 + 10 + ClaimWindow.unclaimedMs })), { type: 'claim' });
    });
    it('bounds the window by the assignment too: an execution started late in it is claimed sooner', () => {
      const r = run(sched);
      const startedMs = T0 + ClaimWindow.startWithinMs;
      const a = held(r, Stage.Executing, { busy: true, startedMs });
      const due = T0 + ClaimWindow.startWithinMs + ClaimWindow.unclaimedMs;
      assert.deepEqual(decide(obs({ run: r, attempt: a, nowMs: due - 1 })), { type: 'none', requeueAfterMs: 1 });
      assert.deepEqual(decide(obs({ run: r, attempt: a, nowMs: due })), { type: 'claim' });
    });
    it('claims an unclaimed execution at once when the pod starts terminating', () => {
      const r = run(sched);
      const a = held(r, Stage.Executing, { busy: true, startedMs: T0 + 10 });
      assert.deepEqual(decide(obs({ run: r, attempt: a, nowMs: T0 + 20, accepting: false })), { type: 'claim' });
    });
    it('never claims twice', () => {
      const r = run(running);
      const a = held(r, Stage.Executing, { busy: true, startedMs: T0, claimed: true });
      assert.deepEqual(decide(obs({ run: r, attempt: a, nowMs: T0 + 60_000 })), { type: 'none' });
    });
    it('cancels an execution once, whether it is claimed or still in its window, and retries a failed cancel later', () => {
      for (const status of [sched, running]) {
        const r = run(status, true);
        const a = held(r, Stage.Executing, { busy: true, startedMs: T0, claimed: status === running });
        assert.deepEqual(decide(obs({ run: r, attempt: a })), { type: 'cancel' });
        assert.deepEqual(decide(obs({ run: r, attempt: { ...a, cancelInFlight: true } })), { type: 'none' });
        const failed = advance(a, { type: 'cancelFailed', atMs: T0 });
        assert.deepEqual(decide(obs({ run: r, attempt: failed, nowMs: T0 + 100 })), { type: 'none', requeueAfterMs: 900 });
        assert.deepEqual(decide(obs({ run: r, attempt: failed, nowMs: T0 + 1000 })), { type: 'cancel' });
      }
    });
    it('writes the ending once the execution reported its end', () => {
      const r = run(sched);
      const outcome = { phase: 'Succeeded' as const, reason: Reason.Completed, message: 'completed', exitCode: 0 };
      const a = advance(held(r, Stage.Executing, { busy: true, startedMs: T0 }), { type: 'ended', outcome });
      assert.deepEqual(decide(obs({ run: r, attempt: a })), { type: 'end', ending: { kind: 'outcome', outcome } });
    });
  });

  describe('an attempt that is no longer the Run\'s', () => {
    const r = run(sched);
    const executing = held(r, Stage.Executing, { busy: true, startedMs: T0 });
    it('cancels what still executes when the Run left this pod (retried elsewhere, deleted)', () => {
      assert.deepEqual(decide(obs({ run: undefined, attempt: executing })), { type: 'cancel' });
      assert.deepEqual(decide(obs({ run: run({ ...sched, assignedPod: 'pod-b' }), attempt: executing })), { type: 'cancel' });
    });
    it('cancels when someone else ended the Run (the reaper), and writes nothing', () => {
      const ended = run({ ...running, phase: 'Failed' });
      assert.deepEqual(decide(obs({ run: ended, attempt: executing })), { type: 'cancel' });
      const done = advance({ ...executing, cancelSent: true }, {
        type: 'ended',
        outcome: CANCELLED_BEFORE_START,
      });
      assert.deepEqual(decide(obs({ run: ended, attempt: done })), { type: 'drop' });
    });
    it('waits for a background step to settle before dropping the record', () => {
      assert.deepEqual(decide(obs({ run: undefined, attempt: held(r, Stage.Preparing, { busy: true }) })), { type: 'none' });
      assert.deepEqual(decide(obs({ run: undefined, attempt: held(r, Stage.Prepared) })), { type: 'drop' });
    });
    it('drops the record of an earlier assignment when the Run comes back to this pod, then starts the new one', () => {
      const again = run({ ...sched, attempt: 2, scheduledTime: iso(T0 + 3000) });
      const old = held(r, Stage.Prepared);
      assert.notEqual(old.key, attemptKey(again));
      assert.deepEqual(decide(obs({ run: again, attempt: old, nowMs: T0 + 3005 })), { type: 'drop' });
      assert.deepEqual(decide(obs({ run: again, nowMs: T0 + 3005 })), { type: 'start', claimFirst: false, probeFirst: false });
    });
  });
});

describe('runtimed attempt lifecycle: advance', () => {
  const r = run(sched);
  it('walks Preparing → Prepared → Starting → Executing, busy while a background step runs', () => {
    let a = newAttempt(r, { claimFirst: false });
    assert.equal(a.stage, Stage.Preparing);
    assert.equal(a.busy, true);
    assert.equal(a.claimed, false);
    a = advance(a, { type: 'prepared' });
    assert.deepEqual([a.stage, a.busy], [Stage.Prepared, false]);
    a = advance({ ...a, stage: Stage.Starting, busy: true }, { type: 'accepted', atMs: T0 + 7 });
    assert.deepEqual([a.stage, a.busy, a.startedMs], [Stage.Executing, true, T0 + 7]);
    a = advance(a, { type: 'claimed' });
    assert.equal(a.claimed, true);
  });
  it('a Running Run adopted is already claimed', () => {
    assert.equal(newAttempt(run(running), { claimFirst: false }, Stage.Starting).claimed, true);
  });
  it('an unavailable Runtime Server hands the attempt back after a pause', () => {
    const a = advance({ ...newAttempt(r, { claimFirst: false }), stage: Stage.Starting }, {
      type: 'unavailable',
      message: 'down',
    });
    assert.deepEqual(a.ending, { kind: 'handBack', reason: Reason.RuntimeExecute, message: 'down', delayMs: 1000 });
    assert.equal(a.busy, false);
  });
  it('a failed prepare is kept for the ending', () => {
    const a = advance(newAttempt(r, { claimFirst: false }), { type: 'prepareFailed', message: 'no such ref' });
    assert.deepEqual([a.stage, a.prepareError, a.busy], [Stage.Prepared, 'no such ref', false]);
  });
  it('tracks a cancel in flight, sent, or to be retried', () => {
    const a = held(r, Stage.Executing, { busy: true });
    assert.equal(advance(a, { type: 'cancelling' }).cancelInFlight, true);
    const sent = advance(advance(a, { type: 'cancelling' }), { type: 'cancelSent' });
    assert.deepEqual([sent.cancelSent, sent.cancelInFlight], [true, false]);
    const failed = advance(advance(a, { type: 'cancelling' }), { type: 'cancelFailed', atMs: T0 });
    assert.deepEqual([failed.cancelSent, failed.cancelInFlight, failed.cancelRetryAtMs], [false, false, T0 + 1000]);
  });
});
