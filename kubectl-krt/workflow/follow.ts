// Following a Workflow while it runs (workflow run --follow, workflow logs -f): the Workflow is
// watched, and each task's output is streamed from its child Run as soon as the controller has
// created it, through the same Run log following as `run --follow` (logs/follow.ts), each line
// prefixed with the task's name. Resolves once the Workflow has ended and its tasks' output has.
import { isWorkflowTerminal, type Workflow } from '../../lib/api.ts';
import type { Context } from '../context.ts';
import type { Connection } from '../kube/connection.ts';
import { getRun } from '../kube/observe-run.ts';
import { observeWorkflow } from '../kube/observe-workflow.ts';
import { followRun } from '../logs/follow.ts';
import { LinePrefixer } from '../logs/prefix.ts';
import { LogWriter, type Sink } from '../logs/writer.ts';
import { taskRows } from '../output/workflow-table.ts';

/** Where the tasks' output goes: stdout to stdout and stderr to stderr, each line prefixed when given. */
export interface TaskOutput {
  stdout: Sink;
  stderr: Sink;
  /** The prefix of each task's lines; no prefixes when undefined. */
  prefixes?: ReadonlyMap<string, string>;
  /** Only these tasks' output (logs --task); all when undefined. */
  tasks?: ReadonlySet<string>;
}

/** A task's writer, and what to call when its Run's output has ended. */
export function taskWriter(output: TaskOutput, task: string): { writer: LogWriter; finish: () => void } {
  const prefix = output.prefixes?.get(task);
  if (prefix === undefined) {
    return {
      writer: new LogWriter({ stdout: output.stdout, stderr: output.stderr, split: true, timestamps: false }),
      finish: () => {},
    };
  }
  const stdout = new LinePrefixer(output.stdout, prefix);
  const stderr = new LinePrefixer(output.stderr, prefix);
  return {
    writer: new LogWriter({ stdout, stderr, split: true, timestamps: false }),
    finish: () => {
      stdout.flush();
      stderr.flush();
    },
  };
}

/**
 * Watches the Workflow until it is terminal (or ctx.signal aborts: Ctrl-C, --timeout), calling
 * onWorkflow with each version; with `output`, streams each task's output. Resolves with the last
 * version seen.
 */
export async function followWorkflow(
  ctx: Context,
  conn: Connection,
  initial: Workflow,
  options: { output?: TaskOutput; onWorkflow?: (workflow: Workflow) => void },
): Promise<Workflow> {
  const ns = initial.metadata.namespace ?? ctx.namespace;
  const { output } = options;
  const following = new Map<string, Promise<void>>();

  const follow = (task: string, runName: string, out: TaskOutput) => {
    const { writer, finish } = taskWriter(out, task);
    const done = (async () => {
      try {
        const run = await getRun(conn, ns, runName);
        await followRun(ctx, conn, run, { stream: 'all' }, writer);
      } catch (err) {
        if (!ctx.signal.aborted) ctx.warn(`no more output of task ${task} (Run ${runName}): ${(err as Error).message}`);
      } finally {
        finish();
      }
    })();
    following.set(task, done);
  };

  const final = await observeWorkflow(
    conn,
    ns,
    initial.metadata.name!,
    (workflow) => {
      options.onWorkflow?.(workflow);
      if (output) {
        for (const row of taskRows(workflow)) {
          const runName = row.status.runName;
          if (runName && !following.has(row.name) && (!output.tasks || output.tasks.has(row.name))) {
            follow(row.name, runName, output);
          }
        }
      }
      return isWorkflowTerminal(workflow.status?.phase);
    },
    ctx.signal,
  );
  // Each task's Run has ended with the Workflow; its stream delivers the rest and closes (bounded in followRun).
  await Promise.all(following.values());
  return final;
}
