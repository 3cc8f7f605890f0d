// npm run bench -- [--runs 50] [--concurrency 25] [--pods 2] [--slots 64] [--warmup 10] [--rate R]
// Creates N trivial Runs with concurrency C on a bash Runtime of P pods × S slots (or, with
// --rate, one every 1/R s: a steady load instead of a burst), and reports
// percentiles of create→scheduled, create→running and create→completed from the Runs' status
// timestamps (microsecond strings written by the scheduler and runtimed), plus Runs/s.
// npm run bench -- --workflow [--repeat 1]: after the warm-up, a 20-task chain and a 50-task
// fan-out/fan-in Workflow instead (workflow-bench.ts).
// npm run bench -- --real-node [...]: the same on the real node (krt-real-0): the platform installed
// with `kubectl krt install` and the built images, the bench Runtime's pods scheduled there; the
// platform is uninstalled at the end (test/support/real-node-platform.ts).
// create→visible is from the create call to the moment this process's watch delivered the
// terminal phase: what a user waiting on the Run sees, including the status write's queue. Runs/s
// is N over the time from the first create to the last visible completion (the stamped figure
// beside it ends at the last completionTime instead).
// npm run bench -- --compare-floor [...]: then the floor (floor.ts: the same writes on the same CRD
// with nothing of ours running) at the same concurrency or rate, and our throughput as a ratio of
// its; --floor: the floor alone.
// npm run bench -- --compare-job [--job-node real|agent] [...]: then a Kubernetes Job running the same
// script (job-bench.ts) with the same driver, create→visible Complete from a watch on Jobs, on the
// real node (a kubelet with containerd, which must be up) or the process agent; --job: the Job alone.
// Also reported: writes per Run counted by the apiserver (apiserver-requests.ts), CPU ms per Run and
// RSS idle and under load of each process (process-usage.ts), and the load average.
// --out DIR: runs.csv (and floor-runs.csv), cdf.svg and report.json (report-files.ts).
// npm run bench -- --scale-queue 10000 [--pods 2 --slots 64 --concurrency 25]: that many trivial
// Runs queued behind the full Runtime, the scheduler's RSS sampled every second while it drains;
// npm run bench -- --scale-pods 20x64 --in-flight 1000 [--sleep 60]: that many sleeping Runs in
// flight at once on 20 pods × 64 slots (scale-bench.ts; with --out, scale-*.csv, .svg and .json).
import { parseArgs } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeClient, Paths } from '../../lib/kube-client.ts';
import { loadKubeConfig } from '../../lib/kubeconfig.ts';
import { clusterPaths } from '../cluster/config.ts';
import {
  applyYaml,
  kubectl,
  setupPlatform,
  waitFor,
  waitForRuntimeReady,
  waitForSchedulable,
} from '../support/platform.ts';
import { installOnRealNode, REAL_NODE_BASH_IMAGE, realNodeTemplateSpec, uninstallFromRealNode } from '../support/real-node-platform.ts';
import { accountWrites, diffCounts, parseRequestCounts, type WriteAccount } from './apiserver-requests.ts';
import { floorCreator, PLATFORM_NAMESPACE, quiescePlatform } from './floor.ts';
import {
  type CpuRow,
  cpuPerRun,
  discoverTargets,
  type PodInfo,
  type ProcessTarget,
  rssByComponent,
  type Snapshot,
  snapshot,
} from './process-usage.ts';
import { cdfSvg, type RunSample, samplesCsv } from './report-files.ts';
import { RunWatch } from './run-batch.ts';
import { parsePodsBySlots } from './scale.ts';
import { benchScalePods, benchScaleQueue } from './scale-bench.ts';
import { deleteJobs, type JobMeasured, JobNode, jobTargets, measureJobs } from './job-bench.ts';
import { joinPaths, REAL_NODE } from '../cluster/real-node/join.ts';
import { REAL_NODE_SCHEDULING } from '../support/real-node-platform.ts';
import { benchWorkflows } from './workflow-bench.ts';
import { percentiles } from './workflow-stats.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '25' },
    pods: { type: 'string', default: '2' },
    slots: { type: 'string', default: '64' },
    warmup: { type: 'string', default: '10' },
    rate: { type: 'string' },
    namespace: { type: 'string', default: 'krt-bench' },
    workflow: { type: 'boolean', default: false },
    repeat: { type: 'string', default: '1' },
    'real-node': { type: 'boolean', default: false },
    floor: { type: 'boolean', default: false },
    'compare-floor': { type: 'boolean', default: false },
    job: { type: 'boolean', default: false },
    'compare-job': { type: 'boolean', default: false },
    'job-node': { type: 'string', default: JobNode.real },
    out: { type: 'string' },
    'scale-queue': { type: 'string' },
    'scale-pods': { type: 'string' },
    'in-flight': { type: 'string', default: '1000' },
    sleep: { type: 'string', default: '60' },
  },
});
const REAL = values['real-node']!;
const N = Number(values.runs);
const C = Number(values.concurrency);
const SCALE_PODS = values['scale-pods'] === undefined ? undefined : parsePodsBySlots(values['scale-pods']);
const PODS = SCALE_PODS?.pods ?? Number(values.pods);
const SLOTS = SCALE_PODS?.slots ?? Number(values.slots);
const ns = values.namespace!;
/** Runs per second of a steady load; unset: create as fast as C concurrent creators can. */
const RATE = values.rate === undefined ? undefined : Number(values.rate);
if (RATE !== undefined && !(RATE > 0)) throw new Error('--rate must be a positive number of Runs per second');
const REPEAT = Number(values.repeat);
if (!Number.isInteger(REPEAT) || REPEAT < 1) throw new Error('--repeat must be a whole number of at least 1');
/** Measure our platform; the floor; both. */
const OURS = !values.floor && !values.job;
/** Measure a Kubernetes Job running the same script, and on which node. */
const JOB = values.job! || values['compare-job']!;
const JOB_NODE = values['job-node'] as JobNode;
if (!Object.values(JobNode).includes(JOB_NODE)) throw new Error(`--job-node must be one of ${Object.values(JobNode).join(', ')}`);
const FLOOR = values.floor! || values['compare-floor']!;
const OUT = values.out;
const loadAtStart = os.loadavg();

