// What keeps executions on one Runtime Pod apart: the workload environment (only what the contract
// gives it, with a HOME and TMPDIR of its own under working_dir), the mark every process of an
// execution inherits, the sweep that kills marked processes that left the process group (setsid,
// double fork, nohup), and which directories an execution's end removes. The environment and path
// rules are pure; the sweep reads /proc.

import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { WORKSPACE_MOUNT, WORKSPACE_RUNS_DIR } from '../../lib/api.ts';

/** Env names the contract defines for the workload (runtimed passes the first two; the kit defaults them). */
export const WorkloadEnv = {
  Outputs: 'KRUNTIME_OUTPUTS',
  ArtifactsDir: 'KRUNTIME_ARTIFACTS_DIR',
  Home: 'HOME',
  TmpDir: 'TMPDIR',
  /** A random value per execution that every process it starts inherits; the sweep looks for it. */
  ExecutionMark: 'KRUNTIME_EXECUTION_MARK',
} as const;

/**
 * The only names taken from the server's own environment: what an image configures for any program
 * (where its tools are, its locale, its time zone). Secrets, service links and runtimed's or the
 * server's settings stay out; a Runtime admin can pass more by name (KRUNTIME_PASS_ENV).
 */
export const PASSED_SERVER_ENV = ['PATH', 'LANG', 'LC_ALL', 'TZ'] as const;

/** Under <working_dir>: the kit's directory (outputs, artifacts, and one directory per execution). */
export const DEFAULT_KRT_DIR = '.krt';

export interface ExecutionDirs {
  /** <working_dir>/.krt */
  krt: string;
  /** <working_dir>/.krt/exec-<id>: HOME and TMPDIR, removed at Forget. */
  own: string;
  home: string;
  tmp: string;
}

/**
 * The directories of one execution. Named by id, so executions a caller runs in one working_dir at
 * once never share (or wipe) a HOME; the id is reduced to [A-Za-z0-9_.-] and prefixed, so it stays
 * one path segment.
 */
export function executionDirs(workingDir: string, id: string): ExecutionDirs {
  const krt = join(workingDir, DEFAULT_KRT_DIR);
  const own = join(krt, `exec-${id.replace(/[^\w.-]/g, '_')}`);
  return { krt, own, home: join(own, 'home'), tmp: join(own, 'tmp') };
}

export function newExecutionMark(): string {
  return randomBytes(16).toString('hex');
}

export interface WorkloadEnvInput {
  serverEnv: NodeJS.ProcessEnv;
  /** Names taken from serverEnv when set there (PASSED_SERVER_ENV plus the admin's). */
  passEnv: readonly string[];
  workingDir: string;
  /** The execution id (names its HOME and TMPDIR). */
  id: string;
  /** What the runtime itself adds (CommandSpec.env). */
  runtimeEnv?: Record<string, string>;
  /** The request's env: wins over everything before it. */
  runEnv: Record<string, string>;
  mark: string;
}

/**
 * The workload environment, in order of precedence (later wins): the passed server names, HOME and
 * TMPDIR of the execution, the runtime's additions, the KRUNTIME_OUTPUTS/ARTIFACTS_DIR defaults,
 * the Run's env, and last the execution mark (a Run cannot name its processes into another
 * execution's sweep, nor out of its own).
 */
export function workloadEnv(input: WorkloadEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of input.passEnv) {
    const value = input.serverEnv[name];
    if (value !== undefined) env[name] = value;
  }
  const dirs = executionDirs(input.workingDir, input.id);
  env[WorkloadEnv.Home] = dirs.home;
  env[WorkloadEnv.TmpDir] = dirs.tmp;
  Object.assign(env, input.runtimeEnv);
  env[WorkloadEnv.Outputs] = join(dirs.krt, 'outputs');
  env[WorkloadEnv.ArtifactsDir] = join(dirs.krt, 'artifacts');
  Object.assign(env, input.runEnv);
  env[WorkloadEnv.ExecutionMark] = input.mark;
  return env;
}

/** PASSED_SERVER_ENV plus the names in a comma- or space-separated list (KRUNTIME_PASS_ENV). */
export function passEnvNames(extra: string | undefined): string[] {
  const names = (extra ?? '').split(/[\s,]+/).filter((name) => name !== '');
  return [...new Set([...PASSED_SERVER_ENV, ...names])];
}

