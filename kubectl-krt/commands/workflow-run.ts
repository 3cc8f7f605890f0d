// kubectl krt workflow run -f FILE: create a Workflow from YAML (params set with -p), and with
// --wait/--follow wait for it, show its tasks live and stream their output, print its outputs and
// exit with its outcome.
import { readFile } from 'node:fs/promises';
import { buffer } from 'node:stream/consumers';
import type { Workflow } from '../../lib/api.ts';
import { Paths } from '../../lib/kube-client.ts';
import { allTasks } from '../../lib/workflow-names.ts';
import type { Command, ParsedArgs } from '../command.ts';
import type { Context } from '../context.ts';
import { UsageError } from '../errors.ts';
import { ExitCode, exitCodeForWorkflowPhase } from '../exit-codes.ts';
import { flagBoolean, flagString, flagStrings, isMachineFormat, OutputFormat, outputFlag } from '../flags.ts';
import type { Connection } from '../kube/connection.ts';
import { taskPrefixes } from '../logs/prefix.ts';
import { ResourceName, renderObjects, toYaml } from '../output/print.ts';
import { renderTaskTable, renderWorkflowOutputs, workflowResultLine } from '../output/workflow-table.ts';
import { buildWorkflow } from '../parse/workflow-spec.ts';
import { followWorkflow } from '../workflow/follow.ts';
import { aboveRegion, LiveRegion, plainView, type TaskView, terminalView } from '../workflow/view.ts';
import { parseTimeout, timeLimit, timeoutError, waitForWorkflow, workflowDetachedNote } from './wait-for-workflow.ts';

