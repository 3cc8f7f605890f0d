// kubectl krt run RUNTIME: create a Run, and with --wait/--follow wait for it, stream its output,
// print its outputs and exit with its outcome.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { Annotation, isTerminal, preciseMicroTime, type Run } from '../../lib/api.ts';
import { Paths } from '../../lib/api-paths.ts';
import type { Command, ParsedArgs } from '../command.ts';
import type { Context } from '../context.ts';
import { UsageError } from '../errors.ts';
import { ExitCode, exitCodeForPhase } from '../exit-codes.ts';
import { flagBoolean, flagString, flagStrings, isMachineFormat, OutputFormat, outputFlag } from '../flags.ts';
import { ResourceName } from '../output/resource-name.ts';
import { renderOutputs, runResultLine } from '../output/run-table.ts';
import { buildRun, sourceText } from '../parse/run-spec.ts';
import { DirectClient, HandOver, WatchHandOver } from '../kube/direct.ts';
import { progressNotes } from '../progress.ts';

/** File name inline source from stdin or --inline is written to, unless --entrypoint says otherwise. */
export const DEFAULT_ENTRYPOINT = 'script';

async function readSource(
  ctx: Context,
  args: ParsedArgs,
): Promise<{ inline: string; entrypoint: string } | undefined> {
  const file = flagString(args, 'file');
  const inline = flagString(args, 'inline');
  if (file !== undefined && inline !== undefined) {
    throw new UsageError('--file and --inline exclude each other: give the script one way');
  }
  if (inline !== undefined) return { inline, entrypoint: DEFAULT_ENTRYPOINT };
  if (file === undefined) return undefined;
  if (file === '-') {
    const bytes = await buffer(ctx.io.stdin);
    return { inline: sourceText(bytes, 'the script on stdin'), entrypoint: DEFAULT_ENTRYPOINT };
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new UsageError(
      `cannot read --file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  return { inline: sourceText(bytes, `--file ${file}`), entrypoint: path.basename(file) };
}

/**
 * The Run's terminal version (or the last seen if interrupted): over the quick path's connection
 * while it can, else (--follow, or anything unusual on the way) with the full client.
 */
async function waitFor(ctx: Context, created: Run, follow: boolean, direct: DirectClient | undefined): Promise<Run> {
  const notes = progressNotes(ctx);
  const done = (r: Run) => {
    notes(r);
    return isTerminal(r.status?.phase);
  };
  let current = created;
  if (direct) {
    if (done(created)) return created;
    try {
      return await direct.watch(Paths.runs(ctx.namespace), created, done, ctx.signal);
    } catch (err) {
      if (!(err instanceof WatchHandOver)) throw err;
      current = err.last as Run;
    }
  }
  const conn = await ctx.connection();
  if (!follow) return (await import('./wait-for-run.ts')).waitForTerminal(ctx, conn, current, notes);
  const [{ followRun }, { LogWriter }] = await Promise.all([import('../logs/follow.ts'), import('../logs/writer.ts')]);
  const writer = new LogWriter({ stdout: ctx.io.stdout, stderr: ctx.io.stderr, split: true, timestamps: false });
  return followRun(ctx, conn, current, { stream: 'all' }, writer, { onRun: notes });
}

export const runCommand: Command = {
  name: 'run',
  summary: 'create a Run on a Runtime; --wait for it or --follow its output',
  usage: 'run RUNTIME [flags] [-- ARGS...]',
  description: `Create a Run on the Runtime RUNTIME of the namespace.

What runs is a script (--file, -f - for stdin, or --inline; written into the Run's workspace and
executed as its entrypoint) and/or arguments after --. Without a script the built-in Runtimes run
the arguments as one command line (bash) or one program (python).

Without --wait the command prints the new Run's name and returns at once. With --wait it waits
for the Run to finish, prints how it ended and its outputs, and exits with its outcome: 0
Succeeded, 1 Failed, 3 Timeout, 4 Cancelled. --follow also streams the workload's stdout and
stderr live (to this command's stdout and stderr), like docker run; the result and outputs then
go to stderr so that stdout holds exactly what the workload wrote.`,
  examples: [
    { comment: 'Run a command and wait for it', line: 'run bash --wait -- echo hello' },
    { comment: 'Run a script file, streaming its output', line: 'run python --file train.py --follow' },
    {
      comment: 'A script from stdin, with env, a timeout and two retries',
      line: 'run bash -f - --env MODE=fast --timeout 5m --retries 2 --wait < job.sh',
    },
    { comment: 'Create only, print the name for scripting', line: 'run bash --inline "sleep 30" -o name' },
    { comment: "Hold one of the Runtime's gpu while running", line: 'run trainer --request gpu=1 --wait -- python train.py' },
    { comment: 'Show the Run that would be created', line: 'run bash --dry-run -- date' },
  ],
  acceptsDashArgs: true,
  // --follow streams logs, which needs the full client; create and --wait can take the quick path.
  direct: (args) => !flagBoolean(args, 'follow'),
  flags: {
    file: {
      type: 'string',
      shortFlag: 'f',
      valueName: 'PATH',
      description: 'script file sent inline; its name becomes the entrypoint (- reads stdin)',
    },
    inline: {
      type: 'string',
      valueName: 'TEXT',
      description: `script text sent inline (entrypoint "${DEFAULT_ENTRYPOINT}")`,
    },
    entrypoint: {
      type: 'string',
      valueName: 'PATH',
      description: 'file name to write the script to and run (relative to the workspace)',
    },
    env: {
      type: 'string',
      shortFlag: 'e',
      isMultiple: true,
      valueName: 'K=V',
      description: 'environment variable (repeatable); a bare K copies your $K',
    },
    label: {
      type: 'string',
      shortFlag: 'l',
      isMultiple: true,
      valueName: 'K=V',
      description: 'label of the Run (repeatable)',
    },
    timeout: {
      type: 'string',
      valueName: 'DURATION',
      description: 'longest an attempt may run, e.g. 30s, 5m (spec.timeoutSeconds)',
    },
    retries: {
      type: 'string',
      valueName: 'N',
      description: 'retries after a failed first attempt: N+1 attempts in all (spec.retryPolicy.maxAttempts)',
    },
    retryBackoff: {
      type: 'string',
      valueName: 'DURATION',
      description: 'delay before the first retry, doubling after (spec.retryPolicy.backoffSeconds)',
    },
    retryOn: {
      type: 'string',
      isMultiple: true,
      valueName: 'REASON',
      description:
        'retry only failures with this reason, e.g. Timeout,PodGone (repeatable or comma-separated; spec.retryPolicy.retryOn)',
    },
    ttl: {
      type: 'string',
      valueName: 'DURATION',
      description: 'delete the Run this long after it finishes (spec.ttlSecondsAfterFinished)',
    },
    request: {
      type: 'string',
      isMultiple: true,
      valueName: 'NAME=N',
      description:
        "hold N of the Runtime's capacity resource NAME while running, e.g. gpu=1 (repeatable or comma-separated; runs defaults to 1; spec.resources.requests)",
    },
    name: { type: 'string', valueName: 'NAME', description: 'name of the Run' },
    generateName: {
      type: 'string',
      valueName: 'PREFIX',
      description: 'name prefix, a random suffix is added (default "RUNTIME-")',
    },
    wait: {
      type: 'boolean',
      shortFlag: 'w',
      description: 'wait until the Run finishes; exit with its outcome',
    },
    follow: { type: 'boolean', description: "stream the workload's output while it runs (implies --wait)" },
    dryRun: { type: 'boolean', description: 'print the Run instead of creating it' },
    output: outputFlag([OutputFormat.Name, OutputFormat.Json, OutputFormat.Yaml], 'print the Run as'),
  },
  async run(ctx, args) {
    const [runtime, ...extra] = args.input;
    if (!runtime)
      throw new UsageError(`give the Runtime to run on: ${ctx.prog} run RUNTIME [flags] [-- ARGS...]`);
    if (extra.length > 0) {
      throw new UsageError(
        `unexpected argument "${extra[0]}": put the command after --, as in ${ctx.prog} run ${runtime} -- ${extra.join(' ')}`,
      );
    }
    const follow = flagBoolean(args, 'follow');
    const wait = follow || flagBoolean(args, 'wait');
    const format = flagString(args, 'output');
    const output = isMachineFormat(format) ? format : undefined;
    if (follow && output) {
      throw new UsageError(
        `--follow writes the workload's output to stdout, so it does not combine with -o: use --wait -o ${output} for the finished Run`,
      );
    }
    const source = await readSource(ctx, args);
    const { run, warnings } = buildRun(
      {
        runtime,
        args: args.dashArgs,
        source,
        entrypoint: flagString(args, 'entrypoint'),
        env: flagStrings(args, 'env'),
        labels: flagStrings(args, 'label'),
        timeout: flagString(args, 'timeout'),
        retries: flagString(args, 'retries'),
        retryBackoff: flagString(args, 'retryBackoff'),
        retryOn: flagStrings(args, 'retryOn'),
        ttl: flagString(args, 'ttl'),
        requests: flagStrings(args, 'request'),
        name: flagString(args, 'name'),
        generateName: flagString(args, 'generateName'),
      },
      ctx.namespace,
      ctx.io.env,
    );
    for (const w of warnings) ctx.warn(w);

    // The printers (and the YAML library) only when a Run is printed, not for run --wait's summary.
    const printer = () => import('../output/print.ts');
    if (flagBoolean(args, 'dryRun')) {
      const { renderObjects, toYaml } = await printer();
      ctx.out(output ? renderObjects([run], output, ResourceName.Run, true) : toYaml(run));
      return ExitCode.Ok;
    }

    let final: Run;
    // The creationTimestamp has whole seconds; describe measures "Created to Scheduled" from this.
    run.metadata.annotations = { ...run.metadata.annotations, [Annotation.CreatedAt]: preciseMicroTime() };
    const target = follow ? undefined : await ctx.direct();
    const direct = target && new DirectClient(target, ctx.trace);
    try {
      let created: Run | undefined;
      try {
        created = await direct?.create<Run>(Paths.runs(ctx.namespace), run);
      } catch (err) {
        // The server refused: the full client asks again and reports the answer in its own words.
        if (!(err instanceof HandOver)) throw err;
      }
      created ??= await (await ctx.connection()).client.create<Run>(Paths.runs(ctx.namespace), run);
      const name = created.metadata.name!;
      if (!wait) {
        ctx.out(
          output
            ? (await printer()).renderObjects([created], output, ResourceName.Run, true)
            : `${ResourceName.Run}/${name} created\n`,
        );
        return ExitCode.Ok;
      }
      ctx.note(
        `${ResourceName.Run}/${name} created; ${follow ? 'following its output' : 'waiting for it to finish'}`,
      );
      final = await waitFor(ctx, created, follow, direct);
    } finally {
      direct?.close();
    }
    if (ctx.signal.aborted) {
      const { detachedNote } = await import('./wait-for-run.ts');
      ctx.note(detachedNote(ctx, final));
      return ExitCode.Interrupted;
    }

    if (output) ctx.out((await printer()).renderObjects([final], output, ResourceName.Run, true));
    else {
      const summary = runResultLine(final, ctx.chalk) + renderOutputs(final);
      // With --follow, stdout carries the workload's own output only.
      if (follow) ctx.io.stderr.write(summary);
      else ctx.out(summary);
    }
    return exitCodeForPhase(final.status?.phase);
  },
};
