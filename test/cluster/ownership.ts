// Who owns the local cluster that runs on this machine, and what `up` and `down` may do about it.
// The ports are fixed, so there is one cluster per machine whatever checkout of the repository
// started it; its node agent runs that checkout's code for every pod. `up` from another checkout
// used to start a second node agent on the same node (the agent's pid-file marker is its own
// checkout's path), which broke every pod. Here the processes that make up a cluster are
// recognised from their command lines, whoever started them, and `decideUp`/`decideDown` turn
// what was observed (machine-state.ts reads /proc and the machine-wide record) into an action.
// Pure: no I/O, unit-tested in ownership.test.ts.
import path from 'node:path';
import { ComponentName } from './components.ts';

/** A live process of a local cluster, recognised from its command line. */
export interface ClusterProcess {
  pid: number;
  component: ComponentName;
  /** The node agent's checkout (the repository root its main.ts lives in). */
  checkout?: string;
  /** The control plane's state directory (KRT_CLUSTER_DIR), from its flags. */
  stateDir?: string;
}

/** The machine-wide record `up` writes (/run/kruntimes/local-cluster.json): who started what. */
export interface OwnerRecord {
  checkout: string;
  stateDir: string;
  pids: Partial<Record<ComponentName, number>>;
  versions: { kubernetes: string; etcd: string; node: string };
  /** When this checkout's `up` first found the cluster running (ISO 8601). */
  since: string;
}

export interface Observed {
  /** The checkout and state directory of the command deciding. */
  self: { checkout: string; stateDir: string };
  record?: OwnerRecord;
  /** Every live cluster process on the machine. */
  processes: readonly ClusterProcess[];
}

/** A running cluster that belongs to another checkout or another state directory. */
export interface Foreign {
  /** Its checkout, when known (from its node agent or from the record). */
  checkout?: string;
  stateDir?: string;
  pids: number[];
  /** One sentence: what runs and why it is not ours. */
  why: string;
}

export const UpAction = {
  /** Nothing runs: start everything. */
  start: 'start',
  /** This checkout's cluster runs: keep what is healthy, restart what is not. */
  reuse: 'reuse',
  /** Another checkout's cluster runs: touch nothing. */
  refuse: 'refuse',
} as const;
export type UpAction = (typeof UpAction)[keyof typeof UpAction];

export type UpDecision =
  | { action: typeof UpAction.start | typeof UpAction.reuse }
  | { action: typeof UpAction.refuse; foreign: Foreign; message: string };

export const DownAction = {
  /** Stop these processes and clean the pods of this state directory. */
  stop: 'stop',
  refuse: 'refuse',
} as const;
export type DownAction = (typeof DownAction)[keyof typeof DownAction];

export type DownDecision =
  | { action: typeof DownAction.stop; stateDir: string; processes: readonly ClusterProcess[]; foreign?: Foreign }
  | { action: typeof DownAction.refuse; foreign: Foreign; message: string };

/** Control-plane binaries and the flag whose value lies in the state directory, with its place there. */
const STATE_FLAGS = {
  [ComponentName.etcd]: { flag: '--data-dir=', suffix: '/etcd' },
  [ComponentName.apiserver]: { flag: '--tls-cert-file=', suffix: '/pki/apiserver.crt' },
  [ComponentName.controllerManager]: { flag: '--kubeconfig=', suffix: '/admin.kubeconfig' },
  [ComponentName.scheduler]: { flag: '--config=', suffix: '/scheduler.yaml' },
} as const;

/** Where a checkout keeps the node agent's entry point (components.ts NODE_AGENT_MAIN). */
export const NODE_AGENT_ENTRY = '/test/cluster/node-agent/main.ts';

/** Recognises a local-cluster process from its argv (/proc/<pid>/cmdline); undefined for anything else. */
export function classifyProcess(pid: number, argv: readonly string[]): ClusterProcess | undefined {
  const exe = path.basename(argv[0] ?? '');
  if (/^node(\d+)?$/.test(exe)) {
    const main = argv.slice(1).find((a) => a.endsWith(NODE_AGENT_ENTRY));
    if (main === undefined) return undefined;
    return { pid, component: ComponentName.nodeAgent, checkout: main.slice(0, -NODE_AGENT_ENTRY.length) || '/' };
  }
  for (const [component, { flag, suffix }] of Object.entries(STATE_FLAGS)) {
    if (exe !== component) continue;
    // etcd is a common binary: only the one named like ours counts.
    if (component === ComponentName.etcd && !argv.includes('--name=krt')) return undefined;
    const value = argv.find((a) => a.startsWith(flag))?.slice(flag.length);
    if (value === undefined || !value.endsWith(suffix)) return undefined;
    return { pid, component: component as ComponentName, stateDir: value.slice(0, -suffix.length) || '/' };
  }
  return undefined;
}

