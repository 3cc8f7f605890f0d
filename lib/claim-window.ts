// The claim window: how long runtimed may run an assignment before writing Running (its claim),
// written once here because runtimed keeps it and the reaper relies on it. A Run that ends within
// the window costs one status write from runtimed (the terminal phase with startTime) instead of
// two (Running, then terminal); a longer Run writes Running when its window ends. The reasoning,
// and what a Run's Scheduled phase may now mean, are in docs/reliability.md ("The claim window").
import { type Run } from './api.ts';

export const ClaimWindow = {
  /**
   * runtimed starts an assignment unclaimed only within this long of its scheduledTime (runtimed's
   * clock); later (a lagging watch, a restarted runtimed) it writes Running before executing.
   */
  startWithinMs: 1000,
  /**
   * An unclaimed execution still going this long after it started is claimed. Long enough for a
   * trivial Run even on a loaded node (its execution is tens of milliseconds), short next to the
   * heartbeat (15 s) and reaper (30 s) windows, and the most a user sees Scheduled while it runs.
   */
  unclaimedMs: 1000,
  /** What the reaper adds for clock skew and one status write before it concludes anything. */
  slackMs: 2000,
} as const;

/** When runtimed must have written Running for an unclaimed execution that started at `startedMs`. */
export function claimDueMs(run: Run, startedMs: number): number {
  const scheduledMs = Date.parse(run.status?.scheduledTime ?? '');
  const byStart = startedMs + ClaimWindow.unclaimedMs;
  if (!Number.isFinite(scheduledMs)) return byStart;
  return Math.min(byStart, scheduledMs + ClaimWindow.startWithinMs + ClaimWindow.unclaimedMs);
}

/** runtimed may still start this assignment without claiming it first. */
export function mayStartUnclaimed(run: Run, nowMs: number): boolean {
  const scheduledMs = Date.parse(run.status?.scheduledTime ?? '');
  return Number.isFinite(scheduledMs) && nowMs <= scheduledMs + ClaimWindow.startWithinMs;
}

/**
 * Until when a Scheduled Run may be executing on a healthy runtimed without the API showing it:
 * after this instant a Run still Scheduled on a working runtimed never started.
 */
export function unclaimedHorizonMs(run: Run): number | undefined {
  const scheduledMs = Date.parse(run.status?.scheduledTime ?? '');
  if (!Number.isFinite(scheduledMs)) return undefined;
  return scheduledMs + ClaimWindow.startWithinMs + ClaimWindow.unclaimedMs + ClaimWindow.slackMs;
}
