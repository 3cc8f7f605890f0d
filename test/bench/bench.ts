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
// terminal phase: what a user waiting on the Run sees, including the status write's queue.
import { parseArgs } from 'node:util';
import { isTerminal, type Run } from '../../lib/api.ts';
import { createInformer } from '../../lib/informer.ts';
import { Paths } from '../../lib/kube-client.ts';
import { KubeClient, loadKubeConfig } from '../../lib/kube-client.ts';
import { clusterPaths } from '../cluster/config.ts';
import {
  applyYaml,
  kubectl,
  setupPlatform,
  waitForRuntimeReady,
  waitForSchedulable,
} from '../support/platform.ts';
import { installOnRealNode, REAL_NODE_BASH_IMAGE, realNodeTemplateSpec, uninstallFromRealNode } from '../support/real-node-platform.ts';
import { benchWorkflows } from './workflow-bench.ts';
import { percentile as pct } from './workflow-stats.ts';

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
  },
});
const REAL = values['real-node']!;
const N = Number(values.runs);
const C = Number(values.concurrency);
const PODS = Number(values.pods);
const SLOTS = Number(values.slots);
const ns = values.namespace!;
/** Runs per second of a steady load; unset: create as fast as C concurrent creators can. */
const RATE = values.rate === undefined ? undefined : Number(values.rate);
if (RATE !== undefined && !(RATE > 0)) throw new Error('--rate must be a positive number of Runs per second');
const REPEAT = Number(values.repeat);
if (!Number.isInteger(REPEAT) || REPEAT < 1) throw new Error('--repeat must be a whole number of at least 1');

let client: KubeClient;
if (REAL) {
  process.env.KUBECONFIG = clusterPaths().kubeconfig;
  // CPU requests put the platform in the Burstable QoS class: a BestEffort pod's cgroup gets
  // cpu.shares 2, which starves it on a busy machine (the process agent applies no cgroups).
  await installOnRealNode({
    values: { scheduler: { resources: { requests: { cpu: '100m' } } }, controller: { resources: { requests: { cpu: '100m' } } } },
  });
  client = await KubeClient.create(loadKubeConfig({ kubeconfig: clusterPaths().kubeconfig }));
} else ({ client } = await setupPlatform());
await kubectl(['create', 'namespace', ns], { check: false });
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
await waitForSchedulable(ns, 'bench', PODS);
await kubectl(['delete', 'workflows', '--all', '-n', ns, '--wait=true']);
await kubectl(['delete', 'runs', '--all', '-n', ns, '--wait=true']);

const done = new Map<string, Run>();
/** When this process's watch delivered each Run's terminal phase (ms since the epoch). */
const visible = new Map<string, number>();
const waiters = new Map<string, () => void>();
const informer = createInformer<Run>({ client, path: Paths.runs(ns) });
const onRun = (r: Run) => {
  if (!isTerminal(r.status?.phase)) return;
  if (!visible.has(r.metadata.name!)) visible.set(r.metadata.name!, Date.now());
  done.set(r.metadata.name!, r);
  waiters.get(r.metadata.name!)?.();
};
informer.on('add', onRun);
informer.on('update', onRun);
await informer.start();

const body = (name: string) => ({
  apiVersion: 'kruntimes.io/v1alpha1',
  kind: 'Run',
  metadata: { name },
  spec: { runtime: 'bench', entrypoint: 'script', source: { inline: 'echo hi\n' } },
});

