// runtimed's attempt lifecycle as pure functions: `decide` says what to do next about one Run
// from the Run as the API shows it and runtimed's own record of the attempt; `advance` says how
// the record changes when something runtimed started (a prepare, an execution, a cancel) reports
// back. runtimed's loop (runtimed.ts) performs the step, and a background step's report requeues
// the Run's key: nothing here calls back into an event handler.
//
//   (assigned) ─start─▶ Preparing ─prepared─▶ Prepared ─execute─▶ Starting ─accepted─▶ Executing
//        │                  │ (claim first when started late)          │ unavailable       │ ended
//        │                  └─prepare failed────────────────┐          ▼                   ▼
//        └─cancelled / pod terminating─▶ end (no record)     └──▶ end: terminal, retry, or hand back
//
// The claim (Running) is written before executing only for an assignment runtimed starts late;
// otherwise the execution runs unclaimed for at most the claim window (lib/claim-window.ts) and a
// Run that ends within it is written once, terminal with its startTime.
import { isTerminal, Reason, type Run, RunPhase } from '../lib/api.ts';
import { claimDueMs, mayStartUnclaimed } from '../lib/claim-window.ts';
import type { Outcome } from '../lib/run-status.ts';

export const Stage = {
  /** The workspace is being prepared (after probing the Runtime Server, for a Run listed at start). */
  Preparing: 'Preparing',
  /** The workspace is ready; nothing executes yet. */
  Prepared: 'Prepared',
  /** Execute is in flight. */
  Starting: 'Starting',
  /** The Runtime Server runs it (started here or adopted); runtimed waits for its end. */
  Executing: 'Executing',
} as const;
export type Stage = (typeof Stage)[keyof typeof Stage];

/** How an attempt ends: a result to write (terminal or retry), or handed back unspent. */
export type Ending =
  | { kind: 'outcome'; outcome: Outcome }
  | { kind: 'handBack'; reason: string; message: string; delayMs: number };

/** runtimed's record of one attempt it holds. */
export interface Attempt {
  uid: string;
  /** attemptKey of the assignment it belongs to. */
  key: string;
  stage: Stage;
  /** Running is written (by this runtimed, or it was found Running). */
  claimed: boolean;
  /** Started late: Running must be written before Execute. */
  claimFirst: boolean;
  /** A prepare, execute or wait of this attempt is in flight. */
  busy: boolean;
  /** When the execution started (Execute accepted, or found running), ms since the epoch. */
  startedMs?: number;
  /** Why the workspace could not be prepared. */
  prepareError?: string;
  cancelSent: boolean;
  cancelInFlight: boolean;
  /** A failed Cancel is tried again at this time. */
  cancelRetryAtMs?: number;
  /** Set once known; the attempt ends with this write. */
  ending?: Ending;
  /** Status fields the ending write adds (artifact refs and store). */
  extraStatus?: Record<string, unknown>;
}

/**
 * Identifies one assignment of a Run: a retry, or a rescheduled attempt that keeps its number,
 * landing on this pod again is new work (scheduledTime is written anew by every assignment).
 */
export const attemptKey = (run: Run) =>
  `${run.metadata.uid}/${run.status?.attempt ?? 0}/${run.status?.scheduledTime ?? ''}`;

export interface Observation {
  /** The Run as last seen (cache or own write), undefined once it left this pod's watch. */
  run: Run | undefined;
  attempt: Attempt | undefined;
  podName: string;
  podUID: string;
  /** False once the pod is terminating: nothing new starts. */
  accepting: boolean;
  /** This runtimed already ended this assignment (a late event must not look like work). */
  finished: boolean;
  /** The Run was assigned here before this runtimed started: an earlier runtimed may have started it. */
  listedAtStart: boolean;
  nowMs: number;
}

export type Step =
  | { type: 'none'; requeueAfterMs?: number }
  /** Create the record and prepare the workspace (probing the Runtime Server first if asked). */
  | { type: 'start'; claimFirst: boolean; probeFirst: boolean }
  /** A Running Run with no record (runtimed restarted): find its execution and wait for it. */
  | { type: 'adopt' }
  /** Write Running. */
  | { type: 'claim' }
  | { type: 'execute' }
  | { type: 'cancel' }
  /** Write the end of the attempt (terminal, retry or hand back); the record, if any, goes. */
  | { type: 'end'; ending: Ending }
  /** Forget the record without writing: the Run is no longer this attempt's. */
  | { type: 'drop' };

const CANCEL_RETRY_MS = 1000;
const HAND_BACK_DELAY_MS = 1000;

export const CANCELLED_BEFORE_START: Outcome = {
  phase: RunPhase.Cancelled,
  reason: Reason.Cancelled,
  message: 'cancelled before it started',
};

/** The Run is assigned to this pod (same pod UID when recorded). */
export function isMine(run: Run, podName: string, podUID: string): boolean {
  const s = run.status ?? {};
  return s.assignedPod === podName && (!s.assignedPodUID || s.assignedPodUID === podUID);
}

export function decide(o: Observation): Step {
  const { run, attempt: a } = o;
  const current =
    run !== undefined &&
    isMine(run, o.podName, o.podUID) &&
    !isTerminal(run.status?.phase) &&
    (run.status?.phase === RunPhase.Scheduled || run.status?.phase === RunPhase.Running);
  if (a && (!current || a.uid !== run.metadata.uid || a.key !== attemptKey(run))) {
    // Not this attempt's any more (retried elsewhere, ended by someone else, deleted): it must
    // not run on here, and nothing more is written for it.
    if (a.stage === Stage.Executing && !a.cancelSent) return cancelStep(a, o.nowMs);
    return a.busy ? { type: 'none' } : { type: 'drop' };
  }
  if (!current) return { type: 'none' };
  if (!a) return decideUnheld(o, run);
  return decideHeld(o, run, a);
}

