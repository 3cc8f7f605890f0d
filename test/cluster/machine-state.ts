// What ownership.ts decides on, read from the machine: every live local-cluster process (from
// /proc, whatever checkout or state directory started it) and the machine-wide owner record in
// /run/kruntimes — outside any checkout and any KRT_CACHE, and gone after a reboot like the
// processes it describes. The record names the checkout, the state directory, the pids and the
// versions; pids are only trusted while /proc shows them as cluster processes.
import fs from 'node:fs';
import path from 'node:path';
import type { ComponentName } from './components.ts';
import { START_ORDER } from './components.ts';
import { ETCD_VERSION, KUBE_VERSION, REPO_ROOT } from './config.ts';
import { isZombie } from './daemon.ts';
import type { ClusterProcess, Observed, OwnerRecord } from './ownership.ts';
import { classifyProcess } from './ownership.ts';

/** The machine-wide record; not under KRT_CACHE, which each checkout may set differently. */
export const OWNER_RECORD = '/run/kruntimes/local-cluster.json';

/** Every live process of a local cluster on this machine, in START_ORDER. */
export function clusterProcesses(): ClusterProcess[] {
  const out: ClusterProcess[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      continue;
    }
    const p = classifyProcess(pid, argv);
    if (p && !isZombie(pid)) out.push(p);
  }
  return out.sort((a, b) => START_ORDER.indexOf(a.component) - START_ORDER.indexOf(b.component) || a.pid - b.pid);
}

export function readOwnerRecord(file = OWNER_RECORD): OwnerRecord | undefined {
  try {
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<OwnerRecord>;
    return typeof r.checkout === 'string' && typeof r.stateDir === 'string' && typeof r.pids === 'object'
      ? (r as OwnerRecord)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Records this checkout as the owner of the running cluster; keeps `since` while the owner stays. */
export function writeOwnerRecord(
  stateDir: string,
  pids: Partial<Record<ComponentName, number>>,
  file = OWNER_RECORD,
): void {
  const previous = readOwnerRecord(file);
  const same = previous?.checkout === REPO_ROOT && previous.stateDir === stateDir;
  const record: OwnerRecord = {
    checkout: REPO_ROOT,
    stateDir,
    pids,
    versions: { kubernetes: KUBE_VERSION, etcd: ETCD_VERSION, node: process.versions.node },
    since: same ? previous.since : new Date().toISOString(),
  };
  const text = `${JSON.stringify(record, null, 2)}\n`;
  if (previous && same && JSON.stringify(previous) === JSON.stringify(record)) return;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  } catch {
    // Not root (or no /run): the /proc scan still finds the cluster; only the record's details are lost.
  }
}

export function removeOwnerRecord(file = OWNER_RECORD): void {
  fs.rmSync(file, { force: true });
}

/** The observation ownership.ts decides on, for a command run from this checkout. */
export function observe(stateDir: string): Observed {
  return {
    self: { checkout: REPO_ROOT, stateDir },
    record: readOwnerRecord(),
    processes: clusterProcesses(),
  };
}
