// Run status transitions as pure functions: each returns the status to write for one step of a
// Run's life, with conditions normalized the same way by every component.
import {
  type Condition,
  microTime,
  Reason,
  type Run,
  RunConditionType,
  RunPhase,
  type RunStatus,
} from './api.ts';
import { boundMessage } from './message.ts';
import { decideRetry } from './retry.ts';

/** A status merge patch: null removes a field (for example the assignment when a Run is retried). */
export type RunStatusPatch = { [K in keyof RunStatus]?: RunStatus[K] | null };

export function setCondition(conditions: Condition[] | undefined, next: Condition, now: string): Condition[] {
  const list = (conditions ?? []).filter((c) => c.type !== next.type);
  const prev = conditions?.find((c) => c.type === next.type);
  const lastTransitionTime = prev && prev.status === next.status ? prev.lastTransitionTime : now;
  return [...list, { ...next, lastTransitionTime: lastTransitionTime ?? now }];
}

export function phaseOf(run: Run): RunPhase {
  return run.status?.phase ?? RunPhase.Pending;
}

/** Pending with an explanation of why the Run waits. */
export function waitingStatus(run: Run, reason: string, message: string): RunStatus {
  return { phase: RunPhase.Pending, reason, message: boundMessage(message), attempt: run.status?.attempt };
}

export function scheduledStatus(run: Run, pod: { name: string; uid: string }, now = microTime()): RunStatus {
  return {
    phase: RunPhase.Scheduled,
    reason: Reason.Scheduled,
    message: `assigned to pod ${pod.name}`,
    assignedPod: pod.name,
    assignedPodUID: pod.uid,
    attempt: (run.status?.attempt ?? 0) + 1,
    scheduledTime: now,
    conditions: setCondition(
      run.status?.conditions,
      {
        type: RunConditionType.Scheduled,
        status: 'True',
        reason: Reason.Scheduled,
        message: `assigned to pod ${pod.name}`,
      },
      now,
    ),
  };
}

export function runningStatus(run: Run, now = microTime()): RunStatus {
  return {
    phase: RunPhase.Running,
    reason: Reason.Claimed,
    message: `running on pod ${run.status?.assignedPod}`,
    startTime: now,
    conditions: setCondition(
      run.status?.conditions,
      {
        type: RunConditionType.Running,
        status: 'True',
        reason: Reason.Claimed,
        message: 'claimed by runtimed',
      },
      now,
    ),
  };
}

export type TerminalPhase =
  | typeof RunPhase.Succeeded
  | typeof RunPhase.Failed
  | typeof RunPhase.Timeout
  | typeof RunPhase.Cancelled;

export interface Outcome {
  phase: TerminalPhase;
  reason: string;
  message: string;
  exitCode?: number;
  outputs?: Record<string, string>;
}

/**
 * The terminal status of this outcome. `startedAt` is given for an attempt that executed but was
 * never written Running (it ended within its claim window, lib/claim-window.ts): this one write then
 * carries its start and the Running condition, as a claimed attempt's would.
 */
export function terminalStatus(run: Run, outcome: Outcome, now = microTime(), startedAt?: string): RunStatus {
  const message = boundMessage(outcome.message);
  let conditions = run.status?.conditions;
  if (startedAt !== undefined || conditions?.some((c) => c.type === RunConditionType.Running)) {
    conditions = setCondition(
      conditions,
      { type: RunConditionType.Running, status: 'False', reason: outcome.reason, message },
      now,
    );
  }
  conditions = setCondition(
    conditions,
    { type: outcome.phase, status: 'True', reason: outcome.reason, message },
    now,
  );
  return {
    phase: outcome.phase,
    reason: outcome.reason,
    message,
    completionTime: now,
    startTime: run.status?.startTime ?? startedAt ?? now,
    exitCode: outcome.exitCode,
    outputs: outcome.outputs,
    conditions,
  };
}

/**
 * Back to Pending for another attempt, directly from Scheduled or Running (a terminal phase can
 * never change, so a retry never passes through Failed). The attempt number is kept: the scheduler
 * counts the next one when it assigns it. The assignment and the last attempt's results are
 * removed, so nothing of the failed attempt looks like the next one's.
 */
export function retryStatus(
  run: Run,
  outcome: Outcome,
  retry: { delaySeconds: number; retryAfterMs: number },
  now = microTime(),
): RunStatusPatch {
  const attempt = run.status?.attempt ?? 1;
  const max = run.spec.retryPolicy?.maxAttempts ?? 1;
  const message = boundMessage(
    `attempt ${attempt} of ${max} ended ${outcome.reason}: ${outcome.message}; retrying in ${retry.delaySeconds}s`,
  );
  // The attempt ran (a retry ends an attempt that executed), also when it ended within its claim
  // window and was never written Running: the Running condition carries why it ended.
  let conditions = setCondition(
    run.status?.conditions,
    { type: RunConditionType.Running, status: 'False', reason: outcome.reason, message },
    now,
  );
  conditions = setCondition(
    conditions,
    { type: RunConditionType.Scheduled, status: 'False', reason: Reason.RetryBackoff, message },
    now,
  );
  return {
    phase: RunPhase.Pending,
    reason: Reason.RetryBackoff,
    message,
    attempt,
    retryAfter: microTime(new Date(retry.retryAfterMs)),
    assignedPod: null,
    assignedPodUID: null,
    scheduledTime: null,
    startTime: null,
    exitCode: outcome.exitCode ?? null,
    outputs: null,
    conditions,
  };
}

/** The status that ends an attempt with this outcome: a retry when the policy allows one, else terminal. */
export function endOfAttemptStatus(
  run: Run,
  outcome: Outcome,
  nowMs = Date.now(),
  startedAt?: string,
): { status: RunStatusPatch; retried: boolean } {
  const now = microTime(new Date(nowMs));
  const retry = decideRetry(run, outcome, nowMs);
  if (retry.retry) return { status: retryStatus(run, outcome, retry, now), retried: true };
  return { status: terminalStatus(run, outcome, now, startedAt), retried: false };
}

/**
 * Back to Pending without spending an attempt, for an attempt that certainly never executed
 * (its pod went away before claiming it, or the Runtime Server could not be reached to start it):
 * the scheduler counts attempts on assignment, so the count goes back by one.
 */
export function rescheduleStatus(
  run: Run,
  cause: { reason: string; message: string },
  now = microTime(),
  /** When the scheduler may assign it again (default: at once). */
  retryAfter = now,
): RunStatusPatch {
  const message = boundMessage(`${cause.message}; rescheduling`);
  let conditions = run.status?.conditions;
  if (conditions?.some((c) => c.type === RunConditionType.Running)) {
    conditions = setCondition(
      conditions,
      { type: RunConditionType.Running, status: 'False', reason: cause.reason, message },
      now,
    );
  }
  conditions = setCondition(
    conditions,
    { type: RunConditionType.Scheduled, status: 'False', reason: cause.reason, message },
    now,
  );
  return {
    phase: RunPhase.Pending,
    reason: Reason.RetryBackoff,
    message,
    attempt: Math.max(0, (run.status?.attempt ?? 1) - 1),
    retryAfter,
    assignedPod: null,
    assignedPodUID: null,
    scheduledTime: null,
    startTime: null,
    conditions,
  };
}
