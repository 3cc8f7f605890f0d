// npm run soak -- [--runs 300] [--seed 1] [--batch 12] [--faults all|safe]
// A seeded random soak on the local cluster: batches of counted Runs (random duration, exit code
// and retry policy) with a random fault injected while each batch is in flight, then the invariant
// report over every Run: terminal, phase never changed after terminal, attempts ≤ maxAttempts,
// executions ≤ attempts, no Run Pending while it could be placed. Exits 1 on a violation.
// Not part of `npm test`: it takes several minutes and disturbs the whole cluster.
// `--faults safe` leaves out the control-plane restarts (apiserver, etcd, operator pods).
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Run } from '../lib/api.ts';
import {
  busiestPod,
  containerPid,
  countingRuntimeYaml,
  killOperator,
  RunLedger,
  restartClusterComponent,
  runtimePods,
  signal,
  waitFreshPool,
  waitOperatorsAvailable,
} from './support/faults.ts';
import { applyYaml, createNamespace, deleteNamespace, kubectl, setupPlatform, waitForRuntimeReady } from './support/platform.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '300' },
    seed: { type: 'string', default: '1' },
    batch: { type: 'string', default: '12' },
    faults: { type: 'string', default: 'all' },
    keep: { type: 'boolean', default: false },
  },
});
const TOTAL = Number(values.runs);
const BATCH = Number(values.batch);
const REPLICAS = 3;
const RUNTIME = 'soak';

/** mulberry32: a small seeded PRNG, so a failing soak can be replayed with its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(Number(values.seed));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];

const { client } = await setupPlatform();
const ns = await createNamespace('krt-soak');
const counterDir = path.join(os.tmpdir(), `krt-${ns}`);
const ledger = new RunLedger({ client, ns, runtime: RUNTIME, counterDir });
await ledger.start();
await applyYaml(ns, countingRuntimeYaml({ name: RUNTIME, counterDir, replicas: REPLICAS, runs: 4 }));
await waitForRuntimeReady(client, ns, RUNTIME);
await waitFreshPool(ns, RUNTIME, REPLICAS);

type Fault = (names: string[]) => Promise<void>;
const onBusiest = (container: string, sig: NodeJS.Signals): Fault => async (names) => {
  const pod = await busiestPod(ledger, names);
  signal(containerPid(pod.metadata!.uid!, container), sig);
};
const faults: Record<string, Fault> = {
  none: async () => {},
  'delete a Runtime Pod': async (names) => {
    const pod = await busiestPod(ledger, names);
    await kubectl(['delete', 'pod', '-n', ns, pod.metadata!.name!, '--grace-period=1', '--wait=false']);
  },
  'SIGKILL runtimed': onBusiest('runtimed', 'SIGKILL'),
  'SIGKILL the Runtime Server': onBusiest('runtime', 'SIGKILL'),
  'SIGSTOP runtimed 35 s': async (names) => {
    const pod = await busiestPod(ledger, names);
    const pid = containerPid(pod.metadata!.uid!, 'runtimed');
    signal(pid, 'SIGSTOP');
    await new Promise((r) => setTimeout(r, 35_000));
    signal(pid, 'SIGCONT');
  },
  'pod dies before claiming': async () => {
    const [victim] = await runtimePods(ns, RUNTIME);
    const pid = containerPid(victim.metadata!.uid!, 'runtimed');
    signal(pid, 'SIGSTOP');
    await new Promise((r) => setTimeout(r, 300));
    await kubectl(['delete', 'pod', '-n', ns, victim.metadata!.name!, '--grace-period=0', '--force', '--wait=false']);
    signal(pid, 'SIGCONT');
  },
};
if (values.faults === 'all') {
  faults['kill the scheduler and the controller'] = async () => {
    await Promise.all([killOperator('scheduler'), killOperator('controller')]);
  };
  faults['restart kube-apiserver'] = () => restartClusterComponent('kube-apiserver');
  faults['restart etcd'] = () => restartClusterComponent('etcd');
}

const injected: Record<string, number> = {};
const all: string[] = [];
const t0 = Date.now();
try {
  for (let launched = 0; launched < TOTAL; launched += BATCH) {
    const n = Math.min(BATCH, TOTAL - launched);
    // Mixed workloads: mostly short successes, some failures that retry, a few longer ones.
    const names: string[] = [];
    for (let i = 0; i < n; i++) {
      const o = {
        sleep: pick([0, 1, 1, 2, 3]),
        maxAttempts: pick([1, 2, 3, 3]),
        backoffSeconds: pick([0, 0, 1]),
        exitCode: random() < 0.15 ? 1 : 0,
      };
      names.push(...(await ledger.launch(`s${launched}`, 1, o)));
    }
    all.push(...names);
    const fault = pick(Object.keys(faults));
    injected[fault] = (injected[fault] ?? 0) + 1;
    console.log(`batch ${launched / BATCH + 1}: ${n} Runs, fault: ${fault}`);
    await faults[fault](names).catch((err: unknown) => console.log(`  fault not injected: ${String(err)}`));
    await ledger.waitTerminal(names, 180_000);
    if (fault.includes('scheduler')) await waitOperatorsAvailable();
    await waitFreshPool(ns, RUNTIME, REPLICAS);
  }
  const final: Map<string, Run> = await ledger.waitTerminal(all, 60_000);
  const violations = ledger.violations(final);
  console.log(`\n${all.length} Runs in ${((Date.now() - t0) / 1000).toFixed(0)} s, seed ${values.seed}`);
  console.log('faults injected:', injected);
  console.log('outcomes (phase/reason attempt execs → Runs):');
  for (const [k, v] of Object.entries(ledger.summary(final)).sort()) console.log(`  ${k}: ${v}`);
  console.log(violations.length ? `VIOLATIONS (${violations.length}):\n  ${violations.join('\n  ')}` : 'invariants: all hold');
  process.exitCode = violations.length ? 1 : 0;
} finally {
  await ledger.stop();
  if (!values.keep) {
    await deleteNamespace(ns);
    ledger.cleanup();
  }
}