let client: KubeClient;
if (REAL) {
  process.env.KUBECONFIG = clusterPaths().kubeconfig;
  // CPU requests put the platform in the Burstable QoS class: a BestEffort pod's cgroup gets
  // cpu.shares 2, which starves it on a busy machine (the process agent applies no cgroups).
  await installOnRealNode({
    values: { scheduler: { resources: { requests: { cpu: '100m' } } }, controller: { resources: { requests: { cpu: '100m' } } } },
  });
  client = await KubeClient.fromKubeConfig(loadKubeConfig({ kubeconfig: clusterPaths().kubeconfig }));
} else ({ client } = await setupPlatform());
await kubectl(['create', 'namespace', ns], { check: false });
// A bench Runtime left by an earlier run (the other node kind, other replicas) would be rolled to
// this one's template while the measurement runs, its pods deleted under the Runs: start from none.
await kubectl(['delete', 'runtime', 'bench', '-n', ns, '--ignore-not-found', '--wait=true']);
await waitFor(
  'the bench Runtime Pods of an earlier run gone',
  async () => (await kubectl(['get', 'pods', '-n', ns, '-l', 'runtime=bench', '-o', 'name'])).stdout.trim() === '' || undefined,
  { timeoutMs: 120_000, intervalMs: 250 },
);
await applyYaml(
  ns,
  `apiVersion: kruntimes.io/v1alpha1
kind: Runtime
metadata: {name: bench}
spec:
  replicas: ${PODS}
  capacity: {resources: {runs: ${SLOTS}}}
  runtimed: {resources: {requests: {cpu: 200m}}}
  template:
    spec:
${REAL ? `${realNodeTemplateSpec('      ')}\n` : ''}      containers:
      - name: runtime
        image: ${REAL_NODE_BASH_IMAGE}
        resources: {requests: {cpu: 200m}}
        ports: [{containerPort: 19091}]
`,
);
await waitForRuntimeReady(client, ns, 'bench');
// Many pods start one after the other on this machine: give them time.
await waitForSchedulable(ns, 'bench', PODS, Math.max(120_000, PODS * 20_000));
await kubectl(['delete', 'workflows', '--all', '-n', ns, '--wait=true']);
await kubectl(['delete', 'runs', '--all', '-n', ns, '--wait=true']);

