// One run of a container as a host process: the pod's network namespace (nsenter), its own mount
// and UTS namespaces (unshare), its own cgroup and process group, output to a CRI log file.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundlesRoot } from './bundles.ts';
import { cgroupPids, killAndRemoveCgroup, signalCgroup } from './cgroups.ts';
import type { ContainerLogWriter } from './container-log-writer.ts';
import { writePidFile } from './pod-dirs.ts';

const INIT_SCRIPT = path.join(import.meta.dirname, 'container-init.sh');

export interface Mount {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
}

export interface ContainerLaunch {
  argv: string[];
  env: Record<string, string>;
  workingDir: string;
  /** The pod's network namespace; undefined for hostNetwork pods. */
  netnsPath?: string;
  /** Set in a private UTS namespace; undefined keeps the host's (hostNetwork pods). */
  hostname?: string;
  mounts: Mount[];
  cgroupDir: string | null;
  pidFile: string;
  log: ContainerLogWriter;
  /**
   * Host paths the container's program lives in (the checkout, the Node binary, the bundles): a volume
   * mounted over a parent of one (an emptyDir at /tmp with the checkout under /tmp) would hide
   * it, so container-init.sh binds it back. Default: this checkout and process.execPath's directory.
   */
  keepVisible?: string[];
}

/** This checkout (test/cluster/node-agent → the repository), the Node binary's directory and our images' bundles. */
export function defaultKeepVisible(): string[] {
  // The bundles' folder once a bundle was made (binding a missing path would fail the container).
  const bundles = existsSync(bundlesRoot()) ? [bundlesRoot()] : [];
  return [path.resolve(import.meta.dirname, '..', '..', '..'), path.dirname(process.execPath), ...bundles];
}

export interface ContainerExit {
  exitCode: number;
  signal?: NodeJS.Signals;
}

/** Parents before children: /a is mounted before /a/b, or the child mount would be hidden. */
export function sortMounts(mounts: Mount[]): Mount[] {
  return [...mounts].sort(
    (a, b) =>
      a.containerPath.split('/').filter(Boolean).length - b.containerPath.split('/').filter(Boolean).length,
  );
}

export function launchArgs(l: Omit<ContainerLaunch, 'env' | 'pidFile' | 'log'>): {
  command: string;
  args: string[];
} {
  const mounts = sortMounts(l.mounts).flatMap((m) => [m.hostPath, m.containerPath, m.readOnly ? 'ro' : 'rw']);
  const init = [
    'sh',
    INIT_SCRIPT,
    l.cgroupDir ?? '-',
    l.hostname ?? '-',
    l.workingDir,
    (l.keepVisible ?? defaultKeepVisible()).join(':') || '-',
    String(l.mounts.length),
    ...mounts,
    '--',
    ...l.argv,
  ];
  const unshare = [
    'unshare',
    '--mount',
    '--propagation',
    'private',
    ...(l.hostname ? ['--uts'] : []),
    '--',
    ...init,
  ];
  if (!l.netnsPath) return { command: unshare[0], args: unshare.slice(1) };
  return { command: 'nsenter', args: [`--net=${l.netnsPath}`, '--', ...unshare] };
}

export class ContainerProcess {
  readonly pid: number;
  readonly exited: Promise<ContainerExit>;
  private readonly cgroupDir: string | null;
  private done = false;

  private constructor(child: ChildProcess, cgroupDir: string | null, exited: Promise<ContainerExit>) {
    this.pid = child.pid ?? -1;
    this.cgroupDir = cgroupDir;
    this.exited = exited;
  }

  static start(l: ContainerLaunch): ContainerProcess {
    const { command, args } = launchArgs(l);
    const child = spawn(command, args, {
      // Own session and process group: signals reach the whole container, not the agent.
      detached: true,
      env: l.env,
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => l.log.write('stdout', chunk));
    child.stderr?.on('data', (chunk: Buffer) => l.log.write('stderr', chunk));
    // Assigned once below; the exit handlers above read it when the process closes.
    // eslint-disable-next-line prefer-const
    let proc: ContainerProcess | undefined;
    const exited = new Promise<ContainerExit>((resolve) => {
      let exit: ContainerExit | undefined;
      child.on('error', (err) => {
        l.log.write('stderr', Buffer.from(`failed to start container process: ${err.message}\n`));
        exit ??= { exitCode: 128 };
        l.log.close();
        resolve(exit);
      });
      child.on('exit', (code, signal) => {
        exit = {
          exitCode: code ?? 128 + (signal ? os.constants.signals[signal] : 0),
          signal: signal ?? undefined,
        };
        // The main process is gone: like a runtime tearing down the container's PID namespace,
        // kill whatever it left behind, so its output pipes close.
        if (l.cgroupDir) void killAndRemoveCgroup(l.cgroupDir);
        else {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {}
        }
      });
      child.on('close', () => {
        if (proc) proc.done = true;
        l.log.close();
        resolve(exit ?? { exitCode: 128 });
      });
    });
    proc = new ContainerProcess(child, l.cgroupDir, exited);
    if (child.pid !== undefined) writePidFile(l.pidFile, child.pid);
    return proc;
  }

  /** A polite signal (SIGTERM) to the container's processes. */
  signal(sig: NodeJS.Signals): void {
    if (this.done || this.pid <= 0) return;
    try {
      process.kill(-this.pid, sig);
    } catch {}
    if (this.cgroupDir) signalCgroup(this.cgroupDir, sig);
  }

  /** SIGKILL to everything in the container. */
  async kill(): Promise<void> {
    if (this.done) return;
    if (this.cgroupDir && cgroupPids(this.cgroupDir).length > 0) await killAndRemoveCgroup(this.cgroupDir);
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {}
  }
}
