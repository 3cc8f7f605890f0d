// Whether a failed attempt is retried, and when: one pure function shared by runtimed (failures it
// observes) and the operator's stale Run reaper (failures nobody else can report).
import {
  DEFAULT_BACKOFF_SECONDS,
  DEFAULT_MAX_ATTEMPTS,
  Limits,
  Reason,
  RETRYABLE_REASONS,
  type Run,
  RunPhase,
} from './api.ts';
import type { Outcome } from './run-status.ts';

/**
 * Reasons never retried: a cancellation is the user's decision, and an outputs or artifact
 * validation failure is a property of the workload that another attempt would repeat.
 */
export const NEVER_RETRIED: ReadonlySet<string> = new Set([
  Reason.Cancelled,
  Reason.OutputsInvalid,
  Reason.OutputsTooLarge,
  Reason.ArtifactInvalid,
]);

/**
 * Delay before the attempt after `attempt` (1-based): backoffSeconds × 2^(attempt−1), capped at
 * 60 s; a backoffSeconds above the cap is used as is (docs/api.md).
 */
export function backoffSeconds(run: Run, attempt: number): number {
  const base = run.spec.retryPolicy?.backoffSeconds ?? DEFAULT_BACKOFF_SECONDS;
  const cap = Math.max(Limits.retryBackoffCapSeconds, base);
  // 2^(attempt−1) overflows nothing below 2^1023; the cap makes large attempts irrelevant anyway.
  return Math.min(base * 2 ** Math.max(0, Math.min(attempt - 1, 32)), cap);
}

export type RetryDecision = { retry: false } | { retry: true; delaySeconds: number; retryAfterMs: number };

/**
 * What follows a finished attempt with this outcome. Only Failed and Timeout outcomes can retry,
 * and only for a reason in `retryPolicy.retryOn` (every retryable reason when unset); a Run whose
 * cancellation was requested never does, whatever the attempt ended with.
 */
export function decideRetry(run: Run, outcome: Outcome, nowMs: number): RetryDecision {
  if (outcome.phase !== RunPhase.Failed && outcome.phase !== RunPhase.Timeout) return { retry: false };
  if (NEVER_RETRIED.has(outcome.reason) || run.spec.cancelRequested) return { retry: false };
  const retryOn: readonly string[] = run.spec.retryPolicy?.retryOn ?? RETRYABLE_REASONS;
  if (!retryOn.includes(outcome.reason)) return { retry: false };
  const attempt = run.status?.attempt ?? 1;
  const maxAttempts = run.spec.retryPolicy?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (attempt >= maxAttempts) return { retry: false };
  const delaySeconds = backoffSeconds(run, attempt);
  return { retry: true, delaySeconds, retryAfterMs: nowMs + delaySeconds * 1000 };
}
