import assert from 'node:assert/strict';
import type { Run } from '../lib/api.ts';
import { decideRunAction, type RunObservation } from './decide.ts';

const run = (status: Run['status'], cancelRequested = false): Run => ({
  metadata: { name: 'r', namespace: 'ns', uid: 'u' },
  spec: { runtime: 'bash', cancelRequested },
  status,
});
const obs = (o: Partial<RunObservation> & { run: Run }): RunObservation => ({
  podName: 'pod-a',
  podUID: 'pu',
  accepting: true,
  ...o,
});
const sched = { phase: 'Scheduled' as const, assignedPod: 'pod-a', assignedPodUID: 'pu' };

describe('runtimed decideRunAction', () => {
  it('claims a Run scheduled to this pod', () => {
    assert.equal(decideRunAction(obs({ run: run(sched) })), 'claim');
  });
  it('ignores Runs of another pod, or of an earlier pod with the same name', () => {
    assert.equal(decideRunAction(obs({ run: run({ ...sched, assignedPod: 'pod-b' }) })), 'none');
    assert.equal(decideRunAction(obs({ run: run({ ...sched, assignedPodUID: 'old' }) })), 'none');
  });
  it('does not claim twice, nor while the pod is terminating', () => {
    assert.equal(
      decideRunAction(obs({ run: run(sched), local: { stage: 'claiming', cancelSent: false } })),
      'none',
    );
    assert.equal(decideRunAction(obs({ run: run(sched), accepting: false })), 'none');
  });
  it('finishes a Scheduled Run whose cancel was requested without running it', () => {
    assert.equal(decideRunAction(obs({ run: run(sched, true) })), 'cancel-unstarted');
  });
  it('cancels a running execution once', () => {
    const running = run({ ...sched, phase: 'Running' }, true);
    assert.equal(
      decideRunAction(obs({ run: running, local: { stage: 'executing', cancelSent: false } })),
      'cancel',
    );
    assert.equal(
      decideRunAction(obs({ run: running, local: { stage: 'executing', cancelSent: true } })),
      'none',
    );
  });
  it('adopts a Running Run it has no record of (runtimed restarted)', () => {
    assert.equal(decideRunAction(obs({ run: run({ ...sched, phase: 'Running' }) })), 'adopt');
  });
  it('does not adopt a Run it already finished when a late Running event arrives', () => {
    assert.equal(decideRunAction(obs({ run: run({ ...sched, phase: 'Running' }), finished: true })), 'none');
  });
  it('leaves terminal Runs alone', () => {
    assert.equal(decideRunAction(obs({ run: run({ ...sched, phase: 'Succeeded' }) })), 'none');
  });
});
