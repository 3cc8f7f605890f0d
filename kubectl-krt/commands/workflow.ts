// kubectl krt workflow run|get|list|describe|cancel|wait|logs: Workflows, DAGs of tasks each run
// as a child Run. One command group; each verb has its own flags and help (Command.subcommands).
import { isWorkflowTerminal, type Workflow, WorkflowPhase } from '../../lib/api.ts';
import { Paths } from '../../lib/kube-client.ts';
import type { Command } from '../command.ts';
import type { Context } from '../context.ts';
import { UsageError } from '../errors.ts';
import { ExitCode, exitCodeForWorkflowPhase } from '../exit-codes.ts';
import { flagBoolean, flagString, isMachineFormat, outputFlag } from '../flags.ts';
import type { Connection } from '../kube/connection.ts';
import { getWorkflow, WorkflowNotFoundError } from '../kube/observe-workflow.ts';
import { describeWorkflow } from '../output/describe-workflow.ts';
import { ResourceName } from '../output/print.ts';
import { colorPhase } from '../output/run-table.ts';
import { renderWorkflowTable, workflowPhaseOf } from '../output/workflow-table.ts';
import { eventsAbout } from './describe.ts';
import { printObjects, RUN_OUTPUTS } from './get.ts';
import { parseTimeout, timeLimit, timeoutError, waitForWorkflow, workflowDetachedNote } from './wait-for-workflow.ts';
import { WAIT_FLAGS, WaitFor } from './wait.ts';
import { workflowLogsCommand } from './workflow-logs.ts';
import { workflowRunCommand } from './workflow-run.ts';

/** get and list print Workflows in the formats they print Runs in. */
export const WORKFLOW_OUTPUTS = RUN_OUTPUTS;

/** The named Workflows that exist; each missing one is reported on stderr. */
async function getAll(
  ctx: Context,
  conn: Connection,
  names: readonly string[],
): Promise<{ found: Workflow[]; missing: boolean }> {
  const found: Workflow[] = [];
  let missing = false;
  for (const name of names) {
    try {
      found.push(await getWorkflow(conn, ctx.namespace, name));
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      ctx.error(err.message);
      missing = true;
    }
  }
  return { found, missing };
}

function printWorkflows(
  ctx: Context,
  workflows: readonly Workflow[],
  output: string | undefined,
  options: { single: boolean; namespaces: boolean },
): void {
  printObjects(ctx, workflows, output, ResourceName.Workflow, options.single, (o) =>
    renderWorkflowTable(workflows, ctx.chalk, { ...o, namespaces: options.namespaces }),
  );
}

const getVerb: Command = {
  name: 'get',
  summary: 'show Workflows by name: phase, tasks done, duration, age',
  usage: 'workflow get NAME... [-o table|wide|json|yaml|name]',
  description:
    'Show the named Workflows: phase, tasks done of all (finally tasks included), how long they ran, age; -o wide adds reason and message.',
  examples: [
    { comment: 'One Workflow', line: 'workflow get etl-x7k2p' },
    { comment: 'Its outputs, for scripts', line: 'workflow get etl-x7k2p -o json | jq .status.outputs' },
  ],
  flags: { output: outputFlag(WORKFLOW_OUTPUTS) },
  async run(ctx, args) {
    if (args.input.length === 0)
      throw new UsageError(`name the Workflows to show; to list them all: ${ctx.prog} workflow list`);
    const conn = await ctx.connection();
    const { found, missing } = await getAll(ctx, conn, args.input);
    if (found.length > 0) {
      printWorkflows(ctx, found, flagString(args, 'output'), { single: args.input.length === 1, namespaces: false });
    }
    return missing ? ExitCode.Error : ExitCode.Ok;
  },
};

