// CPU time and resident memory of the processes a Run passes through: our components (scheduler,
// controller, runtimed, the Runtime Server) and kube-apiserver and etcd.
//
// On the process agent a container is a host process group whose leader's pid the agent records in
// <cluster>/pods/<pod uid>/pids/<container>.pid; its CPU is the sum over the group's live members of
// utime+stime+cutime+cstime from /proc/<pid>/stat (children reaped by a member — a Runtime
// Server's workloads — are in its cutime/cstime), its RSS the sum of the members' VmRSS. On the real
// node a container is a cgroup: cpuacct.usage under /sys/fs/cgroup/cpuacct/krt-real/kubepods/…/
// pod<uid>/<container id>, and the RSS of the processes in its cgroup.procs.
// kube-apiserver and etcd run as daemons with pid files in <cluster>/run.
// The parsing and the arithmetic are pure and unit-tested; the rest reads /proc and /sys.
import fs from 'node:fs';
import path from 'node:path';

/** The fields of /proc/<pid>/stat the accounting needs (times in clock ticks). */
export interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
}

/** Parses /proc/<pid>/stat; the command name may hold spaces and parentheses, so fields count from the last ')'. */
export function parseProcStat(text: string): ProcStat {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error('not a /proc/<pid>/stat line');
  const pid = Number.parseInt(text, 10);
  // Field 3 (state) is index 0 here; field n is index n - 3.
  const f = text.slice(close + 2).trim().split(' ');
  const n = (field: number) => Number(f[field - 3]);
  return { pid, ppid: n(4), pgrp: n(5), utime: n(14), stime: n(15), cutime: n(16), cstime: n(17) };
}

/** VmRSS of /proc/<pid>/status in kB (0 for a kernel thread or a zombie). */
export function parseVmRssKb(statusText: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(statusText);
  return m ? Number(m[1]) : 0;
}

/** CPU ticks of a process group: its live members' own and reaped children's time. */
export function groupTicks(stats: readonly ProcStat[], pgrp: number): number {
  return stats
    .filter((s) => s.pgrp === pgrp)
    .reduce((sum, s) => sum + s.utime + s.stime + s.cutime + s.cstime, 0);
}

/** One measured process (or group, or cgroup) at one instant. */
export interface UsageSample {
  /** CPU time used since it started, in ms. */
  cpuMs: number;
  rssKb: number;
}

/** What is measured: a component name and how to read it. */
export interface ProcessTarget {
  /** scheduler, controller, runtimed, Runtime Server, kube-apiserver, etcd. */
  component: string;
  /** The pod (or daemon) it belongs to, to tell replicas apart. */
  instance: string;
  read(): UsageSample | undefined;
}

/** CPU ms per Run of each component between two snapshots, and the sum over ours. */
export interface CpuRow {
  component: string;
  instances: number;
  cpuMsPerRun: number;
  /** CPU ms per second while idle (before the batch), to tell background from per-Run work. */
  idleCpuMsPerSecond?: number;
}

export type Snapshot = Map<string, UsageSample & { component: string }>;

/** Sums deltas per component; instances missing from either snapshot (restarted) are left out. */
export function cpuPerRun(before: Snapshot, after: Snapshot, runs: number): CpuRow[] {
  const rows = new Map<string, { ms: number; instances: number }>();
  for (const [key, a] of after) {
    const b = before.get(key);
    if (!b || a.cpuMs < b.cpuMs) continue;
    const row = rows.get(a.component) ?? { ms: 0, instances: 0 };
    row.ms += a.cpuMs - b.cpuMs;
    row.instances++;
    rows.set(a.component, row);
  }
  return [...rows].map(([component, r]) => ({
    component,
    instances: r.instances,
    cpuMsPerRun: Math.round((r.ms / runs) * 100) / 100,
  }));
}

/** The largest RSS (MB) each instance showed across samples, grouped by component. */
export function rssByComponent(samples: readonly Snapshot[]): Record<string, number[]> {
  const max = new Map<string, { component: string; kb: number }>();
  for (const s of samples)
    for (const [key, v] of s) {
      const prev = max.get(key);
      if (!prev || v.rssKb > prev.kb) max.set(key, { component: v.component, kb: v.rssKb });
    }
  const out: Record<string, number[]> = {};
  for (const { component, kb } of max.values()) (out[component] ??= []).push(Math.round(kb / 1024));
  for (const k of Object.keys(out)) out[k].sort((a, b) => a - b);
  return out;
}

// ---- reading the host (not unit-tested) ----

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux x86-64 and arm64

function readOr(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const t = readOr(`/proc/${d}/stat`);
    if (t) out.push(parseProcStat(t));
  }
  return out;
}

/** Reads all process groups in one pass of /proc per snapshot (a snapshot reads many targets). */
let statsCache: { at: number; stats: ProcStat[] } | undefined;
function statsNow(): ProcStat[] {
  if (!statsCache || Date.now() - statsCache.at > 50) statsCache = { at: Date.now(), stats: allStats() };
  return statsCache.stats;
}