const body = (name: string) => ({
  apiVersion: 'kruntimes.io/v1alpha1',
  kind: 'Run',
  metadata: { name },
  spec: { runtime: 'bench', entrypoint: 'script', source: { inline: 'echo hi\n' } },
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const run0 = Date.now().toString(36);
const WARMUP = Number(values.warmup);
const runs = new RunWatch(client, ns);
await runs.start();
const create = (name: string) => client.create(Paths.runs(ns), body(name));

if (values.workflow) {
  await runs.batch(`warm-${run0}`, WARMUP, { concurrency: Math.min(C, WARMUP), create });
  await benchWorkflows({ client, namespace: ns, runtime: 'bench', repeat: REPEAT });
  await runs.stop();
  await kubectl(['delete', 'workflows', '--all', '-n', ns, '--wait=false'], { check: false });
  await kubectl(['delete', 'runs', '--all', '-n', ns, '--wait=false'], { check: false });
  if (REAL) await uninstallFromRealNode();
  process.exit(0);
}

const scrapeRequests = async () => parseRequestCounts((await kubectl(['get', '--raw', '/metrics'])).stdout);
const podList = async () =>
  (JSON.parse((await kubectl(['get', 'pods', '-A', '-o', 'json'])).stdout) as { items: PodInfo[] }).items;
const targetsOf = (pods: readonly PodInfo[]) =>
  discoverTargets(pods, {
    podsRoot: clusterPaths().pods,
    runDir: clusterPaths().run,
    cgroupRoot: '/sys/fs/cgroup/cpuacct/krt-real',
    platformNamespace: PLATFORM_NAMESPACE,
    benchNamespace: ns,
  });
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

if (values['scale-queue'] !== undefined || SCALE_PODS) {
  const ctx = { client, namespace: ns, runtime: 'bench', watch: runs, concurrency: C, pods: PODS, slots: SLOTS, out: OUT };
  await runs.batch(`warm-${run0}`, WARMUP, { concurrency: Math.min(C, WARMUP), create });
  // Settled after the warm-up, so the idle figures are idle.
  await sleep(3000);
  const targets = targetsOf(await podList());
  if (values['scale-queue'] !== undefined) await benchScaleQueue({ ...ctx, targets }, Number(values['scale-queue']));
  else await benchScalePods({ ...ctx, targets }, Number(values['in-flight']), Number(values.sleep));
  await runs.stop();
  await kubectl(['delete', 'runs', '--all', '-n', ns, '--wait=false'], { check: false });
  // Twenty Runtime Pods are heavy on this machine: back to the default bench Runtime at once.
  if (SCALE_PODS) await kubectl(['patch', 'runtime', 'bench', '-n', ns, '--type=merge', '-p', '{"spec":{"replicas":2}}'], { check: false });
  if (REAL) await uninstallFromRealNode();
  process.exit(0);
}

interface Measured {
  samples: RunSample[];
  runsPerSecond: number;
  runsPerSecondStamped?: number;
  phases: Record<string, number>;
  latencyMs: Record<string, ReturnType<typeof percentiles>>;
  writes: WriteAccount;
  /** The Run versions the watch saw, by phase (reason): which status writes the Runs took. */
  versionsByPhase: Record<string, number>;
  cpu: CpuRow[];
  rssMb?: { idle: Record<string, number[]>; load: Record<string, number[]> };
}

/**
 * Warms up, samples the processes idle for 3 s, then measures one batch: latencies from the watch,
 * writes from the apiserver's metrics, CPU and RSS from /proc (or the real node's cgroups).
 */
async function measure(
  watch: RunWatch,
  prefix: string,
  createRun: (name: string) => Promise<unknown>,
  targets: ProcessTarget[],
): Promise<Measured> {
  await watch.batch(`warm-${prefix}`, WARMUP, { concurrency: Math.min(C, WARMUP), create: createRun });
  const idle0 = snapshot(targets);
  await sleep(3000);
  const idle1 = snapshot(targets);
  const requestsBefore = await scrapeRequests();
  const before = snapshot(targets);
  const underLoad: Snapshot[] = [];
  const sampler = setInterval(() => underLoad.push(snapshot(targets)), 500);
  const { created, t0 } = await watch
    .batch(prefix, N, { concurrency: C, rate: RATE, create: createRun })
    .finally(() => clearInterval(sampler));
  const after = snapshot(targets);
  // A write's counter moves as its handler returns, which may be just after the watch event.
  await sleep(1000);
  const writes = accountWrites(diffCounts(requestsBefore, await scrapeRequests()), N, watch.versionsSeen(created.keys()));
  const samples = watch.samples(created);
  const phases: Record<string, number> = {};
  for (const s of samples) phases[s.phase ?? 'unknown'] = (phases[s.phase ?? 'unknown'] ?? 0) + 1;
  const since = (k: 'scheduled' | 'running' | 'completed' | 'visible') =>
    samples.filter((s) => s[k] !== undefined).map((s) => s[k]! - s.created);
  const lastVisible = Math.max(...samples.map((s) => s.visible ?? 0));
  const lastCompleted = Math.max(...samples.map((s) => s.completed ?? 0));
  const cpu = cpuPerRun(before, after, N);
  const idleSeconds = 3;
  for (const row of cpu) {
    const idle = cpuPerRun(idle0, idle1, 1).find((r) => r.component === row.component);
    if (idle) row.idleCpuMsPerSecond = round(idle.cpuMsPerRun / idleSeconds);
  }
  return {
    samples,
    runsPerSecond: round(N / ((lastVisible - t0) / 1000)),
    runsPerSecondStamped: round(N / ((lastCompleted - t0) / 1000)),
    phases,
    latencyMs: Object.fromEntries(
      (
        [
          ['create→scheduled', since('scheduled')],
          ['create→running', since('running')],
          ['create→completed (stamped)', since('completed')],
          ['create→visible', since('visible')],
        ] as const
      ).map(([k, xs]) => [k, percentiles(xs)]),
    ),
    writes,
    versionsByPhase: watch.versionsByPhase(created.keys()),
    cpu,
    rssMb: { idle: rssByComponent([idle1]), load: rssByComponent(underLoad.length ? underLoad : [after]) },
  };
}

const pods = await podList();
let ours: Measured | undefined;
if (OURS) ours = await measure(runs, `bench-${run0}`, create, targetsOf(pods));
await runs.stop();

let floor: Measured | undefined;
if (FLOOR) {
  const floorNs = `${ns}-floor`;
  await kubectl(['create', 'namespace', floorNs], { check: false });
  await kubectl(['delete', 'runs', '--all', '-n', floorNs, '--wait=true']);
  const pod = pods.find((p) => p.metadata.namespace === ns && p.metadata.name?.startsWith('runtime-bench'));
  const assigned = { name: pod?.metadata.name ?? 'runtime-bench-0000000000-00000', uid: pod?.metadata.uid ?? crypto.randomUUID() };
  // Only the apiserver and etcd are left to measure: our components are stopped or not involved.
  const targets = targetsOf([]);
  const restore = await quiescePlatform();
  const floorRuns = new RunWatch(client, floorNs);
  try {
    await floorRuns.start();
    const creator = floorCreator(client, floorNs, body, assigned, PODS * SLOTS);
    floor = await measure(floorRuns, `floor-${run0}`, creator.create, targets);
    if (creator.errors.length) console.error(`floor: ${creator.errors.length} status writes failed, e.g. ${String(creator.errors[0])}`);
  } finally {
    await floorRuns.stop();
    await restore();
    await kubectl(['delete', 'namespace', floorNs, '--wait=false'], { check: false });
  }
}

let job: JobMeasured | undefined;
if (JOB) {
  const jobNs = `${ns}-job`;
  if (JOB_NODE === JobNode.real) {
    const ready = await kubectl(['get', 'node', REAL_NODE.name, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'], { check: false });
    if (ready.stdout.trim() !== 'True')
      throw new Error(`--job-node real needs ${REAL_NODE.name} Ready: npx node test/cluster/real-node/node.ts up (under the cluster lock)`);
  }
  await kubectl(['create', 'namespace', jobNs], { check: false });
  await deleteJobs(client, jobNs);
  try {
    job = await measureJobs({
      client,
      namespace: jobNs,
      node: JOB_NODE,
      scheduling: REAL_NODE_SCHEDULING,
      n: N,
      concurrency: C,
      rate: RATE,
      warmup: WARMUP,
      prefix: `job-${run0}`,
      scrapeRequests,
      diff: diffCounts,
      targets: jobTargets(JOB_NODE, {
        runDir: clusterPaths().run,
        realNodePidsFile: joinPaths().pids,
        kubepodsCgroup: `/sys/fs/cgroup/cpuacct${REAL_NODE.cgroupRoot}/kubepods`,
      }),
    });
  } finally {
    const left = await deleteJobs(client, jobNs);
    if (left) console.error(`job: ${left} pods still terminating in ${jobNs}`);
  }
}

const result = {
  node: REAL ? 'real (kubelet, containerd, runc)' : 'process agent',
  runs: N,
  concurrency: C,
  ...(RATE !== undefined ? { offeredRunsPerSecond: RATE } : {}),
  pods: PODS,
  slotsPerPod: SLOTS,
  loadAverage: { atStart: loadAtStart.map((x) => round(x, 2)), atEnd: os.loadavg().map((x) => round(x, 2)) },
  ...(ours ? { ours: { ...ours, samples: undefined } } : {}),
  ...(floor ? { floor: { ...floor, samples: undefined, rssMb: undefined } } : {}),
  ...(ours && floor ? { throughputRatioToFloor: round(ours.runsPerSecond / floor.runsPerSecond, 2) } : {}),
  ...(job ? { job: { ...job, samples: undefined } } : {}),
  ...(ours && job ? { throughputRatioToJob: round(ours.runsPerSecond / job.jobsPerSecond, 2) } : {}),
};
console.log(JSON.stringify(result, null, 2));

const table = (title: string, m: Measured) => {
  console.log(`\n${title}: ${m.runsPerSecond} Runs/s visible (${m.runsPerSecondStamped} by completionTime)`);
  console.log('| interval | p50 ms | p95 ms | p99 ms | max ms |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [k, v] of Object.entries(m.latencyMs)) console.log(`| ${k} | ${v.p50} | ${v.p95} | ${v.p99} | ${v.max} |`);
  const w = m.writes;
  console.log(
    `\nwrites per Run (apiserver_request_total, runs): ${w.writesPerRun} (${w.successfulWritesPerRun} successful, ${w.failedWrites} refused in all, ${w.noOpWrites ?? '?'} no-op); pods/status per Run: ${w.podStatusWritesPerRun}`,
  );
  console.log(
    `versions seen on the watch, by phase (reason): ${Object.entries(m.versionsByPhase)
      .map(([k, n]) => `${k} ${round(n / N, 2)}`)
      .join(', ')} per Run`,
  );
  console.log('| resource | subresource | verb | code | count | per Run |');
  console.log('| --- | --- | --- | --- | ---: | ---: |');
  for (const r of w.rows)
    console.log(`| ${r.resource} | ${r.subresource} | ${r.verb} | ${r.code} | ${r.count} | ${round(r.count / N, 2)} |`);
  console.log('\n| process | instances | CPU ms per Run | idle CPU ms/s | RSS MB idle | RSS MB under load |');
  console.log('| --- | ---: | ---: | ---: | --- | --- |');
  for (const c of m.cpu)
    console.log(
      `| ${c.component} | ${c.instances} | ${c.cpuMsPerRun} | ${c.idleCpuMsPerSecond ?? ''} | ${m.rssMb?.idle[c.component]?.join(', ') ?? ''} | ${m.rssMb?.load[c.component]?.join(', ') ?? ''} |`,
    );
  const mine = m.cpu.filter((c) => !['kube-apiserver', 'etcd'].includes(c.component));
  if (mine.length) console.log(`our components together: ${round(mine.reduce((s, c) => s + c.cpuMsPerRun, 0), 2)} CPU ms per Run`);
};
if (ours) table('ours', ours);
if (floor) table('floor (apiserver and etcd alone)', floor);
if (job) {
  console.log(`\nKubernetes Job (${job.node === JobNode.real ? 'real node: kubelet, containerd, runc' : 'process agent'}): ${job.jobsPerSecond} Jobs/s visible; ${JSON.stringify(job.phases)}`);
  console.log('| interval | p50 ms | p95 ms | p99 ms | max ms |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [k, v] of Object.entries(job.latencyMs)) console.log(`| ${k} (Complete) | ${v.p50} | ${v.p95} | ${v.p99} | ${v.max} |`);
  console.log(
    `\nwrites per Job (apiserver_request_total: jobs, pods, events): ${job.writes.writesPerJob} (${job.writes.failedWrites} refused in all): ${Object.entries(job.writes.perJob)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
  );
  console.log(
    `Job versions seen on the watch: ${Object.entries(job.versionsByPhase)
      .map(([k, n]) => `${k} ${round(n / N, 2)}`)
      .join(', ')} per Job`,
  );
  console.log('\n| process | instances | CPU ms per Job | idle CPU ms/s | RSS MB idle | RSS MB under load |');
  console.log('| --- | ---: | ---: | ---: | --- | --- |');
  for (const c of job.cpu)
    console.log(
      `| ${c.component} | ${c.instances} | ${c.cpuMsPerRun} | ${c.idleCpuMsPerSecond ?? ''} | ${job.rssMb.idle[c.component]?.join(', ') ?? ''} | ${job.rssMb.load[c.component]?.join(', ') ?? ''} |`,
    );
}
console.log(
  `\n${N} Runs, ${RATE === undefined ? `concurrency ${C}` : `offered at ${RATE} Runs/s`}, ${PODS} pods × ${SLOTS} slots` +
    (ours && floor ? `: ours ${ours.runsPerSecond} Runs/s = ${result.throughputRatioToFloor}× the floor's ${floor.runsPerSecond}` : '') +
    (job ? `; Job ${job.jobsPerSecond}/s, create→visible Complete p50 ${job.latencyMs['create→visible'].p50} ms` : '') +
    `; load average ${result.loadAverage.atStart.join(' ')} → ${result.loadAverage.atEnd.join(' ')}`,
);

if (OUT) {
  fs.mkdirSync(OUT, { recursive: true });
  if (ours) fs.writeFileSync(path.join(OUT, 'runs.csv'), samplesCsv(ours.samples));
  if (floor) fs.writeFileSync(path.join(OUT, 'floor-runs.csv'), samplesCsv(floor.samples));
  if (job) fs.writeFileSync(path.join(OUT, 'job-runs.csv'), samplesCsv(job.samples));
  const visibleOf = (m: Measured) => m.samples.filter((s) => s.visible !== undefined).map((s) => s.visible! - s.created);
  fs.writeFileSync(
    path.join(OUT, 'cdf.svg'),
    cdfSvg(
      [
        ...(ours
          ? [
              { label: 'ours: create→visible', values: visibleOf(ours) },
              {
                label: 'ours: create→completionTime (stamped)',
                values: ours.samples.filter((s) => s.completed !== undefined).map((s) => s.completed! - s.created),
              },
            ]
          : []),
        ...(floor ? [{ label: 'floor: create→visible', values: visibleOf(floor) }] : []),
        ...(job
          ? [{ label: `Kubernetes Job (${job.node} node): create→visible Complete`, values: job.samples.filter((s) => s.visible !== undefined).map((s) => s.visible! - s.created) }]
          : []),
      ],
      `${N} Runs, ${RATE === undefined ? `${C} creators` : `${RATE} Runs/s`}, load average ${result.loadAverage.atStart[0]}`,
    ),
  );
  fs.writeFileSync(path.join(OUT, 'report.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${OUT}/{${[ours && 'runs.csv', floor && 'floor-runs.csv', job && 'job-runs.csv', 'cdf.svg', 'report.json'].filter(Boolean).join(',')}}`);
}

await kubectl(['delete', 'runs', '--all', '-n', ns, '--wait=false'], { check: false });
if (REAL) {
  await kubectl(['delete', 'namespace', ns, '--wait=true'], { check: false });
  await uninstallFromRealNode();
}
process.exit(0);
