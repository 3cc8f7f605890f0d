// The scheduler loop: keeps indexes of Pending and active Runs from informers, and on every
// change that can matter re-decides the affected (namespace, runtime) at once.
import type { V1Pod } from '@kubernetes/client-node';
import { ACTIVE_PHASES, Label, Reason, type Run, RunPhase, type Runtime } from '../../lib/api.ts';
import { createInformer, type Informer } from '../../lib/informer.ts';
import { isConflict, isNotFound, type KubeClient, newerOf, Paths } from '../../lib/kube-client.ts';
import { errorMessage, logger } from '../../lib/log.ts';
import { phaseOf, scheduledStatus, terminalStatus, waitingStatus } from '../../lib/run-status.ts';
import { schedulerMetrics } from '../metrics.ts';
import { addAmounts, type ResourceAmounts, runRequests, runtimeCapacity } from '../../lib/resources.ts';
import { decide, nextRetryMs, type SchedulingAction } from './decide.ts';
import { podView } from './pod-view.ts';

const log = logger.child({ component: 'scheduler' });
const RESYNC_MS = 5000;

const keyOf = (namespace: string, runtime: string) => `${namespace}/${runtime}`;

export class Scheduler {
  private readonly client: KubeClient;
  private runs!: Informer<Run>;
  private pods!: Informer<V1Pod>;
  private runtimes!: Informer<Runtime>;
  /** Pending Runs by namespace/runtime, keyed by uid. */
  private readonly pending = new Map<string, Map<string, Run>>();
  /** Active Run uids by namespace/pod. */
  private readonly active = new Map<string, Set<string>>();
  private readonly activePodOf = new Map<string, string>();
  /** Assignments written but not yet seen in the cache: run uid → namespace/pod. */
  private readonly inFlight = new Map<string, string>();
  /** The freshest copy seen of each Run. */
  private readonly known = new Map<string, Run>();
  /** Waiting explanations already written: run uid → reason+message. */
  private readonly explained = new Map<string, string>();
  private readonly dirty = new Set<string>();
  private flushScheduled = false;
  private resyncTimer?: NodeJS.Timeout;
  /** One timer per namespace/runtime for the earliest retry backoff ending there. */
  private readonly retryTimers = new Map<string, { at: number; timer: NodeJS.Timeout }>();

  constructor(options: { client: KubeClient }) {
    this.client = options.client;
  }

