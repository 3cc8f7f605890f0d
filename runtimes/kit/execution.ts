// One execution: a process in its own session and process group (so Cancel and timeouts reach
// everything it started), with an environment of its own (isolation.ts), its bounded stdout/stderr,
// the raw output for the Output RPC, and its state as the contract reports it. When it ends, its
// group and every process carrying its mark are killed before the end is reported; Forget removes
// its directories (release()).

import { mkdirSync, rmSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { constants as osConstants } from 'node:os';
import {
  type ExecuteRequest,
  ExecutionState,
  FailureMessage,
  isFinishedState,
  OutputStream,
  type StatusResponse,
} from '../../lib/runtime-proto.ts';
import { BoundedOutput } from './bounded-output.ts';
import {
  executionDirs,
  newExecutionMark,
  processGone,
  type SweepOptions,
  sweepMarked,
  workloadEnv,
} from './isolation.ts';
import type { LaunchedProcess, ProcessLauncher } from './launcher.ts';
import type { Logger } from './log.ts';
import type { OutputReplay } from './output-replay.ts';

/** What to run for a request: spawned directly (no shell), cwd = working_dir. */
export interface CommandSpec {
  /** The executable; an absolute path avoids a PATH lookup in the Run's environment. */
  file: string;
  args: readonly string[];
  /** Environment the runtime adds (e.g. PYTHONUNBUFFERED); the Run's env still wins. */
  env?: Record<string, string>;
}

/**
 * Turns a request into a command. Throwing (e.g. a RefusedError) fails the execution with the
 * error's message; it never fails the Execute call. May be async, but a sync resolver starts the
 * process within the Execute call.
 */
export type CommandResolver = (request: ExecuteRequest) => CommandSpec | Promise<CommandSpec>;

export { DEFAULT_KRT_DIR, WorkloadEnv } from './isolation.ts';

/** exit_code of a FAILED execution whose process never ran or was stopped (cancel, timeout). */
export const NO_EXIT_CODE = -1;

/** setTimeout cannot wait longer than this (about 24.8 days); longer timeouts are clamped. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** After the group was killed, how long to wait for pipes held outside the group before giving up. */
const ABANDON_PIPES_MS = 1000;
/** How long the end waits for the processes its sweep killed to be gone (settleSweep). */
const SETTLE_MS = 1000;

export interface ExecutionOptions {
  /** working_dir must already be an absolute path. */
  request: ExecuteRequest;
  command: CommandResolver;
  /** The server's environment; only the passEnv names reach the workload. */
  serverEnv: NodeJS.ProcessEnv;
  passEnv: readonly string[];
  /** Whether release() removes working_dir itself (runtimed's workspace, or a scratch dir). */
  ownsWorkingDir: boolean;
  /** /proc and signalling for the sweep (tests). */
  sweep?: SweepOptions;
  /** Starts the process (launcher.ts): the fork server, or Node's spawn. */
  launcher: ProcessLauncher;
  outputLimitBytes: number;
  /** Receives every output chunk; ended when the execution finishes. */
  replay: OutputReplay;
  killGraceMs: number;
  lingerMs: number;
  logger: Logger;
  onFinished: (execution: Execution) => void;
}

type StopReason = (typeof FailureMessage)[keyof typeof FailureMessage];

export class Execution {
  readonly id: string;
  readonly request: ExecuteRequest;
  readonly replay: OutputReplay;
  readonly acceptedAt = Date.now();
  state: ExecutionState = ExecutionState.Pending;
  exitCode = 0;
  errorMessage = '';
  pid: number | undefined;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  /** Inherited by every process of this execution; the sweep kills what carries it. */
  readonly mark = newExecutionMark();
  /** ms from the end of the process (its pipes closed) to the end reported: group kill and sweep. */
  cleanupMs: number | undefined;
  /** Processes the sweep killed at the end (ones that had left the process group). */
  swept = 0;
  private readonly sweptPids = new Set<number>();

  private readonly options: ExecutionOptions;
  private readonly stdout: BoundedOutput;
  private readonly stderr: BoundedOutput;
  private readonly finishListeners = new Set<(execution: Execution) => void>();
  private launched: LaunchedProcess | undefined;
  private stopReason: StopReason | undefined;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** performance.now() just before the spawn: the sweep's pid window starts at pid, then. */
  private spawnedAt: number | undefined;
  /** The end's sweep found leftovers and waits for them to be gone before the end is reported. */
  private settling = false;
  private timeoutTimer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  /** working_dir's device and inode when accepted: release() removes only that directory. */
  private readonly workingDirIdentity: string | undefined;

  constructor(options: ExecutionOptions) {
    this.options = options;
    this.request = options.request;
    this.id = options.request.id;
    this.replay = options.replay;
    this.stdout = new BoundedOutput({ limitBytes: options.outputLimitBytes });
    this.stderr = new BoundedOutput({ limitBytes: options.outputLimitBytes });
    this.workingDirIdentity = identityOf(options.request.workingDir);
  }

  get finished(): boolean {
    return isFinishedState(this.state);
  }

  toStatus(): StatusResponse {
    return {
      id: this.id,
      state: this.state,
      exitCode: this.exitCode,
      stdout: this.stdout.text(),
      stderr: this.stderr.text(),
      errorMessage: this.errorMessage,
    };
  }

  /** Calls listener once when the execution finishes; returns the unsubscribe function. */
  onFinish(listener: (execution: Execution) => void): () => void {
    this.finishListeners.add(listener);
    return () => this.finishListeners.delete(listener);
  }

  start(): void {
    let spec: CommandSpec | Promise<CommandSpec>;
    try {
      spec = this.options.command(this.request);
    } catch (err) {
      this.finish(ExecutionState.Failed, NO_EXIT_CODE, errorText(err));
      return;
    }
    if (spec instanceof Promise) {
      spec.then(
        (resolved) => this.spawn(resolved),
        (err: unknown) => this.finish(ExecutionState.Failed, NO_EXIT_CODE, errorText(err)),
      );
    } else {
      this.spawn(spec);
    }
  }

  /** Best effort and idempotent: TERM to the whole group now, KILL after the grace. */
  stop(reason: StopReason): void {
    if (this.finished || this.stopReason !== undefined || this.exit !== undefined) return;
    this.stopReason = reason;
    if (this.launched === undefined) {
      // Still resolving its command: nothing runs yet, so it ends here and never starts.
      this.finish(ExecutionState.Failed, NO_EXIT_CODE, reason);
      return;
    }
    // Launched but not started yet: the group is signalled as soon as it exists (onSpawn).
    if (this.pid === undefined) return;
    this.signalStop();
  }

  /** TERM to the whole group now, KILL after the grace. */
  private signalStop(): void {
    const reason = this.stopReason;
    this.options.logger('info', 'execution.stopping', { id: this.id, reason, pid: this.pid });
    this.killGroup('SIGTERM');
    this.killTimer = setTimeout(() => this.killGroup('SIGKILL'), this.options.killGraceMs);
  }

  private spawn(spec: CommandSpec): void {
    if (this.finished) return;
    const { workingDir, timeoutSeconds } = this.request;
    if (!isDirectory(workingDir)) {
      this.finish(ExecutionState.Failed, NO_EXIT_CODE, `working directory ${workingDir} does not exist`);
      return;
    }
    let launched: LaunchedProcess;
    // Before the fork: the window of the sweep must not start after the pid was allocated.
    const spawning = performance.now();
    try {
      // Inside the try: a read-only working_dir (mkdir .krt) or a NUL byte in env/args fail here.
      const env = this.prepareEnv(spec);
      launched = this.options.launcher.launch({ file: spec.file, args: spec.args, cwd: workingDir, env });
    } catch (err) {
      this.finish(ExecutionState.Failed, NO_EXIT_CODE, `cannot start ${spec.file}: ${errorText(err)}`);
      return;
    }
    this.launched = launched;
    this.spawnedAt = spawning;
    launched.on('output', (stream, chunk) => {
      (stream === OutputStream.Stdout ? this.stdout : this.stderr).push(chunk);
      this.replay.push(stream, chunk);
    });
    launched.once('error', (err) =>
      this.finish(ExecutionState.Failed, NO_EXIT_CODE, `cannot start ${spec.file}: ${spawnErrorText(err)}`),
    );
    launched.once('spawn', (pid) => this.onSpawn(pid, spec.file, timeoutSeconds));
    launched.once('exit', (code, signal) => this.onExit(code, signal));
    launched.once('close', () => this.onClose());
    launched.once('lost', (reason) => this.onLost(reason));
  }

  private onSpawn(pid: number, file: string, timeoutSeconds: number): void {
    if (this.finished) return;
    this.pid = pid;
    this.startedAt = Date.now();
    this.state = ExecutionState.Running;
    if (timeoutSeconds > 0) {
      this.timeoutTimer = setTimeout(
        () => this.stop(FailureMessage.Timeout),
        Math.min(timeoutSeconds * 1000, MAX_TIMER_MS),
      );
    }
    this.options.logger('info', 'execution.started', {
      id: this.id,
      pid,
      file,
      startMs: this.startedAt - this.acceptedAt,
    });
    // Cancelled (or timed out) while it was being launched.
    if (this.stopReason !== undefined && this.exit === undefined) this.signalStop();
  }

  /**
   * The launcher went away while the process ran: its end can no longer be observed, so the
   * execution is stopped (its group and marked processes killed) and fails with the reason.
   */
  private onLost(reason: string): void {
    if (this.finished) return;
    this.killGroup('SIGKILL');
    this.sweep();
    this.finish(ExecutionState.Failed, NO_EXIT_CODE, `${reason}; the execution was stopped`);
  }

  /** The workload env (isolation.ts) and a fresh, empty HOME and TMPDIR for it. */
  private prepareEnv(spec: CommandSpec): NodeJS.ProcessEnv {
    const { workingDir, env: runEnv } = this.request;
    const dirs = executionDirs(workingDir, this.id);
    // Empty at start even when a retry runs in the same working_dir (the original runtimed re-Executes).
    rmSync(dirs.own, { recursive: true, force: true });
    for (const dir of [dirs.home, dirs.tmp]) mkdirSync(dir, { recursive: true, mode: 0o700 });
    return workloadEnv({
      id: this.id,
      serverEnv: this.options.serverEnv,
      passEnv: this.options.passEnv,
      workingDir,
      runtimeEnv: spec.env,
      runEnv,
      mark: this.mark,
    });
  }

  /** Kills what carries this execution's mark; returns how many it signalled (a failure is logged). */
  private sweep(): number {
    try {
      const since =
        this.pid === undefined || this.spawnedAt === undefined
          ? undefined
          : { firstPid: this.pid, startedAtMs: this.spawnedAt };
      const kill = this.options.sweep?.kill ?? ((pid: number, signal: NodeJS.Signals) => process.kill(pid, signal));
      const { killed } = sweepMarked(this.mark, {
        since,
        ...this.options.sweep,
        kill: (pid, signal) => {
          kill(pid, signal);
          // A process still dying is found (and signalled) again: count each once.
          this.sweptPids.add(pid);
        },
      });
      this.swept = this.sweptPids.size;
      return killed;
    } catch (err) {
      this.options.logger('warn', 'execution.sweep_failed', { id: this.id, error: errorText(err) });
      return 0;
    }
  }

  /**
   * A process signalled with SIGKILL dies only once the kernel runs it again, which on a busy
   * machine can take milliseconds: sweep again, a little later each time, until a sweep finds
   * nothing carrying the mark and every process signalled is gone (or a zombie), or SETTLE_MS
   * passed.
   */
  private async settleSweep(): Promise<void> {
    const deadline = performance.now() + SETTLE_MS;
    const procRoot = this.options.sweep?.procRoot;
    for (let pauseMs = 1; performance.now() < deadline; pauseMs = Math.min(pauseMs * 2, 50)) {
      await sleep(pauseMs);
      this.killGroup('SIGKILL');
      if (this.sweep() === 0 && [...this.sweptPids].every((pid) => processGone(pid, procRoot))) return;
    }
    this.options.logger('warn', 'execution.sweep_unsettled', { id: this.id, settleMs: SETTLE_MS });
  }

  /**
   * After Forget: removes working_dir when the execution owns it and it is still the directory the
   * execution ran in (a retry may already have a fresh one at that path); otherwise only the HOME
   * and TMPDIR it made there. Never fails: a problem is logged.
   */
  async release(): Promise<void> {
    const { workingDir } = this.request;
    if (this.workingDirIdentity === undefined || identityOf(workingDir) !== this.workingDirIdentity) return;
    const target = this.options.ownsWorkingDir ? workingDir : executionDirs(workingDir, this.id).own;
    try {
      await rm(target, { recursive: true, force: true, maxRetries: 3 });
    } catch (err) {
      this.options.logger('warn', 'execution.cleanup_failed', { id: this.id, error: errorText(err) });
    }
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.exit = { code, signal };
    clearTimeout(this.timeoutTimer);
    // The main process is done. Give the pipes a moment to drain; a background process that still
    // holds them is part of the Run and does not outlive it.
    this.lingerTimer = setTimeout(() => {
      this.killGroup('SIGKILL');
      // A process that left the group (setsid) may hold the pipes: the sweep lets them close.
      this.sweep();
      this.lingerTimer = setTimeout(() => {
        // Something outside the group (it called setsid) holds the pipes: stop reading.
        this.launched?.abandonOutput();
        this.onClose();
      }, ABANDON_PIPES_MS);
    }, this.options.lingerMs);
  }

  private onClose(): void {
    if (this.finished || this.exit === undefined || this.settling) return;
    const started = performance.now();
    // Leftovers that closed their stdio (nohup ... &) or left the group (setsid, double fork) end
    // with the Run too, before its end is reported.
    this.killGroup('SIGKILL');
    if (this.sweep() === 0) {
      this.reportEnd(started);
      return;
    }
    this.settling = true;
    void this.settleSweep().then(() => this.reportEnd(started));
  }

  private reportEnd(cleanupStarted: number): void {
    if (this.finished || this.exit === undefined) return;
    this.cleanupMs = performance.now() - cleanupStarted;
    const { code, signal } = this.exit;
    if (this.stopReason !== undefined) {
      this.finish(ExecutionState.Failed, NO_EXIT_CODE, this.stopReason);
    } else if (code === 0) {
      this.finish(ExecutionState.Succeeded, 0, '');
    } else if (code !== null) {
      this.finish(ExecutionState.Failed, code, `exit code ${code}`);
    } else {
      const number = signal === null ? 0 : (osConstants.signals[signal] ?? 0);
      this.finish(ExecutionState.Failed, 128 + number, `killed by signal ${signal}`);
    }
  }

  private killGroup(signal: NodeJS.Signals): void {
    if (this.pid === undefined) return;
    try {
      process.kill(-this.pid, signal);
    } catch (err) {
      // ESRCH: the group is already gone, which is the goal.
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') {
        this.options.logger('warn', 'execution.kill_failed', { id: this.id, signal, error: errorText(err) });
      }
    }
  }

  private finish(state: ExecutionState, exitCode: number, errorMessage: string): void {
    if (this.finished) return;
    this.state = state;
    this.exitCode = exitCode;
    this.errorMessage = errorMessage;
    this.finishedAt = Date.now();
    clearTimeout(this.timeoutTimer);
    clearTimeout(this.killTimer);
    clearTimeout(this.lingerTimer);
    this.options.logger(state === ExecutionState.Succeeded ? 'info' : 'warn', 'execution.finished', {
      id: this.id,
      state,
      exitCode,
      errorMessage: errorMessage || undefined,
      durationMs: this.finishedAt - this.acceptedAt,
      stdoutBytes: this.stdout.totalBytes,
      stderrBytes: this.stderr.totalBytes,
      cleanupMs: this.cleanupMs === undefined ? undefined : Math.round(this.cleanupMs * 10) / 10,
      swept: this.swept || undefined,
    });
    // Every chunk has been read by now ('close' came, or the pipes were abandoned): Output ends.
    this.replay.end();
    for (const listener of this.finishListeners) listener(this);
    this.finishListeners.clear();
    this.options.onFinished(this);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * device, inode and birth time of a directory, or undefined when there is none. The birth time tells
 * a directory removed and made again (which often gets the same inode number) from the original.
 */
function identityOf(path: string): string | undefined {
  try {
    const st = statSync(path, { bigint: true });
    return st.isDirectory() ? `${st.dev}:${st.ino}:${st.birthtimeNs}` : undefined;
  } catch {
    return undefined;
  }
}

function spawnErrorText(err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT') return 'no such file or directory';
  if (err.code === 'EACCES') return 'permission denied';
  return err.message;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