export function processGroupTarget(component: string, instance: string, leader: number): ProcessTarget {
  return {
    component,
    instance,
    read() {
      const stats = statsNow();
      if (!stats.some((s) => s.pid === leader)) return undefined;
      const members = stats.filter((s) => s.pgrp === leader);
      const rssKb = members.reduce((sum, s) => sum + parseVmRssKb(readOr(`/proc/${s.pid}/status`) ?? ''), 0);
      return { cpuMs: (groupTicks(stats, leader) * 1000) / CLOCK_TICKS_PER_SECOND, rssKb };
    },
  };
}

export function cgroupTarget(component: string, instance: string, dir: string): ProcessTarget {
  return {
    component,
    instance,
    read() {
      const usage = readOr(path.join(dir, 'cpuacct.usage'));
      if (usage === undefined) return undefined;
      const pids = (readOr(path.join(dir, 'cgroup.procs')) ?? '').split('\n').filter(Boolean);
      const rssKb = pids.reduce((sum, p) => sum + parseVmRssKb(readOr(`/proc/${p}/status`) ?? ''), 0);
      return { cpuMs: Number(usage) / 1e6, rssKb };
    },
  };
}

/** The leader pid a pid file names ("<pid> [start time]"), if that process is alive. */
export function pidFromFile(file: string): number | undefined {
  const pid = Number.parseInt(readOr(file) ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0 || readOr(`/proc/${pid}/stat`) === undefined) return undefined;
  return pid;
}

/** Finds the cgroup directory of a container on the real node (cgroupfs or systemd naming). */
export function findContainerCgroup(root: string, podUid: string, containerId: string): string | undefined {
  const podNames = [`pod${podUid}`, `pod${podUid.replaceAll('-', '_')}`];
  const walk = (dir: string, depth: number): string | undefined => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return undefined;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const full = path.join(dir, e.name);
      if (podNames.some((p) => e.name === p || e.name.startsWith(`kubepods-${p}`) || e.name.includes(p))) {
        for (const c of fs.readdirSync(full, { withFileTypes: true }))
          if (c.isDirectory() && c.name.includes(containerId)) return path.join(full, c.name);
        return undefined;
      }
      if (depth < 3) {
        const found = walk(full, depth + 1);
        if (found) return found;
      }
    }
    return undefined;
  };
  return walk(root, 0);
}

export function snapshot(targets: readonly ProcessTarget[]): Snapshot {
  statsCache = undefined;
  const out: Snapshot = new Map();
  for (const t of targets) {
    const s = t.read();
    if (s) out.set(`${t.component}/${t.instance}`, { ...s, component: t.component });
  }
  return out;
}

/** The parts of a Pod the discovery reads. */
export interface PodInfo {
  metadata: { name?: string; namespace?: string; uid?: string };
  spec?: { nodeName?: string; containers?: Array<{ name: string }> };
  status?: { containerStatuses?: Array<{ name: string; containerID?: string }> };
}

/** Which of our components a container is, or undefined for containers the bench does not measure. */
export function componentOf(pod: PodInfo, container: string, platformNamespace: string, benchNamespace: string) {
  if (pod.metadata.namespace === platformNamespace) {
    if (container === 'scheduler' || container === 'controller') return container;
    return undefined;
  }
  if (pod.metadata.namespace === benchNamespace) return container === 'runtimed' ? 'runtimed' : 'Runtime Server';
  return undefined;
}

/** Everything to measure: our containers (process groups or cgroups) and the apiserver and etcd daemons. */
export function discoverTargets(
  pods: readonly PodInfo[],
  o: { podsRoot: string; runDir: string; cgroupRoot: string; platformNamespace: string; benchNamespace: string },
): ProcessTarget[] {
  const targets: ProcessTarget[] = [];
  for (const pod of pods) {
    for (const c of pod.spec?.containers ?? []) {
      const component = componentOf(pod, c.name, o.platformNamespace, o.benchNamespace);
      if (!component) continue;
      const instance = `${pod.metadata.name}/${c.name}`;
      const leader = pidFromFile(path.join(o.podsRoot, pod.metadata.uid!, 'pids', `${c.name}.pid`));
      if (leader !== undefined) {
        targets.push(processGroupTarget(component, instance, leader));
        continue;
      }
      const id = pod.status?.containerStatuses?.find((s) => s.name === c.name)?.containerID?.replace(/^.*:\/\//, '');
      const dir = id ? findContainerCgroup(o.cgroupRoot, pod.metadata.uid!, id) : undefined;
      if (dir) targets.push(cgroupTarget(component, instance, dir));
    }
  }
  for (const [component, file] of [
    ['kube-apiserver', 'kube-apiserver.pid'],
    ['etcd', 'etcd.pid'],
  ] as const) {
    const pid = pidFromFile(path.join(o.runDir, file));
    if (pid !== undefined) targets.push(processGroupTarget(component, component, pid));
  }
  return targets;
}
