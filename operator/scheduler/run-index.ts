// The scheduler's indexes over its Run cache, as client-go's cache indexers: the Pending Runs of
// each (namespace, runtime), oldest first, and the active (Scheduled, Running) Runs of each
// (namespace, pod). They are a function of what the informer holds (fed by its add, update and
// delete events, before the controller is told), so a reconcile reads one runtime's queue and its
// pods' Runs without scanning every Run of the namespace: with 10,000 Runs queued the reconcile
// that follows a freed slot stays cheap. They hold references to the cached objects, not copies.
import { ACTIVE_PHASES, type Run, RunPhase } from '../../lib/api.ts';
import { phaseOf } from '../../lib/run-status.ts';

/** `namespace/name`: of a runtime for the queues, of a pod for the slots. */
export const scopedKey = (namespace: string, name: string) => `${namespace}/${name}`;

/** Oldest first: by creationTimestamp (whole seconds), then by name. */
export function queueOrder(a: Run, b: Run): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const na = a.metadata.name ?? '';
  const nb = b.metadata.name ?? '';
  return na === nb ? 0 : na < nb ? -1 : 1;
}

/** One runtime's Pending Runs; sorted lazily, since a freed slot removes and only a create adds. */
class Queue {
  readonly runs = new Map<string, Run>();
  /** uids in queue order; may still list removed ones (skipped, compacted when they pile up). */
  private order: string[] = [];
  private sorted = true;
  private removed = 0;

  set(uid: string, run: Run): void {
    if (!this.runs.has(uid)) {
      this.order.push(uid);
      this.sorted = false;
    }
    this.runs.set(uid, run);
  }

  delete(uid: string): void {
    if (this.runs.delete(uid)) this.removed++;
  }

  list(): Run[] {
    if (!this.sorted) {
      const runs = this.runs;
      this.order = [...runs.keys()].sort((a, b) => queueOrder(runs.get(a)!, runs.get(b)!));
      this.sorted = true;
      this.removed = 0;
    } else if (this.removed > this.order.length / 2) {
      this.order = this.order.filter((uid) => this.runs.has(uid));
      this.removed = 0;
    }
    const out: Run[] = [];
    for (const uid of this.order) {
      const run = this.runs.get(uid);
      if (run) out.push(run);
    }
    return out;
  }
}

export class RunIndex {
  private readonly queues = new Map<string, Queue>();
  /** Which queue each Pending Run is in (a Run's runtime never changes, but be exact). */
  private readonly queueOf = new Map<string, string>();
  private readonly slots = new Map<string, Map<string, Run>>();
  private readonly podOf = new Map<string, string>();

  /** Indexes the cache's current copy of a Run (after an add or an update). */
  upsert(run: Run): void {
    const uid = run.metadata.uid!;
    const ns = run.metadata.namespace!;
    const phase = phaseOf(run);
    const queueKey = phase === RunPhase.Pending ? scopedKey(ns, run.spec.runtime) : undefined;
    const podKey =
      ACTIVE_PHASES.has(phase) && run.status?.assignedPod ? scopedKey(ns, run.status.assignedPod) : undefined;
    this.place(uid, queueKey, podKey, run);
  }

  remove(run: Run): void {
    this.place(run.metadata.uid!, undefined, undefined, run);
  }

  private place(uid: string, queueKey: string | undefined, podKey: string | undefined, run: Run): void {
    const prevQueue = this.queueOf.get(uid);
    if (prevQueue !== undefined && prevQueue !== queueKey) {
      const q = this.queues.get(prevQueue)!;
      q.delete(uid);
      if (q.runs.size === 0) this.queues.delete(prevQueue);
      this.queueOf.delete(uid);
    }
    if (queueKey !== undefined) {
      let q = this.queues.get(queueKey);
      if (!q) this.queues.set(queueKey, (q = new Queue()));
      q.set(uid, run);
      this.queueOf.set(uid, queueKey);
    }
    const prevPod = this.podOf.get(uid);
    if (prevPod !== undefined && prevPod !== podKey) {
      const s = this.slots.get(prevPod)!;
      s.delete(uid);
      if (s.size === 0) this.slots.delete(prevPod);
      this.podOf.delete(uid);
    }
    if (podKey !== undefined) {
      let s = this.slots.get(podKey);
      if (!s) this.slots.set(podKey, (s = new Map()));
      s.set(uid, run);
      this.podOf.set(uid, podKey);
    }
  }

  /** The Pending Runs of namespace/runtime, oldest first. */
  pending(runtimeKey: string): Run[] {
    return this.queues.get(runtimeKey)?.list() ?? [];
  }

  pendingCount(runtimeKey: string): number {
    return this.queues.get(runtimeKey)?.runs.size ?? 0;
  }

  /** The active Runs assigned to namespace/pod. */
  active(podKey: string): Run[] {
    return [...(this.slots.get(podKey)?.values() ?? [])];
  }
}
