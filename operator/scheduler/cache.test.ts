// What the scheduler's cache keeps of a Run (run-view) and its queue and slot indexes (run-index).
import assert from 'node:assert/strict';
import { Annotation, Reason, type Run, RunPhase } from '../../lib/api.ts';
import { queueOrder, RunIndex } from './run-index.ts';
import { schedulerRunView } from './run-view.ts';
import { fixtureRun } from '../../test/support/run-fixture.ts';

const run = fixtureRun;

describe('scheduler run view (cache transform)', () => {
  it('keeps what the scheduler reads and drops the rest', () => {
    const full: Run = {
      ...run('a'),
      metadata: {
        ...run('a').metadata,
        labels: { team: 'x' },
        annotations: { [Annotation.CreatedAt]: '2026-12-04T00:00:00.123456Z', 'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(1000) },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Workflow', name: 'w', uid: 'w' }],
      },
      spec: {
        runtime: 'bash',
        source: { inline: 'echo hi\n'.repeat(1000) },
        env: { A: 'b' },
        args: ['1'],
        resources: { requests: { gpu: 1 } },
        cancelRequested: false,
      },
      status: { phase: RunPhase.Pending, reason: Reason.AtCapacity, message: 'm', attempt: 1 },
    };
    const view = schedulerRunView(full);
    assert.deepEqual(view.metadata, {
      name: 'a',
      namespace: 'ns',
      uid: 'uid-a',
      resourceVersion: '1',
      creationTimestamp: '2026-12-04T00:00:00Z',
      annotations: { [Annotation.CreatedAt]: '2026-12-04T00:00:00.123456Z' },
    });
    assert.deepEqual(view.spec, { runtime: 'bash', resources: { requests: { gpu: 1 } }, cancelRequested: false });
    assert.deepEqual(view.status, full.status, 'a Pending Run keeps its whole status (writes are built from it)');
    assert.ok(JSON.stringify(view).length < 500, `view is ${JSON.stringify(view).length} bytes`);
  });
  it('keeps only the phase and the pod of a Run past Pending', () => {
    const done = run('b', {
      status: {
        phase: RunPhase.Succeeded,
        assignedPod: 'p1',
        outputs: { big: 'x'.repeat(500) },
        conditions: [{ type: 'Succeeded', status: 'True', reason: 'Completed', message: '', lastTransitionTime: 't' }],
      },
    });
    assert.deepEqual(schedulerRunView(done).status, { phase: RunPhase.Succeeded, assignedPod: 'p1' });
    assert.equal(schedulerRunView(run('c')).status, undefined);
  });
});

describe('scheduler run index', () => {
  it('queues Pending Runs per runtime oldest first, then by name', () => {
    const idx = new RunIndex();
    idx.upsert(run('b', { created: '2026-12-04T00:00:02Z' }));
    idx.upsert(run('c', { created: '2026-12-04T00:00:01Z' }));
    idx.upsert(run('a', { created: '2026-12-04T00:00:02Z' }));
    idx.upsert(run('x', { runtime: 'python' }));
    assert.deepEqual(idx.pending('ns/bash').map((r) => r.metadata.name), ['c', 'a', 'b']);
    assert.deepEqual(idx.pending('ns/python').map((r) => r.metadata.name), ['x']);
    assert.equal(queueOrder(run('a'), run('a')), 0);
  });
  it('moves a Run from its queue to its pod slot and out again, and forgets deleted Runs', () => {
    const idx = new RunIndex();
    idx.upsert(run('a'));
    idx.upsert(run('b'));
    const scheduled = run('a', { status: { phase: RunPhase.Scheduled, assignedPod: 'p1' } });
    idx.upsert(scheduled);
    assert.deepEqual(idx.pending('ns/bash').map((r) => r.metadata.name), ['b']);
    assert.deepEqual(idx.active('ns/p1'), [scheduled]);
    idx.upsert(run('a', { status: { phase: RunPhase.Succeeded, assignedPod: 'p1' } }));
    assert.deepEqual(idx.active('ns/p1'), []);
    // A retry goes back to the queue, in its creation order.
    idx.upsert(run('a', { status: { phase: RunPhase.Pending, attempt: 1 } }));
    assert.deepEqual(idx.pending('ns/bash').map((r) => r.metadata.name), ['a', 'b']);
    idx.remove(run('a'));
    idx.remove(run('b'));
    assert.equal(idx.pendingCount('ns/bash'), 0);
    assert.deepEqual(idx.pending('ns/bash'), []);
  });
  it('keeps the queue order through many removals (compaction)', () => {
    const idx = new RunIndex();
    const names = Array.from({ length: 100 }, (_, i) => `r${String(i).padStart(3, '0')}`);
    for (const n of [...names].reverse()) idx.upsert(run(n));
    assert.deepEqual(idx.pending('ns/bash').map((r) => r.metadata.name), names);
    for (const n of names.slice(0, 70)) idx.upsert(run(n, { status: { phase: RunPhase.Scheduled, assignedPod: 'p' } }));
    assert.deepEqual(idx.pending('ns/bash').map((r) => r.metadata.name), names.slice(70));
    assert.equal(idx.active('ns/p').length, 70);
  });
});

