// Pod phase and conditions from the state of its containers, as the kubelet computes them.
import type {
  V1ContainerState,
  V1ContainerStatus,
  V1PodCondition,
  V1PodReadinessGate,
} from '@kubernetes/client-node';
import type { ContainerKind, RestartPolicy } from './restart-policy.ts';

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/**
 * A container as the pod sees it. A container that will run again is never `terminated`: it
 * waits (CrashLoopBackOff, ContainerCreating) with the last run in `lastState`.
 */
export interface ContainerSnapshot {
  kind: ContainerKind;
  status: V1ContainerStatus;
}

export interface PodSnapshot {
  restartPolicy: RestartPolicy;
  init: ContainerSnapshot[];
  containers: ContainerSnapshot[];
  /** The pod's network namespace exists (PodReadyToStartContainers). */
  sandboxReady: boolean;
  readinessGates: V1PodReadinessGate[];
  /** Current pod conditions (written by others too), for readiness gates. */
  currentConditions: V1PodCondition[];
}

export const PodConditionType = {
  PodReadyToStartContainers: 'PodReadyToStartContainers',
  Initialized: 'Initialized',
  ContainersReady: 'ContainersReady',
  Ready: 'Ready',
} as const;

const terminated = (s: V1ContainerState | undefined) => s?.terminated;

/** An init container is done when it exited 0 (or, for a sidecar, when it has started). */
function initDone(c: ContainerSnapshot): boolean {
  if (c.kind === 'sidecar') return c.status.started === true;
  return terminated(c.status.state)?.exitCode === 0;
}

export function isInitialized(s: PodSnapshot): boolean {
  return s.init.every(initDone);
}

export function podPhase(s: PodSnapshot): PodPhase {
  if (!isInitialized(s)) {
    const failedForGood = s.init.some(
      (c) => c.kind === 'init' && (terminated(c.status.state)?.exitCode ?? 0) !== 0,
    );
    return failedForGood ? 'Failed' : 'Pending';
  }
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of s.containers) {
    const st = c.status.state;
    if (st?.running) running++;
    else if (st?.terminated) {
      stopped++;
      if (st.terminated.exitCode === 0) succeeded++;
    } else if (c.status.lastState?.terminated) {
      // Waiting to restart after a crash (CrashLoopBackOff): the pod is still Running.
      running++;
    } else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0 && stopped === succeeded) return 'Succeeded';
  return s.containers.length === 0 ? 'Pending' : 'Failed';
}

export const isTerminalPhase = (p: PodPhase) => p === 'Succeeded' || p === 'Failed';

export interface DesiredCondition {
  type: string;
  status: 'True' | 'False';
  reason?: string;
  message?: string;
}

const names = (cs: ContainerSnapshot[]) => cs.map((c) => c.status.name).join(' ');

export function podConditions(s: PodSnapshot, phase: PodPhase): DesiredCondition[] {
  const out: DesiredCondition[] = [];
  out.push({ type: PodConditionType.PodReadyToStartContainers, status: s.sandboxReady ? 'True' : 'False' });

  const incompleteInit = s.init.filter((c) => !initDone(c));
  out.push(
    incompleteInit.length === 0 || phase === 'Succeeded'
      ? {
          type: PodConditionType.Initialized,
          status: 'True',
          ...(phase === 'Succeeded' ? { reason: 'PodCompleted' } : {}),
        }
      : {
          type: PodConditionType.Initialized,
          status: 'False',
          reason: 'ContainersNotInitialized',
          message: `containers with incomplete status: [${names(incompleteInit)}]`,
        },
  );

  if (isTerminalPhase(phase)) {
    out.push({ type: PodConditionType.ContainersReady, status: 'False', reason: 'PodCompleted' });
    out.push({ type: PodConditionType.Ready, status: 'False', reason: 'PodCompleted' });
    return out;
  }
  const unready = [...s.init.filter((c) => c.kind === 'sidecar'), ...s.containers].filter(
    (c) => !c.status.ready,
  );
  const containersReady: DesiredCondition =
    unready.length === 0 && incompleteInit.length === 0
      ? { type: PodConditionType.ContainersReady, status: 'True' }
      : {
          type: PodConditionType.ContainersReady,
          status: 'False',
          reason: 'ContainersNotReady',
          message: `containers with unready status: [${names(unready.length ? unready : incompleteInit)}]`,
        };
  out.push(containersReady);
  if (containersReady.status === 'False') {
    out.push({ ...containersReady, type: PodConditionType.Ready });
    return out;
  }
  for (const gate of s.readinessGates) {
    const c = s.currentConditions.find((x) => x.type === gate.conditionType);
    if (c?.status !== 'True') {
      out.push({
        type: PodConditionType.Ready,
        status: 'False',
        reason: 'ReadinessGatesNotReady',
        message: c
          ? `the status of pod readiness gate "${gate.conditionType}" is not "True", but ${c.status}`
          : `corresponding condition of pod readiness gate "${gate.conditionType}" does not exist.`,
      });
      return out;
    }
  }
  out.push({ type: PodConditionType.Ready, status: 'True' });
  return out;
}

export interface StampedCondition {
  type: string;
  status: 'True' | 'False';
  reason: string | null;
  message: string | null;
  lastTransitionTime: Date;
}

/** Remembers when each condition last changed status (lastTransitionTime). */
export class ConditionClock {
  private readonly seen = new Map<string, { status: string; at: Date }>();

  /** Seeds from the pod's existing conditions so an agent restart keeps their transition times. */
  seed(conditions: V1PodCondition[] | undefined): void {
    for (const c of conditions ?? []) {
      if (c.lastTransitionTime)
        this.seen.set(c.type, { status: c.status, at: new Date(c.lastTransitionTime) });
    }
  }

  /**
   * Adds lastTransitionTime; absent reason/message become null so that a patch clears a stale
   * reason of the previous status (a strategic merge would otherwise keep it).
   */
  stamp(conditions: DesiredCondition[], now = new Date()): StampedCondition[] {
    return conditions.map((c) => {
      let entry = this.seen.get(c.type);
      if (!entry || entry.status !== c.status) {
        entry = { status: c.status, at: now };
        this.seen.set(c.type, entry);
      }
      return {
        type: c.type,
        status: c.status,
        reason: c.reason ?? null,
        message: c.message ?? null,
        lastTransitionTime: entry.at,
      };
    });
  }
}
