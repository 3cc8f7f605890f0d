// kubectl krt logs RUN: the Run's stdout and stderr from runtimed on its Runtime Pod, live with -f.
import { isTerminal } from '../../lib/api.ts';
import type { Command } from '../command.ts';
import { CliError, UsageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { flagBoolean, flagNumber, flagString } from '../flags.ts';
import { getRun } from '../kube/observe-run.ts';
import type { StreamSelection } from '../logs/chunk.ts';
import { followRun } from '../logs/follow.ts';
import { showAttemptLog } from '../logs/show.ts';
import { LogWriter } from '../logs/writer.ts';
import { explainRun } from '../output/explain.ts';
import { parseDuration } from '../parse/duration.ts';
import { progressNotes } from '../progress.ts';
import { detachedNote } from './wait-for-run.ts';

export const logsCommand: Command = {
  name: 'logs',
  summary: "print a Run's stdout and stderr (-f to follow it live)",
  usage: 'logs RUN [flags]',
  description: `Print the output of a Run. It is read from runtimed on the Run's Runtime Pod through
Kubernetes port-forwarding (pods/portforward), complete and byte for byte, also after the Run
ended. When runtimed cannot be reached (the pod is shutting down, port-forwarding is not
allowed), the output is taken from runtimed's container log instead, which may be incomplete;
a note on stderr says so. Once the Runtime Pod is deleted, the output is gone.

Both streams go to stdout, as kubectl logs does; --stream picks one.`,
  examples: [
    { comment: 'The whole output of a finished Run', line: 'logs hello-x7k2p' },
    { comment: 'Follow a running Run, with timestamps', line: 'logs -f --timestamps hello-x7k2p' },
    { comment: 'The last 20 lines of stderr', line: 'logs hello-x7k2p --stream stderr --tail 20' },
  ],
  flags: {
    follow: {
      type: 'boolean',
      shortFlag: 'f',
      description: 'keep streaming until the Run ends (also across retries)',
    },
    tail: { type: 'number', valueName: 'N', description: 'only the last N lines' },
    since: {
      type: 'string',
      valueName: 'DURATION',
      description: 'only output written in the last DURATION, e.g. 5m',
    },
    timestamps: { type: 'boolean', description: 'prefix each line with the time it was written' },
    stream: {
      type: 'string',
      valueName: 'STREAM',
      choices: ['stdout', 'stderr'],
      description: 'only stdout or only stderr (default: both)',
    },
  },
  async run(ctx, args) {
    const [name, ...extra] = args.input;
    if (!name) throw new UsageError('name the Run whose output to print');
    if (extra.length > 0) throw new UsageError(`logs takes one Run, got ${args.input.length}`);
    const tail = flagNumber(args, 'tail');
    if (tail !== undefined && (!Number.isInteger(tail) || tail < 0))
      throw new UsageError('--tail must be a whole number');
    const since = flagString(args, 'since');
    const options = {
      stream: (flagString(args, 'stream') ?? 'all') as StreamSelection,
      tailLines: tail,
      sinceTime:
        since === undefined
          ? undefined
          : new Date(Date.now() - parseDuration(since, '--since')).toISOString(),
    };
    const follow = flagBoolean(args, 'follow');
    const writer = new LogWriter({
      stdout: ctx.io.stdout,
      stderr: ctx.io.stderr,
      split: false,
      timestamps: flagBoolean(args, 'timestamps'),
    });

    const conn = await ctx.connection();
    const run = await getRun(conn, ctx.namespace, name);
    const phase = run.status?.phase ?? 'Pending';
    if (!run.status?.assignedPod) {
      if (isTerminal(phase)) {
        ctx.note(
          `Run ${name} ended ${phase} without running, so it has no output${run.status?.message ? ` (${run.status.message})` : ''}`,
        );
        return ExitCode.Ok;
      }
      if (!follow) {
        throw new CliError(
          `Run ${name} has not started yet (${phase}), so it has no output: wait for it with ${ctx.prog} logs -f ${name}${explainRun(run) ? `. ${explainRun(run)}` : ''}`,
        );
      }
    }
    if (follow && !isTerminal(phase)) {
      const final = await followRun(ctx, conn, run, options, writer, { onRun: progressNotes(ctx) });
      writer.finishLines();
      if (ctx.signal.aborted) {
        ctx.note(detachedNote(ctx, final));
        return ExitCode.Interrupted;
      }
      return ExitCode.Ok;
    }
    await showAttemptLog(ctx, conn, run, options, writer);
    writer.finishLines();
    return ExitCode.Ok;
  },
};
