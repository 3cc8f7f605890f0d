// The runtime maintainer's decisions, pure: what to do for a Run, and whether the maintainer
// itself can go (its Runtime is gone and no Run of it still needs cleanup).
import { type ArtifactStoreSpec, Finalizer, type Run } from '../../lib/api.ts';

export type MaintainerAction = 'cleanup' | 'none';

export function decideRun(run: Run, runtimeName: string): MaintainerAction {
  if (run.spec.runtime !== runtimeName) return 'none';
  if (!run.metadata.deletionTimestamp) return 'none';
  return run.metadata.finalizers?.includes(Finalizer.ArtifactCleanup) ? 'cleanup' : 'none';
}

/**
 * Deleting its own Deployment is safe only when nothing can need it any more: the Runtime is gone
 * (or no longer has an artifact store) and no Run of it still holds the finalizer.
 */
export function canRetire(input: { runtimeHasStore: boolean; runs: readonly Run[]; runtimeName: string }): boolean {
  if (input.runtimeHasStore) return false;
  return !input.runs.some(
    (r) => r.spec.runtime === input.runtimeName && r.metadata.finalizers?.includes(Finalizer.ArtifactCleanup),
  );
}

/**
 * The store a deleted Run's artifacts are deleted from: its status.artifactStore snapshot, or —
 * for a Run from before snapshots existed, which lists artifacts but no snapshot — the store the
 * Runtime is configured with now (the Operations Guide's fallback). Undefined when there is
 * nothing to clean: runtimed leaves the snapshot out when an upload stored nothing.
 */
export function cleanupStore(
  run: Run,
  configured: ArtifactStoreSpec | undefined,
): { store: ArtifactStoreSpec; from: 'snapshot' | 'runtime' } | undefined {
  if (run.status?.artifactStore) return { store: run.status.artifactStore, from: 'snapshot' };
  const stored = (run.status?.artifactRefs?.length ?? 0) > 0;
  return stored && configured ? { store: configured, from: 'runtime' } : undefined;
}
