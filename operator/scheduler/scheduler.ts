// The scheduler on the controller frame (lib/controller). The key is a (namespace, runtime): a
// Run's events enqueue its runtime, a Runtime Pod's its Runtime's (label kruntimes.io/runtime),
// a Runtime's its own. Each reconcile reads that runtime's queue of Pending Runs and its pods'
// active Runs from the shared cache (through RunIndex), asks the pure decide what to do, writes the
// assignments, refusals and cancellations at once (merge patches with the read resourceVersion as
// precondition, through a status writer like lib/controller's, whose copies stand in for the
// cache until the watch catches up) and returns: a lost race requeues with backoff, a retry
// backoff that ends requeues at that moment, and Runs left waiting are looked at again after
// RESYNC_MS (a heartbeat going stale has no event of its own).
//
// Telling a waiting Run why it waits (AtCapacity, NoReadyPod, RuntimeNotFound) is a second,
// lower-priority controller keyed by Run: with 10,000 Runs queued behind a full Runtime, those
// writes must not hold up the assignment of a slot that just freed. It tells a Run only once it has
// waited EXPLAIN_AFTER_MS: in a burst most Runs find a slot within that, and the explanation would
// be one more write for each, outdated by the next.
//
// The Run cache keeps only what the scheduler reads (run-view.ts), so a queued Run costs a few
// hundred bytes of the scheduler's memory rather than its whole object.
import type { V1Pod } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import { ACTIVE_PHASES, isTerminal, Label, Reason, type Run, RunPhase, type Runtime } from '../../lib/api.ts';
import { Controller, objectKey, type Result, splitKey } from '../../lib/controller/controller.ts';
import type { SharedCache } from '../../lib/controller/shared-cache.ts';
import { StatusConflictError, StatusWriter } from '../../lib/controller/status-writer.ts';
import type { Informer } from '../../lib/informer.ts';
import { type KubeClient, Paths } from '../../lib/kube-client.ts';
import { logger } from '../../lib/log.ts';
import { addAmounts, type ResourceAmounts, runRequests, runtimeCapacity } from '../../lib/resources.ts';
import { phaseOf, scheduledStatus, terminalStatus, waitingStatus } from '../../lib/run-status.ts';
import { schedulerMetrics } from '../metrics.ts';
import { decide, nextRetryMs, type SchedulingAction } from './decide.ts';
import { podView } from './pod-view.ts';
import { RunIndex, scopedKey } from './run-index.ts';
import { SCHEDULER_RUN_VIEW, schedulerRunView } from './run-view.ts';

const log = logger.child({ component: 'scheduler' });

/** How soon Runs left waiting are decided again without an event (a pod's heartbeat going stale). */
export const RESYNC_MS = 5000;

/** How long a Run waits, as this scheduler saw it, before it is told why. */
export const EXPLAIN_AFTER_MS = 1000;

/** The runtime key of a Runtime Pod's events. */
const podRuntimeKey = (p: V1Pod) => {
  const runtime = p.metadata?.labels?.[Label.Runtime];
  return runtime && p.metadata?.namespace ? scopedKey(p.metadata.namespace, runtime) : undefined;
};

export class Scheduler {
  private readonly runs: Informer<Run>;
  private readonly pods: Informer<V1Pod>;
  private readonly runtimes: Informer<Runtime>;
  private readonly index = new RunIndex();
  private readonly status: StatusWriter<Run>;
  private readonly controller: Controller;
  private readonly explainer: Controller;
  /**
   * What each waiting Run (namespace/name) is to be told, until it is written or moot, and since
   * when (performance.now()) this scheduler has seen it wait.
   */
  private readonly explanations = new Map<string, { reason: string; message: string; since: number }>();
  private readonly explainAfterMs: number;

  constructor(options: { client: KubeClient; cache: SharedCache; registry: Registry; explainAfterMs?: number }) {
    const { cache } = options;
    this.explainAfterMs = options.explainAfterMs ?? EXPLAIN_AFTER_MS;
    this.runs = cache.informer<Run>(Paths.runs(), {
      transform: { name: SCHEDULER_RUN_VIEW, apply: schedulerRunView as (o: never) => unknown },
    });
    this.pods = cache.informer<V1Pod>(Paths.pods(), { labelSelector: Label.Runtime });
    this.runtimes = cache.informer<Runtime>(Paths.runtimes());
    // Run status transitions are merge patches (lib/run-status.ts: null removes a field).
    this.status = new StatusWriter<Run>(options.client, Paths.runStatus);
    // The index first: the controller's handlers, registered next, may reconcile at once.
    this.runs.on('add', (r) => this.index.upsert(r));
    this.runs.on('update', (r) => {
      this.index.upsert(r);
      if (isTerminal(r.status?.phase)) this.status.forget(r.metadata.uid);
    });
    this.runs.on('delete', (r) => {
      this.index.remove(r);
      this.status.forget(r.metadata.uid);
    });
    this.controller = new Controller({
      name: 'scheduler',
      cache,
      registry: options.registry,
      reconcile: (key) => this.reconcile(key),
      // One key per runtime: a burst of events for it collapses into one decision.
      concurrency: 4,
      baseDelayMs: 20,
      maxDelayMs: 5000,
    })
      .watch(this.runs, (r) => scopedKey(r.metadata.namespace!, r.spec.runtime))
      .watch(this.pods, podRuntimeKey)
      .watch(this.runtimes, objectKey);
    this.explainer = new Controller({
      name: 'scheduler-explain',
      cache,
      registry: options.registry,
      reconcile: (key) => this.explain(key),
      concurrency: 2,
    });
  }

