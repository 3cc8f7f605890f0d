// The fault suite: faults injected while Runs are in flight on the local cluster, and the
// invariants every Run must keep checked after each (see docs/reliability.md):
// every Run terminal, its phase never changed after terminal, attempts ≤ maxAttempts, executions
// (counted by the scripts on a hostPath volume) ≤ attempts, no Run Pending while it could be placed.
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { Reason, type Run, RunPhase } from '../../lib/api.ts';
import type { KubeClient } from '../../lib/kube-client.ts';
import {
  busiestPod,
  containerPid,
  countingRuntimeYaml,
  killOperator,
  podGone,
  processAlive,
  RunLedger,
  restartClusterComponent,
  signal,
  waitFreshPool,
  waitOperatorsAvailable,
} from '../support/faults.ts';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  kubectl,
  setupPlatform,
  waitFor,
  waitForRuntimeReady,
  waitForSchedulable,
} from '../support/platform.ts';

const RUNTIME = 'faults';
const REPLICAS = 3;

describe('faults: no Run is lost', function () {
  this.timeout(240_000);
  let client: KubeClient;
  let ns: string;
  let ledger: RunLedger;
  const all = new Map<string, Run>();

  const settle = async (names: string[], timeoutMs = 120_000) => {
    const final = await ledger.waitTerminal(names, timeoutMs);
    for (const [k, v] of final) all.set(k, v);
    assert.deepEqual(ledger.violations(final, { names }), []);
    return final;
  };
  const attempts = (final: Map<string, Run>) => [...final.values()].map((r) => r.status?.attempt ?? 0);
  /** Every Run Succeeded; otherwise the assertion shows how the others ended. */
  const assertAllSucceeded = (final: Map<string, Run>) =>
    assert.deepEqual(
      [...final.values()]
        .filter((r) => r.status?.phase !== RunPhase.Succeeded)
        .map((r) => `${r.metadata.name}: ${r.status?.phase} ${r.status?.reason} attempt ${r.status?.attempt}: ${r.status?.message}`),
      [],
    );
  const healthyPool = async () => {
    await waitForSchedulable(ns, RUNTIME, REPLICAS);
    await waitFreshPool(ns, RUNTIME, REPLICAS);
  };

  before(async () => {
    ({ client } = await setupPlatform());
    ns = await createNamespace('e2e-faults');
    const counterDir = path.join(os.tmpdir(), `krt-${ns}`);
    ledger = new RunLedger({ client, ns, runtime: RUNTIME, counterDir });
    await ledger.start();
    await applyYaml(ns, countingRuntimeYaml({ name: RUNTIME, counterDir, replicas: REPLICAS, runs: 4 }));
    await waitForRuntimeReady(client, ns, RUNTIME);
    await healthyPool();
  });
  after(async () => {
    await ledger?.stop();
    if (ns) await deleteNamespace(ns);
    ledger?.cleanup();
  });

  it('a Runtime Pod deleted mid-Run: its Runs are retried on the other pods and succeed', async () => {
    const names = await ledger.launch('del', 8, { sleep: 4 });
    const pod = await busiestPod(ledger, names);
    await kubectl(['delete', 'pod', '-n', ns, pod.metadata!.name!, '--grace-period=1', '--wait=false']);
    const final = await settle(names);
    assertAllSucceeded(final);
    assert.ok(Math.max(...attempts(final)) >= 2, `some Run was retried: ${attempts(final)}`);
    await podGone(client, ns, pod.metadata!.name!, pod.metadata!.uid!);
    await healthyPool();
  });

  it('runtimed SIGKILLed mid-Run: the restarted runtimed adopts the executions, one attempt each', async () => {
    const names = await ledger.launch('kill-rtd', 8, { sleep: 4 });
    const pod = await busiestPod(ledger, names);
    signal(containerPid(pod.metadata!.uid!, 'runtimed'), 'SIGKILL');
    const final = await settle(names);
    assertAllSucceeded(final);
    assert.deepEqual(new Set(attempts(final)), new Set([1]));
    await healthyPool();
  });

  it('the Runtime Server killed mid-Run: its lost executions are retried and succeed', async () => {
    const names = await ledger.launch('kill-srv', 8, { sleep: 4 });
    const pod = await busiestPod(ledger, names);
    signal(containerPid(pod.metadata!.uid!, 'runtime'), 'SIGKILL');
    const final = await settle(names);
    assertAllSucceeded(final);
    assert.ok(Math.max(...attempts(final)) >= 2, `some Run was retried: ${attempts(final)}`);
    await healthyPool();
  });

  it('runtimed frozen (SIGSTOP) past the heartbeat window: the reaper retries its Runs elsewhere; resumed, it does not overwrite them', async () => {
    const names = await ledger.launch('freeze', 6, { sleep: 3 });
    const pod = await busiestPod(ledger, names);
    const pid = containerPid(pod.metadata!.uid!, 'runtimed');
    const onPod = new Set(
      [...ledger.latest.values()]
        .filter((r) => names.includes(r.metadata.name!) && r.status?.assignedPod === pod.metadata!.name)
        .map((r) => r.metadata.name!),
    );
    signal(pid, 'SIGSTOP');
    try {
      // 30 s without a heartbeat, then the reaper's next sweep.
      await waitFor(
        'the frozen pod\'s Runs retried',
        () =>
          [...onPod].every((n) =>
            (ledger.history.get(n) ?? []).some((h) => h.phase === RunPhase.Pending && h.reason === Reason.RetryBackoff),
          ),
        { timeoutMs: 60_000, intervalMs: 500 },
      );
    } finally {
      signal(pid, 'SIGCONT');
    }
    const final = await settle(names);
    assertAllSucceeded(final);
    for (const n of onPod) {
      const run = final.get(n)!;
      assert.notEqual(run.status?.assignedPod, pod.metadata!.name, `${n} finished on another pod`);
      assert.match(
        (ledger.history.get(n) ?? []).find((h) => h.reason === Reason.RetryBackoff)!.message!,
        /PodUnhealthy: runtimed on Runtime Pod .* has not reported a heartbeat for more than 30s/,
      );
    }
    await healthyPool();
  });

  it('the scheduler and the controller killed: their replacements resume from the API state alone', async () => {
    const first = await ledger.launch('op', 6, { sleep: 1 });
    await Promise.all([killOperator('scheduler'), killOperator('controller')]);
    const more = await ledger.launch('op', 6, { sleep: 1 });
    const final = await settle([...first, ...more], 150_000);
    assertAllSucceeded(final);
    assert.deepEqual(new Set(attempts(final)), new Set([1]));
    await waitOperatorsAvailable();
  });

  it('kube-apiserver restarted with Runs in flight: every Run finishes once', async () => {
    const names = await ledger.launch('apiserver', 8, { sleep: 3 });
    await busiestPod(ledger, names);
    await restartClusterComponent('kube-apiserver');
    const final = await settle(names);
    assertAllSucceeded(final);
    await healthyPool();
  });

  it('etcd restarted with Runs in flight: every Run finishes once', async () => {
    const names = await ledger.launch('etcd', 8, { sleep: 3 });
    await busiestPod(ledger, names);
    await restartClusterComponent('etcd');
    const final = await settle(names);
    assertAllSucceeded(final);
    await healthyPool();
  });

  it('a pod that dies after being assigned but before claiming: its Runs are rescheduled without spending an attempt', async () => {
    const [victim] = await waitFreshPool(ns, RUNTIME, REPLICAS);
    const pid = containerPid(victim.metadata!.uid!, 'runtimed');
    signal(pid, 'SIGSTOP'); // assigned Runs stay Scheduled: nobody claims them
    let names: string[] = [];
    try {
      names = await ledger.launch('unclaimed', 9, { sleep: 1 });
      await waitFor(
        'a Run Scheduled on the frozen pod',
        () =>
          names.some((n) => {
            const s = ledger.latest.get(n)?.status;
            return s?.phase === RunPhase.Scheduled && s.assignedPod === victim.metadata!.name;
          }),
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      await kubectl(['delete', 'pod', '-n', ns, victim.metadata!.name!, '--grace-period=0', '--force', '--wait=false']);
      // Still frozen until the node kills it: resumed earlier, runtimed could claim a Run in the
      // moment before its SIGKILL, and that Run would rightly spend an attempt.
      await waitFor('the frozen runtimed killed with its pod', () => !processAlive(pid), { timeoutMs: 30_000, intervalMs: 100 });
    } finally {
      signal(pid, 'SIGCONT'); // only matters if the wait above failed
    }
    const final = await settle(names);
    assertAllSucceeded(final);
    assert.deepEqual(new Set(attempts(final)), new Set([1]));
    const rescheduled = names.filter((n) =>
      (ledger.history.get(n) ?? []).some((h) => /before it started the Run; rescheduling/.test(h.message ?? '')),
    );
    assert.ok(rescheduled.length > 0, 'some Run was rescheduled by the reaper');
    await healthyPool();
  });

  it('over the whole suite: every invariant holds for every Run', () => {
    assert.ok(all.size >= 60, `${all.size} Runs`);
    assert.deepEqual(ledger.violations(all), []);
    const execs = ledger.executions();
    const total = [...execs.values()].reduce((a, b) => a + b, 0);
    const attemptsTotal = [...all.values()].reduce((a, r) => a + (r.status?.attempt ?? 0), 0);
    assert.ok(total <= attemptsTotal, `${total} executions for ${attemptsTotal} attempts`);
    console.log(`      ${all.size} Runs: ${JSON.stringify(ledger.summary(all))}`);
  });
});
