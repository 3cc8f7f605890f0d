// What backup keeps of each object and what restore sends back: pure functions over plain objects.
import {
  Annotation,
  type ArtifactStoreSpec,
  isTerminal,
  type ObjectMeta,
  type Run,
  RunPhase,
  type RunStatus,
  type Runtime,
  type Workflow,
} from '../../lib/api.ts';

type KruntimesObject = Run | Runtime | Workflow;

/**
 * The object as backed up: everything but managedFields and resourceVersion, which mean nothing in
 * another cluster. uid and creationTimestamp stay: restore needs them to relink owners and to keep
 * the original creation time.
 */
export function forBackup<T extends { metadata: ObjectMeta & { managedFields?: unknown } }>(obj: T): T {
  const { managedFields: _m, resourceVersion: _rv, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

export const keyOf = (namespace: string | undefined, name: string | undefined) => `${namespace}/${name}`;

/** The Secrets a Runtime needs: its S3 credentials and those its Pod template mounts or reads. */
export function referencedSecrets(runtime: Pick<Runtime, 'spec'>): string[] {
  const names = new Set<string>();
  const s3 = runtime.spec.artifactStore?.s3?.credentialsSecretRef?.name;
  if (s3) names.add(s3);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a PodSpec, typed loosely in the API
  const pod = (runtime.spec.template?.spec ?? {}) as Record<string, any>;
  for (const ref of pod.imagePullSecrets ?? []) if (ref?.name) names.add(ref.name);
  for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
    for (const e of c?.env ?? []) if (e?.valueFrom?.secretKeyRef?.name) names.add(e.valueFrom.secretKeyRef.name);
    for (const e of c?.envFrom ?? []) if (e?.secretRef?.name) names.add(e.secretRef.name);
  }
  for (const v of pod.volumes ?? []) {
    if (v?.secret?.secretName) names.add(v.secret.secretName);
    for (const s of v?.projected?.sources ?? []) if (s?.secret?.name) names.add(s.secret.name);
  }
  return [...names].sort();
}

/** The artifact store a Run's cleanup depends on: its status snapshot, else its Runtime's. */
export function artifactStoreOf(run: Run, runtime: Runtime | undefined): ArtifactStoreSpec | undefined {
  return (run.status?.artifactStore as ArtifactStoreSpec | undefined) ?? runtime?.spec.artifactStore;
}

/**
 * The object to create on restore: no uid, resourceVersion, generation or timestamps (the server
 * sets them), the original creation time kept in an annotation, owners relinked to the new uids
 * (`ownerUids`: old uid → new uid; owners not restored are dropped, as the garbage collector would
 * otherwise delete the object), and with `restoring` the annotation controllers wait on.
 */
export function forCreate<T extends KruntimesObject>(
  obj: T,
  options: { ownerUids?: ReadonlyMap<string, string>; restoring: boolean },
): Omit<T, 'status'> {
  const m = obj.metadata;
  const annotations: Record<string, string> = { ...(m.annotations ?? {}) };
  // A restored object restored again keeps the first creation time.
  if (m.creationTimestamp && !annotations[Annotation.OriginalCreationTimestamp])
    annotations[Annotation.OriginalCreationTimestamp] = m.creationTimestamp;
  if (options.restoring) annotations[Annotation.Restoring] = 'true';
  else delete annotations[Annotation.Restoring];
  const ownerReferences = (m.ownerReferences ?? []).flatMap((ref) => {
    const uid = options.ownerUids?.get(ref.uid);
    return uid ? [{ ...ref, uid }] : [];
  });
  const metadata: ObjectMeta = {
    name: m.name,
    namespace: m.namespace,
    ...(m.labels ? { labels: m.labels } : {}),
    annotations,
    ...(m.finalizers?.length ? { finalizers: m.finalizers } : {}),
    ...(ownerReferences.length ? { ownerReferences } : {}),
  };
  const { status: _s, ...rest } = obj;
  return { ...rest, metadata } as Omit<T, 'status'>;
}

/**
 * The status a restored Run gets. A finished or waiting Run gets its own back. A Run that was
 * Scheduled or Running when backed up was on a pod that no longer exists and its outcome was never
 * recorded: it goes back to Pending to run again (at-least-once), saying so.
 */
export function restoredRunStatus(run: Run): RunStatus {
  const status = run.status ?? {};
  if (isTerminal(status.phase) || status.phase === undefined || status.phase === RunPhase.Pending) return status;
  const {
    assignedPod: _p,
    assignedPodUID: _u,
    scheduledTime: _t,
    startTime: _st,
    reason: _r,
    conditions: _c,
    ...kept
  } = status;
  return {
    ...kept,
    phase: RunPhase.Pending,
    message: `restored from a backup taken while it was ${status.phase}${status.assignedPod ? ` on pod ${status.assignedPod}` : ''}; that attempt's outcome was lost, so it runs again`,
  };
}
