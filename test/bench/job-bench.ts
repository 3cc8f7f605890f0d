// A Kubernetes Job running the same trivial script (`echo hi`) in the same cluster, measured the way
// the bench measures a Run (`npm run bench -- --compare-job`, or `--job` alone): the same driver
// (run-batch.ts: the same creators or open-loop rate, the same N, a warm-up first), and the same
// latency, from the client's create call to the moment this process's watch on Jobs delivers the
// Complete condition (or Failed). What a Job pays that a Run does not: the Job controller creates a
// pod, the kube-scheduler binds it, the node starts a pod sandbox and a container, reports the pod's
// status, and the Job controller counts the pod (removing its tracking finalizer) and writes Complete.
//
// Which node: on the real node (krt-real-0, a kubelet with containerd and runc, the default) the
// container is `kruntimes-bash-runtime:0.1.0` with its entry point replaced by `bash -c 'echo hi'`,
// already imported (imagePullPolicy Never: no pull is measured, as a warm cluster would have it).
// On the process agent (`--job-node agent`) the image `kruntimes-host` makes the container a host
// process (test/cluster/node-agent/images.ts): no sandbox, no image, no runc, so that row is the
// control plane's share of a Job with an almost free "container start", a lower bound for a kubelet.
// The pods mount no service-account token and get no service links (a trivial script needs
// neither, and both cost the kubelet work): a conservative comparison, in the Job's favour.
//
// Jobs are deleted after the measurement (propagationPolicy Background, so their pods go too) and
// carry ttlSecondsAfterFinished as a safety net if the bench is stopped first; no deletion runs
// during the measured batch, as none of our Runs is deleted during ours.
//
// Also reported, as for Runs: writes per Job counted by the apiserver (jobs, pods and their
// subresources, events), the Job versions the watch saw by condition, CPU per Job of the processes a
// Job passes through (the apiserver, etcd, kube-controller-manager, kube-scheduler, and the node
// agent or the kubelet, containerd and the pods' cgroup). Pure parts unit-tested in job-bench.test.ts.
import fs from 'node:fs';
import path from 'node:path';
import type { V1Job } from '@kubernetes/client-node';
import { type KubeClient, Paths } from '../../lib/kube-client.ts';
import { type RequestCount, writeRows, type WriteRow } from './apiserver-requests.ts';
import {
  cgroupTarget,
  type CpuRow,
  cpuPerRun,
  pidFromFile,
  type ProcessTarget,
  processGroupTarget,
  rssByComponent,
  type Snapshot,
  snapshot,
} from './process-usage.ts';
import type { RunSample } from './report-files.ts';
import { BatchWatch } from './run-batch.ts';
import { percentiles } from './workflow-stats.ts';

/** Where the Job's pods run. */
export const JobNode = { real: 'real', agent: 'agent' } as const;
export type JobNode = (typeof JobNode)[keyof typeof JobNode];

/** The script a bench Run runs (`spec.source.inline`), run by bash in the Job's container. */
export const JOB_SCRIPT = 'echo hi';

/** The image each node runs the script with (present on the node; never pulled). */
export const JOB_IMAGE = { real: 'kruntimes-bash-runtime:0.1.0', agent: 'kruntimes-host' } as const satisfies Record<JobNode, string>;

/** A safety net only: the bench deletes its Jobs itself once measured. */
export const JOB_TTL_SECONDS = 600;

export const jobsPath = (namespace: string) => `/apis/batch/v1/namespaces/${namespace}/jobs`;

/** What a pod needs to land on the real node (test/support/real-node-platform.ts REAL_NODE_SCHEDULING). */
export interface NodeScheduling {
  nodeSelector: Readonly<Record<string, string>>;
  tolerations: ReadonlyArray<Readonly<Record<string, string>>>;
}

/** The Job the bench creates: one pod, no retry, the script and nothing else. */
export function jobBody(name: string, node: JobNode, scheduling?: NodeScheduling): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels: { 'kruntimes.io/bench': 'job' } },
    spec: {
      backoffLimit: 0,
      ttlSecondsAfterFinished: JOB_TTL_SECONDS,
      template: {
        metadata: { labels: { 'kruntimes.io/bench': 'job' } },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 0,
          ...(node === JobNode.real && scheduling
            ? { nodeSelector: { ...scheduling.nodeSelector }, tolerations: scheduling.tolerations.map((t) => ({ ...t })) }
            : {}),
          containers: [
            {
              name: 'job',
              image: JOB_IMAGE[node],
              imagePullPolicy: 'Never',
              command: ['bash', '-c', JOB_SCRIPT],
            },
          ],
        },
      },
    },
  };
}

