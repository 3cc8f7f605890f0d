// The controllers' work queue, after client-go's workqueue: keys, not objects, so a burst of
// events for one object collapses into one reconcile of its latest state. A key is handled by at
// most one worker at a time; a key added while it is being handled is handled once more
// afterwards; a key can come back later (requeue-after) or after a per-key exponential backoff
// (rate-limited retry), and `forget` resets that backoff once a reconcile succeeds.
import { errorMessage, logger } from '../log.ts';

export interface WorkQueueOptions {
  /** Handles one key; a throw is counted as a failure by the caller (see Controller). */
  handler: (key: string) => Promise<void>;
  concurrency?: number;
  /** Backoff after the n-th consecutive failure: base * 2^(n-1), capped at max. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Called whenever the number of waiting keys changes (for the depth gauge). */
  onDepth?: (depth: number) => void;
  /** Called when a key is handed to a worker, with how long it waited since it was added. */
  onWait?: (ms: number) => void;
}

/** base * 2^(failures-1), capped; 0 for no failure. */
export function backoffDelay(failures: number, baseMs: number, maxMs: number): number {
  if (failures <= 0) return 0;
  return Math.min(maxMs, baseMs * 2 ** (failures - 1));
}

export class WorkQueue {
  private readonly o: Required<Omit<WorkQueueOptions, 'onDepth' | 'onWait'>> & Pick<WorkQueueOptions, 'onDepth' | 'onWait'>;
  private readonly waiting: string[] = [];
  /** When each waiting key was first added (performance.now()). */
  private readonly addedAt = new Map<string, number>();
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly again = new Set<string>();
  private readonly failures = new Map<string, number>();
  /** One timer per key: the earliest time it is due again. */
  private readonly later = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private stopped = false;

  constructor(options: WorkQueueOptions) {
    this.o = { concurrency: 1, baseDelayMs: 100, maxDelayMs: 30_000, ...options };
  }

  /** Waiting keys (not counting those being handled or due later). */
  get depth(): number {
    return this.waiting.length;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      this.again.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.addedAt.set(key, performance.now());
    this.waiting.push(key);
    this.o.onDepth?.(this.waiting.length);
    this.pump();
  }

  /** Adds the key after `ms`; an earlier pending requeue of the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const pending = this.later.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.later.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.later.set(key, { at, timer });
  }

  /** Adds the key after its next backoff delay; returns that delay. */
  addRateLimited(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delay = backoffDelay(n, this.o.baseDelayMs, this.o.maxDelayMs);
    this.addAfter(key, delay);
    return delay;
  }

  /** The key succeeded: its next failure starts the backoff from the base again. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  stop(): void {
    this.stopped = true;
    for (const { timer } of this.later.values()) clearTimeout(timer);
    this.later.clear();
  }

  private pump(): void {
    while (!this.stopped && this.active.size < this.o.concurrency && this.waiting.length > 0) {
      const key = this.waiting.shift()!;
      this.queued.delete(key);
      this.active.add(key);
      this.o.onWait?.(performance.now() - (this.addedAt.get(key) ?? performance.now()));
      this.addedAt.delete(key);
      this.o.onDepth?.(this.waiting.length);
      // The handler reports its own failures (it requeues); a throw here is a bug, never a retry.
      this.o.handler(key)
        .catch((err: unknown) => logger.error('work queue handler threw', { key, error: errorMessage(err) }))
        .finally(() => this.done(key));
    }
  }

  private done(key: string): void {
    this.active.delete(key);
    if (this.again.delete(key)) this.add(key);
    this.pump();
  }
}
