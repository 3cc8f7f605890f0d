// Probe bookkeeping: spec defaults, success/failure thresholds, and when to probe next.
import type { V1Probe } from '@kubernetes/client-node';

export type ProbeKind = 'readiness' | 'liveness' | 'startup';
export type ProbeResult = 'success' | 'failure' | 'unknown';

export interface ProbeTiming {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

/**
 * Until a readiness or startup probe first succeeds it is retried every FAST_PROBE_MS instead of
 * periodSeconds (for at most FAST_PROBE_WINDOW_MS after the container started), so a pod is Ready
 * a few milliseconds after its server listens rather than up to a period later. Failures still
 * count at the spec's period, so failureThreshold × periodSeconds keeps its meaning.
 */
export const FAST_PROBE_MS = 100;
export const FAST_PROBE_WINDOW_MS = 60_000;

export function probeTiming(p: V1Probe): ProbeTiming {
  return {
    initialDelayMs: (p.initialDelaySeconds ?? 0) * 1000,
    periodMs: Math.max(1, p.periodSeconds ?? 10) * 1000,
    timeoutMs: Math.max(1, p.timeoutSeconds ?? 1) * 1000,
    successThreshold: Math.max(1, p.successThreshold ?? 1),
    failureThreshold: Math.max(1, p.failureThreshold ?? 3),
  };
}

export class ProbeTracker {
  readonly kind: ProbeKind;
  readonly timing: ProbeTiming;
  /** The probe's verdict as the kubelet reports it (readiness starts as failure, liveness as success). */
  result: ProbeResult;
  everSucceeded = false;
  private successes = 0;
  private failures = 0;
  private lastCountedFailureMs = Number.NEGATIVE_INFINITY;
  private readonly startedMs: number;

  constructor(kind: ProbeKind, probe: V1Probe, containerStartedMs: number) {
    this.kind = kind;
    this.timing = probeTiming(probe);
    this.result = kind === 'readiness' ? 'failure' : kind === 'liveness' ? 'success' : 'unknown';
    this.startedMs = containerStartedMs;
  }

  private get fast(): boolean {
    return this.kind !== 'liveness' && !this.everSucceeded;
  }

  /** Records one probe outcome; returns true when the verdict changed. */
  record(ok: boolean, nowMs: number): boolean {
    const before = this.result;
    if (ok) {
      this.failures = 0;
      this.successes++;
      if (this.successes >= this.timing.successThreshold) {
        this.result = 'success';
        this.everSucceeded = true;
      }
    } else {
      this.successes = 0;
      if (this.fast && nowMs - this.lastCountedFailureMs < this.timing.periodMs) return false;
      this.lastCountedFailureMs = nowMs;
      this.failures++;
      if (this.failures >= this.timing.failureThreshold) this.result = 'failure';
    }
    return this.result !== before;
  }

  /** Milliseconds until the next probe. */
  nextDelayMs(nowMs: number): number {
    if (this.fast && nowMs - this.startedMs < FAST_PROBE_WINDOW_MS)
      return Math.min(FAST_PROBE_MS, this.timing.periodMs);
    return this.timing.periodMs;
  }

  /** Startup probes kill the container on failure; liveness too. */
  get failed(): boolean {
    return this.result === 'failure';
  }
}
