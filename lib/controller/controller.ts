// The controller frame, in the spirit of controller-runtime's reconcile loop: watched informers
// map events to keys, a work queue hands each key to `reconcile` (level-based: it reads the whole
// current state of that key from the shared cache and makes the world match it), and the result
// decides what happens next: done, again after a delay (requeueAfter), or again after a per-key
// backoff (an error or a conflict). Reconciles never call each other or the event handlers; they
// requeue. Every controller gets the same metrics.
import type { Registry } from 'prom-client';
import type { Informer } from '../informer.ts';
import { errorMessage, type Logger, logger } from '../log.ts';
import { controllerMetrics, ReconcileResult } from './metrics.ts';
import type { SharedCache } from './shared-cache.ts';
import { StatusConflictError } from './status-writer.ts';
import { WorkQueue } from './work-queue.ts';

/** What a reconcile asks for next; nothing means done until the next event. */
export interface Result {
  /** Reconcile this key again after this many milliseconds (timers: TTL, deadlines). */
  requeueAfterMs?: number;
  /** Reconcile again after the key's backoff (waiting on something without an event). */
  requeue?: boolean;
}

export interface ControllerOptions {
  /** Names the controller in logs and metrics. */
  name: string;
  cache: SharedCache;
  registry: Registry;
  reconcile: (key: string) => Promise<Result | void>;
  concurrency?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/** The keys an object's event concerns: its own, its owner's, or none. */
export type KeyMapper<T> = (obj: T) => string | readonly string[] | undefined;

/** `namespace/name`, the key of a namespaced object. */
export function objectKey(o: { metadata?: { namespace?: string; name?: string } }): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export class Controller {
  readonly name: string;
  private readonly o: ControllerOptions;
  private readonly queue: WorkQueue;
  private readonly log: Logger;
  private readonly watched: Array<{ informer: Informer<unknown>; toKeys: KeyMapper<unknown> }> = [];
  /** Keys seen before start; reconciled once every watched informer has synced. */
  private pending: Set<string> | undefined = new Set();

  constructor(options: ControllerOptions) {
    this.o = options;
    this.name = options.name;
    this.log = logger.child({ controller: options.name });
    const metrics = controllerMetrics(options.registry);
    this.queue = new WorkQueue({
      handler: (key) => this.handle(key),
      concurrency: options.concurrency ?? 4,
      baseDelayMs: options.baseDelayMs ?? 50,
      maxDelayMs: options.maxDelayMs ?? 30_000,
      onDepth: (depth) => metrics.depth.set({ controller: options.name }, depth),
      onWait: (ms) => metrics.wait.observe({ controller: options.name }, ms / 1000),
    });
  }

  /**
   * Enqueues the keys `toKeys` maps each add, update and delete of `informer` to: the object's own
   * key for the primary resource, its owner's for owned objects.
   */
  watch<T>(informer: Informer<T>, toKeys: KeyMapper<T>): this {
    this.watched.push({ informer: informer as Informer<unknown>, toKeys: toKeys as KeyMapper<unknown> });
    for (const event of ['add', 'update', 'delete'] as const) informer.on(event, (obj) => this.enqueueFor(toKeys(obj)));
    return this;
  }

  private enqueueFor(keys: string | readonly string[] | undefined): void {
    if (keys === undefined) return;
    for (const key of typeof keys === 'string' ? [keys] : keys) this.enqueue(key);
  }

  enqueue(key: string): void {
    if (this.pending) this.pending.add(key);
    else this.queue.add(key);
  }

  async start(): Promise<void> {
    await this.o.cache.waitForSync(this.watched.map((w) => w.informer));
    // A shared informer may have listed before this controller registered (it became leader
    // later than another one): every cached object is reconciled once at start, whatever the order.
    for (const { informer, toKeys } of this.watched) for (const obj of informer.list()) this.enqueueFor(toKeys(obj));
    const keys = this.pending ?? new Set<string>();
    this.pending = undefined;
    for (const key of keys) this.queue.add(key);
    this.log.info('controller started', { keys: keys.size });
  }

  async stop(): Promise<void> {
    this.queue.stop();
  }

  private async handle(key: string): Promise<void> {
    const metrics = controllerMetrics(this.o.registry);
    const labels = { controller: this.name };
    const end = metrics.duration.startTimer(labels);
    let outcome: ReconcileResult;
    try {
      const result = (await this.o.reconcile(key)) ?? {};
      if (result.requeue) {
        outcome = ReconcileResult.Requeue;
        this.queue.addRateLimited(key);
      } else {
        this.queue.forget(key);
        outcome = result.requeueAfterMs !== undefined ? ReconcileResult.RequeueAfter : ReconcileResult.Success;
        if (result.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
      }
    } catch (err) {
      outcome = ReconcileResult.Error;
      metrics.errors.inc(labels);
      const delay = this.queue.addRateLimited(key);
      // A lost write race is routine: the next reconcile starts from fresher state.
      const level = err instanceof StatusConflictError ? 'debug' : 'warn';
      this.log[level]('reconcile failed; will retry', { key, retryInMs: delay, error: errorMessage(err) });
    } finally {
      end();
    }
    metrics.reconciles.inc({ ...labels, result: outcome });
  }
}
