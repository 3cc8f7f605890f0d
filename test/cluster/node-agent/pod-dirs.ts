// Layout of a pod's directory on the node: $KRT_CLUSTER_DIR/pods/<uid>/…
import fs from 'node:fs';
import path from 'node:path';

export function podDirs(podsRoot: string, uid: string) {
  const root = path.join(podsRoot, uid);
  return {
    root,
    volumes: path.join(root, 'volumes'),
    volume: (name: string) => path.join(root, 'volumes', name),
    logs: (container: string) => path.join(root, 'logs', container),
    /** Log of one run of a container; the kubelet's `previous` is restartCount - 1. */
    logFile: (container: string, restartCount: number) =>
      path.join(root, 'logs', container, `${restartCount}.log`),
    pids: path.join(root, 'pids'),
    pidFile: (container: string) => path.join(root, 'pids', `${container}.pid`),
    hosts: path.join(root, 'etc-hosts'),
  };
}
export type PodDirs = ReturnType<typeof podDirs>;

/** Process start time in clock ticks since boot (field 22 of /proc/<pid>/stat): tells a recycled pid apart. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Records a container's process group leader so a later agent can kill it after a crash. */
export function writePidFile(file: string, pid: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${pid} ${processStartTime(pid) ?? ''}\n`);
}

/** Kills the process groups named by pid files under a pod directory, if they are still the same processes. */
export function killRecordedProcesses(pidsDir: string): number {
  let killed = 0;
  let files: string[] = [];
  try {
    files = fs.readdirSync(pidsDir);
  } catch {
    return 0;
  }
  for (const f of files) {
    const file = path.join(pidsDir, f);
    const [pidText, start] = fs.readFileSync(file, 'utf8').trim().split(' ');
    const pid = Number(pidText);
    if (pid > 1 && start && processStartTime(pid) === start) {
      try {
        process.kill(-pid, 'SIGKILL');
        killed++;
      } catch {}
    }
    fs.rmSync(file, { force: true });
  }
  return killed;
}
