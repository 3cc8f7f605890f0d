// Waiting for a Run to reach a terminal phase, shared by run --wait, wait and cancel --wait.
import { isTerminal, type Run } from '../../lib/api.ts';
import type { Context } from '../context.ts';
import type { Connection } from '../kube/connection.ts';
import { observeRun } from '../kube/observe-run.ts';

/**
 * Resolves with the terminal Run, or with the last version seen if interrupted (ctx.signal). `run`
 * is a version just had from the apiserver (every caller has one: the create's, the get's, the
 * cancel patch's answer): the watch starts from it, one round trip fewer than reading it again.
 */
export function waitForTerminal(
  ctx: Context,
  conn: Connection,
  run: Run,
  onRun: (run: Run) => void = () => {},
  signal: AbortSignal = ctx.signal,
): Promise<Run> {
  return observeRun(
    conn,
    run.metadata.namespace ?? ctx.namespace,
    run.metadata.name!,
    (r) => {
      onRun(r);
      return isTerminal(r.status?.phase);
    },
    signal,
    run,
  );
}

/** What to tell a user who pressed Ctrl-C while waiting: the Run goes on. */
export function detachedNote(ctx: Context, run: Run): string {
  const name = run.metadata.name;
  const ns =
    run.metadata.namespace && run.metadata.namespace !== ctx.namespace ? ` -n ${run.metadata.namespace}` : '';
  return `stopped waiting; Run ${name} goes on (${run.status?.phase ?? 'Pending'}): follow it with ${ctx.prog} logs -f ${name}${ns}, or cancel it with ${ctx.prog} cancel ${name}${ns}`;
}
