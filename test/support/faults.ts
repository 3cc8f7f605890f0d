// Fault injection on the local cluster and the invariants every Run must keep, shared by the fault
// suite (test/e2e/faults.e2e.ts) and the soak (test/soak.ts).
//
// Runs count their own executions: each script appends its Run name to a file on a hostPath
// volume before doing anything else, so "executions ≤ attempts" is measured by the workload, not
// by kruntimes. Every Run's status history is recorded from a watch, so "a terminal phase never
// changes" is checked on every event, not only on the last one.
import { readFileSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { isTerminal, Reason, type Run, RunPhase } from '../../lib/api.ts';
import { createInformer, type Informer } from '../../lib/informer.ts';
import { isNotFound, type KubeClient, Paths } from '../../lib/kube-client.ts';
import { ensureCluster } from '../cluster/cluster.ts';
import { clusterPaths } from '../cluster/config.ts';
import { kubectl, PLATFORM_NAMESPACE, waitFor } from './platform.ts';

export const COUNTER_MOUNT = '/counter';

/** A Runtime whose pods mount the host directory the scripts count their executions in. */
export function countingRuntimeYaml(o: { name: string; counterDir: string; replicas: number; runs: number }): string {
  return `apiVersion: kruntimes.io/v1alpha1
kind: Runtime
metadata:
  name: ${o.name}
spec:
  replicas: ${o.replicas}
  capacity:
    resources:
      runs: ${o.runs}
  template:
    metadata:
      labels:
        runtime: ${o.name}
    spec:
      terminationGracePeriodSeconds: 2
      volumes:
        - name: counter
          hostPath: { path: ${o.counterDir}, type: DirectoryOrCreate }
      containers:
        - name: runtime
          image: kruntimes-bash-runtime:latest
          imagePullPolicy: IfNotPresent
          ports:
            - containerPort: 19091
          volumeMounts:
            - { name: counter, mountPath: ${COUNTER_MOUNT} }
`;
}

export interface RunRecord {
  at: number;
  phase: string;
  reason?: string;
  attempt?: number;
  pod?: string;
  message?: string;
}

export interface LaunchOptions {
  /** Seconds the script sleeps after counting itself. */
  sleep: number;
  maxAttempts?: number;
  backoffSeconds?: number;
  exitCode?: number;
}

/** Records every Run of a namespace, launches counted Runs, and checks the invariants. */
export class RunLedger {
  readonly client: KubeClient;
  readonly ns: string;
  readonly runtime: string;
  readonly counterDir: string;
  readonly history = new Map<string, RunRecord[]>();
  readonly latest = new Map<string, Run>();
  readonly launched = new Map<string, LaunchOptions>();
  private informer?: Informer<Run>;
  private seq = 0;

  constructor(options: { client: KubeClient; ns: string; runtime: string; counterDir: string }) {
    this.client = options.client;
    this.ns = options.ns;
    this.runtime = options.runtime;
    this.counterDir = options.counterDir;
  }

  async start(): Promise<void> {
    await mkdir(this.counterDir, { recursive: true });
    this.informer = createInformer<Run>({ client: this.client, path: Paths.runs(this.ns) });
    const record = (run: Run) => {
      const name = run.metadata.name!;
      const prev = this.latest.get(name);
      // A relist can deliver an older copy than a GET already showed: keep the order of versions.
      if (prev && Number(prev.metadata.resourceVersion) > Number(run.metadata.resourceVersion)) return;
      this.latest.set(name, run);
      const list = this.history.get(name) ?? [];
      this.history.set(name, list);
      const s = run.status ?? {};
      const last = list.at(-1);
      const rec: RunRecord = {
        at: Date.now(),
        phase: s.phase ?? RunPhase.Pending,
        reason: s.reason,
        attempt: s.attempt,
        pod: s.assignedPod,
        message: s.message,
      };
      if (!last || last.phase !== rec.phase || last.reason !== rec.reason || last.attempt !== rec.attempt || last.pod !== rec.pod)
        list.push(rec);
    };
    this.informer.on('add', record);
    this.informer.on('update', record);
    await this.informer.start();
  }

  async stop(): Promise<void> {
    await this.informer?.stop();
  }

  /** Creates n counted Runs; returns their names. */
  async launch(prefix: string, n: number, o: LaunchOptions): Promise<string[]> {
    const names: string[] = [];
    await Promise.all(
      Array.from({ length: n }, async () => {
        const name = `${prefix}-${(this.seq++).toString(36)}`;
        names.push(name);
        this.launched.set(name, o);
        const script = [
          `echo "$KRUNTIME_RUN_NAME" >> ${COUNTER_MOUNT}/execs`,
          `sleep ${o.sleep}`,
          'echo "done=$KRUNTIME_RUN_NAME" >> "$KRUNTIME_OUTPUTS"',
          `exit ${o.exitCode ?? 0}`,
          '',
        ].join('\n');
        await this.client.create(Paths.runs(this.ns), {
          apiVersion: 'kruntimes.io/v1alpha1',
          kind: 'Run',
          metadata: { name },
          spec: {
            runtime: this.runtime,
            entrypoint: 'script',
            source: { inline: script },
            retryPolicy: { maxAttempts: o.maxAttempts ?? 3, backoffSeconds: o.backoffSeconds ?? 0 },
          },
        });
      }),
    );
    return names.sort();
  }

  /** Waits until these Runs are terminal (read from the API, not only the watch). */
  async waitTerminal(names: string[], timeoutMs = 90_000): Promise<Map<string, Run>> {
    const out = new Map<string, Run>();
    await waitFor(
      `${names.length} Runs terminal`,
      async () => {
        for (const name of names) {
          if (out.has(name)) continue;
          const r = await this.client.get<Run>(Paths.run(this.ns, name));
          if (isTerminal(r.status?.phase)) out.set(name, r);
        }
        return out.size === names.length;
      },
      { timeoutMs, intervalMs: 500 },
    );
    return out;
  }

  /** How many times each Run's script started, as the scripts counted it. */
  executions(): Map<string, number> {
    const counts = new Map<string, number>();
    let text = '';
    try {
      text = readFileSync(path.join(this.counterDir, 'execs'), 'utf8');
    } catch {}
    for (const line of text.split('\n')) if (line) counts.set(line, (counts.get(line) ?? 0) + 1);
    return counts;
  }

  /**
   * The invariants, as a list of violations (empty when all hold): every Run terminal; the phase
   * never changed after it was terminal; attempts ≤ maxAttempts; executions ≤ attempts; no Run
   * left Pending (outside a backoff) for longer than `pendingSlackMs` while it could be placed.
   */
  violations(final: Map<string, Run>, options: { pendingSlackMs?: number; names?: Iterable<string> } = {}): string[] {
    const out: string[] = [];
    const execs = this.executions();
    const slack = options.pendingSlackMs ?? 20_000;
    for (const name of options.names ?? this.launched.keys()) {
      const o = this.launched.get(name) ?? { sleep: 0 };
      const run = final.get(name) ?? this.latest.get(name);
      if (!run || !isTerminal(run.status?.phase)) {
        out.push(`${name}: not terminal (${run?.status?.phase ?? 'unknown'})`);
        continue;
      }
      const hist = this.history.get(name) ?? [];
      const firstTerminal = hist.findIndex((h) => isTerminal(h.phase));
      if (firstTerminal >= 0 && hist.slice(firstTerminal).some((h) => h.phase !== hist[firstTerminal].phase))
        out.push(`${name}: phase changed after terminal: ${hist.map((h) => h.phase).join(' → ')}`);
      const attempts = run.status?.attempt ?? 0;
      const max = o.maxAttempts ?? 3;
      if (attempts > max) out.push(`${name}: attempt ${attempts} > maxAttempts ${max}`);
      const n = execs.get(name) ?? 0;
      if (n > attempts) out.push(`${name}: executed ${n} times in ${attempts} attempts`);
      for (let i = 0; i < hist.length - 1; i++) {
        const h = hist[i];
        if (h.phase !== RunPhase.Pending || h.reason === Reason.RetryBackoff) continue;
        const waited = hist[i + 1].at - h.at;
        if (waited > slack) out.push(`${name}: Pending (${h.reason}) for ${waited} ms`);
      }
    }
    return out;
  }

  /** Per Run: phase, reason, attempts and executions, for the report. */
  summary(final: Map<string, Run>): Record<string, number> {
    const by: Record<string, number> = {};
    const execs = this.executions();
    for (const [name, run] of final) {
      const key = `${run.status?.phase}/${run.status?.reason} attempt=${run.status?.attempt} execs=${execs.get(name) ?? 0}`;
      by[key] = (by[key] ?? 0) + 1;
    }
    return by;
  }

  cleanup(): void {
    rmSync(this.counterDir, { recursive: true, force: true });
  }
}

// ---- fault injection ----

export async function runtimePods(ns: string, runtime: string): Promise<V1Pod[]> {
  const r = await kubectl(['get', 'pods', '-n', ns, '-l', `runtime=${runtime}`, '-o', 'json']);
  return (JSON.parse(r.stdout).items as V1Pod[]).filter((p) => !p.metadata?.deletionTimestamp);
}

/** The host pid of a container's main process, from the node agent's per-pod state. */
export function containerPid(podUid: string, container: string): number {
  const file = path.join(clusterPaths().pods, podUid, 'pids', `${container}.pid`);
  const pid = Number(readFileSync(file, 'utf8').split(' ')[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no pid in ${file}`);
  return pid;
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Whether a process exists (a zombie still counts until its parent reaps it). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** The pod that runs the most Running Runs of the ledger right now. */
export async function busiestPod(ledger: RunLedger, names: string[]): Promise<V1Pod> {
  const pods = await runtimePods(ledger.ns, ledger.runtime);
  return waitFor(
    'a Runtime Pod with Running Runs',
    async () => {
      const count = new Map<string, number>();
      for (const name of names) {
        const r = await ledger.client.get<Run>(Paths.run(ledger.ns, name));
        if (r.status?.phase === RunPhase.Running && r.status.assignedPod)
          count.set(r.status.assignedPod, (count.get(r.status.assignedPod) ?? 0) + 1);
      }
      const best = [...count].sort((a, b) => b[1] - a[1])[0];
      return best && pods.find((p) => p.metadata?.name === best[0]);
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
}

/** Kills a control-plane component of the local cluster and lets ensureCluster() restart it. */
export async function restartClusterComponent(name: 'kube-apiserver' | 'etcd', downMs = 1000): Promise<void> {
  const pidFile = path.join(clusterPaths().run, `${name}.pid`);
  const pid = Number(readFileSync(pidFile, 'utf8').trim().split(/\s+/)[0]);
  signal(pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, downMs));
  await ensureCluster();
}

/** Deletes the operator's pods of one role; their Deployment replaces them and leadership moves. */
export async function killOperator(component: 'scheduler' | 'controller'): Promise<void> {
  await kubectl([
    'delete',
    'pod',
    '-n',
    PLATFORM_NAMESPACE,
    '-l',
    `app.kubernetes.io/component=${component}`,
    '--grace-period=1',
    '--wait=false',
  ]);
}

export async function waitOperatorsAvailable(): Promise<void> {
  for (const name of ['kruntimes-scheduler', 'kruntimes-controller'])
    await kubectl(['rollout', 'status', `deployment/${name}`, '-n', PLATFORM_NAMESPACE, '--timeout=120s']);
}

export async function podGone(client: KubeClient, ns: string, name: string, uid: string): Promise<void> {
  await waitFor(
    `pod ${name} gone`,
    async () => {
      try {
        const p = await client.get<V1Pod>(Paths.pod(ns, name));
        return p.metadata?.uid !== uid;
      } catch (err) {
        return isNotFound(err);
      }
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

/** Every pod of the Runtime Ready with a heartbeat written in the last few seconds, i.e. schedulable. */
export async function waitFreshPool(ns: string, runtime: string, replicas: number): Promise<V1Pod[]> {
  return waitFor(
    `${replicas} schedulable Runtime Pods of ${ns}/${runtime}`,
    async () => {
      const pods = await runtimePods(ns, runtime);
      const fresh = pods.filter((p) => {
        const c = p.status?.conditions ?? [];
        const hb = c.find((x) => x.type === 'kruntimes.io/RuntimedReady');
        return (
          c.some((x) => x.type === 'Ready' && x.status === 'True') &&
          hb?.status === 'True' &&
          Date.now() - Date.parse(String(hb.lastProbeTime)) < 8000
        );
      });
      return pods.length === replicas && fresh.length === replicas ? pods : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 250 },
  );
}
