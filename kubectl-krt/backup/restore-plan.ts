// The restore plan, in the Operations Guide's order: external dependencies (namespaces, Secrets),
// the platform (checked, and its install record), Runtimes, then Workflows and Runs only where
// their Runtime and artifact store are available. A Workflow keeps its restoring annotation until
// its child Runs have their status back (the plan says which). Pure: the command gathers the
// cluster's state and carries the plan out; --dry-run prints it.
import { Annotation, type ArtifactStoreSpec, type Run, type Runtime, type Workflow } from '../../lib/api.ts';
import type { BackupContents } from './archive.ts';
import { artifactStoreOf, keyOf, referencedSecrets } from './objects.ts';

export const StepKind = {
  Namespace: 'Namespace',
  Secret: 'Secret',
  InstallRecord: 'InstallRecord',
  Runtime: 'Runtime',
  Workflow: 'Workflow',
  Run: 'Run',
} as const;
export type StepKind = (typeof StepKind)[keyof typeof StepKind];

export const StepAction = {
  /** Create it (and for Runs and Workflows, give its status back). */
  Create: 'create',
  /** It exists with another spec: apply the backed-up spec. */
  Update: 'update',
  /** A previous restore created it but stopped before giving its status back: finish that. */
  Resume: 'resume',
  /** Already there as in the backup. */
  Unchanged: 'unchanged',
  /** Not restored; `reason` says why. */
  Skip: 'skip',
} as const;
export type StepAction = (typeof StepAction)[keyof typeof StepAction];

export interface Step {
  kind: StepKind;
  namespace?: string;
  name: string;
  action: StepAction;
  reason?: string;
  /**
   * On a Workflow step that creates or resumes it: the child Runs (by name; those with an
   * ownerReference to it in the backup) this plan creates or resumes. The Workflow keeps the
   * annotation kruntimes.io/restoring until each of them has its status back, so the Workflow
   * controller never sees a finished task whose Run is missing.
   */
  childRuns?: string[];
  /**
   * On such a Workflow step: its child Runs this plan skips (and a later restore may bring back).
   * The Workflow stays restoring, left alone by the controller, until they are restored.
   */
  heldBy?: string[];
  /** On a Run step this plan creates or resumes: the Workflow (name) whose annotation waits for it. */
  workflow?: string;
}

/** What the cluster holds now. */
export interface ClusterState {
  namespaces: ReadonlySet<string>;
  /** namespace/name */
  secrets: ReadonlySet<string>;
  /** namespace/name */
  persistentVolumeClaims: ReadonlySet<string>;
  runtimes: ReadonlyMap<string, Runtime>;
  workflows: ReadonlyMap<string, Workflow>;
  runs: ReadonlyMap<string, Run>;
  installRecord: boolean;
}

