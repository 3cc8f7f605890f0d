// Waiting for Workflows, shared by workflow run --wait/--follow, wait and cancel --wait: until
// terminal, with an optional time limit, and what to say when the user stops waiting.
import { isWorkflowTerminal, type Workflow } from '../../lib/api.ts';
import type { ParsedArgs } from '../command.ts';
import type { Context } from '../context.ts';
import { CliError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { flagString } from '../flags.ts';
import type { Connection } from '../kube/connection.ts';
import { observeWorkflow } from '../kube/observe-workflow.ts';
import { preciseDuration } from '../output/format.ts';
import { taskProgress, workflowPhaseOf } from '../output/workflow-table.ts';
import { parseDuration } from '../parse/duration.ts';

/** What to tell a user who stopped waiting (Ctrl-C, --timeout): the Workflow goes on. */
export function workflowDetachedNote(ctx: Context, workflow: Workflow): string {
  const name = workflow.metadata.name;
  const ns =
    workflow.metadata.namespace && workflow.metadata.namespace !== ctx.namespace
      ? ` -n ${workflow.metadata.namespace}`
      : '';
  return `stopped waiting; Workflow ${name} goes on (${workflowPhaseOf(workflow)}, ${taskProgress(workflow)} tasks done): follow it with ${ctx.prog} workflow logs -f ${name}${ns}, or cancel it with ${ctx.prog} workflow cancel ${name}${ns}`;
}

/**
 * A signal that aborts on Ctrl-C (ctx.signal) or when timeoutMs elapses, and a context carrying
 * it; timedOut() tells the two apart afterwards.
 */
export function timeLimit(
  ctx: Context,
  timeoutMs: number | undefined,
): { ctx: Context; timedOut: () => boolean; clear: () => void } {
  if (timeoutMs === undefined) return { ctx, timedOut: () => false, clear: () => {} };
  const limit = new AbortController();
  const stop = () => limit.abort();
  ctx.signal.addEventListener('abort', stop, { once: true });
  const timer = setTimeout(stop, timeoutMs);
  return {
    ctx: ctx.derive({ signal: limit.signal }),
    timedOut: () => limit.signal.aborted && !ctx.signal.aborted,
    clear: () => {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', stop);
    },
  };
}

export function timeoutError(timeoutMs: number, workflows: readonly Workflow[]): CliError {
  const waiting = workflows.filter((w) => !isWorkflowTerminal(w.status?.phase));
  return new CliError(
    `timed out after ${preciseDuration(timeoutMs)} waiting for ${waiting
      .map((w) => `Workflow ${w.metadata.name} (${workflowPhaseOf(w)}, ${taskProgress(w)} tasks done)`)
      .join(', ')}; it goes on`,
    ExitCode.WaitTimeout,
  );
}

/** Resolves with the terminal Workflow, or the last version seen if ctx.signal aborted. */
export function waitForWorkflow(
  ctx: Context,
  conn: Connection,
  workflow: Workflow,
  onWorkflow: (workflow: Workflow) => void = () => {},
): Promise<Workflow> {
  return observeWorkflow(
    conn,
    workflow.metadata.namespace ?? ctx.namespace,
    workflow.metadata.name!,
    (w) => {
      onWorkflow(w);
      return isWorkflowTerminal(w.status?.phase);
    },
    ctx.signal,
  );
}

/** --timeout as milliseconds, when given. */
export function parseTimeout(args: ParsedArgs): number | undefined {
  const text = flagString(args, 'timeout');
  return text === undefined ? undefined : parseDuration(text, '--timeout');
}
