// The dispatcher: finds the subcommand, parses its flags, runs it, and turns whatever went wrong
// into one sentence on stderr and a documented exit code.
import path from 'node:path';
import type { Command } from './command.ts';
import { COMMAND_INDEX, findCommand, loadCommands } from './commands/registry.ts';
import { Context, type Io, loadKube } from './context.ts';
import { CliError, UsageError } from './errors.ts';
import { ExitCode } from './exit-codes.ts';
import { decamelize, flagBoolean, GLOBAL_FLAGS, parseArgs } from './flags.ts';
import { commandHelp, overviewHelp } from './help.ts';
import { CLIENT_VERSION } from './version.ts';

/**
 * How to call ourselves in messages: `kubectl krt` when run as a kubectl plugin (the executable is
 * named kubectl-krt, and Krew's convention is to detect that from argv[0]), else the name we were
 * invoked by.
 */
export function programName(argv0: string): string {
  const base = path.basename(argv0).replace(/\.(ts|js|exe)$/, '');
  if (base.startsWith('kubectl-')) return `kubectl ${base.slice('kubectl-'.length).replaceAll('_', '-')}`;
  return base || 'kubectl krt';
}

/**
 * The subcommand and its arguments, allowing global flags before the subcommand as kubectl does
 * (`kubectl krt -n team logs RUN`): those flags are passed on to the subcommand.
 */
export function splitCommand(argv: readonly string[]): { name?: string; rest: string[] } {
  const leading: string[] = [];
  let i = 0;
  while (i < argv.length && argv[i].startsWith('-') && argv[i] !== '--') {
    const word = argv[i];
    const [flag] = word.split('=', 1);
    const def = Object.entries(GLOBAL_FLAGS).find(
      ([key, d]) => flag === `--${decamelize(key)}` || ('shortFlag' in d && flag === `-${d.shortFlag}`),
    )?.[1];
    // Only global flags may come first; anything else is for the dispatcher to report.
    if (!def || word === '-h' || word === '--help') break;
    const takesValue = def.type !== 'boolean' && !word.includes('=');
    leading.push(...argv.slice(i, i + (takesValue ? 2 : 1)));
    i += takesValue ? 2 : 1;
  }
  const [name, ...rest] = argv.slice(i);
  return { name, rest: [...leading, ...rest] };
}

/**
 * The member of a command group the words name (`workflow logs …` → logs), with the words left
 * for it; undefined when none is named or help is asked for (the group's help is printed).
 */
export function chooseSubcommand(
  group: Command,
  words: readonly string[],
  prog: string,
): { command: Command; rest: string[] } | undefined {
  const { name, rest } = splitCommand(words);
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') return undefined;
  const verbs = group.subcommands ?? [];
  const command = verbs.find((c) => c.name === name || c.aliases?.includes(name));
  if (!command) {
    const hint = suggestion(name, verbs);
    throw new UsageError(
      `unknown ${group.name} command "${name}"${hint ? `: did you mean "${hint}"?` : ''}; the commands are ${verbs.map((c) => c.name).join(', ')} (${prog} ${group.name} --help)`,
    );
  }
  return { command, rest };
}

export interface MainOptions {
  argv0: string;
  io: Io;
  signal: AbortSignal;
}