/** A Run of this pod that runtimed holds no record of. */
function decideUnheld(o: Observation, run: Run): Step {
  if (o.finished) return { type: 'none' };
  if (run.status?.phase === RunPhase.Running) return { type: 'adopt' };
  // Scheduled. One assigned before this runtimed started may be running already (the runtimed
  // before it started it within its claim window): ask the Runtime Server before anything else.
  if (!o.listedAtStart) {
    if (run.spec.cancelRequested) return { type: 'end', ending: { kind: 'outcome', outcome: CANCELLED_BEFORE_START } };
    if (!o.accepting)
      return {
        type: 'end',
        ending: { kind: 'handBack', reason: Reason.PodTerminating, message: `Runtime Pod ${o.podName} is terminating`, delayMs: 0 },
      };
  }
  const late = !mayStartUnclaimed(run, o.nowMs);
  return {
    type: 'start',
    claimFirst: late && o.accepting && !run.spec.cancelRequested,
    probeFirst: o.listedAtStart,
  };
}

function decideHeld(o: Observation, run: Run, a: Attempt): Step {
  if (a.ending) return a.busy ? { type: 'none' } : { type: 'end', ending: a.ending };
  switch (a.stage) {
    case Stage.Preparing:
      // As before the window existed, a late claim goes out while the workspace is prepared.
      if (a.claimFirst && !a.claimed) return { type: 'claim' };
      return { type: 'none' };
    case Stage.Prepared:
      if (run.spec.cancelRequested)
        return { type: 'end', ending: { kind: 'outcome', outcome: CANCELLED_BEFORE_START } };
      if (a.prepareError !== undefined)
        return {
          type: 'end',
          ending: { kind: 'outcome', outcome: { phase: RunPhase.Failed, reason: Reason.PrepareSource, message: a.prepareError } },
        };
      if (!o.accepting && !a.claimed)
        return {
          type: 'end',
          ending: { kind: 'handBack', reason: Reason.PodTerminating, message: `Runtime Pod ${o.podName} is terminating`, delayMs: 0 },
        };
      if (a.claimFirst && !a.claimed) return { type: 'claim' };
      return { type: 'execute' };
    case Stage.Starting:
      return { type: 'none' };
    case Stage.Executing: {
      if (run.spec.cancelRequested && !a.cancelSent) return cancelStep(a, o.nowMs);
      if (a.claimed) return { type: 'none' };
      // Unclaimed: claim at the window's end, or at once when the pod starts terminating (the
      // reaper must see what runs here before it judges the pod).
      const due = claimDueMs(run, a.startedMs ?? o.nowMs);
      if (!o.accepting || o.nowMs >= due) return { type: 'claim' };
      return { type: 'none', requeueAfterMs: due - o.nowMs };
    }
  }
}

/** Cancel the execution once; a Cancel that failed is tried again a second later. */
function cancelStep(a: Attempt, nowMs: number): Step {
  if (a.cancelInFlight) return { type: 'none' };
  const wait = (a.cancelRetryAtMs ?? 0) - nowMs;
  return wait <= 0 ? { type: 'cancel' } : { type: 'none', requeueAfterMs: wait };
}

/** What a background step reports back. */
export type Report =
  | { type: 'prepared' }
  | { type: 'prepareFailed'; message: string }
  /** The Runtime Server already has this execution (probe or adopt found it). */
  | { type: 'found'; atMs: number }
  | { type: 'accepted'; atMs: number }
  /** Nothing started: the Runtime Server could not be reached. */
  | { type: 'unavailable'; message: string }
  | { type: 'ended'; outcome: Outcome; extraStatus?: Record<string, unknown> }
  | { type: 'claimed' }
  | { type: 'cancelling' }
  | { type: 'cancelSent' }
  | { type: 'cancelFailed'; atMs: number };

/** A new record for a Run runtimed starts to handle. */
export function newAttempt(run: Run, step: { claimFirst: boolean }, stage: Stage = Stage.Preparing): Attempt {
  return {
    uid: run.metadata.uid!,
    key: attemptKey(run),
    stage,
    claimed: run.status?.phase === RunPhase.Running,
    claimFirst: step.claimFirst,
    busy: true,
    cancelSent: false,
    cancelInFlight: false,
  };
}

export function advance(a: Attempt, r: Report): Attempt {
  switch (r.type) {
    case 'prepared':
      return { ...a, stage: Stage.Prepared, busy: false };
    case 'prepareFailed':
      return { ...a, stage: Stage.Prepared, busy: false, prepareError: r.message };
    case 'found':
    case 'accepted':
      // The wait for the end goes on in the same background step.
      return { ...a, stage: Stage.Executing, busy: true, startedMs: r.atMs };
    case 'unavailable':
      return {
        ...a,
        busy: false,
        ending: { kind: 'handBack', reason: Reason.RuntimeExecute, message: r.message, delayMs: HAND_BACK_DELAY_MS },
      };
    case 'ended':
      return { ...a, busy: false, ending: { kind: 'outcome', outcome: r.outcome }, extraStatus: r.extraStatus };
    case 'claimed':
      return { ...a, claimed: true };
    case 'cancelling':
      return { ...a, cancelInFlight: true };
    case 'cancelSent':
      return { ...a, cancelInFlight: false, cancelSent: true };
    case 'cancelFailed':
      return { ...a, cancelInFlight: false, cancelRetryAtMs: r.atMs + CANCEL_RETRY_MS };
  }
}
