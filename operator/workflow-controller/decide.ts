// The Workflow controller's decision, pure: from a Workflow and the child Runs the cache holds,
// which Runs to create (tasks whose dependencies all Succeeded, their expressions resolved), which
// to cancel (cancelRequested, fail-fast), what the status now says (per-task summaries, the
// Workflow phase), which Events to record, and when to look again (TTL). A task's terminal phase
// in status is final: a task is never run again, whatever happens to its Run later.
import { isDeepStrictEqual } from 'node:util';
import {
  API_VERSION,
  type Condition,
  isTerminal,
  isWorkflowTerminal,
  Label,
  Limits,
  microTime,
  type Run,
  RunPhase,
  TaskPhase,
  type Workflow,
  WorkflowConditionType,
  WorkflowPhase,
  WorkflowReason,
  type WorkflowStatus,
  type WorkflowTask,
  type WorkflowTaskStatus,
} from '../../lib/api.ts';
import type { EventType } from '../../lib/events.ts';
import { boundMessage } from '../../lib/message.ts';
import { setCondition } from '../../lib/run-status.ts';
import { checkWorkflow, paramValues, type ResolveContext, resolveTemplate } from '../../lib/workflow-expressions.ts';
import { allTasks, childRunName, workflowLabelValue } from '../../lib/workflow-names.ts';

/** What the controller saw of one task's child Run. */
export type ChildRun =
  | { kind: 'own'; run: Run }
  /** A Run with the child's name that this Workflow does not own. */
  | { kind: 'foreign'; run: Run };

export interface WorkflowObserved {
  workflow: Workflow;
  /** By task name: the Run named childRunName(workflow, task), if the cache (or a recent create) has one. */
  runs: ReadonlyMap<string, ChildRun>;
  now: Date;
}

export interface CreateAction {
  task: string;
  run: Run;
  /** The latest completionTime among the tasks it waited for (ms), for the per-edge latency. */
  readyAtMs?: number;
}

export interface WorkflowEvent {
  type: EventType;
  reason: string;
  message: string;
}

export interface WorkflowDecision {
  create: CreateAction[];
  /** Names of active child Runs to set spec.cancelRequested on. */
  cancel: string[];
  /** The status to write, or undefined when unchanged. */
  status?: WorkflowStatus;
  events: WorkflowEvent[];
  /** Look again after this long (the TTL deadline, a Run of a previous incarnation being deleted). */
  requeueAfterMs?: number;
  /** ttlSecondsAfterFinished has passed: delete the Workflow (its Runs go with it). */
  delete?: boolean;
  /**
   * The status changed but the Workflow has not ended: a write that can wait a moment and be
   * folded into the next one (see isProgressOnly).
   */
  progressOnly?: boolean;
}

/**
 * Whether a status change can wait a moment: anything but the Workflow's end. Nothing the
 * controller does depends on its own status being written (it knows its Runs from the cache and
 * its record of creates), so folding writes together costs only how fresh status looks, and keeps
 * a write in flight from delaying the reaction to a task's end.
 */
export function isProgressOnly(_prev: WorkflowStatus, next: WorkflowStatus): boolean {
  return !isWorkflowTerminal(next.phase);
}

const NOTHING: WorkflowDecision = { create: [], cancel: [], events: [] };
const FOREIGN_RECHECK_MS = 1000;

const failedPhases: ReadonlySet<string> = new Set([RunPhase.Failed, RunPhase.Timeout, RunPhase.Cancelled]);
const isTaskDone = (s: WorkflowTaskStatus | undefined) =>
  s?.phase !== undefined && (isTerminal(s.phase) || s.phase === TaskPhase.Skipped);
const taskMessage = (m: string | undefined) =>
  m === undefined ? undefined : boundMessage(m, Limits.workflowTaskMessageBytes);

