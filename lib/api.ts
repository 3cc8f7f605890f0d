// kruntimes.io/v1alpha1: the API types and the typed constants every component shares.
// The CRDs in manifests/crds are the schema's source of truth; these types mirror them.

export const GROUP = 'kruntimes.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const Plural = {
  Run: 'runs',
  Runtime: 'runtimes',
  Workflow: 'workflows',
} as const;

export const RunPhase = {
  Pending: 'Pending',
  Scheduled: 'Scheduled',
  Running: 'Running',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  Timeout: 'Timeout',
  Cancelled: 'Cancelled',
} as const;
export type RunPhase = (typeof RunPhase)[keyof typeof RunPhase];

export const TERMINAL_PHASES: ReadonlySet<RunPhase> = new Set([
  RunPhase.Succeeded,
  RunPhase.Failed,
  RunPhase.Timeout,
  RunPhase.Cancelled,
]);
/** Phases that hold a slot of a Runtime Pod's capacity. */
export const ACTIVE_PHASES: ReadonlySet<RunPhase> = new Set([RunPhase.Scheduled, RunPhase.Running]);

export function isTerminal(phase: string | undefined): boolean {
  return phase !== undefined && TERMINAL_PHASES.has(phase as RunPhase);
}

/** Why a Run is waiting or why it ended; written to conditions[].reason. */
export const Reason = {
  // waiting
  RuntimeNotFound: 'RuntimeNotFound',
  NoReadyPod: 'NoReadyPod',
  AtCapacity: 'AtCapacity',
  RetryBackoff: 'RetryBackoff',
  // progress
  Scheduled: 'Scheduled',
  Claimed: 'Claimed',
  Completed: 'Completed',
  // failures
  Failed: 'Failed',
  Timeout: 'Timeout',
  PrepareSource: 'PrepareSource',
  RuntimeExecute: 'RuntimeExecute',
  RuntimeError: 'RuntimeError',
  ExecutionLost: 'ExecutionLost',
  Cancelled: 'Cancelled',
  PodGone: 'PodGone',
  PodTerminating: 'PodTerminating',
  PodUnhealthy: 'PodUnhealthy',
  OutputsInvalid: 'OutputsInvalid',
  OutputsTooLarge: 'OutputsTooLarge',
  ArtifactInvalid: 'ArtifactInvalid',
  /** The artifacts could not be stored (store unreachable, access denied, no such bucket). */
  ArtifactUpload: 'ArtifactUpload',
  /**
   * Never scheduled: the Run requests a resource no pod of its Runtime has, or more of it than one
   * pod's capacity (spec.resources.requests against spec.capacity.resources). Not retried.
   */
  Unschedulable: 'Unschedulable',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/**
 * The failure reasons a retry policy may name in `retryOn` (the CRD's enum). Cancellations and
 * output or artifact validation failures are not among them: they are never retried.
 */
export const RETRYABLE_REASONS = [
  Reason.Failed,
  Reason.Timeout,
  Reason.PrepareSource,
  Reason.RuntimeExecute,
  Reason.RuntimeError,
  Reason.ExecutionLost,
  Reason.PodGone,
  Reason.PodTerminating,
  Reason.PodUnhealthy,
  Reason.ArtifactUpload,
] as const;
export type RetryableReason = (typeof RETRYABLE_REASONS)[number];

export const RunConditionType = {
  Scheduled: 'Scheduled',
  Running: 'Running',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  Timeout: 'Timeout',
  Cancelled: 'Cancelled',
} as const;
export type RunConditionType = (typeof RunConditionType)[keyof typeof RunConditionType];

export const RuntimeConditionType = {
  Ready: 'Ready',
  Available: 'Available',
  /** Whether runtimed in the Runtime Pods gets API credentials, and whose (its own ServiceAccount or a shared one). */
  RuntimedCredentials: 'RuntimedCredentials',
} as const;

export const Label = {
  /** On Runtime Pods: the Runtime they serve. */
  Runtime: 'runtime',
  ManagedBy: 'app.kubernetes.io/managed-by',
  Component: 'app.kubernetes.io/component',
  Name: 'app.kubernetes.io/name',
  /** On a Workflow's child Runs: the Workflow's name (hashed when longer than a label value). */
  Workflow: 'kruntimes.io/workflow',
  /** On a Workflow's child Runs: the task name. */
  WorkflowTask: 'kruntimes.io/workflow-task',
} as const;

/** Values of Label.Component on the objects the Runtime controller renders. */
export const Component = {
  /** The Deployment that deletes deleted Runs' artifacts; one per Runtime with an artifact store. */
  RuntimeMaintainer: 'runtime-maintainer',
} as const;

export const Annotation = {
  /** Static per-pod capacity; usage is derived from Run state, never written here. */
  CapacityRuns: 'kruntimes.io/capacity.runs',
  /** kruntimes.io/capacity.<name>: one per name of spec.capacity.resources (runs included). */
  CapacityPrefix: 'kruntimes.io/capacity.',
  /**
   * On Runs and Workflows that `kubectl krt restore` created and whose status it has not written
   * back yet: controllers leave them alone, so a restored finished Run never runs again.
   */
  Restoring: 'kruntimes.io/restoring',
  /** Set by restore: the creationTimestamp of the object that was backed up (the new one is now). */
  OriginalCreationTimestamp: 'kruntimes.io/original-creation-timestamp',
  /**
   * When the creator made the object, in microseconds (the creationTimestamp has whole seconds):
   * the Workflow controller on a Workflow's child Runs (the per-edge orchestration latency) and
   * `kubectl krt run` on its Runs; `kubectl krt describe` measures from it (preciseCreationTime).
   */
  CreatedAt: 'kruntimes.io/created-at',
  /**
   * On the Runtime Pods' template: the UID of the ServiceAccount they run as. A token is bound to
   * that UID, so a ServiceAccount deleted and put back (a new UID) rolls the pods to get valid ones.
   */
  ServiceAccountUID: 'kruntimes.io/service-account-uid',
} as const;

export const PodConditionType = {
  /** runtimed's heartbeat: True with a fresh lastProbeTime while runtimed can take work. */
  RuntimedReady: 'kruntimes.io/RuntimedReady',
} as const;

export const Finalizer = {
  ArtifactCleanup: 'kruntimes.io/artifact-cleanup',
} as const;

/**
 * The condition the runtime maintainer sets (status False) on a deleted Run whose artifacts it
 * cannot delete yet, so the finalizer that keeps the Run says why; the Run goes once cleanup works.
 */
export const ArtifactCleanupCondition = {
  Type: 'ArtifactCleanup',
  Reason: {
    /** The S3 credentials Secret the Run's store snapshot names does not exist (or lacks its keys). */
    SecretNotFound: 'CredentialsSecretNotFound',
    /** The maintainer does not have the Secret mounted yet (its pod is being re-rendered). */
    SecretNotMounted: 'CredentialsSecretNotMounted',
    /** The maintainer does not have the snapshot's PersistentVolumeClaim mounted. */
    ClaimNotMounted: 'ClaimNotMounted',
    /** The store refused or could not be reached (the message has its error). */
    StoreError: 'StoreError',
  },
} as const;
export type ArtifactCleanupReason = (typeof ArtifactCleanupCondition.Reason)[keyof typeof ArtifactCleanupCondition.Reason];

export const MANAGER = 'kruntimes';
export const RUNTIME_CONTAINER = 'runtime';
export const RUNTIMED_CONTAINER = 'runtimed';
export const WORKSPACE_VOLUME = 'kruntimes-workspace';
export const WORKSPACE_MOUNT = '/workspace';
/** runtimed's per-Run workspaces: <workspace>/runs/<run uid>; the Runtime Server removes one at Forget. */
export const WORKSPACE_RUNS_DIR = 'runs';
export const RUNTIME_SERVER_PORT = 19091;
export const RUNTIMED_HTTP_PORT = 19092;

/**
 * Defaults and limits; the CRD schema enforces the same numbers (test/unit/crds.test.ts checks).
 * The CRD's maxLength counts characters, so for non-ASCII text the schema is the looser bound and
 * the components that write status (runtimed) enforce the byte bounds.
 */
export const Limits = {
  inlineSourceBytes: 256 * 1024,
  envEntries: 256,
  args: 256,
  messageBytes: 1024,
  outputsKeys: 64,
  outputKeyBytes: 128,
  outputValueBytes: 8 * 1024,
  outputsTotalBytes: 64 * 1024,
  /** One item of spec.args. */
  argBytes: 32 * 1024,
  envNameBytes: 256,
  envValueBytes: 32 * 1024,
  entrypointBytes: 1024,
  gitRepositoryBytes: 2048,
  gitRefBytes: 256,
  gitSubPathBytes: 1024,
  /** spec.runtime and Runtime names: DNS-1123 labels, as they become the runtime=<name> label value. */
  nameBytes: 63,
  timeoutSecondsMax: 7 * 24 * 3600,
  maxAttemptsMax: 100,
  backoffSecondsMax: 3600,
  artifactRefs: 32,
  artifactBytes: 1024 * 1024 * 1024,
  runArtifactsBytes: 10 * 1024 * 1024 * 1024,
  /** Tasks and finally tasks together. */
  workflowTasks: 64,
  workflowFinallyTasks: 16,
  workflowDependsOn: 64,
  workflowParams: 64,
  workflowOutputs: 64,
  /** A task's message in Workflow status; small so that 64 tasks stay far below etcd's limits. */
  workflowTaskMessageBytes: 256,
  /** Names in spec.capacity.resources and spec.resources.requests. */
  resourceNames: 16,
  /**
   * A resource name: 63 (an annotation name's limit) minus "capacity." of the pod annotation
   * kruntimes.io/capacity.<name>.
   */
  resourceNameBytes: 54,
  /** One amount in spec.resources.requests or spec.capacity.resources. */
  resourceAmountMax: 2 ** 31 - 1,
  heartbeatSeconds: 5,
  schedulerStaleSeconds: 15,
  reaperStaleSeconds: 30,
  retryBackoffCapSeconds: 60,
} as const;

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: Array<{
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller?: boolean;
    blockOwnerDeletion?: boolean;
  }>;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

/** spec.source.git: cloned into the workspace by runtimed. */
export interface GitSource {
  repository: string;
  ref?: string;
  commit?: string;
  /** Directory of the repository that becomes the working directory. */
  subPath?: string;
}

export interface RetryPolicy {
  maxAttempts?: number;
  backoffSeconds?: number;
  /** The failure reasons retried; unset: every one of RETRYABLE_REASONS. */
  retryOn?: RetryableReason[];
}

/** The built-in resource: how many Runs a pod executes at once; every Run requests it. */
export const RESOURCE_RUNS = 'runs';

/** spec.resources of a Run: logical amounts of the Runtime's capacity.resources it holds while active. */
export interface RunResources {
  /** Resource name → whole amount; runs defaults to 1 when absent and is at least 1. */
  requests?: Record<string, number>;
}

export interface RunSpec {
  runtime: string;
  args?: string[];
  env?: Record<string, string>;
  source?: { inline?: string; git?: GitSource };
  entrypoint?: string;
  timeoutSeconds?: number;
  retryPolicy?: RetryPolicy;
  resources?: RunResources;
  cancelRequested?: boolean;
  ttlSecondsAfterFinished?: number;
}

/** What an artifactRef says a stored entry is. */
export const ArtifactType = {
  File: 'file',
  /** A directory, stored as a deterministic tar.gz. */
  Directory: 'directory',
} as const;
export type ArtifactType = (typeof ArtifactType)[keyof typeof ArtifactType];

/** A compact reference to one stored artifact; `key` is its location in the store. */
export interface ArtifactRef {
  name: string;
  key: string;
  size: number;
  digest: string;
  type?: ArtifactType;
  contentType?: string;
}

export interface RunStatus {
  phase?: RunPhase;
  message?: string;
  reason?: string;
  assignedPod?: string;
  assignedPodUID?: string;
  attempt?: number;
  /** When the scheduler assigned the current attempt (microsecond precision). */
  scheduledTime?: string;
  startTime?: string;
  /** While Pending with reason RetryBackoff: the earliest time the next attempt may be scheduled. */
  retryAfter?: string;
  completionTime?: string;
  exitCode?: number;
  outputs?: Record<string, string>;
  artifactRefs?: ArtifactRef[];
  /** The store the artifacts went to, without secrets, so the maintainer can delete them later. */
  artifactStore?: ArtifactStoreSpec;
  conditions?: Condition[];
}

export interface Run {
  apiVersion?: string;
  kind?: 'Run';
  metadata: ObjectMeta;
  spec: RunSpec;
  status?: RunStatus;
}

/** Where runtimed stores artifacts: exactly one of filesystem or s3. */
export interface ArtifactStoreSpec {
  filesystem?: { claimName: string; subPath?: string };
  s3?: {
    bucket: string;
    endpoint?: string;
    region?: string;
    prefix?: string;
    forcePathStyle?: boolean;
    credentialsSecretRef: { name: string };
  };
}

export interface RuntimeSpec {
  replicas?: number;
  /**
   * resources.runs is an integer ≥ 1; other names are non-negative whole amounts (a string of
   * digits is accepted too) that Runs request in spec.resources.requests.
   */
  capacity?: { resources?: { runs?: number; [name: string]: number | string | undefined } };
  // A PodTemplateSpec; typed loosely here, validated by the CRD schema.
  template: {
    metadata?: ObjectMeta;
    spec: Record<string, unknown> & { containers: Array<Record<string, unknown>> };
  };
  daemonImage?: string;
  /** The injected runtimed container: its resources, and a securityContext merged over the restricted default. */
  runtimed?: RuntimeDaemonSpec;
  git?: RuntimeGitSpec;
  artifactStore?: ArtifactStoreSpec;
}

/** spec.runtimed of a Runtime. */
export interface RuntimeDaemonSpec {
  /** A core/v1 ResourceRequirements. */
  resources?: Record<string, unknown>;
  /** A core/v1 SecurityContext; each key set here replaces the default's (lib/pod-security.ts). */
  securityContext?: Record<string, unknown>;
}

/** spec.git of a Runtime: how runtimed clones git sources. */
export interface RuntimeGitSpec {
  /** A ConfigMap key with the PEM certificates git trusts for https (key defaults to ca.crt). */
  caBundleRef?: { name: string; key?: string };
}

export interface RuntimeStatus {
  replicas?: number;
  readyReplicas?: number;
  observedGeneration?: number;
  conditions?: Condition[];
}

export interface Runtime {
  apiVersion?: string;
  kind?: 'Runtime';
  metadata: ObjectMeta;
  spec: RuntimeSpec;
  status?: RuntimeStatus;
}

export const WorkflowPhase = {
  Pending: 'Pending',
  Running: 'Running',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  Cancelled: 'Cancelled',
} as const;
export type WorkflowPhase = (typeof WorkflowPhase)[keyof typeof WorkflowPhase];

export const TERMINAL_WORKFLOW_PHASES: ReadonlySet<WorkflowPhase> = new Set([
  WorkflowPhase.Succeeded,
  WorkflowPhase.Failed,
  WorkflowPhase.Cancelled,
]);

/**
 * A task's phase in Workflow status: its child Run's phase, Pending before the Run exists, or
 * Skipped when it will never run (an upstream task failed, fail-fast, cancellation).
 */
export const TaskPhase = { ...RunPhase, Skipped: 'Skipped' } as const;
export type TaskPhase = (typeof TaskPhase)[keyof typeof TaskPhase];

/** Why a Workflow or one of its tasks is where it is; written to status reason fields. */
export const WorkflowReason = {
  /** The spec can never run: a cycle, an unknown task, param or output reference, a malformed expression. */
  InvalidSpec: 'InvalidSpec',
  /** Nothing has started yet. */
  Pending: 'Pending',
  Running: 'Running',
  Succeeded: 'Succeeded',
  /** A task (or a finally task) did not succeed. */
  TaskFailed: 'TaskFailed',
  Cancelled: 'Cancelled',
  /** A task is Skipped because a task it depends on did not succeed. */
  UpstreamFailed: 'UpstreamFailed',
  /** A task is Skipped or cancelled because another task failed and spec.failFast is set. */
  FailFast: 'FailFast',
  /** A task was never started because the Workflow was cancelled. */
  WorkflowCancelled: 'WorkflowCancelled',
  /** A task references an output its upstream task did not write (or spec.outputs does). */
  OutputMissing: 'OutputMissing',
  /** A task's child Run was deleted before it finished. */
  RunDeleted: 'RunDeleted',
  /** A Run with the child's name exists and belongs to something else. */
  RunNameConflict: 'RunNameConflict',
} as const;
export type WorkflowReason = (typeof WorkflowReason)[keyof typeof WorkflowReason];

export const WorkflowConditionType = {
  /** True once the spec passed the controller's checks (cycles, references); False with InvalidSpec. */
  Validated: 'Validated',
  /** True when the Workflow has ended; its reason is the terminal phase's reason. */
  Completed: 'Completed',
} as const;

/** A task's run: the fields of RunSpec that define an execution. */
export type WorkflowTaskRun = Omit<RunSpec, 'cancelRequested' | 'ttlSecondsAfterFinished'>;

export interface WorkflowTask {
  name: string;
  dependsOn?: string[];
  run: WorkflowTaskRun;
}

/** A Workflow parameter: `value` (set at creation, e.g. by `kubectl krt workflow run -p`) or its default. */
export interface WorkflowParam {
  name: string;
  default?: string;
  description?: string;
  value?: string;
}

export interface WorkflowSpec {
  params?: WorkflowParam[];
  tasks: WorkflowTask[];
  /** Tasks that run once every task has ended, whatever the outcome (not after a cancel). */
  finally?: WorkflowTask[];
  /** Workflow outputs: name → an expression such as `$(tasks.report.outputs.summary)`. */
  outputs?: Record<string, string>;
  /** On the first failed task, cancel the running tasks and start nothing new (finally still runs). */
  failFast?: boolean;
  cancelRequested?: boolean;
  ttlSecondsAfterFinished?: number;
}

/** One task's summary in Workflow status: never the child object itself, so status stays small. */
export interface WorkflowTaskStatus {
  runName?: string;
  phase?: TaskPhase;
  reason?: string;
  message?: string;
  attempt?: number;
  startTime?: string;
  completionTime?: string;
}

export interface WorkflowStatus {
  phase?: WorkflowPhase;
  reason?: string;
  message?: string;
  startTime?: string;
  completionTime?: string;
  outputs?: Record<string, string>;
  /** By task name (tasks and finally tasks). */
  tasks?: Record<string, WorkflowTaskStatus>;
  observedGeneration?: number;
  conditions?: Condition[];
}

export interface Workflow {
  apiVersion?: string;
  kind?: 'Workflow';
  metadata: ObjectMeta;
  spec: WorkflowSpec;
  status?: WorkflowStatus;
}

export function isWorkflowTerminal(phase: string | undefined): boolean {
  return phase !== undefined && TERMINAL_WORKFLOW_PHASES.has(phase as WorkflowPhase);
}

// Defaults the CRDs apply: spec.retryPolicy of a Run, spec.replicas and spec.capacity.resources.runs
// of a Runtime (runs only when spec.capacity.resources is absent: a map with other names keeps
// what it has). Read code still falls back to these, for objects built in code and that one case.
export const DEFAULT_CAPACITY_RUNS = 1;
export const DEFAULT_REPLICAS = 1;
export const DEFAULT_MAX_ATTEMPTS = 1;
export const DEFAULT_BACKOFF_SECONDS = 1;

/** A timestamp with microsecond precision, the most the API keeps in our status strings. */
export function microTime(d: Date = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, (_m, ms: string) => `.${ms}000Z`);
}

/**
 * Now with microsecond digits: the wall clock's milliseconds (Date.now, which follows clock
 * adjustments as the other components' timestamps do) and the sub-millisecond part of the
 * monotonic clock.
 */
export function preciseMicroTime(): string {
  const micros = String(Math.floor((performance.now() % 1) * 1000)).padStart(3, '0');
  return new Date().toISOString().replace(/\.(\d{3})Z$/, (_m, ms: string) => `.${ms}${micros}Z`);
}

/**
 * When an object was created, as precisely as it is known: its CreatedAt annotation when that lies
 * within the creationTimestamp's second (so a creator's skewed clock or a hand-set value can never
 * make it worse than the creationTimestamp), else the creationTimestamp, which has whole seconds.
 */
export function preciseCreationTime(meta: ObjectMeta): { time?: string; precise: boolean } {
  const created = meta.creationTimestamp;
  const stamped = meta.annotations?.[Annotation.CreatedAt];
  const createdMs = Date.parse(created ?? '');
  const stampedMs = Date.parse(stamped ?? '');
  if (stamped && Number.isFinite(stampedMs) && (!created || (stampedMs >= createdMs && stampedMs < createdMs + 1000))) {
    return { time: stamped, precise: true };
  }
  return { time: created, precise: false };
}