const byNamespaceAndName = (a: { metadata: { namespace?: string; name?: string } }, b: typeof a) =>
  keyOf(a.metadata.namespace, a.metadata.name).localeCompare(keyOf(b.metadata.namespace, b.metadata.name));

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function planRestore(backup: BackupContents, cluster: ClusterState): Step[] {
  const steps: Step[] = [];
  const namespaces = new Set<string>();
  for (const o of [...backup.runtimes, ...backup.workflows, ...backup.runs, ...(backup.secrets ?? [])])
    if (o.metadata.namespace) namespaces.add(o.metadata.namespace);
  for (const ns of [...namespaces].sort()) {
    steps.push({
      kind: StepKind.Namespace,
      name: ns,
      action: cluster.namespaces.has(ns) ? StepAction.Unchanged : StepAction.Create,
    });
  }

  // 1. External dependencies: Secrets. The cluster's copy wins: it may hold rotated credentials.
  const secrets = new Set(cluster.secrets);
  for (const s of [...(backup.secrets ?? [])].sort(byNamespaceAndName)) {
    const key = keyOf(s.metadata.namespace, s.metadata.name);
    const exists = secrets.has(key);
    secrets.add(key);
    steps.push({
      kind: StepKind.Secret,
      namespace: s.metadata.namespace,
      name: s.metadata.name,
      action: exists ? StepAction.Unchanged : StepAction.Create,
      ...(exists ? { reason: "exists; the cluster's copy is kept" } : {}),
    });
  }

  // 2. The platform is the command's to check (and with --install, to install, which writes the
  // record). A platform installed by other means (Helm, manifests) gets no record it did not make.
  if (backup.installRecord) {
    steps.push({
      kind: StepKind.InstallRecord,
      namespace: 'kruntimes-system',
      name: 'kruntimes-install',
      action: cluster.installRecord ? StepAction.Unchanged : StepAction.Skip,
      reason: cluster.installRecord
        ? "exists; the cluster's record is kept"
        : 'this platform was not installed with kubectl krt install; the recorded values stay in the archive (install-record.json)',
    });
  }

  // 3. Runtimes.
  const runtimes = new Map(cluster.runtimes);
  for (const rt of [...backup.runtimes].sort(byNamespaceAndName)) {
    const key = keyOf(rt.metadata.namespace, rt.metadata.name);
    const existing = cluster.runtimes.get(key);
    const missing = referencedSecrets(rt).filter((s) => !secrets.has(keyOf(rt.metadata.namespace, s)));
    const note = missing.length
      ? `its Pods need Secret${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, not in the cluster${backup.secrets ? '' : ' (back up with --include-secrets, or create them)'}`
      : undefined;
    if (!existing) {
      steps.push({
        kind: StepKind.Runtime,
        namespace: rt.metadata.namespace,
        name: rt.metadata.name!,
        action: StepAction.Create,
        ...(note ? { reason: note } : {}),
      });
      runtimes.set(key, rt);
    } else {
      const same = sameJson(existing.spec, rt.spec);
      steps.push({
        kind: StepKind.Runtime,
        namespace: rt.metadata.namespace,
        name: rt.metadata.name!,
        action: same ? StepAction.Unchanged : StepAction.Update,
        ...(note ? { reason: note } : {}),
      });
      runtimes.set(key, same ? existing : rt);
    }
  }

  // 4. Workflows and Runs, only where their Runtime and artifact store are available.
  const storeProblem = (namespace: string, store: ArtifactStoreSpec | undefined): string | undefined => {
    if (store?.s3?.credentialsSecretRef?.name && !secrets.has(keyOf(namespace, store.s3.credentialsSecretRef.name)))
      return `its artifact store's Secret ${store.s3.credentialsSecretRef.name} is missing (restore it first, or back up with --include-secrets)`;
    if (store?.filesystem?.claimName && !cluster.persistentVolumeClaims.has(keyOf(namespace, store.filesystem.claimName)))
      return `its artifact store's PersistentVolumeClaim ${store.filesystem.claimName} is missing (restore the PVC first)`;
    return undefined;
  };
  const runtimeProblem = (namespace: string, runtime: string): string | undefined =>
    runtimes.has(keyOf(namespace, runtime)) ? undefined : `its Runtime ${runtime} is neither in the cluster nor in the backup`;
  const existingAction = (annotations: Record<string, string> | undefined) =>
    annotations?.[Annotation.Restoring] !== undefined
      ? { action: StepAction.Resume, reason: 'a previous restore created it; giving its status back' }
      : { action: StepAction.Unchanged, reason: 'exists; left as it is' };

  const restoredWorkflowUids = new Set<string>();
  const skippedWorkflowUids = new Map<string, string>();
  for (const wf of [...backup.workflows].sort(byNamespaceAndName)) {
    const ns = wf.metadata.namespace!;
    const existing = cluster.workflows.get(keyOf(ns, wf.metadata.name));
    const problem = wf.spec.tasks
      .map((t) => runtimeProblem(ns, t.run.runtime))
      .find((p) => p !== undefined);
    const base = { kind: StepKind.Workflow, namespace: ns, name: wf.metadata.name! };
    const step: Step = existing
      ? { ...base, ...existingAction(existing.metadata.annotations) }
      : problem
        ? { ...base, action: StepAction.Skip, reason: problem.replace('its Runtime', 'the Runtime of a task,') }
        : { ...base, action: StepAction.Create };
    steps.push(step);
    if (wf.metadata.uid) {
      if (step.action === StepAction.Skip) skippedWorkflowUids.set(wf.metadata.uid, wf.metadata.name!);
      else restoredWorkflowUids.add(wf.metadata.uid);
    }
  }

  for (const run of [...backup.runs].sort(byNamespaceAndName)) {
    const ns = run.metadata.namespace!;
    const name = run.metadata.name!;
    const existing = cluster.runs.get(keyOf(ns, name));
    if (existing) {
      steps.push({ kind: StepKind.Run, namespace: ns, name, ...existingAction(existing.metadata.annotations) });
      continue;
    }
    const skippedOwner = (run.metadata.ownerReferences ?? []).find((o) => skippedWorkflowUids.has(o.uid));
    const problem = run.metadata.deletionTimestamp
      ? 'it was being deleted when the backup was taken'
      : skippedOwner
        ? `its Workflow ${skippedOwner.name} is not restored`
        : (runtimeProblem(ns, run.spec.runtime) ??
          storeProblem(ns, artifactStoreOf(run, runtimes.get(keyOf(ns, run.spec.runtime)))));
    steps.push(
      problem
        ? { kind: StepKind.Run, namespace: ns, name, action: StepAction.Skip, reason: problem }
        : { kind: StepKind.Run, namespace: ns, name, action: StepAction.Create },
    );
  }
  holdWorkflowsForTheirRuns(backup, steps);
  return steps;
}