async function batch(prefix: string, n: number, concurrency: number) {
  const created = new Map<string, number>();
  const finished: Array<Promise<void>> = [];
  let next = 0;
  const t0 = Date.now();
  const worker = async () => {
    while (next < n) {
      const name = `${prefix}-${next++}`;
      finished.push(
        new Promise<void>((resolve) => {
          if (done.has(name)) resolve();
          else waiters.set(name, resolve);
        }),
      );
      created.set(name, Date.now());
      await client.create(Paths.runs(ns), body(name));
    }
  };
  const paced = async () => {
    // Open loop: each create starts on its own schedule, whether or not earlier ones finished.
    const creates: Array<Promise<unknown>> = [];
    for (let i = 0; i < n; i++) {
      const at = t0 + (i * 1000) / RATE!;
      if (at > Date.now()) await new Promise((r) => setTimeout(r, at - Date.now()));
      const name = `${prefix}-${i}`;
      finished.push(new Promise<void>((resolve) => (done.has(name) ? resolve() : waiters.set(name, resolve))));
      created.set(name, Date.now());
      creates.push(client.create(Paths.runs(ns), body(name)));
    }
    await Promise.all(creates);
  };
  if (RATE === undefined) await Promise.all(Array.from({ length: concurrency }, worker));
  else await paced();
  await Promise.all(finished);
  return { created, t0, t1: Date.now() };
}

const run0 = Date.now().toString(36);
await batch(`warm-${run0}`, Number(values.warmup), Math.min(C, Number(values.warmup)));
if (values.workflow) {
  await benchWorkflows({ client, namespace: ns, runtime: 'bench', repeat: REPEAT });
  await informer.stop();
  await kubectl(['delete', 'workflows', '--all', '-n', ns, '--wait=false'], { check: false });
  await kubectl(['delete', 'runs', '--all', '-n', ns, '--wait=false'], { check: false });
  if (REAL) await uninstallFromRealNode();
  process.exit(0);
}
const { created, t0 } = await batch(`bench-${run0}`, N, C);
const since = (name: string, field: 'scheduledTime' | 'startTime' | 'completionTime') =>
  new Date(done.get(name)!.status![field]!).getTime() - created.get(name)!;
const names = [...created.keys()];
const phases = new Map<string, number>();
for (const n of names)
  phases.set(done.get(n)!.status!.phase!, (phases.get(done.get(n)!.status!.phase!) ?? 0) + 1);
const lastCompletion = Math.max(
  ...names.map((n) => new Date(done.get(n)!.status!.completionTime!).getTime()),
);
const series = {
  'create→scheduled': names.map((n) => since(n, 'scheduledTime')),
  'create→running': names.map((n) => since(n, 'startTime')),
  'create→completed': names.map((n) => since(n, 'completionTime')),
  'create→visible': names.map((n) => visible.get(n)! - created.get(n)!),
};
const result = {
  node: REAL ? 'real (kubelet, containerd, runc)' : 'process agent',
  runs: N,
  concurrency: C,
  ...(RATE !== undefined ? { offeredRunsPerSecond: RATE } : {}),
  pods: PODS,
  slotsPerPod: SLOTS,
  phases: Object.fromEntries(phases),
  runsPerSecond: Number((N / ((lastCompletion - t0) / 1000)).toFixed(1)),
  latencyMs: Object.fromEntries(
    Object.entries(series).map(([k, xs]) => [
      k,
      { p50: pct(xs, 50), p95: pct(xs, 95), p99: pct(xs, 99), max: Math.max(...xs) },
    ]),
  ),
};
console.log(JSON.stringify(result, null, 2));
console.log('');
console.log('| interval | p50 ms | p95 ms | p99 ms | max ms |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [k, v] of Object.entries(result.latencyMs))
  console.log(`| ${k} | ${v.p50} | ${v.p95} | ${v.p99} | ${v.max} |`);
console.log(
  `\n${N} Runs, ${RATE === undefined ? `concurrency ${C}` : `offered at ${RATE} Runs/s`}, ${PODS} pods × ${SLOTS} slots: ${result.runsPerSecond} Runs/s`,
);
await informer.stop();
await kubectl(['delete', 'runs', '--all', '-n', ns, '--wait=false'], { check: false });
if (REAL) {
  await kubectl(['delete', 'namespace', ns, '--wait=true'], { check: false });
  await uninstallFromRealNode();
}
process.exit(0);