/** The record describes a cluster that still runs: one of its pids is a live cluster process. */
export function recordIsLive(obs: Observed): boolean {
  const pids = new Set(obs.processes.map((p) => p.pid));
  return Object.values(obs.record?.pids ?? {}).some((pid) => pid !== undefined && pids.has(pid));
}

/** The running cluster if it is not this checkout's (with this state directory); undefined when it is, or none runs. */
export function foreignCluster(obs: Observed): Foreign | undefined {
  const { self, processes } = obs;
  if (processes.length === 0) return undefined;
  const pids = processes.map((p) => p.pid);
  const live = recordIsLive(obs) ? obs.record : undefined;
  const otherAgent = processes.find((p) => p.component === ComponentName.nodeAgent && p.checkout !== self.checkout);
  const stateDir = processes.find((p) => p.stateDir !== undefined)?.stateDir ?? live?.stateDir;
  if (otherAgent) {
    return {
      checkout: otherAgent.checkout,
      stateDir,
      pids,
      why: `a local cluster started from ${otherAgent.checkout} is running (its node agent is pid ${otherAgent.pid})`,
    };
  }
  const elsewhere = processes.find((p) => p.stateDir !== undefined && p.stateDir !== self.stateDir);
  if (elsewhere) {
    return {
      checkout: live?.checkout,
      stateDir: elsewhere.stateDir,
      pids,
      why:
        `a local cluster with its state in ${elsewhere.stateDir}${live ? `, started from ${live.checkout},` : ''} ` +
        `is running (${elsewhere.component} is pid ${elsewhere.pid}; this checkout's state is ${self.stateDir})`,
    };
  }
  const ownAgent = processes.some((p) => p.component === ComponentName.nodeAgent);
  if (live && live.checkout !== self.checkout && !ownAgent) {
    return {
      checkout: live.checkout,
      stateDir,
      pids,
      why: `a local cluster started from ${live.checkout} is running (its control plane runs, its node agent does not)`,
    };
  }
  return undefined;
}

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`);

/** The commands that stop a foreign cluster: from its own checkout, or from here with --force. */
export function stopCommands(foreign: Foreign, self: Observed['self']): string[] {
  const env =
    foreign.stateDir !== undefined && foreign.stateDir !== self.stateDir
      ? `KRT_CLUSTER_DIR=${shellQuote(foreign.stateDir)} `
      : '';
  const out: string[] = [];
  if (foreign.checkout !== undefined) out.push(`cd ${shellQuote(foreign.checkout)} && ${env}npm run cluster -- down`);
  out.push('npm run cluster -- down --force   # from this checkout: stops the cluster whoever started it');
  return out;
}

function refusal(foreign: Foreign, self: Observed['self'], doing: string, heading: string): string {
  return [
    `${foreign.why}; this checkout is ${self.checkout}.`,
    `There is one local cluster per machine (fixed ports), and its pods run the code of the checkout that started it, so ${doing}.`,
    heading,
    ...stopCommands(foreign, self).map((c) => `  ${c}`),
  ].join('\n');
}

export function decideUp(obs: Observed): UpDecision {
  const foreign = foreignCluster(obs);
  if (foreign) {
    return {
      action: UpAction.refuse,
      foreign,
      message: refusal(foreign, obs.self, '`up` from here would start a second node agent and break its pods', 'Stop the other cluster first:'),
    };
  }
  return { action: obs.processes.length === 0 ? UpAction.start : UpAction.reuse };
}

export function decideDown(obs: Observed, force: boolean): DownDecision {
  const foreign = foreignCluster(obs);
  if (foreign && !force) {
    return {
      action: DownAction.refuse,
      foreign,
      message: refusal(foreign, obs.self, '`down` from here stops it only when asked to with --force', 'To stop it:'),
    };
  }
  return {
    action: DownAction.stop,
    stateDir: foreign?.stateDir ?? obs.self.stateDir,
    processes: obs.processes,
    ...(foreign ? { foreign } : {}),
  };
}

/** For `status`: the checkout that owns the running cluster, when one runs and it is known. */
export function owningCheckout(obs: Observed): string | undefined {
  const agent = obs.processes.find((p) => p.component === ComponentName.nodeAgent);
  if (agent?.checkout !== undefined) return agent.checkout;
  return recordIsLive(obs) ? obs.record?.checkout : undefined;
}