const restores = (step: Step) => step.action === StepAction.Create || step.action === StepAction.Resume;

/**
 * Links each Workflow the plan creates or resumes to its child Runs: those the plan restores lift
 * its restoring annotation once all have their status; those it skips (but for a Run that was
 * being deleted, which never comes back) hold it.
 */
function holdWorkflowsForTheirRuns(backup: BackupContents, steps: Step[]): void {
  const runSteps = new Map(steps.filter((s) => s.kind === StepKind.Run).map((s) => [keyOf(s.namespace, s.name), s]));
  for (const wfStep of steps.filter((s) => s.kind === StepKind.Workflow && restores(s))) {
    const wf = backup.workflows.find(
      (w) => w.metadata.namespace === wfStep.namespace && w.metadata.name === wfStep.name,
    );
    const uid = wf?.metadata.uid;
    if (!uid) continue;
    const childRuns: string[] = [];
    const heldBy: string[] = [];
    for (const run of backup.runs) {
      if (run.metadata.namespace !== wfStep.namespace || !run.metadata.ownerReferences?.some((o) => o.uid === uid))
        continue;
      const step = runSteps.get(keyOf(run.metadata.namespace, run.metadata.name));
      if (!step) continue;
      if (restores(step)) {
        childRuns.push(step.name);
        step.workflow = wfStep.name;
      } else if (step.action === StepAction.Skip && !run.metadata.deletionTimestamp) {
        heldBy.push(step.name);
        step.reason = `${step.reason}; its Workflow ${wfStep.name} stays restoring until it is restored`;
      }
    }
    childRuns.sort();
    heldBy.sort();
    if (childRuns.length) wfStep.childRuns = childRuns;
    if (heldBy.length) wfStep.heldBy = heldBy;
    const waits = heldBy.length
      ? `stays restoring, left alone by the controller, until its child Run${heldBy.length > 1 ? 's' : ''} ${heldBy.join(', ')} ${heldBy.length > 1 ? 'are' : 'is'} restored`
      : childRuns.length
        ? `restoring until its ${childRuns.length} child Run${childRuns.length > 1 ? 's have their' : ' has its'} status back`
        : undefined;
    if (waits) wfStep.reason = wfStep.reason ? `${wfStep.reason}; ${waits}` : waits;
  }
}

/** `Run dev/hello: skip (its Runtime bash is neither in the cluster nor in the backup)` */
export function describeStep(step: Step): string {
  const where = step.namespace ? `${step.namespace}/${step.name}` : step.name;
  return `${step.kind} ${where}: ${step.action}${step.reason ? ` (${step.reason})` : ''}`;
}