export async function main(argv: readonly string[], options: MainOptions): Promise<number> {
  const prog = programName(options.argv0);
  const { io } = options;
  const split = splitCommand(argv);
  const name = split.name;
  let rest = split.rest;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    const group = name === 'help' && rest[0] ? await findCommand(rest[0])?.load() : undefined;
    const topic = group?.subcommands?.find((c) => c.name === rest[1] || c.aliases?.includes(rest[1])) ?? group;
    io.stdout.write(topic ? commandHelp(prog, topic) : overviewHelp(prog, await loadCommands(), CLIENT_VERSION));
    return ExitCode.Ok;
  }
  if (name === '--version') return main(['version', '--client', ...rest], options);
  const entry = findCommand(name);
  if (!entry) {
    const hint = suggestion(name);
    io.stderr.write(
      `error: unknown command "${name}" for "${prog}"${hint ? `: did you mean "${hint}"?` : ''}\nRun '${prog} --help' for the commands.\n`,
    );
    return ExitCode.Usage;
  }
  const found = await entry.load();
  let command = found;
  let commandLine = `${prog} ${found.name}`;
  let ctx: Context | undefined;
  try {
    if (found.subcommands) {
      const chosen = chooseSubcommand(found, rest, prog);
      if (!chosen) {
        io.stdout.write(commandHelp(prog, found));
        return ExitCode.Ok;
      }
      command = chosen.command;
      commandLine = `${commandLine} ${command.name}`;
      rest = chosen.rest;
    }
    const args = command.rawArgs
      ? { input: rest, flags: {}, dashArgs: [] }
      : parseArgs(rest, command.flags, commandLine);
    if (flagBoolean(args, 'help')) {
      io.stdout.write(commandHelp(prog, command));
      return ExitCode.Ok;
    }
    if (args.dashArgs.length > 0 && !command.acceptsDashArgs) {
      throw new UsageError(`${commandLine} takes no arguments after --`);
    }
    ctx = new Context({ prog, io, args, signal: options.signal });
    // The Kubernetes client is the largest part of the plugin to load; a local command skips it, and
    // so does one that can take the quick path (kube/direct.ts) with this kubeconfig.
    if (!command.local?.(args) && !(command.direct?.(args) && (await ctx.direct()))) await loadKube();
    return await command.run(ctx, args);
  } catch (err) {
    return report(err, { io, ctx, commandLine, signal: options.signal });
  } finally {
    await ctx?.close();
  }
}

async function report(
  err: unknown,
  where: { io: Io; ctx?: Context; commandLine: string; signal: AbortSignal },
): Promise<number> {
  const { io, ctx } = where;
  const error = (text: string) => (ctx ? ctx.error(text) : io.stderr.write(`error: ${text}\n`));
  if (where.signal.aborted) return ExitCode.Interrupted;
  if (err instanceof UsageError) {
    error(`${err.message}\nSee '${where.commandLine} --help'.`);
    return ExitCode.Usage;
  }
  if (err instanceof CliError) {
    error(err.message);
    return err.exitCode;
  }
  // Loaded here, not up front: a command that failed this way has loaded them already.
  const [{ KubeApiError }, { explainForbidden, ForbiddenError }, { PortForwardError, PortForwardFailure }] = await Promise.all([
    import('../lib/kube-client.ts'),
    import('./kube/connection.ts'),
    import('./kube/port-forward.ts'),
  ]);
  const forbidden =
    err instanceof ForbiddenError
      ? err
      : err instanceof PortForwardError && err.kind === PortForwardFailure.Forbidden
        ? new ForbiddenError(err.access, err.message)
        : undefined;
  if (forbidden && ctx) {
    error(await explainForbidden(await ctx.connection(), forbidden));
    return ExitCode.Error;
  }
  if (err instanceof KubeApiError) {
    error(`the API server answered ${err.code} ${err.reason}: ${err.message}`);
    return ExitCode.Error;
  }
  error(err instanceof Error ? err.message : String(err));
  if (process.env.KRT_DEBUG && err instanceof Error) io.stderr.write(`${err.stack}\n`);
  return ExitCode.Error;
}

/** The command the user probably meant: one it abbreviates, else the closest within two edits. */
export function suggestion(
  name: string,
  commands: ReadonlyArray<Pick<Command, 'name' | 'aliases' | 'hidden'>> = COMMAND_INDEX,
): string | undefined {
  const names = commands.filter((c) => !c.hidden).flatMap((c) => [c.name, ...(c.aliases ?? [])]);
  const prefixed = names.find((n) => n.startsWith(name));
  if (prefixed) return prefixed;
  let best: string | undefined;
  let bestDistance = 3;
  for (const n of names) {
    const d = editDistance(n, name);
    if (d < bestDistance) [best, bestDistance] = [n, d];
  }
  return best;
}

/** Edits between two words, a swap of neighbours counting as one (a typing mistake). */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}
