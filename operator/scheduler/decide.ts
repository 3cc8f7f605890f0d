// The scheduling decision for one (namespace, runtime): which Pending Runs go to which Runtime
// Pods, and what the others are told while they wait. Pure: the loop feeds it cache snapshots.
import { Annotation, Limits, Reason, type Run } from '../../lib/api.ts';

export interface PodView {
  name: string;
  uid: string;
  /** Kubernetes PodReady. */
  ready: boolean;
  /** When runtimed last reported RuntimedReady=True (ms since epoch), if it currently does. */
  heartbeatMs?: number;
  terminating: boolean;
  capacity: number;
  /** Active Runs assigned to this pod (Scheduled, Running, and assignments in flight). */
  inUse: number;
}

export interface SchedulingInput {
  namespace: string;
  runtime: string;
  runtimeExists: boolean;
  /** Pending Runs of this runtime, oldest first. */
  pending: Run[];
  pods: PodView[];
  nowMs: number;
  staleAfterMs?: number;
}

export type SchedulingAction =
  | { type: 'assign'; run: Run; pod: { name: string; uid: string } }
  | { type: 'wait'; run: Run; reason: string; message: string }
  | { type: 'cancel'; run: Run };

/** A retried Run whose backoff has not elapsed yet. */
export function inBackoff(run: Run, nowMs: number): boolean {
  const after = run.status?.retryAfter;
  return after !== undefined && Date.parse(after) > nowMs;
}

/** When the earliest backoff among these Runs ends, if any is still running. */
export function nextRetryMs(runs: Run[], nowMs: number): number | undefined {
  let next: number | undefined;
  for (const run of runs) {
    if (!inBackoff(run, nowMs) || run.spec.cancelRequested) continue;
    const t = Date.parse(run.status!.retryAfter!);
    if (next === undefined || t < next) next = t;
  }
  return next;
}

export function isSchedulable(pod: PodView, nowMs: number, staleAfterMs: number): boolean {
  return (
    pod.ready && !pod.terminating && pod.heartbeatMs !== undefined && nowMs - pod.heartbeatMs <= staleAfterMs
  );
}

export function decide(input: SchedulingInput): SchedulingAction[] {
  const staleAfterMs = input.staleAfterMs ?? Limits.schedulerStaleSeconds * 1000;
  const actions: SchedulingAction[] = [];
  const wait = (run: Run, reason: string, message: string) => {
    // Only write when the explanation changes: waiting must not cost an API write per event.
    if (run.status?.reason !== reason || run.status?.message !== message)
      actions.push({ type: 'wait', run, reason, message });
  };
  const pending = input.pending.filter((run) => {
    // Created by restore without its status yet (a created Run reads as Pending): not ours to act on.
    if (run.metadata.annotations?.[Annotation.Restoring] !== undefined) return false;
    if (run.spec.cancelRequested) {
      actions.push({ type: 'cancel', run });
      return false;
    }
    // A retry waits out its backoff with the explanation runtimed or the reaper wrote.
    return !inBackoff(run, input.nowMs);
  });
  if (pending.length === 0) return actions;

  if (!input.runtimeExists) {
    const msg = `Runtime "${input.runtime}" not found in namespace ${input.namespace}`;
    for (const run of pending) wait(run, Reason.RuntimeNotFound, msg);
    return actions;
  }
  const candidates = input.pods
    .filter((p) => isSchedulable(p, input.nowMs, staleAfterMs))
    .map((p) => ({ ...p }))
    .sort((a, b) => a.name.localeCompare(b.name));
  if (candidates.length === 0) {
    const msg = explainNoReadyPod(input, staleAfterMs);
    for (const run of pending) wait(run, Reason.NoReadyPod, msg);
    return actions;
  }
  for (const run of pending) {
    // Spread: the least loaded pod with a free slot; ties go to the first by name.
    let best: (typeof candidates)[number] | undefined;
    for (const p of candidates) {
      if (p.inUse >= p.capacity) continue;
      if (!best || p.inUse < best.inUse) best = p;
    }
    if (!best) {
      const used = candidates.reduce((n, p) => n + p.inUse, 0);
      const cap = candidates.reduce((n, p) => n + p.capacity, 0);
      wait(
        run,
        Reason.AtCapacity,
        `all ${candidates.length} ready Runtime Pods of "${input.runtime}" are at capacity (${used}/${cap} Runs); waiting for a free slot`,
      );
      continue;
    }
    best.inUse++;
    actions.push({ type: 'assign', run, pod: { name: best.name, uid: best.uid } });
  }
  return actions;
}

function explainNoReadyPod(input: SchedulingInput, staleAfterMs: number): string {
  if (input.pods.length === 0) return `Runtime "${input.runtime}" has no Runtime Pods yet`;
  const notReady = input.pods.filter((p) => !p.ready).length;
  const terminating = input.pods.filter((p) => p.terminating).length;
  const stale = input.pods.filter(
    (p) =>
      p.ready &&
      !p.terminating &&
      (p.heartbeatMs === undefined || input.nowMs - p.heartbeatMs > staleAfterMs),
  ).length;
  const parts = [
    notReady && `${notReady} not Ready`,
    terminating && `${terminating} terminating`,
    stale && `${stale} without a fresh runtimed heartbeat`,
  ].filter(Boolean);
  return `no ready Runtime Pod of "${input.runtime}" (${input.pods.length} pods: ${parts.join(', ')})`;
}
