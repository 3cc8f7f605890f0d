// kubectl krt wait RUN...: wait until Runs are terminal (or succeeded), with a time limit.
import { isTerminal, type Run, RunPhase } from '../../lib/api.ts';
import type { Command, FlagDefs } from '../command.ts';
import { CliError, UsageError } from '../errors.ts';
import { ExitCode, exitCodeForPhase } from '../exit-codes.ts';
import { flagString } from '../flags.ts';
import { getRun } from '../kube/observe-run.ts';
import { preciseDuration } from '../output/format.ts';
import { ResourceName } from '../output/print.ts';
import { colorPhase, phaseOf } from '../output/run-table.ts';
import { parseDuration } from '../parse/duration.ts';
import { detachedNote, waitForTerminal } from './wait-for-run.ts';

export const WaitFor = {
  Terminal: 'terminal',
  Succeeded: 'succeeded',
} as const;

/** The flags of wait and workflow wait. */
export const WAIT_FLAGS = {
  for: {
    type: 'string',
    valueName: 'CONDITION',
    choices: [WaitFor.Terminal, WaitFor.Succeeded],
    description: 'terminal (any end) or succeeded (exit non-zero otherwise)',
  },
  timeout: {
    type: 'string',
    valueName: 'DURATION',
    description: 'give up after this long (exit 6); default: no limit',
  },
} as const satisfies FlagDefs;

export const waitCommand: Command = {
  name: 'wait',
  summary: 'wait until Runs finish (--for=terminal|succeeded, --timeout)',
  usage: 'wait RUN... [--for=terminal|succeeded] [--timeout DURATION]',
  description: `Wait until every named Run has reached a terminal phase, printing each as it ends.

--for=terminal (the default) exits 0 once all have ended, whatever the phase. --for=succeeded
exits 0 only if all Succeeded, else with the code of the first that did not (1 Failed, 3 Timeout,
4 Cancelled). --timeout bounds the wait: when it elapses the command exits 6 and the Runs go on.`,
  examples: [
    {
      comment: 'Wait for two Runs to succeed, at most ten minutes',
      line: 'wait job-a job-b --for=succeeded --timeout 10m',
    },
  ],
  flags: WAIT_FLAGS,
  async run(ctx, args) {
    if (args.input.length === 0) throw new UsageError('name the Runs to wait for');
    const goal = flagString(args, 'for') ?? WaitFor.Terminal;
    const timeoutText = flagString(args, 'timeout');
    const timeoutMs = timeoutText === undefined ? undefined : parseDuration(timeoutText, '--timeout');
    const conn = await ctx.connection();
    const runs = await Promise.all(args.input.map((name) => getRun(conn, ctx.namespace, name)));

    const limit = new AbortController();
    const stop = () => limit.abort();
    ctx.signal.addEventListener('abort', stop, { once: true });
    const timer = timeoutMs === undefined ? undefined : setTimeout(stop, timeoutMs);
    let finals: Run[];
    try {
      finals = await Promise.all(
        runs.map(async (run) => {
          const final = await waitForTerminal(ctx, conn, run, () => {}, limit.signal);
          if (!limit.signal.aborted) {
            ctx.out(`${ResourceName.Run}/${final.metadata.name} ${colorPhase(ctx.chalk, phaseOf(final))}\n`);
          }
          return final;
        }),
      );
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', stop);
    }
    if (ctx.signal.aborted) {
      for (const run of finals) ctx.note(detachedNote(ctx, run));
      return ExitCode.Interrupted;
    }
    if (limit.signal.aborted) {
      const waiting = finals.filter((r) => !isTerminal(r.status?.phase));
      throw new CliError(
        `timed out after ${preciseDuration(timeoutMs ?? 0)} waiting for ${waiting.map((r) => `${r.metadata.name} (${phaseOf(r)})`).join(', ')}`,
        ExitCode.WaitTimeout,
      );
    }
    if (goal === WaitFor.Succeeded) {
      const bad = finals.find((r) => r.status?.phase !== RunPhase.Succeeded);
      if (bad) return exitCodeForPhase(bad.status?.phase);
    }
    return ExitCode.Ok;
  },
};