/**
 * Whether the end of an execution removes its whole working_dir or only the HOME and TMPDIR the
 * kit made in it. Whole: a scratch directory the server made, or runtimed's per-Run workspace
 * (<workspace root>/runs/<one name>). Any other directory a caller names is the caller's.
 */
export function ownsWorkingDir(workingDir: string, o: { workspaceRoot: string; scratchRoot: string }): boolean {
  const parent = dirname(resolve(workingDir));
  return parent === resolve(o.workspaceRoot, WORKSPACE_RUNS_DIR) || parent === resolve(o.scratchRoot);
}

/** The workspace root the server shares with runtimed: $KRUNTIME_WORKSPACE, else /workspace. */
export function workspaceRootFrom(env: NodeJS.ProcessEnv): string {
  return env.KRUNTIME_WORKSPACE || WORKSPACE_MOUNT;
}

/** Whether a NUL-separated environ block holds exactly `entry` (NAME=value) as one of its strings. */
export function environHas(environ: Buffer, entry: string): boolean {
  const needle = Buffer.from(`${entry}\0`);
  let at = environ.indexOf(needle);
  while (at !== -1) {
    if (at === 0 || environ[at - 1] === 0) return true;
    at = environ.indexOf(needle, at + 1);
  }
  return false;
}

export interface SweepOptions {
  /** Default '/proc'. */
  procRoot?: string;
  /** Never signalled (the server itself). Default process.pid. */
  selfPid?: number;
  /** Default process.kill. */
  kill?: (pid: number, signal: NodeJS.Signals) => void;
  /** Scan rounds at most: a round that finds nothing ends the sweep. Default 5. */
  maxRounds?: number;
  /**
   * The execution's first process and when it was started: every process it started since has a
   * pid allocated after it, so a sweep soon enough after the start reads only those pids
   * (sweepScope). Without it, every process in /proc is read.
   */
  since?: PidOrigin;
  /** Clock for `since` (ms, monotonic). Default performance.now. */
  now?: () => number;
}

export interface PidOrigin {
  firstPid: number;
  /** On the `now` clock. */
  startedAtMs: number;
}

/** Which pids a sweep reads: every process, or only pids in these inclusive ranges. */
export type SweepScope = { kind: 'all' } | { kind: 'ranges'; ranges: ReadonlyArray<readonly [number, number]> };

/**
 * Forks per second the window assumes no machine exceeds: pids are handed out in increasing order
 * and wrap at pid_max, so until pid_max forks could have happened the pids allocated after the
 * first one are exactly those between it and the last allocated pid (wrapping once at most).
 */
export const MAX_FORKS_PER_SECOND = 50_000;

/** Up to this many pids in the window are probed one by one; a larger window lists /proc and filters. */
export const MAX_PROBED_PIDS = 1024;

/**
 * The pids an execution's processes can have, from its first pid, the namespace's last allocated
 * pid (/proc/sys/kernel/ns_last_pid) and pid_max, or every pid when the window cannot be trusted:
 * either is unknown, or the execution has run long enough for the pids to have wrapped all the way
 * round (pid_max / MAX_FORKS_PER_SECOND: 0.65 s with the smallest pid_max, 32768; 84 s with 2^22).
 */
export function sweepScope(o: {
  firstPid: number;
  lastPid: number | undefined;
  pidMax: number | undefined;
  elapsedMs: number;
}): SweepScope {
  const { firstPid, lastPid, pidMax } = o;
  if (lastPid === undefined || pidMax === undefined || !(firstPid > 0) || firstPid >= pidMax || lastPid >= pidMax) {
    return { kind: 'all' };
  }
  if (o.elapsedMs < 0 || o.elapsedMs >= (pidMax / MAX_FORKS_PER_SECOND) * 1000) return { kind: 'all' };
  if (lastPid >= firstPid) return { kind: 'ranges', ranges: [[firstPid, lastPid]] };
  // Wrapped once: the pids after the first one up to pid_max, then from the bottom up to the last.
  return { kind: 'ranges', ranges: [[firstPid, pidMax - 1], [1, lastPid]] };
}

export interface SweepResult {
  /** Processes signalled. */
  killed: number;
  /** Scans made (the last one found nothing, unless maxRounds ran out). */
  rounds: number;
}

