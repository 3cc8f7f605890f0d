// One cgroup (v2) per container, under <cgroup2 mount>/kruntimes/<pod uid>/<container>. The
// cgroup is what makes "stop this container" complete: `cgroup.kill` also reaches processes that
// left the container's process group (daemons, setsid children), like a container runtime does.
// Without a writable cgroup2 hierarchy the agent falls back to process groups.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT_NAME = 'kruntimes';

let cachedRoot: string | null | undefined;

/** The kruntimes cgroup directory, or null when cgroup v2 with cgroup.kill is not available. */
export function cgroupRoot(): string | null {
  if (cachedRoot !== undefined) return cachedRoot;
  cachedRoot = null;
  try {
    const mounts = fs.readFileSync('/proc/self/mounts', 'utf8').split('\n');
    for (const line of mounts) {
      const [, mountPoint, type] = line.split(' ');
      if (type !== 'cgroup2') continue;
      const root = path.join(mountPoint, ROOT_NAME);
      fs.mkdirSync(root, { recursive: true });
      if (fs.existsSync(path.join(root, 'cgroup.kill'))) {
        cachedRoot = root;
        break;
      }
    }
  } catch {
    cachedRoot = null;
  }
  return cachedRoot;
}

export function podCgroup(podUid: string): string | null {
  const root = cgroupRoot();
  return root && path.join(root, podUid);
}

export function containerCgroup(podUid: string, container: string): string | null {
  const pod = podCgroup(podUid);
  return pod && path.join(pod, container);
}

export function createCgroup(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
}

/** Pids currently in the cgroup (not its children). */
export function cgroupPids(dir: string): number[] {
  try {
    return fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function populated(dir: string): boolean {
  try {
    return fs.readFileSync(path.join(dir, 'cgroup.events'), 'utf8').includes('populated 1');
  } catch {
    return false;
  }
}

/** Sends a signal to every process in the cgroup and its descendants. */
export function signalCgroup(dir: string, signal: NodeJS.Signals): void {
  const visit = (d: string) => {
    for (const pid of cgroupPids(d)) {
      try {
        process.kill(pid, signal);
      } catch {}
    }
    for (const child of subdirs(d)) visit(child);
  };
  visit(dir);
}

function subdirs(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => path.join(dir, e.name));
  } catch {
    return [];
  }
}

/** SIGKILLs everything in the cgroup tree, waits until it is empty and removes it. */
export async function killAndRemoveCgroup(dir: string, timeoutMs = 5000): Promise<void> {
  if (!fs.existsSync(dir)) return;
  try {
    fs.writeFileSync(path.join(dir, 'cgroup.kill'), '1');
  } catch {}
  const deadline = Date.now() + timeoutMs;
  while (populated(dir) && Date.now() < deadline) await sleep(10);
  removeTree(dir);
}

/** rmdir bottom-up: cgroup directories can only be removed empty and one by one. */
function removeTree(dir: string): void {
  for (const child of subdirs(dir)) removeTree(child);
  try {
    fs.rmdirSync(dir);
  } catch {}
}
