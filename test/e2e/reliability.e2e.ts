// Run reliability semantics end to end: retries with backoff (and the Events they leave), a timeout
// per attempt, cancellation in Pending, Running, during a backoff and racing completion,
// ttlSecondsAfterFinished, and the Prometheus metrics of the operator and runtimed.
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { Reason, type Run, RunPhase } from '../../lib/api.ts';
import { isNotFound, type KubeClient, Paths } from '../../lib/kube-client.ts';
import { countingRuntimeYaml, RunLedger } from '../support/faults.ts';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  kubectl,
  PLATFORM_NAMESPACE,
  setupPlatform,
  waitFor,
  waitForRun,
  waitForRuntimeReady,
  waitForSchedulable,
} from '../support/platform.ts';

const RUNTIME = 'rel';

describe('reliability: retries, timeouts, cancellation, TTL, Events, metrics', function () {
  this.timeout(240_000);
  let client: KubeClient;
  let ns: string;
  let ledger: RunLedger;

  const create = (name: string, script: string, spec: Record<string, unknown> = {}) =>
    client.create<Run>(Paths.runs(ns), {
      apiVersion: 'kruntimes.io/v1alpha1',
      kind: 'Run',
      metadata: { name },
      spec: { runtime: RUNTIME, entrypoint: 'script', source: { inline: `${script}\n` }, ...spec },
    });
  const cancel = (name: string) =>
    client.mergePatch(Paths.run(ns, name), { spec: { cancelRequested: true } });
  const events = async (run: Run) =>
    (
      JSON.parse(
        (await kubectl(['get', 'events', '-n', ns, '--field-selector', `involvedObject.uid=${run.metadata.uid}`, '-o', 'json']))
          .stdout,
      ).items as Array<{ reason: string; type: string; message: string; eventTime?: string; action?: string }>
    ).sort((a, b) => (a.eventTime ?? '').localeCompare(b.eventTime ?? ''));
  const metrics = async (pod: V1Pod, port: number) => {
    const res = await fetch(`http://${pod.status!.podIP}:${port}/metrics`);
    assert.equal(res.status, 200);
    return res.text();
  };

  before(async () => {
    ({ client } = await setupPlatform());
    ns = await createNamespace('e2e-rel');
    const counterDir = path.join(os.tmpdir(), `krt-${ns}`);
    ledger = new RunLedger({ client, ns, runtime: RUNTIME, counterDir });
    await ledger.start();
    await applyYaml(ns, countingRuntimeYaml({ name: RUNTIME, counterDir, replicas: 2, runs: 4 }));
    await waitForRuntimeReady(client, ns, RUNTIME);
    await waitForSchedulable(ns, RUNTIME, 2);
  });
  after(async () => {
    await ledger?.stop();
    if (ns) await deleteNamespace(ns);
    ledger?.cleanup();
  });

  it('a failing Run is retried maxAttempts times with a doubling backoff, then fails; each retry leaves an Event', async () => {
    await create('retry', 'echo "$KRUNTIME_RUN_NAME" >> /counter/execs; echo boom >&2; exit 7', {
      retryPolicy: { maxAttempts: 3, backoffSeconds: 1 },
    });
    const run = await waitForRun(client, ns, 'retry', undefined, 60_000);
    assert.equal(run.status?.phase, RunPhase.Failed);
    assert.equal(run.status?.reason, Reason.Failed);
    assert.equal(run.status?.attempt, 3);
    assert.equal(run.status?.exitCode, 7);
    assert.equal(ledger.executions().get('retry'), 3);
    const backoffs = (ledger.history.get('retry') ?? []).filter((h) => h.reason === Reason.RetryBackoff);
    assert.deepEqual(
      backoffs.map((h) => h.message?.replace(/: exit code 7.*;/, ':…;')),
      ['attempt 1 of 3 ended Failed:…; retrying in 1s', 'attempt 2 of 3 ended Failed:…; retrying in 2s'],
    );
    const ev = await waitFor('3 Events', async () => {
      const list = await events(run);
      return list.length >= 3 ? list : undefined;
    });
    assert.deepEqual(
      ev.map((e) => `${e.type} ${e.reason} ${e.action}`),
      ['Warning RetryBackoff Retry', 'Warning RetryBackoff Retry', 'Warning Failed Fail'],
    );
    assert.match(ev[2].message, /^exit code 7: boom/);
    for (const e of ev) assert.match(e.eventTime!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it('each attempt has its own deadline: a Run that times out twice ends Timeout after 2 attempts', async () => {
    await create('timeout', 'sleep 30', { timeoutSeconds: 1, retryPolicy: { maxAttempts: 2, backoffSeconds: 0 } });
    const run = await waitForRun(client, ns, 'timeout', undefined, 30_000);
    assert.equal(run.status?.phase, RunPhase.Timeout);
    assert.equal(run.status?.reason, Reason.Timeout);
    assert.equal(run.status?.message, 'timed out after 1s');
    assert.equal(run.status?.attempt, 2);
    const cond = run.status?.conditions?.find((c) => c.type === 'Timeout');
    assert.equal(cond?.status, 'True');
    assert.ok(run.status?.completionTime);
  });

  it('retryOn: only the named reasons are retried', async () => {
    // Timeouts are retried, the script's own failure is not.
    await create('retry-on-exit', 'echo "$KRUNTIME_RUN_NAME" >> /counter/execs; exit 7', {
      retryPolicy: { maxAttempts: 3, backoffSeconds: 0, retryOn: ['Timeout'] },
    });
    await create('retry-on-timeout', 'sleep 30', {
      timeoutSeconds: 1,
      retryPolicy: { maxAttempts: 2, backoffSeconds: 0, retryOn: ['Timeout'] },
    });
    const failed = await waitForRun(client, ns, 'retry-on-exit', undefined, 30_000);
    assert.equal(failed.status?.phase, RunPhase.Failed);
    assert.equal(failed.status?.attempt, 1);
    assert.equal(failed.status?.message, 'exit code 7');
    assert.equal(ledger.executions().get('retry-on-exit'), 1);
    const timedOut = await waitForRun(client, ns, 'retry-on-timeout', undefined, 30_000);
    assert.equal(timedOut.status?.phase, RunPhase.Timeout);
    assert.equal(timedOut.status?.attempt, 2);
    // The apiserver refuses a reason that is never retried, naming the field.
    await assert.rejects(
      create('retry-on-bad', 'true', { retryPolicy: { maxAttempts: 2, retryOn: ['Cancelled'] } }),
      /spec\.retryPolicy\.retryOn\[0\]: Unsupported value: "Cancelled"/,
    );
  });

  it('cancellation in every phase: Pending, Running, during a retry backoff; never retried', async () => {
    // Pending: a Runtime that does not exist.
    await client.create(Paths.runs(ns), {
      apiVersion: 'kruntimes.io/v1alpha1',
      kind: 'Run',
      metadata: { name: 'c-pending' },
      spec: { runtime: 'nope', args: ['true'] },
    });
    await waitForRun(client, ns, 'c-pending', (r) => r.status?.reason === Reason.RuntimeNotFound);
    await cancel('c-pending');
    // Running: a long sleep.
    await create('c-running', 'sleep 60', { retryPolicy: { maxAttempts: 3, backoffSeconds: 0 } });
    await waitForRun(client, ns, 'c-running', (r) => r.status?.phase === RunPhase.Running);
    await cancel('c-running');
    // In a backoff: the first attempt failed, the next waits 60 s.
    await create('c-backoff', 'exit 1', { retryPolicy: { maxAttempts: 3, backoffSeconds: 60 } });
    await waitForRun(client, ns, 'c-backoff', (r) => r.status?.reason === Reason.RetryBackoff);
    await cancel('c-backoff');
    const ended = await Promise.all(['c-pending', 'c-running', 'c-backoff'].map((n) => waitForRun(client, ns, n)));
    assert.deepEqual(
      ended.map((r) => [r.metadata.name, r.status?.phase, r.status?.reason, r.status?.attempt ?? 0]),
      [
        ['c-pending', RunPhase.Cancelled, Reason.Cancelled, 0],
        ['c-running', RunPhase.Cancelled, Reason.Cancelled, 1],
        ['c-backoff', RunPhase.Cancelled, Reason.Cancelled, 1],
      ],
    );
    assert.equal(ended[1].status?.exitCode, -1);
  });

  it('a cancel racing completion leaves one stable terminal phase', async () => {
    const names = Array.from({ length: 6 }, (_, i) => `race-${i}`);
    await Promise.all(names.map((n) => create(n, 'true')));
    await Promise.all(names.map((n) => cancel(n)));
    const ended = await Promise.all(names.map((n) => waitForRun(client, ns, n)));
    for (const r of ended) assert.ok([RunPhase.Succeeded, RunPhase.Cancelled].includes(r.status!.phase as never));
    await new Promise((r) => setTimeout(r, 1000));
    for (const n of names) {
      const hist = ledger.history.get(n) ?? [];
      const terminal = hist.filter((h) => [RunPhase.Succeeded, RunPhase.Cancelled].includes(h.phase as never));
      assert.equal(new Set(terminal.map((h) => h.phase)).size, 1, `${n}: ${hist.map((h) => h.phase).join(' → ')}`);
    }
  });

  it('ttlSecondsAfterFinished deletes a finished Run, also when set after it finished', async () => {
    await create('ttl', 'true', { ttlSecondsAfterFinished: 1 });
    await create('ttl-late', 'true');
    const late = await waitForRun(client, ns, 'ttl-late');
    const gone = (name: string) =>
      waitFor(
        `Run ${name} deleted`,
        async () => {
          try {
            await client.get(Paths.run(ns, name));
            return false;
          } catch (err) {
            return isNotFound(err);
          }
        },
        { timeoutMs: 20_000, intervalMs: 200 },
      );
    await gone('ttl');
    assert.equal(late.status?.phase, RunPhase.Succeeded);
    await client.mergePatch(Paths.run(ns, 'ttl-late'), { spec: { ttlSecondsAfterFinished: 0 } });
    await gone('ttl-late');
  });

  it('Prometheus metrics: runtimed on :19092, the scheduler and the controller on :8081', async () => {
    const pods = JSON.parse((await kubectl(['get', 'pods', '-n', ns, '-l', `runtime=${RUNTIME}`, '-o', 'json'])).stdout)
      .items as V1Pod[];
    const runtimed = (await Promise.all(pods.map((p) => metrics(p, 19092)))).join('\n');
    assert.match(runtimed, /kruntimes_runtimed_attempts_total\{result="Retry",reason="Failed"\} \d+/);
    assert.match(runtimed, /kruntimes_runtimed_attempts_total\{result="Succeeded",reason="Completed"\} \d+/);
    assert.match(runtimed, /kruntimes_runtimed_attempt_duration_seconds_count\{result="Failed"\} \d+/);
    assert.match(runtimed, /kruntimes_runtimed_active_runs \d+/);
    const platform = JSON.parse((await kubectl(['get', 'pods', '-n', PLATFORM_NAMESPACE, '-o', 'json'])).stdout)
      .items as V1Pod[];
    const byComponent = (c: string) =>
      platform.filter((p) => p.metadata?.labels?.['app.kubernetes.io/component'] === c && p.status?.podIP && !p.metadata?.deletionTimestamp);
    const scheduler = (await Promise.all(byComponent('scheduler').map((p) => metrics(p, 8081)))).join('\n');
    assert.match(scheduler, /kruntimes_scheduler_queue_wait_seconds_count [1-9]\d*/);
    const controller = (await Promise.all(byComponent('controller').map((p) => metrics(p, 8081)))).join('\n');
    assert.match(controller, /kruntimes_runs_finished_total\{result="Failed",reason="Failed"\} [1-9]/);
    assert.match(controller, /kruntimes_run_retries_total\{reason="Failed"\} [1-9]/);
    assert.match(controller, /kruntimes_runs\{phase="Running"\} \d+/);
    assert.match(controller, /kruntimes_ttl_deleted_total [1-9]/);
  });
});
