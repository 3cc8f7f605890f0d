// kubectl krt list: the Runs of a namespace (or all), filtered by label, phase and runtime, and
// with --watch every change as it happens.
import { type Run, RunPhase } from '../../lib/api.ts';
import { Paths } from '../../lib/kube-client.ts';
import type { Command } from '../command.ts';
import type { Context } from '../context.ts';
import { UsageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { flagBoolean, flagString, isMachineFormat, OutputFormat, outputFlag } from '../flags.ts';
import type { Connection } from '../kube/connection.ts';
import { WatchExpiredError, watchOnce } from '../kube/watch.ts';
import { ResourceName, renderObjects } from '../output/print.ts';
import { runHeader, runRow } from '../output/run-table.ts';
import { columnWidths, renderTable } from '../output/table.ts';
import { printRuns, RUN_OUTPUTS } from './get.ts';

const PHASES: readonly string[] = Object.values(RunPhase);

/** `--phase failed,timeout` → the phases, spelled as the API spells them. */
export function parsePhases(text: string): string[] {
  return text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const phase = PHASES.find((x) => x.toLowerCase() === p.toLowerCase());
      if (!phase) throw new UsageError(`--phase "${p}" is not a phase: use ${PHASES.join(', ')}`);
      return phase;
    });
}

export interface ListQuery {
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Phases filtered here, when more than one was asked for (field selectors cannot OR). */
  phases?: readonly string[];
}

export function listQuery(options: {
  namespace?: string;
  selector?: string;
  phases: readonly string[];
  runtime?: string;
}): ListQuery {
  const fields: string[] = [];
  if (options.phases.length === 1) fields.push(`status.phase=${options.phases[0]}`);
  if (options.runtime) fields.push(`spec.runtime=${options.runtime}`);
  return {
    path: Paths.runs(options.namespace),
    labelSelector: options.selector,
    fieldSelector: fields.length ? fields.join(',') : undefined,
    phases: options.phases.length > 1 ? options.phases : undefined,
  };
}

function matches(run: Run, q: ListQuery): boolean {
  return !q.phases || q.phases.includes(run.status?.phase ?? RunPhase.Pending);
}

export const listCommand: Command = {
  name: 'list',
  aliases: ['ls'],
  summary: 'list Runs (-A, -l, --phase, --runtime, --watch)',
  usage: 'list [flags]',
  description:
    'List the Runs of the namespace, or of all namespaces with -A. --phase and --runtime filter on the server (the Run CRD makes both selectable); --watch keeps printing each change.',
  examples: [
    { comment: 'Runs of the current namespace', line: 'list' },
    {
      comment: 'Failed and timed-out Runs of the bash Runtime, everywhere',
      line: 'list -A --phase Failed,Timeout --runtime bash',
    },
    { comment: 'Follow changes', line: 'list -l team=data --watch' },
  ],
  flags: {
    allNamespaces: { type: 'boolean', shortFlag: 'A', description: 'Runs of every namespace' },
    selector: {
      type: 'string',
      shortFlag: 'l',
      valueName: 'SELECTOR',
      description: 'label selector, e.g. team=data,tier!=test',
    },
    phase: {
      type: 'string',
      valueName: 'PHASE[,PHASE]',
      description: `only Runs in these phases (${PHASES.join(', ')})`,
    },
    runtime: { type: 'string', valueName: 'NAME', description: 'only Runs of this Runtime' },
    watch: {
      type: 'boolean',
      shortFlag: 'w',
      description: 'after listing, print each change until interrupted',
    },
    output: outputFlag(RUN_OUTPUTS),
  },
  async run(ctx, args) {
    if (args.input.length > 0)
      throw new UsageError(`list takes no names; to show some Runs: ${ctx.prog} get ${args.input.join(' ')}`);
    const all = flagBoolean(args, 'allNamespaces');
    const phaseFlag = flagString(args, 'phase');
    const q = listQuery({
      namespace: all ? undefined : ctx.namespace,
      selector: flagString(args, 'selector'),
      phases: phaseFlag ? parsePhases(phaseFlag) : [],
      runtime: flagString(args, 'runtime'),
    });
    const output = flagString(args, 'output');
    const conn = await ctx.connection();
    const list = await conn.client.get<{ items: Run[]; metadata: { resourceVersion: string } }>(q.path, {
      query: { labelSelector: q.labelSelector, fieldSelector: q.fieldSelector },
    });
    const runs = list.items.filter((r) => matches(r, q));
    if (
      runs.length === 0 &&
      !flagBoolean(args, 'watch') &&
      (!output || output === 'table' || output === 'wide')
    ) {
      ctx.note(all ? 'no Runs found' : `no Runs found in namespace ${ctx.namespace}`);
      return ExitCode.Ok;
    }
    printRuns(ctx, runs, output, { single: false, namespaces: all });
    if (!flagBoolean(args, 'watch')) return ExitCode.Ok;
    await watchRuns(ctx, conn, q, list.metadata.resourceVersion, runs, { output, namespaces: all });
    return ExitCode.Ok;
  },
};

async function watchRuns(
  ctx: Context,
  conn: Connection,
  q: ListQuery,
  fromVersion: string,
  initial: readonly Run[],
  o: { output?: string; namespaces: boolean },
): Promise<void> {
  const tableOptions = { wide: o.output === OutputFormat.Wide, namespaces: o.namespaces, now: Date.now() };
  const widths = columnWidths([
    runHeader(tableOptions),
    ...initial.map((r) => runRow(r, ctx.chalk, tableOptions)),
  ]);
  const print = (run: Run) => {
    if (!matches(run, q)) return;
    if (isMachineFormat(o.output)) {
      ctx.out(renderObjects([run], o.output, ResourceName.Run, true));
    } else {
      ctx.out(renderTable(undefined, [runRow(run, ctx.chalk, { ...tableOptions, now: Date.now() })], widths));
    }
  };
  let resourceVersion = fromVersion;
  while (!ctx.signal.aborted) {
    try {
      resourceVersion = await watchOnce<Run>(
        conn,
        q.path,
        { labelSelector: q.labelSelector, fieldSelector: q.fieldSelector, resourceVersion },
        (event) => print(event.object),
        ctx.signal,
      );
    } catch (err) {
      if (!(err instanceof WatchExpiredError)) throw err;
      const list = await conn.client.get<{ metadata: { resourceVersion: string } }>(q.path, {
        query: { labelSelector: q.labelSelector, fieldSelector: q.fieldSelector, limit: 1 },
      });
      resourceVersion = list.metadata.resourceVersion;
    }
  }
}
