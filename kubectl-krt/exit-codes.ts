// The process exit codes of kubectl krt: a documented contract for scripts (docs/cli.md).
// A Run's terminal phase maps to its own code, so `kubectl krt run … --wait || case $? …` can tell
// a failed workload from a timeout, a cancellation, a usage mistake and a problem reaching the cluster.
// A Workflow's terminal phases use the same codes as the Run phases of the same name.
import { RunPhase, WorkflowPhase } from '../lib/api.ts';

export const ExitCode = {
  /** The command did what was asked; with --wait/--follow: the Run (or Workflow) Succeeded. */
  Ok: 0,
  /** The Run (or Workflow) ended Failed. */
  RunFailed: 1,
  /** Bad flags or arguments; nothing was sent to the cluster. */
  Usage: 2,
  /** The Run ended in phase Timeout (its spec.timeoutSeconds elapsed). */
  RunTimeout: 3,
  /** The Run (or Workflow) ended Cancelled. */
  RunCancelled: 4,
  /** Anything else: API errors, RBAC, not found, the cluster unreachable. */
  Error: 5,
  /** The CLI's own --timeout (kubectl krt wait, workflow run|wait) elapsed before the Runs or Workflows got there. */
  WaitTimeout: 6,
  /** kubectl krt doctor found at least one problem. */
  ProblemFound: 7,
  /** Interrupted with Ctrl-C (128 + SIGINT, as shells report it). */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** What each code means, for help and docs. */
export const EXIT_CODE_MEANINGS: ReadonlyArray<readonly [ExitCode, string]> = [
  [ExitCode.Ok, 'success; with --wait/--follow: the Run or Workflow Succeeded'],
  [ExitCode.RunFailed, 'the Run or Workflow ended Failed'],
  [ExitCode.Usage, 'usage error (bad flags or arguments); nothing was sent'],
  [ExitCode.RunTimeout, 'the Run ended in phase Timeout'],
  [ExitCode.RunCancelled, 'the Run or Workflow ended Cancelled'],
  [ExitCode.Error, 'any other error: API, RBAC, not found, cluster unreachable'],
  [ExitCode.WaitTimeout, "the CLI's own --timeout elapsed while waiting"],
  [ExitCode.ProblemFound, 'kubectl krt doctor found a problem'],
  [ExitCode.Interrupted, 'interrupted (Ctrl-C)'],
];

/** The exit code a finished Run's phase stands for; a non-terminal phase is not an outcome yet. */
export function exitCodeForPhase(phase: string | undefined): ExitCode {
  switch (phase) {
    case RunPhase.Succeeded:
      return ExitCode.Ok;
    case RunPhase.Failed:
      return ExitCode.RunFailed;
    case RunPhase.Timeout:
      return ExitCode.RunTimeout;
    case RunPhase.Cancelled:
      return ExitCode.RunCancelled;
    default:
      return ExitCode.Error;
  }
}

/** The exit code a finished Workflow's phase stands for: the code of the Run phase of the same name. */
export function exitCodeForWorkflowPhase(phase: string | undefined): ExitCode {
  switch (phase) {
    case WorkflowPhase.Succeeded:
      return ExitCode.Ok;
    case WorkflowPhase.Failed:
      return ExitCode.RunFailed;
    case WorkflowPhase.Cancelled:
      return ExitCode.RunCancelled;
    default:
      return ExitCode.Error;
  }
}