/** The child Run a task becomes, with its expressions resolved (or the output it is missing). */
export function childRun(
  workflow: Workflow,
  task: WorkflowTask,
  ctx: ResolveContext,
): { run: Run } | { missing: { task: string; key: string; field: string } } {
  const resolve = (text: string, field: string) => {
    const r = resolveTemplate(text, ctx);
    return 'missing' in r ? { missing: { ...r.missing, field } } : r;
  };
  const args: string[] = [];
  for (const [i, text] of (task.run.args ?? []).entries()) {
    const r = resolve(text, `run.args[${i}]`);
    if ('missing' in r) return r;
    args.push(r.value);
  }
  let env: Record<string, string> | undefined;
  if (task.run.env) {
    env = {};
    for (const [name, text] of Object.entries(task.run.env)) {
      const r = resolve(text, `run.env.${name}`);
      if ('missing' in r) return r;
      env[name] = r.value;
    }
  }
  const { name, namespace, uid } = workflow.metadata;
  return {
    run: {
      apiVersion: API_VERSION,
      kind: 'Run',
      metadata: {
        name: childRunName(name!, task.name),
        namespace,
        labels: { [Label.Workflow]: workflowLabelValue(name!), [Label.WorkflowTask]: task.name },
        ownerReferences: [
          { apiVersion: API_VERSION, kind: 'Workflow', name: name!, uid: uid!, controller: true, blockOwnerDeletion: true },
        ],
      },
      spec: {
        ...task.run,
        ...(task.run.args ? { args } : {}),
        ...(env ? { env } : {}),
      },
    },
  };
}

/** A task's summary from its child Run. */
function fromRun(run: Run): WorkflowTaskStatus {
  const s = run.status ?? {};
  return {
    runName: run.metadata.name,
    phase: s.phase ?? RunPhase.Pending,
    reason: s.reason,
    message: taskMessage(s.message),
    attempt: s.attempt,
    startTime: s.startTime,
    completionTime: s.completionTime,
  };
}

const strip = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

