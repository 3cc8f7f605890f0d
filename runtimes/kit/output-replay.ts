// The raw output of one execution as timestamped byte chunks, kept for the Output RPC so that a
// subscriber arriving late (runtimed subscribes right after Execute returns, when the process may
// already have written) still gets everything from the beginning, then the rest live.
// Bounded per execution and, through a ReplayBudget shared by the server, across executions.

import type { OutputStream } from '../../lib/runtime-proto.ts';

export const DEFAULT_REPLAY_LIMIT_BYTES = 64 * 1024 * 1024;
export const DEFAULT_REPLAY_TOTAL_BYTES = 256 * 1024 * 1024;

export type DataStream = typeof OutputStream.Stdout | typeof OutputStream.Stderr;

export interface ReplayChunk {
  stream: DataStream;
  data: Buffer;
  unixMicros: number;
}

let lastMicros = 0;

/**
 * Wall-clock microseconds, strictly increasing within the process: chunks read in the same
 * millisecond keep their order, and readers can filter by time without ties.
 */
export function monotonicMicros(): number {
  lastMicros = Math.max(Date.now() * 1000, lastMicros + 1);
  return lastMicros;
}

/**
 * Bytes all replays of a server may hold together. When a chunk does not fit, `reclaim` (set by
 * the server) may free the replays of finished executions before the chunk is dropped.
 */
export class ReplayBudget {
  readonly limitBytes: number;
  usedBytes = 0;
  reclaim: (neededBytes: number) => void = () => {};

  constructor(limitBytes = DEFAULT_REPLAY_TOTAL_BYTES) {
    this.limitBytes = limitBytes;
  }

  tryTake(bytes: number): boolean {
    if (this.usedBytes + bytes > this.limitBytes) this.reclaim(this.usedBytes + bytes - this.limitBytes);
    if (this.usedBytes + bytes > this.limitBytes) return false;
    this.usedBytes += bytes;
    return true;
  }

  give(bytes: number): void {
    this.usedBytes -= bytes;
  }
}

export class OutputReplay {
  readonly limitBytes: number;
  /** Appended to in place; a subscriber keeps a cursor into it. Replaced (not cleared) on release. */
  chunks: ReplayChunk[] = [];
  retainedBytes = 0;
  /** Bytes the process wrote that the bounds kept out of the replay. */
  droppedBytes = 0;
  /** Bytes freed by release(): a subscriber arriving afterwards misses them too. */
  releasedBytes = 0;
  /** The process's output is finished: no chunk follows. */
  ended = false;
  released = false;
  private readonly budget: ReplayBudget;
  private readonly listeners = new Set<() => void>();

  constructor(options: { budget: ReplayBudget; limitBytes?: number }) {
    this.budget = options.budget;
    this.limitBytes = options.limitBytes ?? DEFAULT_REPLAY_LIMIT_BYTES;
  }

  push(stream: DataStream, data: Buffer): void {
    if (this.ended || data.length === 0) return;
    // All or nothing per chunk: a subscriber sees a prefix of the output and then a drop count,
    // never a chunk with a hole in it.
    if (
      this.released ||
      this.retainedBytes + data.length > this.limitBytes ||
      !this.budget.tryTake(data.length)
    ) {
      this.droppedBytes += data.length;
      return;
    }
    this.chunks.push({ stream, data, unixMicros: monotonicMicros() });
    this.retainedBytes += data.length;
    this.notify();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.notify();
  }

  /** Frees the retained chunks (Forget, or reclaimed for other executions' output). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.budget.give(this.retainedBytes);
    this.releasedBytes = this.retainedBytes;
    this.retainedBytes = 0;
    // Subscribers still replaying hold the old array and finish from it.
    this.chunks = [];
  }

  /** Calls listener after every new chunk and at the end; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}
