// kubectl krt cancel RUN...: request cancellation (a merge patch of spec.cancelRequested) and,
// with --wait, wait until each Run has ended.
import { isTerminal, type Run, RunPhase } from '../../lib/api.ts';
import { Paths } from '../../lib/kube-client.ts';
import type { Command } from '../command.ts';
import { UsageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { flagBoolean } from '../flags.ts';
import { getRun, RunNotFoundError } from '../kube/observe-run.ts';
import { ResourceName } from '../output/print.ts';
import { colorPhase } from '../output/run-table.ts';
import { detachedNote, waitForTerminal } from './wait-for-run.ts';

export const cancelCommand: Command = {
  name: 'cancel',
  summary: 'cancel Runs (spec.cancelRequested), --wait until they have stopped',
  usage: 'cancel RUN... [flags]',
  description: `Cancel Runs by setting spec.cancelRequested (a merge patch; it cannot be undone). A Run
that has not started ends Cancelled at once; a running one has its processes terminated (TERM, then
KILL after a grace period). A Run that already finished keeps its phase.`,
  examples: [
    { comment: 'Cancel and wait until it has stopped', line: 'cancel hello-x7k2p --wait' },
    {
      comment: 'Cancel every Pending Run of the namespace',
      line: 'cancel $(kubectl krt list --phase Pending -o name | cut -d/ -f2)',
    },
  ],
  flags: {
    wait: {
      type: 'boolean',
      shortFlag: 'w',
      description: 'wait until each Run has reached a terminal phase',
    },
  },
  async run(ctx, args) {
    if (args.input.length === 0) throw new UsageError('name the Runs to cancel');
    const conn = await ctx.connection();
    const requested: Run[] = [];
    let missing = false;
    for (const name of args.input) {
      let run: Run;
      try {
        run = await getRun(conn, ctx.namespace, name);
      } catch (err) {
        if (!(err instanceof RunNotFoundError)) throw err;
        ctx.error(err.message);
        missing = true;
        continue;
      }
      if (isTerminal(run.status?.phase)) {
        ctx.out(
          `${ResourceName.Run}/${name} already ended ${colorPhase(ctx.chalk, run.status!.phase!)}; nothing to cancel\n`,
        );
        continue;
      }
      requested.push(
        run.spec.cancelRequested
          ? run
          : await conn.client.mergePatch<Run>(Paths.run(ctx.namespace, name), {
              spec: { cancelRequested: true },
            }),
      );
      ctx.out(`${ResourceName.Run}/${name} cancel requested\n`);
    }
    if (flagBoolean(args, 'wait')) {
      const finals = await Promise.all(requested.map((run) => waitForTerminal(ctx, conn, run)));
      for (const run of finals) {
        if (ctx.signal.aborted) {
          ctx.note(detachedNote(ctx, run));
          continue;
        }
        const phase = run.status?.phase ?? RunPhase.Pending;
        ctx.out(
          phase === RunPhase.Cancelled
            ? `${ResourceName.Run}/${run.metadata.name} ${colorPhase(ctx.chalk, phase)}\n`
            : `${ResourceName.Run}/${run.metadata.name} ended ${colorPhase(ctx.chalk, phase)} before the cancellation applied\n`,
        );
      }
      if (ctx.signal.aborted) return ExitCode.Interrupted;
    }
    return missing ? ExitCode.Error : ExitCode.Ok;
  },
};
