// Detached background processes with a pid file and a log file each: how `cluster up` runs the
// control plane and the node agent so that they outlive the command that started them.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface DaemonSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** A string that must appear in /proc/<pid>/cmdline: guards against a recycled pid. */
  marker: string;
}

/** Logs above this size are rotated (one old copy) when the daemon starts. */
const MAX_LOG_BYTES = 50 * 1024 * 1024;

export const pidFile = (runDir: string, name: string) => path.join(runDir, `${name}.pid`);
export const logFile = (logDir: string, name: string) => path.join(logDir, `${name}.log`);

function cmdline(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

export function isZombie(pid: number): boolean {
  try {
    // /proc/<pid>/stat: "pid (comm) S ..." — the state letter follows the last ')'.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

/** The pid of the daemon if its pid file names a live process that is still that daemon. */
export function runningPid(runDir: string, spec: Pick<DaemonSpec, 'name' | 'marker'>): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(fs.readFileSync(pidFile(runDir, spec.name), 'utf8'), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const cmd = cmdline(pid);
  if (cmd === undefined || !cmd.includes(spec.marker) || isZombie(pid)) return undefined;
  return pid;
}

export function startDaemon(runDir: string, logDir: string, spec: DaemonSpec): number {
  fs.mkdirSync(runDir, { recursive: true });
  fs.mkdirSync(logDir, { recursive: true });
  const log = logFile(logDir, spec.name);
  try {
    if (fs.statSync(log).size > MAX_LOG_BYTES) fs.renameSync(log, `${log}.1`);
  } catch {}
  const out = fs.openSync(log, 'a');
  fs.writeSync(
    out,
    `\n=== ${new Date().toISOString()} starting ${spec.name}: ${spec.command} ${spec.args.join(' ')}\n`,
  );
  const child = spawn(spec.command, spec.args, {
    detached: true,
    stdio: ['ignore', out, out],
    env: spec.env ?? process.env,
    cwd: spec.cwd,
  });
  fs.closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${spec.name} (${spec.command})`);
  child.unref();
  fs.writeFileSync(pidFile(runDir, spec.name), `${child.pid}\n`);
  return child.pid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch {
    return false;
  }
}

/** Waits until the pid is gone; false on timeout. */
export async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** SIGTERM, then SIGKILL after the timeout; removes the pid file. Returns whether it was running. */
export async function stopDaemon(
  runDir: string,
  spec: Pick<DaemonSpec, 'name' | 'marker'>,
  timeoutMs = 10_000,
): Promise<boolean> {
  const pid = runningPid(runDir, spec);
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {}
    if (!(await waitGone(pid, timeoutMs))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
      await waitGone(pid, 5_000);
    }
  }
  fs.rmSync(pidFile(runDir, spec.name), { force: true });
  return pid !== undefined;
}

/** SIGTERM to each pid, SIGKILL to those still there after the timeout (processes found by ownership.ts). */
export async function stopPids(pids: readonly number[], timeoutMs = 10_000): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {}
  }
  await Promise.all(
    pids.map(async (pid) => {
      if (await waitGone(pid, timeoutMs)) return;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
      await waitGone(pid, 5_000);
    }),
  );
}

/** The last lines of a daemon's log, for error messages. */
export function logTail(logDir: string, name: string, lines = 20): string {
  try {
    const text = fs.readFileSync(logFile(logDir, name), 'utf8');
    return text
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  } catch {
    return '(no log)';
  }
}
