// The stale Run reaper and Run garbage collection, run by the controller role (leader-elected):
// - Scheduled or Running Runs whose assigned pod cannot finish them are rescheduled, retried or
//   failed (decide.ts), so a Run never waits forever on a pod that is gone, stopped or frozen;
// - finished Runs are deleted ttlSecondsAfterFinished after completion (ttl.ts);
// - Run outcome metrics are counted from the transitions the Run watch shows.
import type { V1Pod } from '@kubernetes/client-node';
import { ACTIVE_PHASES, isTerminal, Label, Reason, type Run, RunPhase } from '../../lib/api.ts';
import type { SharedCache } from '../../lib/controller/shared-cache.ts';
import { EventAction, EventType, recordEvent } from '../../lib/events.ts';
import type { Informer } from '../../lib/informer.ts';
import { isConflict, isNotFound, type KubeClient, Paths } from '../../lib/kube-client.ts';
import { errorMessage, logger } from '../../lib/log.ts';
import { phaseOf } from '../../lib/run-status.ts';
import { CONTROLLER_RUN_VIEW } from '../controller-run-view.ts';
import { runMetrics } from '../metrics.ts';
import { judgeAssignment, ReapResult, reap, type Verdict } from './decide.ts';
import { reaperPodView } from './pod-view.ts';
import { ttlDeadlineMs } from './ttl.ts';

const log = logger.child({ component: 'reaper' });
const EVENT_REPORTER = 'kruntimes.io/reaper';
const SWEEP_MS = 2000;

export interface ReaperOptions {
  client: KubeClient;
  /** The controller role's shared informers: the reaper reads the same Run copy as its controllers. */
  cache: SharedCache;
  /** This replica's name, for Events. */
  instance: string;
  staleAfterMs?: number;
}

export class Reaper {
  private readonly o: ReaperOptions;
  private runs!: Informer<Run>;
  private pods!: Informer<V1Pod>;
  /** Runs with a reaper write in flight. */
  private readonly busy = new Set<string>();
  /** The last phase seen of each Run, to count transitions once. */
  private readonly lastPhase = new Map<string, RunPhase>();
  private readonly ttlTimers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private sweepTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(options: ReaperOptions) {
    this.o = options;
  }

  async start(): Promise<void> {
    const { cache } = this.o;
    this.runs = cache.informer<Run>(Paths.runs(), { transform: CONTROLLER_RUN_VIEW });
    this.pods = cache.informer<V1Pod>(Paths.pods(), { labelSelector: Label.Runtime });
    this.runs.on('add', (r) => this.onRun(r, true));
    this.runs.on('update', (r) => this.onRun(r, false));
    this.runs.on('delete', (r) => this.onRunDeleted(r));
    // A pod event can make its Runs stale at once (deleted, replaced, stopped).
    for (const ev of ['update', 'delete'] as const) this.pods.on(ev, () => this.sweepSoon());
    await cache.waitForSync([this.pods, this.runs]);
    // The shared Run cache may have listed before these handlers were added (another controller
    // waited for it first): take what it already holds as the initial state.
    for (const run of this.runs.list()) if (!this.lastPhase.has(run.metadata.uid!)) this.onRun(run, true);
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
    this.sweep();
    log.info('reaper started');
  }

  /** Stops the sweeps and timers; the shared informers belong to the cache and keep running. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweepTimer);
    for (const { timer } of this.ttlTimers.values()) clearTimeout(timer);
    this.ttlTimers.clear();
  }

  private sweepQueued = false;
  private sweepSoon(): void {
    if (this.sweepQueued) return;
    this.sweepQueued = true;
    setImmediate(() => {
      this.sweepQueued = false;
      this.sweep();
    });
  }

  private onRun(run: Run, initial: boolean): void {
    if (this.stopped) return;
    const uid = run.metadata.uid!;
    const phase = phaseOf(run);
    const prev = this.lastPhase.get(uid);
    this.lastPhase.set(uid, phase);
    if (!initial && prev !== undefined && prev !== phase) this.countTransition(run, prev, phase);
    this.scheduleTtl(run);
    if (ACTIVE_PHASES.has(phase)) this.sweepSoon();
  }

  private onRunDeleted(run: Run): void {
    const uid = run.metadata.uid!;
    this.lastPhase.delete(uid);
    const t = this.ttlTimers.get(uid);
    if (t) clearTimeout(t.timer);
    this.ttlTimers.delete(uid);
  }

  private countTransition(run: Run, prev: RunPhase, phase: RunPhase): void {
    if (isTerminal(phase) && !isTerminal(prev)) {
      const reason = run.status?.reason ?? '';
      runMetrics.finished.inc({ result: phase, reason });
      const created = Date.parse(run.metadata.creationTimestamp ?? '');
      const done = Date.parse(run.status?.completionTime ?? '');
      if (Number.isFinite(created) && Number.isFinite(done))
        runMetrics.duration.observe({ result: phase }, Math.max(0, done - created) / 1000);
    } else if (phase === RunPhase.Pending && ACTIVE_PHASES.has(prev) && run.status?.reason === Reason.RetryBackoff) {
      const ended = run.status.conditions?.find((c) => c.type === 'Running' && c.status === 'False');
      runMetrics.retries.inc({ reason: ended?.reason ?? run.status.conditions?.find((c) => c.type === 'Scheduled')?.reason ?? '' });
    }
  }

  /** Checks every active Run against its pod; also refreshes the phase gauge. */
  private sweep(): void {
    if (this.stopped) return;
    const now = Date.now();
    const byPhase = new Map<string, number>();
    for (const phase of [RunPhase.Pending, RunPhase.Scheduled, RunPhase.Running]) byPhase.set(phase, 0);
    for (const run of this.runs.list()) {
      const phase = phaseOf(run);
      if (!isTerminal(phase)) byPhase.set(phase, (byPhase.get(phase) ?? 0) + 1);
      if (!ACTIVE_PHASES.has(phase) || this.busy.has(run.metadata.uid!)) continue;
      const name = run.status?.assignedPod;
      if (!name) continue;
      const pod = this.pods.get(name, run.metadata.namespace);
      const verdict = judgeAssignment({
        run,
        pod: pod ? reaperPodView(pod) : undefined,
        nowMs: now,
        staleAfterMs: this.o.staleAfterMs,
      });
      if (verdict) void this.act(run, verdict);
    }
    for (const [phase, n] of byPhase) runMetrics.active.set({ phase }, n);
  }