  async start(): Promise<void> {
    const client = this.client;
    this.runs = createInformer<Run>({ client, path: Paths.runs() });
    this.pods = createInformer<V1Pod>({ client, path: Paths.pods(), labelSelector: Label.Runtime });
    this.runtimes = createInformer<Runtime>({ client, path: Paths.runtimes() });
    this.runs.on('add', (r) => this.onRun(r));
    this.runs.on('update', (r) => this.onRun(r));
    this.runs.on('delete', (r) => this.onRunDeleted(r));
    for (const ev of ['add', 'update', 'delete'] as const) {
      this.pods.on(ev, (p) => this.touch(p.metadata?.namespace, p.metadata?.labels?.[Label.Runtime]));
      this.runtimes.on(ev, (rt) => this.touch(rt.metadata.namespace, rt.metadata.name));
    }
    await Promise.all([this.pods.start(), this.runtimes.start()]);
    await this.runs.start();
    this.resyncTimer = setInterval(() => {
      for (const key of this.pending.keys()) this.dirty.add(key);
      this.scheduleFlush();
    }, RESYNC_MS);
    log.info('scheduler started');
  }

  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    for (const { timer } of this.retryTimers.values()) clearTimeout(timer);
    await Promise.all([this.runs?.stop(), this.pods?.stop(), this.runtimes?.stop()]);
  }

  private onRun(event: Run): void {
    const uid = event.metadata.uid!;
    // A GET after a conflict can be ahead of the watch: never step back to an older copy.
    const known = this.known.get(uid);
    const run = known ? newerOf(event, known) : event;
    if (run !== event) return;
    this.known.set(uid, run);
    const ns = run.metadata.namespace!;
    const key = keyOf(ns, run.spec.runtime);
    const phase = phaseOf(run);
    if (phase === RunPhase.Pending) {
      const m = this.pending.get(key) ?? new Map<string, Run>();
      this.pending.set(key, m);
      m.set(uid, run);
      this.touch(ns, run.spec.runtime);
    } else {
      this.pending.get(key)?.delete(uid);
    }
    if (phase !== RunPhase.Pending) {
      this.inFlight.delete(uid);
      this.explained.delete(uid);
    }
    const prevPod = this.activePodOf.get(uid);
    const pod =
      ACTIVE_PHASES.has(phase) && run.status?.assignedPod ? keyOf(ns, run.status.assignedPod) : undefined;
    if (prevPod !== pod) {
      if (prevPod) {
        this.active.get(prevPod)?.delete(uid);
        this.touch(ns, run.spec.runtime); // a slot freed up
      }
      if (pod) {
        const s = this.active.get(pod) ?? new Set<string>();
        this.active.set(pod, s);
        s.add(uid);
        this.activePodOf.set(uid, pod);
      } else {
        this.activePodOf.delete(uid);
      }
    }
  }

  private onRunDeleted(run: Run): void {
    const uid = run.metadata.uid!;
    this.known.delete(uid);
    this.pending.get(keyOf(run.metadata.namespace!, run.spec.runtime))?.delete(uid);
    this.inFlight.delete(uid);
    this.explained.delete(uid);
    const prevPod = this.activePodOf.get(uid);
    if (prevPod) {
      this.active.get(prevPod)?.delete(uid);
      this.activePodOf.delete(uid);
    }
    this.touch(run.metadata.namespace, run.spec.runtime);
  }

  private touch(namespace: string | undefined, runtime: string | undefined): void {
    if (!namespace || !runtime) return;
    const key = keyOf(namespace, runtime);
    if (!this.pending.get(key)?.size) return;
    this.dirty.add(key);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // setImmediate batches a burst of watch events into one decision per runtime.
    setImmediate(() => {
      this.flushScheduled = false;
      const keys = [...this.dirty];
      this.dirty.clear();
      for (const key of keys) this.reconcile(key);
    });
  }

  private reconcile(key: string): void {
    const [namespace, runtime] = key.split('/') as [string, string];
    const pending = [...(this.pending.get(key)?.values() ?? [])]
      .filter((r) => !this.inFlight.has(r.metadata.uid!))
      .sort(
        (a, b) =>
          (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
          a.metadata.name!.localeCompare(b.metadata.name!),
      );
    if (pending.length === 0) return;
    // What each pod holds: the requests of its active Runs and of the assignments in flight.
    const inUseByPod = new Map<string, ResourceAmounts>();
    const hold = (podKey: string, uid: string) => {
      const run = this.known.get(uid);
      if (!run) return;
      inUseByPod.set(podKey, addAmounts(inUseByPod.get(podKey) ?? {}, runRequests(run.spec)));
    };
    for (const [uid, podKey] of this.inFlight) if (podKey) hold(podKey, uid);
    const pods = this.pods
      .list(namespace)
      .filter((p) => p.metadata?.labels?.[Label.Runtime] === runtime)
      .map((p) => {
        const podKey = keyOf(namespace, p.metadata!.name!);
        for (const uid of this.active.get(podKey) ?? []) if (!this.inFlight.has(uid)) hold(podKey, uid);
        return podView(p, inUseByPod.get(podKey) ?? {});
      });
    const rt = this.runtimes.get(runtime, namespace);
    const actions = decide({
      namespace,
      runtime,
      runtimeExists: rt !== undefined,
      runtimeCapacity: rt && runtimeCapacity(rt.spec),
      pending,
      pods,
      nowMs: Date.now(),
    });
    for (const action of actions) this.apply(key, action);
    this.wakeForRetry(key, pending);
  }

  /** Re-decide the moment the earliest backoff ends, not at the next resync. */
  private wakeForRetry(key: string, pending: Run[]): void {
    const at = nextRetryMs(pending, Date.now());
    const current = this.retryTimers.get(key);
    if (at === undefined || (current && current.at <= at && current.at > Date.now())) return;
    if (current) clearTimeout(current.timer);
    const timer = setTimeout(() => {
      this.retryTimers.delete(key);
      this.dirty.add(key);
      this.scheduleFlush();
    }, at - Date.now() + 1);
    timer.unref();
    this.retryTimers.set(key, { at, timer });
  }

  private apply(key: string, action: SchedulingAction): void {
    const { run } = action;
    const uid = run.metadata.uid!;
    let status: Run['status'];
    if (action.type === 'assign') {
      this.inFlight.set(uid, keyOf(run.metadata.namespace!, action.pod.name));
      status = scheduledStatus(run, action.pod);
    } else if (action.type === 'refuse') {
      this.inFlight.set(uid, '');
      status = terminalStatus(run, { phase: RunPhase.Failed, reason: action.reason, message: action.message });
      log.info('refused', { run: run.metadata.name, uid, message: action.message });
    } else if (action.type === 'cancel') {
      this.inFlight.set(uid, '');
      status = terminalStatus(run, {
        phase: RunPhase.Cancelled,
        reason: Reason.Cancelled,
        message: 'cancelled before it was scheduled',
      });
    } else {
      const said = `${action.reason}\n${action.message}`;
      if (this.explained.get(uid) === said) return;
      this.explained.set(uid, said);
      status = waitingStatus(run, action.reason, action.message);
    }
    this.client
      .mergePatch(Paths.runStatus(run.metadata.namespace!, run.metadata.name!), {
        metadata: { resourceVersion: run.metadata.resourceVersion },
        status,
      })
      .then(
        () => {
          if (action.type === 'assign') {
            log.debug('assigned', { run: run.metadata.name, uid, pod: action.pod.name });
            schedulerMetrics.assignments.inc();
            const since = Math.max(
              Date.parse(run.metadata.creationTimestamp ?? '') || 0,
              Date.parse(run.status?.retryAfter ?? '') || 0,
            );
            if (since) schedulerMetrics.queueWait.observe(Math.max(0, Date.now() - since) / 1000);
          }
        },
        async (err) => {
          this.inFlight.delete(uid);
          this.explained.delete(uid);
          if (isNotFound(err)) return;
          if (isConflict(err)) {
            log.debug('status write conflict', {
              run: run.metadata.name,
              type: action.type,
              rv: run.metadata.resourceVersion,
            });
            // Decide again from the current object rather than spin on a cache that lags behind.
            try {
              this.onRun(await this.client.get<Run>(Paths.run(run.metadata.namespace!, run.metadata.name!)));
            } catch (e) {
              if (isNotFound(e)) return;
            }
            this.dirty.add(key);
            this.scheduleFlush();
            return;
          }
          log.warn('status write failed', { run: run.metadata.name, uid, error: errorMessage(err) });
          this.dirty.add(key);
          setTimeout(() => this.scheduleFlush(), 500).unref();
        },
      );
  }
}
