// Capacity beyond `runs` end to end: a Runtime with capacity {runs: 4, gpu: 1} projects both onto
// its pods, the scheduler holds a Run's spec.resources.requests against them (the second gpu Run
// waits, saying gpu 1/1 in use, and runs when the first ends), a request no pod could ever hold
// ends Failed/Unschedulable, the CRDs refuse malformed requests, a Workflow task's run carries its
// requests, and `kubectl krt run --request` works with usage errors for bad input.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import type { Run, Workflow } from '../../lib/api.ts';
import { type KubeClient, Paths } from '../../lib/kube-client.ts';
import { childRunSelector } from '../../lib/workflow-names.ts';
import { ExitCode } from '../../kubectl-krt/exit-codes.ts';
import {
  applyYaml,
  bashRuntimeYaml,
  createNamespace,
  deleteNamespace,
  getRun,
  kubectl,
  REPO,
  setupPlatform,
  waitFor,
  waitForRun,
  waitForRuntimeReady,
  waitForSchedulable,
} from '../support/platform.ts';

const PLUGIN = path.join(REPO, 'kubectl-krt', 'bin', 'kubectl-krt');

/** One Runtime Pod with four run slots and a single gpu. */
const gpuRuntimeYaml = bashRuntimeYaml({ name: 'gpu', replicas: 1, runs: 4 }).replace(
  'runs: 4',
  'runs: 4\n      gpu: 1',
);

