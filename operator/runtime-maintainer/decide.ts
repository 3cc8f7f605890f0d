// The runtime maintainer's decisions, pure: what to do for a Run, and whether the maintainer
// itself can go (its Runtime is gone and no Run of it still needs cleanup), and for a deleted Run
// which store, PVC and credentials Secret its cleanup uses.
import {
  ArtifactCleanupCondition,
  type ArtifactCleanupReason,
  type ArtifactStoreSpec,
  type Condition,
  Finalizer,
  type Run,
} from '../../lib/api.ts';
import { claimMount, type StoreEnvironment } from '../../lib/artifact-store/open-store.ts';

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

/**
 * The Secret whose credentials delete a Run's artifacts from an S3 store: the one the snapshot
 * names (the credentials the artifacts were stored with), else the Runtime's.
 */
export function cleanupSecret(store: ArtifactStoreSpec, configured: ArtifactStoreSpec | undefined): string | undefined {
  if (!store.s3) return undefined;
  return store.s3.credentialsSecretRef?.name || configured?.s3?.credentialsSecretRef?.name || undefined;
}

export type CleanupPlan =
  /** Nothing was stored: the finalizer can go. */
  | { action: 'release' }
  /** The maintainer cannot delete yet: say why on the Run and retry. */
  | { action: 'blocked'; reason: ArtifactCleanupReason; message: string }
  | {
    action: 'delete';
    store: ArtifactStoreSpec;
    from: 'snapshot' | 'runtime';
    /** For S3: the Secret and where it is mounted (undefined: the pod's own env credentials). */
    secret?: { name: string; dir?: string };
  };

/** What cleaning up a deleted Run takes, from the maintainer's mounts (no I/O). */
export function planCleanup(run: Run, env: Pick<StoreEnvironment, 'configured' | 'mount' | 'mounts'>): CleanupPlan {
  const target = cleanupStore(run, env.configured);
  if (!target) return { action: 'release' };
  const { store, from } = target;
  const R = ArtifactCleanupCondition.Reason;
  if (store.filesystem) {
    const claim = store.filesystem.claimName;
    if (!claimMount(claim, env))
      return {
        action: 'blocked',
        reason: R.ClaimNotMounted,
        message: `the runtime maintainer does not have PersistentVolumeClaim ${claim} mounted; the Runtime controller mounts every claim Runs of the Runtime still use while the Runtime exists`,
      };
    return { action: 'delete', store, from };
  }
  const name = cleanupSecret(store, env.configured);
  if (!name) return { action: 'delete', store, from };
  const dir = env.mounts?.secrets[name];
  // A maintainer rendered before it mounted Secrets has the Runtime's credentials as env only.
  if (!dir && name !== env.configured?.s3?.credentialsSecretRef?.name)
    return {
      action: 'blocked',
      reason: R.SecretNotMounted,
      message: `the runtime maintainer does not have the credentials Secret ${name} mounted yet`,
    };
  return { action: 'delete', store, from, secret: { name, dir } };
}

/**
 * After planCleanup found the snapshot's PVC not mounted, given that PVC as the apiserver has it:
 * a claim that no longer exists took the Run's artifacts with it (the finalizer can go); otherwise
 * the cleanup waits, saying why.
 */
export function unmountedClaimPlan(claim: string, pvc: { metadata?: { deletionTimestamp?: string } } | undefined): CleanupPlan {
  if (!pvc) return { action: 'release' };
  const R = ArtifactCleanupCondition.Reason;
  if (pvc.metadata?.deletionTimestamp)
    return {
      action: 'blocked',
      reason: R.ClaimNotMounted,
      message: `PersistentVolumeClaim ${claim} is being deleted; once it is gone the Run's artifacts are gone with it and the finalizer is removed`,
    };
  return {
    action: 'blocked',
    reason: R.ClaimNotMounted,
    message: `the runtime maintainer does not have PersistentVolumeClaim ${claim} mounted; the Runtime controller mounts every claim Runs of the Runtime still use while the Runtime exists`,
  };
}

/** The ArtifactCleanup condition for a blocked cleanup, or undefined when the Run already says so. */
export function blockedCondition(run: Run, reason: ArtifactCleanupReason, message: string): Condition | undefined {
  const prev = run.status?.conditions?.find((c) => c.type === ArtifactCleanupCondition.Type);
  if (prev && prev.status === 'False' && prev.reason === reason && prev.message === message) return undefined;
  return { type: ArtifactCleanupCondition.Type, status: 'False', reason, message };
}
