// Notes on stderr while waiting for a Run: why it waits (once per reason) and when an attempt
// failed and will be retried. Quiet for a Run that simply runs.
import { Reason, type Run, RunPhase } from '../lib/api.ts';
import type { Context } from './context.ts';
import { explainRun } from './output/explain.ts';

const WORTH_A_NOTE: ReadonlySet<string> = new Set([
  Reason.RuntimeNotFound,
  Reason.NoReadyPod,
  Reason.AtCapacity,
]);

export function progressNotes(ctx: Context): (run: Run) => void {
  let lastReason: string | undefined;
  let lastRetry: number | undefined;
  return (run) => {
    const s = run.status ?? {};
    if (s.phase === RunPhase.Pending && s.reason === Reason.RetryBackoff) {
      if (lastRetry !== s.attempt) {
        lastRetry = s.attempt;
        ctx.note(
          `attempt ${s.attempt} failed${s.message ? ` (${s.message})` : ''}; retrying after the backoff`,
        );
      }
      return;
    }
    if (s.phase === RunPhase.Pending && s.reason && WORTH_A_NOTE.has(s.reason) && s.reason !== lastReason) {
      ctx.note(`waiting: ${explainRun(run)}`);
    }
    lastReason = s.reason;
  };
}
