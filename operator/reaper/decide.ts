// The stale Run reaper's decision: is the pod a Scheduled or Running Run is assigned to still able
// to finish it, and if not, what becomes of the Run. Pure: the loop feeds it cache snapshots.
import { Annotation, Limits, microTime, Reason, type Run, RunPhase } from '../../lib/api.ts';
import { unclaimedHorizonMs } from '../../lib/claim-window.ts';
import { endOfAttemptStatus, rescheduleStatus, type RunStatusPatch } from '../../lib/run-status.ts';

/** What the reaper reads of a Runtime Pod. */
export interface ReaperPodView {
  uid: string;
  /** Kubernetes PodReady, and since when it has been False (ms since epoch). */
  ready: boolean;
  notReadySinceMs?: number;
  /** runtimed's last heartbeat write (lastProbeTime of RuntimedReady, whatever its status). */
  heartbeatMs?: number;
  /** metadata.deletionTimestamp: the end of the pod's grace period. */
  deletionMs?: number;
  /** The pod's containers are all done (phase Succeeded or Failed): nothing runs there any more. */
  finished: boolean;
}

export interface AssignmentInput {
  run: Run;
  /** The assigned pod as the API has it now; undefined when there is no pod of that name. */
  pod: ReaperPodView | undefined;
  nowMs: number;
  staleAfterMs?: number;
}

export type StaleReason = typeof Reason.PodGone | typeof Reason.PodTerminating | typeof Reason.PodUnhealthy;

export interface Verdict {
  reason: StaleReason;
  message: string;
  /**
   * The Run is Scheduled, yet runtimed may have started it within its claim window before it went
   * silent: the attempt counts (retried or failed), it is not rescheduled for free.
   */
  mayHaveStarted?: boolean;
}

/** Why the Run's assigned pod cannot finish it, or undefined while it still can. */
export function judgeAssignment(input: AssignmentInput): Verdict | undefined {
  const { run, pod, nowMs } = input;
  const status = run.status ?? {};
  if (status.phase !== RunPhase.Scheduled && status.phase !== RunPhase.Running) return undefined;
  // Being restored (kubectl krt restore): its status is not settled yet, nor ours to act on.
  if (run.metadata.annotations?.[Annotation.Restoring] !== undefined) return undefined;
  const name = status.assignedPod;
  if (!name) return undefined;
  const staleAfterMs = input.staleAfterMs ?? Limits.reaperStaleSeconds * 1000;
  if (!pod) return { reason: Reason.PodGone, message: `Runtime Pod ${name} was deleted` };
  if (status.assignedPodUID && pod.uid !== status.assignedPodUID)
    return { reason: Reason.PodGone, message: `Runtime Pod ${name} was replaced by a new pod with the same name` };
  if (pod.finished) return { reason: Reason.PodTerminating, message: `Runtime Pod ${name} has stopped` };
  if (pod.deletionMs !== undefined) {
    // runtimed stops starting Runs on a terminating pod at once (it hands its unstarted ones back
    // and claims those it runs within their claim window), but lets running attempts finish
    // within the grace period, which deletionTimestamp ends. A Scheduled Run may be running in its
    // claim window: it is taken for never started only once that window has surely passed.
    if (status.phase === RunPhase.Scheduled) {
      const horizon = unclaimedHorizonMs(run);
      if (horizon !== undefined && nowMs < horizon && nowMs < pod.deletionMs) return undefined;
      return { reason: Reason.PodTerminating, message: `Runtime Pod ${name} is terminating` };
    }
    if (nowMs >= pod.deletionMs)
      return {
        reason: Reason.PodTerminating,
        message: `Runtime Pod ${name} is terminating and the Run did not finish within its grace period`,
      };
    return undefined;
  }
  const seconds = Math.round(staleAfterMs / 1000);
  if (pod.heartbeatMs === undefined || nowMs - pod.heartbeatMs > staleAfterMs) {
    // A runtimed that still beat after the claim window had surely passed would have claimed a
    // Run it started; one that went silent before may be running it unclaimed.
    const horizon = unclaimedHorizonMs(run);
    const mayHaveStarted =
      status.phase === RunPhase.Scheduled && (horizon === undefined || (pod.heartbeatMs ?? 0) < horizon);
    return {
      reason: Reason.PodUnhealthy,
      message: `runtimed on Runtime Pod ${name} has not reported a heartbeat for more than ${seconds}s`,
      ...(mayHaveStarted ? { mayHaveStarted } : {}),
    };
  }
  // A healthy pod claims within milliseconds; an assignment left unclaimed this long was missed,
  // provided runtimed beat after its claim window had surely passed (it would have claimed a Run it
  // started). One whose last beat came before may be running it unclaimed and have gone silent
  // since: its heartbeat goes stale soon, and the branch above counts the attempt.
  const scheduledMs = Date.parse(status.scheduledTime ?? '');
  const horizon = unclaimedHorizonMs(run);
  if (
    status.phase === RunPhase.Scheduled &&
    Number.isFinite(scheduledMs) &&
    nowMs - scheduledMs > staleAfterMs &&
    (horizon === undefined || pod.heartbeatMs >= horizon)
  )
    return { reason: Reason.PodUnhealthy, message: `runtimed on Runtime Pod ${name} did not claim the Run within ${seconds}s` };
  if (!pod.ready && pod.notReadySinceMs !== undefined && nowMs - pod.notReadySinceMs > staleAfterMs)
    return { reason: Reason.PodUnhealthy, message: `Runtime Pod ${name} has not been Ready for more than ${seconds}s` };
  return undefined;
}

export const ReapResult = {
  /** Never claimed: back to Pending without spending an attempt, since nothing executed. */
  Reschedule: 'Reschedule',
  /** Claimed: the attempt counts; another follows after the backoff. */
  Retry: 'Retry',
  /** The Run ends (no attempts left, or a cancel was requested). */
  End: 'End',
} as const;
export type ReapResult = (typeof ReapResult)[keyof typeof ReapResult];

export interface ReapAction {
  result: ReapResult;
  status: RunStatusPatch;
}

/**
 * What to write for a Run whose pod cannot finish it. A Scheduled Run is rescheduled without
 * spending its attempt unless it may have started within its claim window (lib/claim-window.ts).
 */
export function reap(run: Run, verdict: Verdict, nowMs: number): ReapAction {
  const now = microTime(new Date(nowMs));
  const status = run.status ?? {};
  if (run.spec.cancelRequested) {
    const { status: s } = endOfAttemptStatus(
      run,
      { phase: RunPhase.Cancelled, reason: Reason.Cancelled, message: `cancelled on request (${verdict.message})` },
      nowMs,
    );
    return { result: ReapResult.End, status: s };
  }
  if (status.phase === RunPhase.Scheduled && !verdict.mayHaveStarted) {
    const cause = { reason: verdict.reason, message: `${verdict.message} before it started the Run` };
    return { result: ReapResult.Reschedule, status: rescheduleStatus(run, cause, now) };
  }
  const next = endOfAttemptStatus(run, { phase: RunPhase.Failed, reason: verdict.reason, message: verdict.message }, nowMs);
  return { result: next.retried ? ReapResult.Retry : ReapResult.End, status: next.status };
}
