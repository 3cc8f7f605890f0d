// kubectl krt get RUN...: the named Runs as a table, or as JSON/YAML/names.
import type { Run } from '../../lib/api.ts';
import type { Command } from '../command.ts';
import type { Context } from '../context.ts';
import { UsageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { flagString, isMachineFormat, OutputFormat, outputFlag } from '../flags.ts';
import { getRun, RunNotFoundError } from '../kube/observe-run.ts';
import { ResourceName, renderObjects } from '../output/print.ts';
import { renderRunTable } from '../output/run-table.ts';

export const RUN_OUTPUTS = [
  OutputFormat.Table,
  OutputFormat.Wide,
  OutputFormat.Json,
  OutputFormat.Yaml,
  OutputFormat.Name,
] as const;

/**
 * Prints objects in the chosen format: a machine format, or the table `table` renders (wide or
 * not); `single` prints one object as itself rather than as a List. For Runs and Workflows.
 */
export function printObjects<T extends { metadata: { name?: string } }>(
  ctx: Context,
  items: readonly T[],
  output: string | undefined,
  resource: string,
  single: boolean,
  table: (options: { wide: boolean; now: number }) => string,
): void {
  if (isMachineFormat(output)) {
    ctx.out(renderObjects(items, output, resource, single));
    return;
  }
  ctx.out(table({ wide: output === OutputFormat.Wide, now: Date.now() }));
}

/** Prints Runs in the chosen format; `single` prints one Run as itself rather than as a List. */
export function printRuns(
  ctx: Context,
  runs: readonly Run[],
  output: string | undefined,
  options: { single: boolean; namespaces: boolean },
): void {
  printObjects(ctx, runs, output, ResourceName.Run, options.single, (o) =>
    renderRunTable(runs, ctx.chalk, { ...o, namespaces: options.namespaces }),
  );
}

export const getCommand: Command = {
  name: 'get',
  summary: 'show Runs by name',
  usage: 'get RUN... [flags]',
  description:
    'Show the named Runs: phase, runtime, how long they ran, age (-o wide adds attempt, exit code, pod, reason and message).',
  examples: [
    { comment: 'One Run', line: 'get hello-x7k2p' },
    { comment: 'As JSON, for scripts', line: 'get hello-x7k2p -o json' },
  ],
  flags: { output: outputFlag(RUN_OUTPUTS) },
  async run(ctx, args) {
    if (args.input.length === 0)
      throw new UsageError(`name the Runs to show; to list them all: ${ctx.prog} list`);
    const conn = await ctx.connection();
    const runs: Run[] = [];
    let missing = false;
    for (const name of args.input) {
      try {
        runs.push(await getRun(conn, ctx.namespace, name));
      } catch (err) {
        if (!(err instanceof RunNotFoundError)) throw err;
        ctx.error(err.message);
        missing = true;
      }
    }
    if (runs.length > 0) {
      printRuns(ctx, runs, flagString(args, 'output'), {
        single: args.input.length === 1,
        namespaces: false,
      });
    }
    return missing ? ExitCode.Error : ExitCode.Ok;
  },
};