function runYaml(name: string, script: string, requests?: Record<string, number>): string {
  return stringify({
    apiVersion: 'kruntimes.io/v1alpha1',
    kind: 'Run',
    metadata: { name },
    spec: {
      runtime: 'gpu',
      entrypoint: 'script',
      source: { inline: `${script}\n` },
      ...(requests ? { resources: { requests } } : {}),
    },
  });
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function krt(args: readonly string[], kubeconfig: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(PLUGIN, [...args], {
      env: { ...process.env, KUBECONFIG: kubeconfig, NO_COLOR: '1' },
      cwd: tmpdir(),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
    child.stdin.end();
  });
}

const explain = (r: Result) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

describe('Capacity beyond runs', function () {
  this.timeout(300_000);
  let client: KubeClient;
  let kubeconfig: string;
  let ns: string;

  before(async () => {
    ({ client, kubeconfigPath: kubeconfig } = await setupPlatform());
    ns = await createNamespace('e2e-capacity');
    await applyYaml(ns, gpuRuntimeYaml);
    await waitForRuntimeReady(client, ns, 'gpu');
    await waitForSchedulable(ns, 'gpu', 1);
  });
  after(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it('projects every capacity resource onto the Runtime Pods as kruntimes.io/capacity.<name>', async () => {
    const pods = JSON.parse((await kubectl(['get', 'pods', '-n', ns, '-l', 'runtime=gpu', '-o', 'json'])).stdout)
      .items as Array<{ metadata: { annotations: Record<string, string>; deletionTimestamp?: string } }>;
    const live = pods.filter((p) => !p.metadata.deletionTimestamp);
    assert.equal(live.length, 1);
    assert.equal(live[0].metadata.annotations['kruntimes.io/capacity.runs'], '4');
    assert.equal(live[0].metadata.annotations['kruntimes.io/capacity.gpu'], '1');
  });

  it('holds the gpu: the second gpu Run waits, saying gpu 1/1 in use, and runs when the first ends', async () => {
    await applyYaml(ns, runYaml('gpu-a', 'sleep 6; echo a', { gpu: 1 }));
    await waitForRun(client, ns, 'gpu-a', (r) => r.status?.phase === 'Running');
    await applyYaml(ns, runYaml('gpu-b', 'echo b', { gpu: 1 }));
    // A Run without a gpu request is not held back by the gpu: runs has three free slots.
    await applyYaml(ns, runYaml('plain', 'echo plain'));

    const waiting = await waitForRun(client, ns, 'gpu-b', (r) => r.status?.reason === 'AtCapacity', 20_000);
    assert.equal(waiting.status?.phase, 'Pending');
    assert.equal(
      waiting.status?.message,
      'all 1 ready Runtime Pods of "gpu" are at capacity (gpu 1/1 in use); waiting for a free slot',
    );
    const plain = await waitForRun(client, ns, 'plain');
    assert.equal(plain.status?.phase, 'Succeeded');
    assert.equal((await getRun(client, ns, 'gpu-a')).status?.phase, 'Running', 'plain ran beside gpu-a');
    assert.equal((await getRun(client, ns, 'gpu-b')).status?.phase, 'Pending', 'gpu-b still waits');

    const a = await waitForRun(client, ns, 'gpu-a', undefined, 60_000);
    const b = await waitForRun(client, ns, 'gpu-b', undefined, 60_000);
    assert.equal(a.status?.phase, 'Succeeded');
    assert.equal(b.status?.phase, 'Succeeded', JSON.stringify(b.status));
    assert.ok(
      Date.parse(b.status!.scheduledTime!) >= Date.parse(a.status!.completionTime!) - 5,
      `gpu-b was scheduled at ${b.status!.scheduledTime}, before gpu-a ended at ${a.status!.completionTime}`,
    );
  });

  it('refuses a request no pod could ever hold: Failed, Unschedulable, naming the resource', async () => {
    await applyYaml(ns, runYaml('gpu-two', 'echo never', { gpu: 2 }));
    await applyYaml(ns, runYaml('tpu-one', 'echo never', { tpu: 1 }));
    const two = await waitForRun(client, ns, 'gpu-two');
    assert.equal(two.status?.phase, 'Failed');
    assert.equal(two.status?.reason, 'Unschedulable');
    assert.equal(
      two.status?.message,
      'Insufficient gpu: gpu=2 requested, each Runtime Pod of "gpu" has gpu 1; no pod of this Runtime can ever run it',
    );
    assert.equal(two.status?.assignedPod, undefined);
    const failed = two.status?.conditions?.find((c) => c.type === 'Failed');
    assert.equal(failed?.status, 'True');
    assert.equal(failed?.reason, 'Unschedulable');
    const tpu = await waitForRun(client, ns, 'tpu-one');
    assert.equal(tpu.status?.reason, 'Unschedulable');
    assert.equal(
      tpu.status?.message,
      'Insufficient tpu: tpu=1 requested, Runtime "gpu" has no tpu in spec.capacity.resources; no pod of this Runtime can ever run it',
    );
  });

  it('the CRDs refuse malformed requests and capacities with the rule messages', async () => {
    const refused = async (yaml: string, message: string) => {
      const r = await kubectl(['apply', '-n', ns, '-f', '-'], { input: yaml, check: false });
      assert.notEqual(r.code, 0, `accepted:\n${yaml}`);
      assert.ok(r.stderr.includes(message), `${r.stderr}\nexpected: ${message}`);
    };
    await refused(
      runYaml('bad-name', 'true', { GPU: 1 }),
      "spec.resources.requests names must be lowercase alphanumerics, '-' or '.', at most 54 characters",
    );
    await refused(runYaml('zero-runs', 'true', { runs: 0 }), 'spec.resources.requests.runs must be at least 1');
    await refused(runYaml('negative', 'true', { gpu: -1 }), 'should be greater than or equal to 0');
    await refused(runYaml('fraction', 'true', { gpu: 1.5 }), 'must be of type integer');
    await refused(
      bashRuntimeYaml({ name: 'mem', replicas: 0 }).replace('runs: 4', 'runs: 4\n      memory: 1Gi'),
      'spec.capacity.resources values must be non-negative whole numbers',
    );
    // The request is part of the execution: immutable.
    await applyYaml(ns, runYaml('fixed', 'true', { gpu: 1 }));
    const r = await kubectl(
      ['patch', 'run', 'fixed', '-n', ns, '--type', 'merge', '-p', '{"spec":{"resources":{"requests":{"gpu":0}}}}'],
      { check: false },
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spec\.resources is immutable/);
  });

  it("a Workflow task's run carries its requests: two gpu tasks run one after the other", async () => {
    const task = (name: string) => ({
      name,
      run: { runtime: 'gpu', args: ['sleep 2'], resources: { requests: { gpu: 1 } } },
    });
    await applyYaml(
      ns,
      stringify({
        apiVersion: 'kruntimes.io/v1alpha1',
        kind: 'Workflow',
        metadata: { name: 'two-gpu' },
        spec: { tasks: [task('one'), task('two')] },
      }),
    );
    const wf = await waitFor(
      'Workflow two-gpu',
      async () => {
        const w = await client.get<Workflow>(Paths.workflow(ns, 'two-gpu'));
        return ['Succeeded', 'Failed'].includes(w.status?.phase ?? '') ? w : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    assert.equal(wf.status?.phase, 'Succeeded', JSON.stringify(wf.status));
    const runs = (
      await client.get<{ items: Run[] }>(Paths.runs(ns), { query: { labelSelector: childRunSelector('two-gpu') } })
    ).items.sort((x, y) => x.status!.startTime!.localeCompare(y.status!.startTime!));
    assert.equal(runs.length, 2);
    for (const run of runs) assert.deepEqual(run.spec.resources, { requests: { gpu: 1 } });
    assert.ok(
      Date.parse(runs[1].status!.scheduledTime!) >= Date.parse(runs[0].status!.completionTime!) - 5,
      'the gpu tasks overlapped',
    );
  });

  it('kubectl krt run --request: runs with the request, refuses what no pod can hold, usage errors for bad input', async () => {
    const ok = await krt(['run', 'gpu', '-n', ns, '--request', 'gpu=1', '--wait', '--', 'echo hi from the gpu'], kubeconfig);
    assert.equal(ok.code, ExitCode.Ok, explain(ok));
    assert.match(ok.stdout, /Succeeded/);
    const name = /run\.kruntimes\.io\/([a-z0-9.-]+)/.exec(`${ok.stdout}\n${ok.stderr}`)?.[1];
    assert.ok(name, explain(ok));
    assert.deepEqual((await getRun(client, ns, name)).spec.resources, { requests: { gpu: 1 } });

    const never = await krt(['run', 'gpu', '-n', ns, '--request', 'gpu=2', '--wait', '--', 'true'], kubeconfig);
    assert.equal(never.code, ExitCode.RunFailed, explain(never));
    assert.match(
      never.stdout,
      /^Run (gpu-[a-z0-9]+) Failed in [^:]+: Insufficient gpu: gpu=2 requested, each Runtime Pod of "gpu" has gpu 1; no pod of this Runtime can ever run it$/m,
    );
    const refused = /^Run (gpu-[a-z0-9]+) Failed/m.exec(never.stdout)![1];
    assert.equal((await getRun(client, ns, refused)).status?.reason, 'Unschedulable');

    const usage = async (request: string, message: RegExp) => {
      const r = await krt(['run', 'gpu', '-n', ns, '--request', request, '--', 'true'], kubeconfig);
      assert.equal(r.code, ExitCode.Usage, explain(r));
      assert.match(r.stderr, message);
    };
    await usage('gpu=1.5', /--request "gpu=1\.5": the amount must be a whole number/);
    await usage('gpu=lots', /the amount must be a whole number/);
    await usage('GPU=1', /"GPU" is not a resource name/);
    await usage('gpu', /--request "gpu" must be NAME=AMOUNT/);
    await usage('runs=0', /spec\.resources\.requests\.runs must be at least 1/);
  });
});