/** The terminal condition a Job shows (Complete or Failed with status True), if it has ended. */
export function jobEnd(job: V1Job): 'Complete' | 'Failed' | undefined {
  for (const c of job.status?.conditions ?? [])
    if (c.status === 'True' && (c.type === 'Complete' || c.type === 'Failed')) return c.type;
  return undefined;
}

/** A Job version as the write that made it: its true conditions, else what its status counts. */
export function jobVersionLabel(job: V1Job): string {
  const s = job.status;
  const conditions = (s?.conditions ?? []).filter((c) => c.status === 'True').map((c) => c.type);
  if (conditions.length) return conditions.join('+');
  if ((s?.uncountedTerminatedPods?.succeeded?.length ?? 0) > 0) return 'pod succeeded (uncounted)';
  if ((s?.succeeded ?? 0) > 0) return 'succeeded';
  if ((s?.active ?? 0) > 0) return (s?.ready ?? 0) > 0 ? 'active (ready)' : 'active';
  return s?.startTime ? 'started' : 'created';
}

export class JobWatch extends BatchWatch<V1Job> {
  constructor(client: KubeClient, namespace: string) {
    super(client, { path: jobsPath(namespace), terminal: (j) => jobEnd(j) !== undefined, label: jobVersionLabel });
  }

  /** One sample per created Job: only create and visible (a Job's own times have whole seconds). */
  samples(created: ReadonlyMap<string, number>): RunSample[] {
    return jobSamples(created, this.visible, this.done);
  }
}

export function jobSamples(
  created: ReadonlyMap<string, number>,
  visible: ReadonlyMap<string, number>,
  done: ReadonlyMap<string, V1Job>,
): RunSample[] {
  return [...created].map(([name, at]) => {
    const job = done.get(name);
    return { name, created: at, visible: visible.get(name), phase: job ? jobEnd(job) : undefined };
  });
}

/** The resources a Job's writes go to. */
export const JOB_WRITE_RESOURCES = ['jobs', 'pods', 'events'] as const;