export function decideWorkflow(observed: WorkflowObserved): WorkflowDecision {
  const { workflow, runs } = observed;
  if (workflow.metadata.deletionTimestamp) return NOTHING;
  const nowIso = microTime(observed.now);
  const prev = workflow.status ?? {};
  const spec = workflow.spec;

  // Finished: only the TTL is left to act on.
  if (isWorkflowTerminal(prev.phase)) return ttl(workflow, observed.now);

  const events: WorkflowEvent[] = [];
  const problems = checkWorkflow(spec);
  if (problems.length > 0) {
    const message = boundMessage(`invalid Workflow: ${problems.join('; ')}`);
    const status: WorkflowStatus = {
      ...prev,
      phase: WorkflowPhase.Failed,
      reason: WorkflowReason.InvalidSpec,
      message,
      completionTime: nowIso,
      observedGeneration: workflow.metadata.generation,
      conditions: setCondition(
        setCondition(prev.conditions, { type: WorkflowConditionType.Validated, status: 'False', reason: WorkflowReason.InvalidSpec, message }, nowIso),
        { type: WorkflowConditionType.Completed, status: 'True', reason: WorkflowReason.InvalidSpec, message },
        nowIso,
      ),
    };
    events.push({ type: 'Warning', reason: WorkflowReason.InvalidSpec, message });
    return { ...ttl({ ...workflow, status }, observed.now), status, events };
  }

  const params = paramValues(spec);
  const tasks: Record<string, WorkflowTaskStatus> = {};
  const create: CreateAction[] = [];
  const cancel: string[] = [];
  let requeueAfterMs: number | undefined;
  /** Tasks waiting for a previous incarnation's Run of the same name to go away. */
  const blocked = new Set<string>();
  const cancelled = spec.cancelRequested === true;

  // 1. What each task's Run says (or what status already settled).
  for (const { task } of allTasks(workflow)) {
    const before = prev.tasks?.[task.name];
    const child = runs.get(task.name);
    if (isTaskDone(before)) tasks[task.name] = before!;
    else if (child?.kind === 'own') tasks[task.name] = fromRun(child.run);
    else if (before?.runName)
      // Created earlier, now gone from the cache: it was deleted before it finished.
      tasks[task.name] = {
        ...before,
        phase: RunPhase.Failed,
        reason: WorkflowReason.RunDeleted,
        message: `Run ${before.runName} was deleted before it finished`,
        completionTime: nowIso,
      };
    else if (child?.kind === 'foreign') {
      const owner = child.run.metadata.ownerReferences?.find((o) => o.controller);
      if (owner?.kind === 'Workflow' && owner.name === workflow.metadata.name && owner.uid !== workflow.metadata.uid) {
        // A Run of a previous Workflow with this name, about to be garbage-collected: wait for it.
        tasks[task.name] = { phase: TaskPhase.Pending, message: `waiting for Run ${child.run.metadata.name} of a previous Workflow to be deleted` };
        blocked.add(task.name);
        requeueAfterMs = FOREIGN_RECHECK_MS;
      } else
        tasks[task.name] = {
          phase: RunPhase.Failed,
          reason: WorkflowReason.RunNameConflict,
          message: taskMessage(`a Run named ${child.run.metadata.name} already exists and does not belong to this Workflow`),
          completionTime: nowIso,
        };
    } else tasks[task.name] = { phase: TaskPhase.Pending };
  }

  const isFailed = (name: string) => {
    const s = tasks[name];
    return s?.phase === TaskPhase.Skipped || (s?.phase !== undefined && failedPhases.has(s.phase));
  };
  const mainFailed = spec.tasks.find((t) => isFailed(t.name) && tasks[t.name].phase !== TaskPhase.Skipped);
  const failFast = spec.failFast === true && mainFailed !== undefined;
  const ctx: ResolveContext = {
    params,
    outputs: (name) => runs.get(name)?.kind === 'own' ? runs.get(name)!.run.status?.outputs ?? {} : undefined,
    phase: (name) => tasks[name]?.phase,
  };

  // 2. Start, skip or fail the tasks that have not started; a list is walked until nothing
  // changes, so a skip propagates all the way downstream in one decision.
  const startable = (list: readonly WorkflowTask[], isFinally: boolean) => {
    let changed = true;
    while (changed) {
      changed = false;
      for (const task of list) {
        const s = tasks[task.name];
        if (s.phase !== TaskPhase.Pending || s.runName || blocked.has(task.name)) continue;
        const deps = task.dependsOn ?? [];
        const skip = (reason: string, message: string) => {
          tasks[task.name] = { phase: TaskPhase.Skipped, reason, message: taskMessage(message), completionTime: nowIso };
          events.push({ type: 'Normal', reason: 'TaskSkipped', message: `task ${task.name} skipped: ${message}` });
          changed = true;
        };
        if (cancelled) {
          skip(WorkflowReason.WorkflowCancelled, 'the Workflow was cancelled');
          continue;
        }
        const failedDep = deps.find(isFailed);
        if (failedDep) {
          skip(WorkflowReason.UpstreamFailed, `task ${failedDep} ended ${tasks[failedDep].phase}`);
          continue;
        }
        if (!isFinally && failFast) {
          skip(WorkflowReason.FailFast, `task ${mainFailed!.name} failed and spec.failFast is set`);
          continue;
        }
        if (!deps.every((d) => tasks[d]?.phase === RunPhase.Succeeded)) continue;
        const made = childRun(workflow, task, ctx);
        if ('missing' in made) {
          const { task: up, key, field } = made.missing;
          const message = `${field}: task ${up} did not write output ${key}`;
          tasks[task.name] = {
            phase: RunPhase.Failed,
            reason: WorkflowReason.OutputMissing,
            message: taskMessage(message),
            completionTime: nowIso,
          };
          events.push({ type: 'Warning', reason: 'TaskFailed', message: `task ${task.name} failed: ${message}` });
          changed = true;
          continue;
        }
        const readyAt = (isFinally ? [...deps, ...spec.tasks.map((t) => t.name)] : deps)
          .map((d) => Date.parse(tasks[d]?.completionTime ?? ''))
          .filter(Number.isFinite);
        create.push({ task: task.name, run: made.run, readyAtMs: readyAt.length ? Math.max(...readyAt) : undefined });
        tasks[task.name] = { runName: made.run.metadata.name, phase: TaskPhase.Pending };
        events.push({ type: 'Normal', reason: 'TaskStarted', message: `task ${task.name} started as Run ${made.run.metadata.name}` });
      }
    }
  };
  startable(spec.tasks, false);
  const mainDone = spec.tasks.every((t) => isTaskDone(tasks[t.name]));
  if (mainDone) startable(spec.finally ?? [], true);

  // 3. Cancellation reaches every active child: all of them on cancel, the main tasks on fail-fast.
  for (const { task, isFinally } of allTasks(workflow)) {
    const child = runs.get(task.name);
    if (child?.kind !== 'own' || isTerminal(child.run.status?.phase) || child.run.spec.cancelRequested) continue;
    if (cancelled || (failFast && !isFinally)) cancel.push(child.run.metadata.name!);
  }

  // 4. Events for tasks that ended since the last status.
  for (const { task } of allTasks(workflow)) {
    const now = tasks[task.name];
    const before = prev.tasks?.[task.name];
    if (!isTerminal(now.phase) || isTaskDone(before) || now.reason === WorkflowReason.OutputMissing) continue;
    const ok = now.phase === RunPhase.Succeeded;
    events.push({
      type: ok ? 'Normal' : 'Warning',
      reason: ok ? 'TaskSucceeded' : 'TaskFailed',
      message: ok ? `task ${task.name} succeeded` : `task ${task.name} ended ${now.phase}${now.message ? `: ${now.message}` : ''}`,
    });
  }

  // 5. The Workflow's phase.
  const all = allTasks(workflow).map(({ task }) => task.name);
  const started = all.some((n) => tasks[n].runName !== undefined) || create.length > 0;
  let phase: WorkflowPhase = started ? WorkflowPhase.Running : WorkflowPhase.Pending;
  let reason: string = started ? WorkflowReason.Running : WorkflowReason.Pending;
  let message = started ? `${all.filter((n) => isTaskDone(tasks[n])).length}/${all.length} tasks done` : 'waiting to start';
  let outputs: Record<string, string> | undefined;
  if (all.every((n) => isTaskDone(tasks[n]))) {
    const failed = all.find(isFailed);
    // The failure that came first in time names the cause (fail-fast cancels the others later).
    const failures = all.filter((n) => isFailed(n) && tasks[n].phase !== TaskPhase.Skipped);
    const ended = (n: string) => Date.parse(tasks[n].completionTime ?? '') || Number.MAX_SAFE_INTEGER;
    const firstFailure = failures.sort((a, b) => ended(a) - ended(b))[0];
    if (cancelled && failed) {
      phase = WorkflowPhase.Cancelled;
      reason = WorkflowReason.Cancelled;
      message = 'cancelled: spec.cancelRequested is true';
    } else if (failed) {
      const culprit = firstFailure ?? failed;
      phase = WorkflowPhase.Failed;
      reason = WorkflowReason.TaskFailed;
      message = `task ${culprit} ended ${tasks[culprit].phase}${tasks[culprit].message ? `: ${tasks[culprit].message}` : ''}`;
    } else {
      const resolved: Record<string, string> = {};
      let missing: string | undefined;
      for (const [name, text] of Object.entries(spec.outputs ?? {})) {
        const r = resolveTemplate(text, ctx);
        if ('missing' in r) {
          missing ??= `spec.outputs.${name}: task ${r.missing.task} did not write output ${r.missing.key}`;
          continue;
        }
        resolved[name] = boundMessage(r.value, Limits.outputValueBytes);
      }
      if (missing) {
        phase = WorkflowPhase.Failed;
        reason = WorkflowReason.OutputMissing;
        message = missing;
      } else {
        phase = WorkflowPhase.Succeeded;
        reason = WorkflowReason.Succeeded;
        message = `${all.length} tasks succeeded`;
      }
      if (Object.keys(resolved).length) outputs = resolved;
    }
  }
  const terminal = isWorkflowTerminal(phase);
  if (terminal)
    events.push({
      type: phase === WorkflowPhase.Succeeded ? 'Normal' : 'Warning',
      reason: phase,
      message: `Workflow ${phase}: ${message}`,
    });

  let conditions: Condition[] | undefined = setCondition(
    prev.conditions,
    { type: WorkflowConditionType.Validated, status: 'True', reason: 'Valid', message: 'dependencies and references resolve' },
    nowIso,
  );
  conditions = setCondition(
    conditions,
    terminal
      ? { type: WorkflowConditionType.Completed, status: 'True', reason, message: boundMessage(message) }
      : { type: WorkflowConditionType.Completed, status: 'False', reason, message: boundMessage(message) },
    nowIso,
  );
  const status: WorkflowStatus = strip({
    phase,
    reason,
    message: boundMessage(message),
    startTime: prev.startTime ?? (started ? nowIso : undefined),
    completionTime: terminal ? nowIso : undefined,
    outputs,
    tasks: Object.fromEntries(Object.entries(tasks).map(([k, v]) => [k, strip(v)])),
    observedGeneration: workflow.metadata.generation,
    conditions,
  });
  // Key order differs between what we build and what the apiserver returns: compare by value.
  const changed = !isDeepStrictEqual(status, strip({ ...prev }));
  const decision: WorkflowDecision = { create, cancel, events, status: changed ? status : undefined, requeueAfterMs };
  if (changed) decision.progressOnly = isProgressOnly(prev, status);
  if (terminal) {
    const after = ttl({ ...workflow, status }, observed.now);
    decision.requeueAfterMs = after.requeueAfterMs;
  }
  return decision;
}

/** ttlSecondsAfterFinished of a finished Workflow: delete now, or look again at the deadline. */
function ttl(workflow: Workflow, now: Date): WorkflowDecision {
  const seconds = workflow.spec.ttlSecondsAfterFinished;
  const done = Date.parse(workflow.status?.completionTime ?? '');
  if (seconds === undefined || !Number.isFinite(done)) return NOTHING;
  const left = done + seconds * 1000 - now.getTime();
  return left <= 0 ? { ...NOTHING, delete: true } : { ...NOTHING, requeueAfterMs: left };
}
