// What the scheduler keeps of a Run in its informer cache (the cache's transform, as
// controller-runtime's TransformFunc): only the fields it reads. With thousands of Runs queued
// behind a full Runtime, a Run's inline source, env, args, labels, managedFields and a terminal
// Run's outputs and conditions are most of its size, and the scheduler reads none of them.
//
// Kept: metadata name, namespace, uid, resourceVersion, creationTimestamp, deletionTimestamp and
// the two annotations it reads (restoring, created-at); spec runtime, resources and
// cancelRequested; a Pending Run's whole status (its status writes are merge patches built from
// it: attempt, conditions); of a Run in any other phase only phase and assignedPod (which slot it
// holds). Pure.
import { Annotation, type Run, RunPhase } from '../../lib/api.ts';

export const SCHEDULER_RUN_VIEW = 'scheduler-run-view' as const;

const KEPT_ANNOTATIONS = [Annotation.Restoring, Annotation.CreatedAt] as const;

export function schedulerRunView(run: Run): Run {
  const m = run.metadata;
  let annotations: Record<string, string> | undefined;
  for (const a of KEPT_ANNOTATIONS) {
    const v = m.annotations?.[a];
    if (v !== undefined) (annotations ??= {})[a] = v;
  }
  const phase = run.status?.phase ?? RunPhase.Pending;
  const status =
    phase === RunPhase.Pending
      ? run.status
      : { phase, ...(run.status?.assignedPod !== undefined ? { assignedPod: run.status.assignedPod } : {}) };
  return {
    apiVersion: run.apiVersion,
    kind: run.kind,
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
      ...(m.deletionTimestamp !== undefined ? { deletionTimestamp: m.deletionTimestamp } : {}),
      ...(annotations ? { annotations } : {}),
    },
    spec: {
      runtime: run.spec.runtime,
      ...(run.spec.resources !== undefined ? { resources: run.spec.resources } : {}),
      ...(run.spec.cancelRequested !== undefined ? { cancelRequested: run.spec.cancelRequested } : {}),
    },
    ...(status !== undefined ? { status } : {}),
  } as Run;
}
