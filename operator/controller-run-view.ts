// What the controller role keeps of a Run in its one shared informer cache (the cache's transform,
// as controller-runtime's TransformFunc), read by the Runtime controller, the Workflow controller
// and the reaper. With thousands of Runs in the cluster, managedFields, a kubectl
// last-applied-configuration annotation (a second copy of the spec), the workload itself (inline
// source, args, env) and a standalone Run's outputs and artifact list are most of a Run's size, and
// none of the three reads them.
//
// Dropped: metadata.managedFields, the last-applied annotation; spec args, env, source and
// entrypoint; status outputs and artifactRefs of a Run that is not a Workflow's child (the Workflow
// controller reads its children's outputs). Everything else is kept: the reaper reads the retry
// policy, timeout, TTL, conditions and assignment; the Runtime controller the runtime, finalizers
// and the artifact store snapshot; the Workflow controller labels, owner references and
// cancelRequested. Pure; the cached object is never written back whole (status writes are merge
// patches with a resourceVersion precondition).
import { Label, type Run } from '../lib/api.ts';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export function controllerRunView(run: Run): Run {
  const { managedFields: _managed, annotations, ...metadata } = run.metadata as Run['metadata'] & { managedFields?: unknown };
  let kept = annotations;
  if (annotations?.[LAST_APPLIED] !== undefined) {
    const { [LAST_APPLIED]: _applied, ...rest } = annotations;
    kept = Object.keys(rest).length ? rest : undefined;
  }
  const { args: _args, env: _env, source: _source, entrypoint: _entrypoint, ...spec } = run.spec;
  let status = run.status;
  if (status && run.metadata.labels?.[Label.Workflow] === undefined && (status.outputs || status.artifactRefs)) {
    const { outputs: _outputs, artifactRefs: _refs, ...rest } = status;
    status = rest;
  }
  return {
    ...run,
    metadata: { ...metadata, ...(kept ? { annotations: kept } : {}) },
    spec,
    ...(status !== undefined ? { status } : {}),
  };
}

/** The named transform for SharedCache.informer: every controller-role reader of Runs passes it. */
export const CONTROLLER_RUN_VIEW = { name: 'controller-run-view', apply: controllerRunView } as const;