async function readWorkflowFile(ctx: Context, file: string | undefined): Promise<{ text: string; source: string }> {
  if (file === undefined) {
    throw new UsageError(`give the Workflow's YAML: ${ctx.prog} workflow run -f FILE (-f - reads stdin)`);
  }
  if (file === '-') return { text: (await buffer(ctx.io.stdin)).toString('utf8'), source: 'stdin' };
  try {
    return { text: await readFile(file, 'utf8'), source: file };
  } catch (err) {
    throw new UsageError(`cannot read -f ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Whether the live view can redraw in place: stderr is a terminal that understands cursor movement. */
export function canRedraw(stderr: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return Boolean(stderr.isTTY) && env.TERM !== 'dumb';
}

/**
 * --follow: the task view on stderr and the tasks' output (stdout to stdout, stderr to stderr,
 * each line prefixed with its task). On a terminal the view is redrawn in place below the output.
 */
async function follow(ctx: Context, conn: Connection, created: Workflow): Promise<Workflow> {
  const stderr = ctx.io.stderr as NodeJS.WriteStream;
  const prefixes = taskPrefixes(
    allTasks(created).map((t) => t.task.name),
    (name) => ctx.chalk.cyan(name),
  );
  let view: TaskView;
  let followCtx = ctx;
  let stdout = ctx.io.stdout as { write: (d: Buffer | string) => unknown };
  let taskStderr: { write: (d: Buffer | string) => unknown } = ctx.io.stderr;
  if (canRedraw(stderr, ctx.io.env)) {
    const region = new LiveRegion(stderr, () => stderr.columns);
    const above = aboveRegion(region, stderr);
    followCtx = ctx.derive({ stderr: above });
    if (ctx.io.stdoutIsTTY) stdout = aboveRegion(region, ctx.io.stdout);
    taskStderr = above;
    view = terminalView(region, ctx.chalk);
  } else {
    view = plainView((line) => ctx.note(line));
  }
  try {
    return await followWorkflow(followCtx, conn, created, {
      output: { stdout, stderr: taskStderr, prefixes },
      onWorkflow: (w) => view.update(w),
    });
  } finally {
    view.stop();
  }
}

export const workflowRunCommand: Command = {
  name: 'run',
  summary: 'create a Workflow from YAML; --wait for it or --follow its tasks and their output',
  usage: 'workflow run -f FILE [-p NAME=VALUE]... [--wait | --follow] [--timeout DURATION] [-o json|yaml|name]',
  description: `Create a Workflow from a YAML file (-f -: stdin) in the namespace (-n, else the file's
metadata.namespace, else the context's). metadata.name or metadata.generateName names it. -p sets
the value of a param the Workflow declares (repeatable). The Workflow is checked with the rules
of the apiserver and the Workflow controller first (task names, dependencies and cycles, each
task's run, a value for every param): a mistake is a usage error (exit 2) and nothing is sent.

Without --wait the command prints the new Workflow's name and returns at once. With --wait it
waits for the Workflow to end, prints how it ended, its tasks and its outputs, and exits with its
outcome: 0 Succeeded, 1 Failed, 4 Cancelled. --follow shows the tasks as they change (on a
terminal a table redrawn in place, otherwise a line "task NAME PHASE" per change, on stderr) and
streams each task's output, every line prefixed with the task's name: the tasks' stdout to
stdout, their stderr to stderr; the result then goes to stderr. --timeout bounds the wait (exit 6).
Ctrl-C stops waiting (exit 130); the Workflow goes on.`,
  examples: [
    { comment: 'Run a Workflow and wait for it', line: 'workflow run -f etl.yaml --wait' },
    {
      comment: 'Set params, follow the tasks and their output, at most an hour',
      line: 'workflow run -f etl.yaml -p date=2026-01-02 -p region=eu --follow --timeout 1h',
    },
    { comment: 'From stdin, print the name for scripting', line: 'workflow run -f - -o name < etl.yaml' },
    { comment: 'Show the Workflow that would be created', line: 'workflow run -f etl.yaml --dry-run' },
  ],
  flags: {
    file: {
      type: 'string',
      shortFlag: 'f',
      valueName: 'FILE',
      description: 'the Workflow as YAML (- reads stdin)',
    },
    param: {
      type: 'string',
      shortFlag: 'p',
      isMultiple: true,
      valueName: 'NAME=VALUE',
      description: 'the value of a declared param (repeatable)',
    },
    wait: { type: 'boolean', shortFlag: 'w', description: 'wait until the Workflow ends; exit with its outcome' },
    follow: {
      type: 'boolean',
      description: "show the tasks live and stream each task's output, prefixed with its name (implies --wait)",
    },
    timeout: {
      type: 'string',
      valueName: 'DURATION',
      description: 'with --wait or --follow: give up waiting after this long (exit 6); the Workflow goes on',
    },
    dryRun: { type: 'boolean', description: 'print the Workflow instead of creating it' },
    output: outputFlag([OutputFormat.Name, OutputFormat.Json, OutputFormat.Yaml], 'print the Workflow as'),
  },
  async run(ctx, args: ParsedArgs) {
    if (args.input.length > 0) {
      throw new UsageError(`unexpected argument "${args.input[0]}": give the Workflow with -f FILE`);
    }
    const follow_ = flagBoolean(args, 'follow');
    const wait = follow_ || flagBoolean(args, 'wait');
    const format = flagString(args, 'output');
    const output = isMachineFormat(format) ? format : undefined;
    if (follow_ && output) {
      throw new UsageError(
        `--follow writes the tasks' output to stdout, so it does not combine with -o: use --wait -o ${output} for the finished Workflow`,
      );
    }
    const timeoutMs = parseTimeout(args);
    if (timeoutMs !== undefined && !wait) {
      throw new UsageError('--timeout bounds the wait: give it with --wait or --follow');
    }
    const { text, source } = await readWorkflowFile(ctx, flagString(args, 'file'));
    const workflow = buildWorkflow({
      text,
      source,
      params: flagStrings(args, 'param'),
      namespaceFlag: flagString(args, 'namespace'),
      defaultNamespace: () => ctx.namespace,
    });

    if (flagBoolean(args, 'dryRun')) {
      ctx.out(output ? renderObjects([workflow], output, ResourceName.Workflow, true) : toYaml(workflow));
      return ExitCode.Ok;
    }

    const conn = await ctx.connection();
    const created = await conn.client.create<Workflow>(Paths.workflows(workflow.metadata.namespace), workflow);
    const name = created.metadata.name!;
    if (!wait) {
      ctx.out(
        output
          ? renderObjects([created], output, ResourceName.Workflow, true)
          : `${ResourceName.Workflow}/${name} created\n`,
      );
      return ExitCode.Ok;
    }
    ctx.note(`${ResourceName.Workflow}/${name} created; ${follow_ ? 'following its tasks' : 'waiting for it to end'}`);

    const limit = timeLimit(ctx, timeoutMs);
    let final: Workflow;
    try {
      final = follow_ ? await follow(limit.ctx, conn, created) : await waitForWorkflow(limit.ctx, conn, created);
    } finally {
      limit.clear();
    }
    if (ctx.signal.aborted) {
      ctx.note(workflowDetachedNote(ctx, final));
      return ExitCode.Interrupted;
    }
    if (limit.timedOut()) throw timeoutError(timeoutMs ?? 0, [final]);

    if (output) ctx.out(renderObjects([final], output, ResourceName.Workflow, true));
    else if (follow_) {
      // stdout carries the tasks' own output only; the view already showed each task.
      ctx.io.stderr.write(workflowResultLine(final, ctx.chalk) + renderWorkflowOutputs(final));
    } else {
      ctx.out(
        workflowResultLine(final, ctx.chalk) + renderTaskTable(final, ctx.chalk, Date.now()) + renderWorkflowOutputs(final),
      );
    }
    return exitCodeForWorkflowPhase(final.status?.phase);
  },
};
