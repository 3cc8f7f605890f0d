// What the controller role's shared cache keeps of a Run (controller-run-view).
import assert from 'node:assert/strict';
import { Annotation, Finalizer, Label, type Run, RunPhase } from '../lib/api.ts';
import { fixtureRun } from '../test/support/run-fixture.ts';
import { controllerRunView } from './controller-run-view.ts';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** A finished Run with everything a user or a Workflow can put on it. */
function fullRun(labels: Record<string, string> = { team: 'x' }): Run {
  const base = fixtureRun('a');
  return {
    ...base,
    metadata: {
      ...base.metadata,
      labels,
      annotations: { [Annotation.CreatedAt]: '2026-12-04T00:00:00.123456Z', [LAST_APPLIED]: 'x'.repeat(1000) },
      finalizers: [Finalizer.ArtifactCleanup],
      ownerReferences: [{ apiVersion: 'kruntimes.io/v1alpha1', kind: 'Workflow', name: 'w', uid: 'w', controller: true }],
      ...({ managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:spec': {} } }] } as object),
    },
    spec: {
      runtime: 'bash',
      source: { inline: 'echo hi\n'.repeat(1000) },
      env: { A: 'b' },
      args: ['1'],
      entrypoint: 'main.sh',
      timeoutSeconds: 60,
      retryPolicy: { maxAttempts: 3 },
      ttlSecondsAfterFinished: 30,
      cancelRequested: false,
    },
    status: {
      phase: RunPhase.Succeeded,
      assignedPod: 'p',
      assignedPodUID: 'pu',
      attempt: 1,
      completionTime: '2026-12-04T00:00:01Z',
      outputs: { count: '1' },
      artifactRefs: [{ name: 'f', key: 'k', size: 1, digest: 'd' }],
      artifactStore: { filesystem: { claimName: 'c' } },
      conditions: [{ type: 'Running', status: 'False', reason: 'Succeeded' }],
    },
  } as Run;
}

describe('controller run view (the controller role cache transform)', () => {
  it('drops managedFields, the last-applied copy and the workload, and keeps what the controllers read', () => {
    const full = fullRun();
    const view = controllerRunView(full);
    assert.deepEqual(view.metadata, {
      ...fixtureRun('a').metadata,
      labels: { team: 'x' },
      annotations: { [Annotation.CreatedAt]: '2026-12-04T00:00:00.123456Z' },
      finalizers: [Finalizer.ArtifactCleanup],
      ownerReferences: full.metadata.ownerReferences,
    });
    assert.deepEqual(view.spec, {
      runtime: 'bash',
      timeoutSeconds: 60,
      retryPolicy: { maxAttempts: 3 },
      ttlSecondsAfterFinished: 30,
      cancelRequested: false,
    });
    const { outputs: _o, artifactRefs: _a, ...status } = full.status!;
    assert.deepEqual(view.status, status, 'a standalone Run keeps its status but its outputs and artifact list');
    assert.ok(JSON.stringify(view).length < JSON.stringify(full).length / 5);
  });

  it("keeps a Workflow child's outputs and artifacts, which the Workflow controller reads", () => {
    const view = controllerRunView(fullRun({ [Label.Workflow]: 'w', [Label.WorkflowTask]: 't' }));
    assert.deepEqual(view.status?.outputs, { count: '1' });
    assert.equal(view.status?.artifactRefs?.length, 1);
  });

  it('leaves a Run with nothing to drop equal to itself and never changes its input', () => {
    const bare = fixtureRun('b', { status: { phase: RunPhase.Pending } });
    assert.deepEqual(controllerRunView(bare), bare);
    const full = fullRun();
    const before = structuredClone(full);
    controllerRunView(full);
    assert.deepEqual(full, before);
  });
});
