// kubectl krt workflow logs NAME: the output of each task's child Run, in task order (tasks, then
// finally tasks), each line prefixed with the task's name when more than one task is shown; with
// -f, live until the Workflow ends. The Run output itself comes as for `kubectl krt logs`.
import { isTerminal, isWorkflowTerminal, type Workflow } from '../../lib/api.ts';
import type { Command } from '../command.ts';
import type { Context } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { flagBoolean, flagStrings } from '../flags.ts';
import type { Connection } from '../kube/connection.ts';
import { getRun } from '../kube/observe-run.ts';
import { getWorkflow } from '../kube/observe-workflow.ts';
import { taskPrefixes } from '../logs/prefix.ts';
import { showAttemptLog } from '../logs/show.ts';
import { type TaskRow, taskRows } from '../output/workflow-table.ts';
import { followWorkflow, type TaskOutput, taskWriter } from '../workflow/follow.ts';
import { workflowDetachedNote } from './wait-for-workflow.ts';

/** The tasks --task names (all when none), in task order; an unknown name is a usage error naming the tasks. */
export function selectTasks(workflow: Workflow, names: readonly string[]): TaskRow[] {
  const rows = taskRows(workflow);
  for (const name of names) {
    if (!rows.some((r) => r.name === name)) {
      throw new UsageError(
        `--task ${name}: Workflow ${workflow.metadata.name} has no task "${name}"; its tasks are ${rows.map((r) => r.name).join(', ')}`,
      );
    }
  }
  return names.length === 0 ? rows : rows.filter((r) => names.includes(r.name));
}

/** Why a task has no output to show, or undefined when its Run may have some. */
export function noOutputReason(row: TaskRow): string | undefined {
  if (!row.status.runName) {
    const why = [row.status.reason, row.status.message].filter(Boolean).join(': ');
    return `task ${row.name} is ${row.phase}${why ? ` (${why})` : ''} and has no Run, so no output`;
  }
  return undefined;
}

/** Each task's whole output, one task after the other. Returns false when some could not be shown. */
async function showTasks(ctx: Context, conn: Connection, rows: readonly TaskRow[], output: TaskOutput): Promise<boolean> {
  let complete = true;
  for (const row of rows) {
    const none = noOutputReason(row);
    if (none) {
      ctx.note(none);
      continue;
    }
    const run = await getRun(conn, ctx.namespace, row.status.runName!).catch((err: unknown) => {
      ctx.error(`task ${row.name}: ${(err as Error).message}`);
      complete = false;
      return undefined;
    });
    if (!run) continue;
    if (!run.status?.assignedPod) {
      const phase = run.status?.phase ?? 'Pending';
      ctx.note(
        isTerminal(phase)
          ? `task ${row.name}: Run ${run.metadata.name} ended ${phase} without running, so it has no output`
          : `task ${row.name}: Run ${run.metadata.name} has not started yet (${phase}); follow it with ${ctx.prog} workflow logs -f`,
      );
      continue;
    }
    const { writer, finish } = taskWriter(output, row.name);
    try {
      await showAttemptLog(ctx, conn, run, { stream: 'all' }, writer);
    } catch (err) {
      if (ctx.signal.aborted || !(err instanceof CliError)) throw err;
      ctx.error(`task ${row.name}: ${err.message}`);
      complete = false;
    } finally {
      finish();
    }
  }
  return complete;
}

export const workflowLogsCommand: Command = {
  name: 'logs',
  summary: "print the output of a Workflow's tasks (-f to follow it live)",
  usage: 'workflow logs NAME [--task TASK]... [-f]',
  description: `Print the output of each task of a Workflow: its child Run's stdout and stderr, read as
kubectl krt logs reads them, in task order (tasks, then finally tasks). With more than one
task every line starts with the task's name. --task shows only the tasks named (repeatable).
A task that has no Run (Skipped, or not started yet) is mentioned on stderr.

-f follows the Workflow until it ends: each task's output is shown as it is written, from the
moment its Run exists; lines of tasks that run at the same time interleave.`,
  examples: [
    { comment: 'Everything the Workflow printed', line: 'workflow logs etl-x7k2p' },
    { comment: 'One task, live', line: 'workflow logs etl-x7k2p --task load -f' },
  ],
  flags: {
    task: {
      type: 'string',
      isMultiple: true,
      valueName: 'TASK',
      description: 'only the output of this task (repeatable)',
    },
    follow: { type: 'boolean', shortFlag: 'f', description: 'keep streaming until the Workflow ends' },
  },
  async run(ctx, args) {
    const [name, ...extra] = args.input;
    if (!name) throw new UsageError('name the Workflow whose output to print');
    if (extra.length > 0) throw new UsageError(`workflow logs takes one Workflow, got ${args.input.length}`);
    const conn = await ctx.connection();
    const workflow = await getWorkflow(conn, ctx.namespace, name);
    const rows = selectTasks(workflow, flagStrings(args, 'task'));
    const output: TaskOutput = {
      stdout: ctx.io.stdout,
      // As kubectl logs does: both streams to stdout.
      stderr: ctx.io.stdout,
      prefixes: rows.length > 1 ? taskPrefixes(rows.map((r) => r.name), (n) => ctx.chalk.cyan(n)) : undefined,
      tasks: new Set(rows.map((r) => r.name)),
    };
    if (flagBoolean(args, 'follow') && !isWorkflowTerminal(workflow.status?.phase)) {
      const final = await followWorkflow(ctx, conn, workflow, { output });
      if (ctx.signal.aborted) {
        ctx.note(workflowDetachedNote(ctx, final));
        return ExitCode.Interrupted;
      }
      return ExitCode.Ok;
    }
    return (await showTasks(ctx, conn, rows, output)) ? ExitCode.Ok : ExitCode.Error;
  },
};