export interface JobWriteAccount {
  jobs: number;
  /** Every write request to jobs, pods (bindings, status and finalizer patches included) and events, per Job. */
  writesPerJob: number;
  /** The same by resource/subresource, per Job. */
  perJob: Record<string, number>;
  /** Refused writes (409 conflicts and others), in total. */
  failedWrites: number;
  rows: WriteRow[];
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * Per-Job accounting of a metrics diff taken around the batch. The counters are cluster-wide: the
 * pods/status row also holds the idle Runtime Pods' heartbeat over the window (as ours does).
 */
export function accountJobWrites(delta: readonly RequestCount[], jobs: number): JobWriteAccount {
  const rows = writeRows(delta, JOB_WRITE_RESOURCES);
  const perJob: Record<string, number> = {};
  for (const r of rows) {
    const key = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
    perJob[key] = (perJob[key] ?? 0) + r.count;
  }
  for (const k of Object.keys(perJob)) perJob[k] = round2(perJob[k] / jobs);
  const total = rows.reduce((s, r) => s + r.count, 0);
  return {
    jobs,
    writesPerJob: round2(total / jobs),
    perJob,
    failedWrites: rows.filter((r) => !r.code.startsWith('2')).reduce((s, r) => s + r.count, 0),
    rows,
  };
}

/** The real node's processes as node.ts records them in pids.json ({name, pid, marker}). */
export function realNodePids(text: string | undefined): Array<{ name: string; pid: number }> {
  if (!text) return [];
  try {
    const list = JSON.parse(text) as unknown;
    if (!Array.isArray(list)) return [];
    return list
      .filter((p): p is { name: string; pid: number } => typeof p?.name === 'string' && Number.isInteger(p?.pid))
      .map((p) => ({ name: p.name, pid: p.pid }));
  } catch {
    return [];
  }
}

/**
 * The processes a Job passes through: the control plane's daemons (pid files in the cluster's run
 * directory) and the node's: the process agent (its workloads' CPU is in its reaped children's
 * time), or the real node's kubelet and containerd (the shims they start re-parent away: not
 * counted) and the pods' cgroup (every container and pause process on the node).
 */
export function jobTargets(
  node: JobNode,
  o: { runDir: string; realNodePidsFile: string; kubepodsCgroup: string },
): ProcessTarget[] {
  const targets: ProcessTarget[] = [];
  const daemons = ['kube-apiserver', 'etcd', 'kube-controller-manager', 'kube-scheduler', ...(node === JobNode.agent ? ['node-agent'] : [])];
  for (const name of daemons) {
    const pid = pidFromFile(path.join(o.runDir, `${name}.pid`));
    if (pid !== undefined) targets.push(processGroupTarget(name, name, pid));
  }
  if (node === JobNode.real) {
    let text: string | undefined;
    try {
      text = fs.readFileSync(o.realNodePidsFile, 'utf8');
    } catch {}
    for (const p of realNodePids(text))
      if (p.name === 'kubelet' || p.name === 'containerd') targets.push(processGroupTarget(p.name, p.name, p.pid));
    targets.push(cgroupTarget('pods (containers, pause)', 'kubepods', o.kubepodsCgroup));
  }
  return targets;
}

export interface JobMeasured {
  node: JobNode;
  samples: RunSample[];
  jobsPerSecond: number;
  phases: Record<string, number>;
  latencyMs: { 'create→visible': ReturnType<typeof percentiles> };
  writes: JobWriteAccount;
  /** The Job versions the watch saw, by condition: which status writes the Jobs took. */
  versionsByPhase: Record<string, number>;
  cpu: CpuRow[];
  rssMb: { idle: Record<string, number[]>; load: Record<string, number[]> };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Warms up (the node starts `warmup` Jobs' pods first: image and caches warm), samples the
 * processes idle for 3 s, then measures one batch of n Jobs with the Runs' driver.
 */
export async function measureJobs(o: {
  client: KubeClient;
  namespace: string;
  node: JobNode;
  scheduling?: NodeScheduling;
  n: number;
  concurrency: number;
  rate?: number;
  warmup: number;
  prefix: string;
  scrapeRequests: () => Promise<RequestCount[]>;
  diff: (before: RequestCount[], after: RequestCount[]) => RequestCount[];
  targets: ProcessTarget[];
}): Promise<JobMeasured> {
  const watch = new JobWatch(o.client, o.namespace);
  await watch.start();
  const create = (name: string) => o.client.create(jobsPath(o.namespace), jobBody(name, o.node, o.scheduling));
  try {
    await watch.batch(`warm-${o.prefix}`, o.warmup, { concurrency: Math.min(o.concurrency, o.warmup), create });
    const idle0 = snapshot(o.targets);
    await sleep(3000);
    const idle1 = snapshot(o.targets);
    const requestsBefore = await o.scrapeRequests();
    const before = snapshot(o.targets);
    const underLoad: Snapshot[] = [];
    const sampler = setInterval(() => underLoad.push(snapshot(o.targets)), 500);
    const { created, t0 } = await watch
      .batch(o.prefix, o.n, { concurrency: o.concurrency, rate: o.rate, create })
      .finally(() => clearInterval(sampler));
    const after = snapshot(o.targets);
    await sleep(1000);
    const writes = accountJobWrites(o.diff(requestsBefore, await o.scrapeRequests()), o.n);
    const samples = watch.samples(created);
    const phases: Record<string, number> = {};
    for (const s of samples) phases[s.phase ?? 'unknown'] = (phases[s.phase ?? 'unknown'] ?? 0) + 1;
    const lastVisible = Math.max(...samples.map((s) => s.visible ?? 0));
    const cpu = cpuPerRun(before, after, o.n);
    for (const row of cpu) {
      const idle = cpuPerRun(idle0, idle1, 1).find((r) => r.component === row.component);
      if (idle) row.idleCpuMsPerSecond = Math.round((idle.cpuMsPerRun / 3) * 10) / 10;
    }
    return {
      node: o.node,
      samples,
      jobsPerSecond: Math.round((o.n / ((lastVisible - t0) / 1000)) * 10) / 10,
      phases,
      latencyMs: {
        'create→visible': percentiles(samples.filter((s) => s.visible !== undefined).map((s) => s.visible! - s.created)),
      },
      writes,
      versionsByPhase: watch.versionsByPhase(created.keys()),
      cpu,
      rssMb: { idle: rssByComponent([idle1]), load: rssByComponent(underLoad.length ? underLoad : [after]) },
    };
  } finally {
    await watch.stop();
  }
}

/**
 * Deletes every Job of the namespace with its pods (propagationPolicy Background) and waits, up to
 * `timeoutMs`, until no pod is left, so the next measurement does not share the node with their
 * teardown. Returns the pods still there at the deadline.
 */
export async function deleteJobs(client: KubeClient, namespace: string, timeoutMs = 180_000): Promise<number> {
  await client.delete(jobsPath(namespace), { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pods = await client.get<{ items: unknown[] }>(Paths.pods(namespace));
    if (pods.items.length === 0 || Date.now() > deadline) return pods.items.length;
    await sleep(1000);
  }
}