/**
 * SIGKILL to every process whose environment carries this execution's mark, round after round until
 * a scan finds none (a process forking while it is swept is caught by the next round). Only the
 * mark decides: processes of other executions, of runtimed or of other pods sharing the PID
 * namespace are never touched. A process that cleared its environment before it detached carries no
 * mark and is not found (docs/custom-runtime.md says what to do about that).
 *
 * With `since`, a sweep soon after the execution started reads only the pids allocated since its
 * first process (sweepScope): for a short Run a few pids instead of all of /proc, which on a node
 * without a PID namespace per pod is every process of the machine.
 *
 * Synchronous on purpose: a scan of a few hundred processes takes 1–5 ms with blocking reads into
 * one buffer, several times less than the same reads through the thread pool.
 */
export function sweepMarked(mark: string, o: SweepOptions = {}): SweepResult {
  const procRoot = o.procRoot ?? '/proc';
  const selfPid = o.selfPid ?? process.pid;
  const kill = o.kill ?? ((pid, signal) => process.kill(pid, signal));
  const entry = `${WorkloadEnv.ExecutionMark}=${mark}`;
  const maxRounds = o.maxRounds ?? 5;
  const now = o.now ?? (() => performance.now());
  const signalled = new Set<number>();
  let rounds = 0;
  while (rounds < maxRounds) {
    rounds++;
    const scope: SweepScope =
      o.since === undefined
        ? { kind: 'all' }
        : sweepScope({
            firstPid: o.since.firstPid,
            lastPid: readNumber(join(procRoot, 'sys/kernel/ns_last_pid')),
            pidMax: pidMaxOf(procRoot),
            elapsedMs: now() - o.since.startedAtMs,
          });
    const found = markedPids(procRoot, entry, selfPid, scope);
    if (found.length === 0) break;
    for (const pid of found) {
      try {
        kill(pid, 'SIGKILL');
        signalled.add(pid);
      } catch {
        // ESRCH: gone between the scan and the signal.
      }
    }
  }
  return { killed: signalled.size, rounds };
}

const environBuffer = Buffer.alloc(64 * 1024);

function markedPids(procRoot: string, entry: string, selfPid: number, scope: SweepScope): number[] {
  const found: number[] = [];
  const check = (pid: number) => {
    if (pid === selfPid) return;
    const environ = readEnviron(`${procRoot}/${pid}/environ`);
    if (environ !== undefined && environHas(environ, entry)) found.push(pid);
  };
  if (scope.kind === 'ranges' && scope.ranges.reduce((n, [lo, hi]) => n + hi - lo + 1, 0) <= MAX_PROBED_PIDS) {
    // A short execution: a handful of pids, each one failed or successful open, no listing of /proc.
    for (const [lo, hi] of scope.ranges) for (let pid = lo; pid <= hi; pid++) check(pid);
    return found;
  }
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return []; // no procfs (not Linux): the process group kill is all there is
  }
  const inScope = (pid: number) =>
    scope.kind === 'all' || scope.ranges.some(([lo, hi]) => pid >= lo && pid <= hi);
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (inScope(pid)) check(pid);
  }
  return found;
}

/**
 * Whether a process has died: no such pid, or a zombie (dead, waiting for its parent or init to
 * reap it). A process killed but not yet run again by the kernel is still alive, even once its
 * environ reads empty.
 */
export function processGone(pid: number, procRoot = '/proc'): boolean {
  let stat: string;
  try {
    stat = readFileSync(`${procRoot}/${pid}/stat`, 'latin1');
  } catch {
    return true;
  }
  // The state letter follows the parenthesised command name, which may itself hold ") ".
  const state = stat.charAt(stat.lastIndexOf(')') + 2);
  return state === 'Z' || state === 'X' || state === 'x';
}

/** pid_max per procfs root: fixed while the machine runs, so read once. */
const pidMaxByRoot = new Map<string, number | undefined>();

function pidMaxOf(procRoot: string): number | undefined {
  if (!pidMaxByRoot.has(procRoot)) pidMaxByRoot.set(procRoot, readNumber(join(procRoot, 'sys/kernel/pid_max')));
  return pidMaxByRoot.get(procRoot);
}

/** A file holding one decimal number, or undefined when it cannot be read (no procfs, a fake one). */
function readNumber(path: string): number | undefined {
  try {
    const value = Number.parseInt(readFileSync(path, 'latin1'), 10);
    return Number.isSafeInteger(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The environ block, or undefined when the process is gone or not ours to read. */
function readEnviron(path: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const bytes = readSync(fd, environBuffer, 0, environBuffer.length, 0);
    // A larger block than the buffer (rare): read it whole.
    return bytes < environBuffer.length ? environBuffer.subarray(0, bytes) : readFileSync(path);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
