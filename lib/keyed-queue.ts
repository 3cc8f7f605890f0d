// A work queue keyed by object: a key is handled by at most one worker at a time, a key added
// while it is being handled is handled once more afterwards, and failures retry with backoff.
import { errorMessage, logger } from './log.ts';

export interface KeyedQueueOptions {
  handler: (key: string) => Promise<void>;
  concurrency?: number;
  /** Backoff after a failure: base * 2^(failures-1), capped. */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export function backoffDelay(failures: number, baseMs: number, maxMs: number): number {
  if (failures <= 0) return 0;
  return Math.min(maxMs, baseMs * 2 ** (failures - 1));
}

export class KeyedQueue {
  private readonly o: Required<KeyedQueueOptions>;
  private readonly waiting: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly again = new Set<string>();
  private readonly failures = new Map<string, number>();
  private stopped = false;

  constructor(options: KeyedQueueOptions) {
    this.o = { concurrency: 1, baseDelayMs: 100, maxDelayMs: 30_000, ...options };
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      this.again.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.waiting.push(key);
    this.pump();
  }

  stop(): void {
    this.stopped = true;
  }

  private pump(): void {
    while (!this.stopped && this.active.size < this.o.concurrency && this.waiting.length > 0) {
      const key = this.waiting.shift()!;
      this.queued.delete(key);
      this.active.add(key);
      this.o.handler(key).then(
        () => {
          this.failures.delete(key);
          this.done(key);
        },
        (err) => {
          const n = (this.failures.get(key) ?? 0) + 1;
          this.failures.set(key, n);
          logger.debug('reconcile failed; will retry', { key, failures: n, error: errorMessage(err) });
          this.done(key);
          setTimeout(() => this.add(key), backoffDelay(n, this.o.baseDelayMs, this.o.maxDelayMs)).unref();
        },
      );
    }
  }

  private done(key: string): void {
    this.active.delete(key);
    if (this.again.delete(key)) this.add(key);
    this.pump();
  }
}