const listVerb: Command = {
  name: 'list',
  aliases: ['ls'],
  summary: 'list the Workflows of the namespace (-A: of all)',
  usage: 'workflow list [-A] [-o table|wide|json|yaml|name]',
  description: 'List Workflows with their phase, tasks done of all, duration and age; -o wide adds reason and message.',
  examples: [
    { comment: 'Workflows of the current namespace', line: 'workflow list' },
    { comment: 'Everywhere, with why each stands where it does', line: 'workflow list -A -o wide' },
  ],
  flags: {
    allNamespaces: { type: 'boolean', shortFlag: 'A', description: 'Workflows of every namespace' },
    output: outputFlag(WORKFLOW_OUTPUTS),
  },
  async run(ctx, args) {
    if (args.input.length > 0) {
      throw new UsageError(
        `workflow list takes no names; to show some: ${ctx.prog} workflow get ${args.input.join(' ')}`,
      );
    }
    const all = flagBoolean(args, 'allNamespaces');
    const output = flagString(args, 'output');
    const conn = await ctx.connection();
    const workflows = (await conn.client.get<{ items: Workflow[] }>(Paths.workflows(all ? undefined : ctx.namespace)))
      .items;
    if (workflows.length === 0 && !isMachineFormat(output)) {
      ctx.note(all ? 'no Workflows found' : `no Workflows found in namespace ${ctx.namespace}`);
      return ExitCode.Ok;
    }
    printWorkflows(ctx, workflows, output, { single: false, namespaces: all });
    return ExitCode.Ok;
  },
};

const describeVerb: Command = {
  name: 'describe',
  summary: 'explain a Workflow: spec, params, each task and its Run, outputs, conditions, events',
  usage: 'workflow describe NAME...',
  description: `Describe Workflows in detail: phase, reason and message, the tasks and what each waits
for, the params with their effective values, each task's child Run with its phase, attempt,
duration, reason and message, the outputs (declared and resolved), the conditions and the recent
Events about the Workflow.`,
  examples: [{ comment: 'Why did my Workflow fail?', line: 'workflow describe etl-x7k2p' }],
  flags: {},
  async run(ctx, args) {
    if (args.input.length === 0) throw new UsageError('name the Workflows to describe');
    const conn = await ctx.connection();
    const { found, missing } = await getAll(ctx, conn, args.input);
    let first = true;
    for (const workflow of found) {
      const events = await eventsAbout(ctx, conn, workflow.metadata.uid);
      if (!first) ctx.out('\n');
      first = false;
      ctx.out(describeWorkflow(workflow, events, ctx.chalk, Date.now()));
    }
    return missing ? ExitCode.Error : ExitCode.Ok;
  },
};

const cancelVerb: Command = {
  name: 'cancel',
  summary: 'cancel Workflows (spec.cancelRequested), --wait until they have stopped',
  usage: 'workflow cancel NAME... [--wait]',
  description: `Cancel Workflows by setting spec.cancelRequested (a merge patch; it cannot be undone). The
controller cancels every active child Run and starts nothing new, finally tasks neither; the
Workflow ends Cancelled once every child Run has ended. A Workflow that already finished keeps its phase.`,
  examples: [{ comment: 'Cancel and wait until every task has stopped', line: 'workflow cancel etl-x7k2p --wait' }],
  flags: {
    wait: { type: 'boolean', shortFlag: 'w', description: 'wait until each Workflow has ended' },
  },
  async run(ctx, args) {
    if (args.input.length === 0) throw new UsageError('name the Workflows to cancel');
    const conn = await ctx.connection();
    const { found, missing } = await getAll(ctx, conn, args.input);
    const requested: Workflow[] = [];
    for (const workflow of found) {
      const name = workflow.metadata.name!;
      if (isWorkflowTerminal(workflow.status?.phase)) {
        ctx.out(
          `${ResourceName.Workflow}/${name} already ended ${colorPhase(ctx.chalk, workflowPhaseOf(workflow))}; nothing to cancel\n`,
        );
        continue;
      }
      requested.push(
        workflow.spec.cancelRequested
          ? workflow
          : await conn.client.mergePatch<Workflow>(Paths.workflow(ctx.namespace, name), {
              spec: { cancelRequested: true },
            }),
      );
      ctx.out(`${ResourceName.Workflow}/${name} cancel requested\n`);
    }
    if (flagBoolean(args, 'wait')) {
      const finals = await Promise.all(requested.map((w) => waitForWorkflow(ctx, conn, w)));
      for (const workflow of finals) {
        if (ctx.signal.aborted) {
          ctx.note(workflowDetachedNote(ctx, workflow));
          continue;
        }
        const phase = workflowPhaseOf(workflow);
        ctx.out(
          phase === WorkflowPhase.Cancelled
            ? `${ResourceName.Workflow}/${workflow.metadata.name} ${colorPhase(ctx.chalk, phase)}\n`
            : `${ResourceName.Workflow}/${workflow.metadata.name} ended ${colorPhase(ctx.chalk, phase)} before the cancellation applied\n`,
        );
      }
      if (ctx.signal.aborted) return ExitCode.Interrupted;
    }
    return missing ? ExitCode.Error : ExitCode.Ok;
  },
};

