import assert from 'node:assert/strict';
import { type Run, RunPhase } from './api.ts';
import { runningStatus, scheduledStatus, setCondition, terminalStatus, waitingStatus } from './run-status.ts';

const run = (status?: Run['status']): Run => ({
  metadata: { name: 'r', namespace: 'ns', uid: 'u1' },
  spec: { runtime: 'bash' },
  status,
});

describe('run status transitions', () => {
  it('setCondition keeps lastTransitionTime while the status is unchanged', () => {
    const c1 = setCondition([], { type: 'Ready', status: 'True' }, 't1');
    const c2 = setCondition(c1, { type: 'Ready', status: 'True', message: 'x' }, 't2');
    assert.equal(c2[0].lastTransitionTime, 't1');
    const c3 = setCondition(c2, { type: 'Ready', status: 'False' }, 't3');
    assert.equal(c3[0].lastTransitionTime, 't3');
    assert.equal(c3.length, 1);
  });
  it('walks Pending → Scheduled → Running → Succeeded with normalized conditions', () => {
    const s = scheduledStatus(run(), { name: 'pod-a', uid: 'p1' }, 't1');
    assert.equal(s.phase, RunPhase.Scheduled);
    assert.equal(s.assignedPod, 'pod-a');
    assert.equal(s.attempt, 1);
    const r = runningStatus(run(s), 't2');
    assert.equal(r.phase, RunPhase.Running);
    assert.equal(r.startTime, 't2');
    const done = terminalStatus(
      run({ ...s, ...r }),
      {
        phase: RunPhase.Succeeded,
        reason: 'Completed',
        message: 'completed',
        exitCode: 0,
        outputs: { a: '1' },
      },
      't3',
    );
    assert.equal(done.phase, RunPhase.Succeeded);
    assert.equal(done.completionTime, 't3');
    assert.deepEqual(
      done.conditions?.map((c) => [c.type, c.status, c.reason]),
      [
        ['Scheduled', 'True', 'Scheduled'],
        ['Running', 'False', 'Completed'],
        ['Succeeded', 'True', 'Completed'],
      ],
    );
  });
  it('an attempt that ended within its claim window (never written Running) ends with its start and the Running condition, as a claimed one', () => {
    const s = scheduledStatus(run(), { name: 'pod-a', uid: 'p1' }, 't1');
    const done = terminalStatus(run(s), { phase: RunPhase.Failed, reason: 'NonZeroExit', message: 'exit 3', exitCode: 3 }, 't3', 't2');
    assert.equal(done.startTime, 't2');
    assert.equal(done.completionTime, 't3');
    assert.deepEqual(
      done.conditions?.map((c) => [c.type, c.status, c.reason]),
      [
        ['Scheduled', 'True', 'Scheduled'],
        ['Running', 'False', 'NonZeroExit'],
        ['Failed', 'True', 'NonZeroExit'],
      ],
    );
  });
  it('a terminal Run that never ran gets one terminal condition and a bounded message', () => {
    const t = terminalStatus(
      run(),
      { phase: RunPhase.Cancelled, reason: 'Cancelled', message: 'x'.repeat(5000) },
      't',
    );
    assert.deepEqual(
      t.conditions?.map((c) => c.type),
      ['Cancelled'],
    );
    assert.ok(Buffer.byteLength(t.message!) <= 1024);
  });
  it('waiting keeps the Run Pending with the reason', () => {
    assert.deepEqual(waitingStatus(run(), 'NoReadyPod', 'no pod'), {
      phase: 'Pending',
      reason: 'NoReadyPod',
      message: 'no pod',
      attempt: undefined,
    });
  });
});