  async start(): Promise<void> {
    await this.explainer.start();
    await this.controller.start();
    log.info('scheduler started');
  }

  async stop(): Promise<void> {
    await Promise.all([this.controller.stop(), this.explainer.stop()]);
  }

  private async reconcile(key: string): Promise<Result | void> {
    const { namespace, name: runtime } = splitKey(key);
    // What each pod holds: the requests of its active Runs, including assignments written but not
    // yet in the cache (the writer's copy of a Run the cache still shows Pending).
    const inUse = new Map<string, ResourceAmounts>();
    const hold = (pod: string, run: Run) => inUse.set(pod, addAmounts(inUse.get(pod) ?? {}, runRequests(run.spec)));
    const pending: Run[] = [];
    for (const cached of this.index.pending(key)) {
      const run = this.status.latest(cached);
      const phase = phaseOf(run);
      if (phase === RunPhase.Pending) pending.push(run);
      else if (ACTIVE_PHASES.has(phase) && run.status?.assignedPod) hold(run.status.assignedPod, run);
    }
    if (pending.length === 0) return;
    const pods = this.pods
      .list(namespace)
      .filter((p) => p.metadata?.labels?.[Label.Runtime] === runtime)
      .map((p) => {
        const name = p.metadata!.name!;
        for (const cached of this.index.active(scopedKey(namespace, name))) {
          const run = this.status.latest(cached);
          if (ACTIVE_PHASES.has(phaseOf(run)) && run.status?.assignedPod === name) hold(name, run);
        }
        return podView(p, inUse.get(name) ?? {});
      });
    const rt = this.runtimes.get(runtime, namespace);
    const nowMs = Date.now();
    const actions = decide({
      namespace,
      runtime,
      runtimeExists: rt !== undefined,
      runtimeCapacity: rt && runtimeCapacity(rt.spec),
      pending,
      pods,
      nowMs,
    });
    const writes: Array<Promise<void>> = [];
    let waiting = 0;
    for (const action of actions) {
      if (action.type === 'wait') {
        waiting++;
        const runKey = objectKey(action.run);
        const since = this.explanations.get(runKey)?.since ?? performance.now();
        this.explanations.set(runKey, { reason: action.reason, message: action.message, since });
        this.explainer.enqueue(runKey);
      } else writes.push(this.apply(action));
    }
    const results = await Promise.allSettled(writes);
    const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason as unknown);
    // Another write won a race: decide again from the fresher copy the watch brings (with backoff).
    if (failed.length > 0) throw failed.find((e) => !(e instanceof StatusConflictError)) ?? failed[0];
    const retryAt = nextRetryMs(pending, Date.now());
    const after = [retryAt !== undefined ? retryAt - Date.now() + 1 : undefined, waiting > 0 ? RESYNC_MS : undefined]
      .filter((ms): ms is number => ms !== undefined)
      .sort((a, b) => a - b)[0];
    if (after !== undefined) return { requeueAfterMs: after };
  }

  private async apply(action: Exclude<SchedulingAction, { type: 'wait' }>): Promise<void> {
    const { run } = action;
    const uid = run.metadata.uid!;
    let status: Run['status'];
    if (action.type === 'assign') status = scheduledStatus(run, action.pod);
    else if (action.type === 'refuse') {
      status = terminalStatus(run, { phase: RunPhase.Failed, reason: action.reason, message: action.message });
      log.info('refused', { run: run.metadata.name, uid, message: action.message });
    } else
      status = terminalStatus(run, {
        phase: RunPhase.Cancelled,
        reason: Reason.Cancelled,
        message: 'cancelled before it was scheduled',
      });
    const written = await this.status.mergePatch(run, status);
    if (!written || action.type !== 'assign') return;
    log.debug('assigned', { run: run.metadata.name, uid, pod: action.pod.name });
    schedulerMetrics.assignments.inc();
    const since = Math.max(
      Date.parse(run.metadata.creationTimestamp ?? '') || 0,
      Date.parse(run.status?.retryAfter ?? '') || 0,
    );
    if (since) schedulerMetrics.queueWait.observe(Math.max(0, Date.now() - since) / 1000);
  }

  /** Writes a waiting Run's explanation, unless it no longer waits or already says so. */
  private async explain(runKey: string): Promise<Result | void> {
    const want = this.explanations.get(runKey);
    const { namespace, name } = splitKey(runKey);
    const cached = this.runs.get(name, namespace);
    const run = cached && this.status.latest(cached);
    if (!want || !run || phaseOf(run) !== RunPhase.Pending) {
      this.explanations.delete(runKey);
      return;
    }
    if (run.status?.reason === want.reason && run.status?.message === want.message) {
      this.explanations.delete(runKey);
      return;
    }
    const waitedMs = performance.now() - want.since;
    if (waitedMs < this.explainAfterMs) return { requeueAfterMs: Math.ceil(this.explainAfterMs - waitedMs) };
    await this.status.mergePatch(run, waitingStatus(run, want.reason, want.message));
    // A newer explanation that arrived meanwhile stays: the queue runs this key again for it.
    if (this.explanations.get(runKey) === want) this.explanations.delete(runKey);
  }
}