const waitVerb: Command = {
  name: 'wait',
  summary: 'wait until Workflows end (--for=terminal|succeeded, --timeout)',
  usage: 'workflow wait NAME... [--for=terminal|succeeded] [--timeout DURATION]',
  description: `Wait until every named Workflow has ended, printing each as it ends.

--for=terminal (the default) exits 0 once all have ended, whatever the phase. --for=succeeded
exits 0 only if all Succeeded, else with the code of the first that did not (1 Failed, 4
Cancelled). --timeout bounds the wait: when it elapses the command exits 6 and the Workflows go on.`,
  examples: [
    { comment: 'Wait for a Workflow to succeed, at most an hour', line: 'workflow wait etl-x7k2p --for=succeeded --timeout 1h' },
  ],
  flags: WAIT_FLAGS,
  async run(ctx, args) {
    if (args.input.length === 0) throw new UsageError('name the Workflows to wait for');
    const goal = flagString(args, 'for') ?? WaitFor.Terminal;
    const timeoutMs = parseTimeout(args);
    const conn = await ctx.connection();
    const workflows = await Promise.all(args.input.map((name) => getWorkflow(conn, ctx.namespace, name)));
    const limit = timeLimit(ctx, timeoutMs);
    let finals: Workflow[];
    try {
      finals = await Promise.all(
        workflows.map(async (w) => {
          const final = await waitForWorkflow(limit.ctx, conn, w);
          if (!limit.ctx.signal.aborted) {
            ctx.out(
              `${ResourceName.Workflow}/${final.metadata.name} ${colorPhase(ctx.chalk, workflowPhaseOf(final))}\n`,
            );
          }
          return final;
        }),
      );
    } finally {
      limit.clear();
    }
    if (ctx.signal.aborted) {
      for (const w of finals) ctx.note(workflowDetachedNote(ctx, w));
      return ExitCode.Interrupted;
    }
    if (limit.timedOut()) throw timeoutError(timeoutMs ?? 0, finals);
    if (goal === WaitFor.Succeeded) {
      const bad = finals.find((w) => w.status?.phase !== WorkflowPhase.Succeeded);
      if (bad) return exitCodeForWorkflowPhase(bad.status?.phase);
    }
    return ExitCode.Ok;
  },
};

export const WORKFLOW_VERBS: readonly Command[] = [
  workflowRunCommand,
  getVerb,
  listVerb,
  describeVerb,
  workflowLogsCommand,
  cancelVerb,
  waitVerb,
];

export const workflowCommand: Command = {
  name: 'workflow',
  aliases: ['workflows', 'wf'],
  summary: 'run Workflows (DAGs of Runs) and follow, show, cancel or wait for them',
  usage: 'workflow run|get|list|describe|logs|cancel|wait [flags]',
  description: `Workflows run a DAG of tasks, each task a Run (its "child Run") created once the tasks it
depends on have succeeded; finally tasks run once every task has ended. See docs/api.md for the
Workflow fields and docs/cli.md for each command.`,
  examples: [
    { comment: 'Run a Workflow from a file, watching its tasks and their output', line: 'workflow run -f etl.yaml -p date=2026-01-02 --follow' },
    { comment: 'The Workflows of the namespace', line: 'workflow list' },
  ],
  flags: {},
  subcommands: WORKFLOW_VERBS,
  run() {
    // The dispatcher runs the chosen subcommand; a group never runs itself.
    return Promise.reject(new UsageError('say which workflow command to run'));
  },
};
