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

export function terminalStatus(run: Run, outcome: Outcome, now = microTime()): RunStatus {
  const message = boundMessage(outcome.message);
  let conditions = run.status?.conditions;
  if (conditions?.some((c) => c.type === RunConditionType.Running)) {
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
    startTime: run.status?.startTime ?? now,
    exitCode: outcome.exitCode,
    outputs: outcome.outputs,
    conditions,
  };
}
