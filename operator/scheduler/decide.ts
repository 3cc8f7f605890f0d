// The scheduling decision for one (namespace, runtime): which Pending Runs go to which Runtime
// Pods, and what the others are told while they wait. Pure: the loop feeds it cache snapshots.
import { Annotation, Limits, RESOURCE_RUNS, Reason, type Run } from '../../lib/api.ts';
import {
  addAmounts,
  formatAmounts,
  type ResourceAmounts,
  runRequests,
  shortOf,
  unsatisfiable,
} from '../../lib/resources.ts';

export interface PodView {
  name: string;
  uid: string;
  /** Kubernetes PodReady. */
  ready: boolean;
  /** When runtimed last reported RuntimedReady=True (ms since epoch), if it currently does. */
  heartbeatMs?: number;
  terminating: boolean;
  /** From the pod's kruntimes.io/capacity.<name> annotations. */
  capacity: ResourceAmounts;
  /** The requests of the active Runs assigned to this pod (Scheduled, Running, assignments in flight). */
  inUse: ResourceAmounts;
}

export interface SchedulingInput {
  namespace: string;
  runtime: string;
  runtimeExists: boolean;
  /** The Runtime's spec.capacity.resources (lib/resources runtimeCapacity), when it exists. */
  runtimeCapacity?: ResourceAmounts;
  /** Pending Runs of this runtime, oldest first. */
  pending: Run[];
  pods: PodView[];
  nowMs: number;
  staleAfterMs?: number;
}

export type SchedulingAction =
  | { type: 'assign'; run: Run; pod: { name: string; uid: string } }
  | { type: 'wait'; run: Run; reason: string; message: string }
  /** End the Run Failed: it can never be scheduled. */
  | { type: 'refuse'; run: Run; reason: string; message: string }
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
  // A request no pod of this Runtime could hold even idle never will: say so and end the Run, rather
  // than leave it (and a Workflow or a `--wait` behind it) Pending for ever.
  // Most Runs of a queue ask for the same (nothing but their slot): the requests, their key and
  // whether they can ever fit are worked out once per distinct spec.resources.requests.
  const shapes = new Map<string, { requests: ResourceAmounts; key: string; why?: string }>();
  const shapeOf = new Map<Run, { requests: ResourceAmounts; key: string }>();
  const schedulable = pending.filter((run) => {
    const raw = run.spec.resources?.requests;
    const rawKey = raw === undefined ? '' : JSON.stringify(raw);
    let shape = shapes.get(rawKey);
    if (!shape) {
      const requests = runRequests(run.spec);
      const why = input.runtimeCapacity && unsatisfiable(input.runtime, requests, input.runtimeCapacity);
      shapes.set(rawKey, (shape = { requests, key: formatAmounts(requests), why: why || undefined }));
    }
    shapeOf.set(run, shape);
    if (shape.why) actions.push({ type: 'refuse', run, reason: Reason.Unschedulable, message: shape.why });
    return !shape.why;
  });
  if (schedulable.length === 0) return actions;
  const candidates = input.pods
    .filter((p) => isSchedulable(p, input.nowMs, staleAfterMs))
    .map((p) => ({ ...p, inUse: { ...p.inUse } }))
    .sort((a, b) => a.name.localeCompare(b.name));
  if (candidates.length === 0) {
    const msg = explainNoReadyPod(input, staleAfterMs);
    for (const run of schedulable) wait(run, Reason.NoReadyPod, msg);
    return actions;
  }
  // Pods only fill up during this loop: a request that found no room stays without room, and the
  // Runs behind it with the same requests are told the same (with 10,000 queued, the loop would
  // otherwise scan every pod and build the explanation for each).
  const noRoom = new Map<string, string>();
  for (const run of schedulable) {
    const { requests, key: shape } = shapeOf.get(run)!;
    const known = noRoom.get(shape);
    if (known !== undefined) {
      wait(run, Reason.AtCapacity, known);
      continue;
    }
    // Spread: the pod with the fewest Runs among those with room for every request; ties go to
    // the first by name.
    let best: (typeof candidates)[number] | undefined;
    for (const p of candidates) {
      if (shortOf(requests, p.inUse, p.capacity).length > 0) continue;
      if (!best || runsOf(p.inUse) < runsOf(best.inUse)) best = p;
    }
    if (!best) {
      const message = explainAtCapacity(input.runtime, requests, candidates);
      noRoom.set(shape, message);
      wait(run, Reason.AtCapacity, message);
      continue;
    }
    addAmounts(best.inUse, requests);
    actions.push({ type: 'assign', run, pod: { name: best.name, uid: best.uid } });
  }
  return actions;
}

const runsOf = (amounts: ResourceAmounts) => amounts[RESOURCE_RUNS] ?? 0;

/**
 * Which resource the Run waits for, summed over the ready pods: `2/2 Runs` for the built-in one
 * (as before there were others), `gpu 1/1 in use` for the others.
 */
function explainAtCapacity(runtime: string, requests: ResourceAmounts, pods: PodView[]): string {
  // The names no single pod has enough of; when each fits somewhere but never all on one pod, all.
  let short = Object.keys(requests)
    .filter((name) => pods.every((p) => shortOf({ [name]: requests[name] }, p.inUse, p.capacity).length > 0))
    .sort();
  const scattered = short.length === 0;
  if (scattered) short = Object.keys(requests).sort();
  const parts = short.map((name) => {
    const used = pods.reduce((n, p) => n + (p.inUse[name] ?? 0), 0);
    const cap = pods.reduce((n, p) => n + (p.capacity[name] ?? 0), 0);
    return name === RESOURCE_RUNS ? `${used}/${cap} Runs` : `${name} ${used}/${cap} in use`;
  });
  // Amounts above 1 explain why "1/2 in use" is still too full.
  const asked = short.filter((name) => requests[name] > 1);
  if (scattered) parts.push(`no single pod has room for all of ${formatAmounts(requests)}`);
  else if (asked.length > 0)
    parts.push(`this Run requests ${formatAmounts(Object.fromEntries(asked.map((n) => [n, requests[n]])))}`);
  return `all ${pods.length} ready Runtime Pods of "${runtime}" are at capacity (${parts.join(', ')}); waiting for a free slot`;
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
