// Maps what the Runtime Server reports (plus the outputs file) to the Run's terminal outcome.
import { Reason, RunPhase } from '../lib/api.ts';
import { tail } from '../lib/message.ts';
import { type OutputsResult, parseOutputs } from '../lib/outputs.ts';
import type { Outcome } from '../lib/run-status.ts';
import { ExecutionState, FailureMessage, type StatusResponse } from '../lib/runtime-proto.ts';
import type { OutputsProblem } from './workspace.ts';

const STDERR_TAIL_BYTES = 512;

export function outcomeOf(
  status: StatusResponse,
  /** The outputs file's text, or why it could not be read (readOutputs). */
  outputsText: string | OutputsProblem,
  options: { cancelRequested?: boolean; timeoutSeconds?: number } = {},
): Outcome {
  const parsed: OutputsResult =
    typeof outputsText === 'string' ? parseOutputs(outputsText) : { ok: false, ...outputsText };
  const outputs = parsed.ok && Object.keys(parsed.outputs).length > 0 ? parsed.outputs : undefined;
  if (status.state === ExecutionState.Succeeded) {
    if (!parsed.ok)
      return { phase: RunPhase.Failed, reason: parsed.reason, message: parsed.message, exitCode: 0 };
    return {
      phase: RunPhase.Succeeded,
      reason: Reason.Completed,
      message: 'completed',
      exitCode: 0,
      outputs,
    };
  }
  if (status.exitCode === -1 && status.errorMessage === FailureMessage.Timeout) {
    return {
      phase: RunPhase.Timeout,
      reason: Reason.Timeout,
      message: `timed out after ${options.timeoutSeconds ?? '?'}s`,
      // The Runtime Server ended the process: -1, as docs/api.md defines exitCode.
      exitCode: -1,
      outputs,
    };
  }
  if (status.exitCode === -1 && status.errorMessage === FailureMessage.Cancelled) {
    return {
      phase: RunPhase.Cancelled,
      reason: Reason.Cancelled,
      message: 'cancelled on request',
      exitCode: -1,
      outputs,
    };
  }
  const stderr = status.stderr ? tail(status.stderr, STDERR_TAIL_BYTES) : '';
  const what =
    status.exitCode > 0
      ? `exit code ${status.exitCode}`
      : status.errorMessage || `failed (exit code ${status.exitCode})`;
  return {
    phase: RunPhase.Failed,
    reason: status.exitCode > 0 ? Reason.Failed : Reason.RuntimeError,
    message: `${what}${stderr ? `: ${stderr}` : ''}`,
    exitCode: status.exitCode,
    outputs,
  };
}

/**
 * The outcome when waiting for the execution failed: a server that forgets an execution as part
 * of a Cancel runtimed sent (Status then answers NOT_FOUND, as the original Runtime Servers do)
 * ended it Cancelled; otherwise a lost execution is ExecutionLost and any other error RuntimeError.
 */
export function waitFailedOutcome(lost: boolean, cancelSent: boolean, error: string): Outcome {
  if (lost && cancelSent)
    return { phase: RunPhase.Cancelled, reason: Reason.Cancelled, message: 'cancelled (the Runtime Server ended and forgot the execution)' };
  return lost
    ? { phase: RunPhase.Failed, reason: Reason.ExecutionLost, message: 'the Runtime Server lost the execution' }
    : { phase: RunPhase.Failed, reason: Reason.RuntimeError, message: `waiting for the execution failed: ${error}` };
}