  private async act(run: Run, verdict: Verdict): Promise<void> {
    const uid = run.metadata.uid!;
    const ns = run.metadata.namespace!;
    this.busy.add(uid);
    try {
      if (verdict.reason === Reason.PodGone) {
        // The pod cache can lag behind a pod that was just created: believe only the API.
        const live = await this.o.client.get<V1Pod>(Paths.pod(ns, run.status!.assignedPod!)).catch((err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw err;
        });
        if (live && (!run.status?.assignedPodUID || live.metadata?.uid === run.status.assignedPodUID)) return;
      }
      const action = reap(run, verdict, Date.now());
      let written: Run;
      try {
        written = await this.o.client.mergePatch<Run>(Paths.runStatus(ns, run.metadata.name!), {
          metadata: { resourceVersion: run.metadata.resourceVersion },
          status: action.status,
        });
      } catch (err) {
        // Someone else moved the Run on (runtimed finished it, a cancel landed): the next sweep
        // decides again from the newer object.
        if (isConflict(err) || isNotFound(err)) return;
        throw err;
      }
      const result = action.result === ReapResult.End ? (action.status.phase ?? '') : action.result;
      runMetrics.reaped.inc({ reason: verdict.reason, result });
      log.info('reaped stale Run', {
        run: run.metadata.name,
        namespace: ns,
        runUID: uid,
        pod: run.status?.assignedPod,
        attempt: run.status?.attempt,
        reason: verdict.reason,
        result,
      });
      const ended = action.result === ReapResult.End && action.status.phase === RunPhase.Failed;
      recordEvent(
        this.o.client,
        written,
        {
          type: EventType.Warning,
          reason: ended ? verdict.reason : action.status.reason === Reason.Cancelled ? Reason.Cancelled : Reason.RetryBackoff,
          action: action.result === ReapResult.End ? EventAction.Fail : EventAction.Retry,
          message: action.status.message ?? verdict.message,
        },
        { controller: EVENT_REPORTER, instance: this.o.instance },
      ).catch((err: unknown) => log.warn('event not recorded', { run: run.metadata.name, error: errorMessage(err) }));
    } catch (err) {
      log.warn('reaping failed; retrying at the next sweep', { run: run.metadata.name, error: errorMessage(err) });
    } finally {
      this.busy.delete(uid);
    }
  }

  private scheduleTtl(run: Run): void {
    const uid = run.metadata.uid!;
    const at = ttlDeadlineMs(run);
    const current = this.ttlTimers.get(uid);
    if (current?.at === at) return;
    if (current) clearTimeout(current.timer);
    this.ttlTimers.delete(uid);
    if (at === undefined) return;
    // setTimeout holds at most ~24.8 days; a later deadline is re-armed when it comes closer.
    const delay = Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1);
    const timer = setTimeout(() => {
      this.ttlTimers.delete(uid);
      const latest = this.runs.get(run.metadata.name!, run.metadata.namespace);
      if (latest && latest.metadata.uid === uid) {
        if ((ttlDeadlineMs(latest) ?? Infinity) <= Date.now()) void this.deleteExpired(latest);
        else this.scheduleTtl(latest);
      }
    }, delay);
    timer.unref();
    this.ttlTimers.set(uid, { at, timer });
  }

  private async deleteExpired(run: Run): Promise<void> {
    try {
      // Preconditions: exactly this Run (not a new one with the same name), as last seen.
      await this.o.client.delete(Paths.run(run.metadata.namespace!, run.metadata.name!), {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        preconditions: { uid: run.metadata.uid, resourceVersion: run.metadata.resourceVersion },
        propagationPolicy: 'Background',
      });
      runMetrics.ttlDeleted.inc();
      log.info('deleted finished Run (ttlSecondsAfterFinished)', { run: run.metadata.name, namespace: run.metadata.namespace });
    } catch (err) {
      if (isNotFound(err)) return;
      // A changed Run (for example a new TTL) arrives as a watch event and re-arms the timer.
      if (isConflict(err)) return;
      log.warn('TTL delete failed; retrying', { run: run.metadata.name, error: errorMessage(err) });
      setTimeout(() => {
        const latest = this.runs.get(run.metadata.name!, run.metadata.namespace);
        if (latest) void this.deleteExpired(latest);
      }, 5000).unref();
    }
  }
}
