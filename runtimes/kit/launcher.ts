// How a Runtime Server starts a workload's process. An Execution asks a ProcessLauncher to start a
// command in a new session (setsid, so Cancel and timeouts reach its whole group) with stdin on
// /dev/null and stdout/stderr read back, and follows one LaunchedProcess: 'spawn' with the pid,
// 'output' chunks, 'exit', 'close' once both streams ended, or 'error' when it never started.
//
// Two launchers: the direct one is Node's child_process.spawn, which forks the whole Runtime
// Server (70 MB and more) and blocks its event loop until the child has exec'd; the fork server
// (fork-server.ts) is a small Perl process that forks instead (docs/performance.md, "The Runtime
// Server's execute path"). The server picks the fork server when Perl is there and falls back to
// spawning directly otherwise (launcherFromEnv).

import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { constants as osConstants } from 'node:os';
import { OutputStream } from '../../lib/runtime-proto.ts';
import type { DataStream } from './output-replay.ts';

/** What to start: file with args (argv[0] is file), in cwd, with exactly env. */
export interface LaunchSpec {
  file: string;
  args: readonly string[];
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
}

interface LaunchedEvents {
  /** The process runs (it has exec'd, or for the direct launcher: it was forked). */
  spawn: [pid: number];
  /** It never started; err.code is the errno name (ENOENT, EACCES…) when there is one. */
  error: [err: NodeJS.ErrnoException];
  output: [stream: DataStream, chunk: Buffer];
  /** The process ended: an exit code, or the signal that killed it. */
  exit: [code: number | null, signal: NodeJS.Signals | null];
  /** Both output streams ended (everything holding them closed them), after exit. */
  close: [];
  /** The launcher itself went away: this process's end can no longer be known. */
  lost: [reason: string];
}

/** One started (or starting) process, as a launcher reports it. */
export class LaunchedProcess extends EventEmitter<LaunchedEvents> {
  pid: number | undefined;
  private abandonHook: (() => void) | undefined;

  /** Stop reading output that something outside the group still holds; 'close' is not awaited. */
  abandonOutput(): void {
    this.abandonHook?.();
  }

  /** For launchers: what abandonOutput() does. */
  onAbandon(hook: () => void): void {
    this.abandonHook = hook;
  }
}

export interface ProcessLauncher {
  readonly kind: LauncherKind;
  /** Throws (synchronously) for a spec no process can have, e.g. a NUL byte in an argument. */
  launch(spec: LaunchSpec): LaunchedProcess;
  /** Stops the launcher's own process, if any; processes it started are not touched. */
  close(): void;
}

export const LauncherKind = { ForkServer: 'fork-server', Direct: 'direct' } as const;
export type LauncherKind = (typeof LauncherKind)[keyof typeof LauncherKind];

/** Node's spawn: the Runtime Server forks itself for every workload. */
export class DirectLauncher implements ProcessLauncher {
  readonly kind = LauncherKind.Direct;

  launch(spec: LaunchSpec): LaunchedProcess {
    const launched = new LaunchedProcess();
    const child = spawn(spec.file, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      // detached: setsid(), so the process leads a new process group that Cancel can kill whole.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => launched.emit('output', OutputStream.Stdout, chunk));
    child.stderr?.on('data', (chunk: Buffer) => launched.emit('output', OutputStream.Stderr, chunk));
    child.on('error', (err: NodeJS.ErrnoException) => {
      // After a successful spawn an 'error' is about signalling or the pipes: the exit still comes.
      if (child.pid === undefined) launched.emit('error', err);
    });
    child.once('exit', (code, signal) => launched.emit('exit', code, signal));
    child.once('close', () => launched.emit('close'));
    launched.onAbandon(() => {
      child.stdout?.destroy();
      child.stderr?.destroy();
    });
    if (child.pid !== undefined) {
      launched.pid = child.pid;
      const pid = child.pid;
      // The caller attaches its listeners after launch() returns; nothing else can run before this.
      process.nextTick(() => launched.emit('spawn', pid));
    }
    return launched;
  }

  close(): void {}
}

/** The errno name of a number (2 → ENOENT), or undefined. */
export function errnoName(errno: number): string | undefined {
  for (const [name, value] of Object.entries(osConstants.errno)) if (value === errno) return name;
  return undefined;
}

/** A wait status (as waitpid gives it) as Node's exit event reports it: (code, null) or (null, signal). */
export function decodeWaitStatus(status: number): { code: number | null; signal: NodeJS.Signals | null } {
  const signal = status & 0x7f;
  if (signal === 0) return { code: (status >> 8) & 0xff, signal: null };
  const name = Object.entries(osConstants.signals).find(([, n]) => n === signal)?.[0] as NodeJS.Signals | undefined;
  return { code: null, signal: name ?? null };
}

/**
 * Refuses what execve cannot carry, as Node's spawn does (a NUL byte ends a C string: the process
 * would run something else than asked).
 */
export function checkLaunchSpec(spec: LaunchSpec): void {
  const check = (value: string, what: string) => {
    if (value.includes('\0')) throw new TypeError(`${what} must be a string without null bytes`);
  };
  check(spec.file, 'the file');
  check(spec.cwd, 'the working directory');
  spec.args.forEach((arg, i) => check(arg, `args[${i}]`));
  for (const [name, value] of Object.entries(spec.env)) {
    if (value === undefined) continue;
    check(name, 'an env name');
    check(value, `env ${name}`);
  }
}
