// The foundation end to end: the operator deployed from its manifests, Runtimes from YAML, Runs
// applied with kubectl, outcomes read back from the API and runtimed's logs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Run } from '../../lib/api.ts';
import { type KubeClient, Paths } from '../../lib/kube-client.ts';
import {
  applyYaml,
  bashRuntimeYaml,
  createNamespace,
  deleteNamespace,
  getRun,
  kubectl,
  runOutput,
  setupPlatform,
  waitFor,
  waitForRun,
  waitForRuntimeReady,
  waitForSchedulable,
} from '../support/platform.ts';

const example = (name: string) =>
  readFileSync(new URL(`../../docs/examples/${name}`, import.meta.url), 'utf8');

function bashRun(name: string, script: string, extra = ''): string {
  const body = script
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n');
  return `apiVersion: kruntimes.io/v1alpha1
kind: Run
metadata:
  name: ${name}
spec:
  runtime: bash
  entrypoint: script
${extra}  source:
    inline: |
${body}
`;
}

describe('Runs on warm Runtime Pods', function () {
  this.timeout(240_000);
  let client: KubeClient;
  let ns: string;

  before(async () => {
    ({ client } = await setupPlatform());
    ns = await createNamespace('e2e-runs');
    await applyYaml(ns, example('runtime-bash.yaml'));
    await applyYaml(ns, example('runtime-python.yaml'));
  });
  after(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it('reconciles the bash Runtime (replicas 2, capacity 4) and the python Runtime to Ready', async () => {
    const bash = await waitForRuntimeReady(client, ns, 'bash');
    assert.equal(bash.status?.readyReplicas, 2);
    await waitForRuntimeReady(client, ns, 'python');
    await waitForSchedulable(ns, 'bash', 2);
    await waitForSchedulable(ns, 'python', 1);
    const pods = JSON.parse(
      (await kubectl(['get', 'pods', '-n', ns, '-l', 'runtime=bash', '-o', 'json'])).stdout,
    ).items;
    assert.equal(pods.length, 2);
    for (const p of pods) {
      assert.equal(p.metadata.annotations['kruntimes.io/capacity.runs'], '4');
      assert.deepEqual(
        p.spec.containers.map((c: { name: string }) => c.name),
        ['runtime', 'runtimed'],
      );
    }
    const owned = await kubectl([
      'get',
      'deploy,sa,role,rolebinding,networkpolicy',
      '-n',
      ns,
      '-l',
      'runtime=bash',
      '-o',
      'name',
    ]);
    assert.deepEqual(owned.stdout.trim().split('\n').sort(), [
      'deployment.apps/runtime-bash',
      'networkpolicy.networking.k8s.io/runtime-bash',
      'role.rbac.authorization.k8s.io/runtime-bash-runtimed',
      'rolebinding.rbac.authorization.k8s.io/runtime-bash-runtimed',
      'serviceaccount/runtime-bash',
    ]);
  });

  for (const [file, name, expected] of [
    ['run-hello.yaml', 'hello', 'hello'],
    ['run-env.yaml', 'env-example', 'hello'],
    ['run-script.yaml', 'script-example', 'hello from source'],
  ] as const) {
    it(`runs the Usage Guide example ${file} and logs its output`, async () => {
      await applyYaml(ns, example(file));
      const run = await waitForRun(client, ns, name);
      assert.equal(run.status?.phase, 'Succeeded', run.status?.message);
      assert.equal(run.status?.exitCode, 0);
      assert.match(run.status?.assignedPod ?? '', /^runtime-bash-/);
      assert.equal(run.status?.attempt, 1);
      assert.ok(run.status?.startTime && run.status.completionTime);
      assert.deepEqual(
        run.status?.conditions?.map((c) => `${c.type}=${c.status}`),
        ['Scheduled=True', 'Running=False', 'Succeeded=True'],
      );
      assert.equal(await runOutput(ns, 'bash', run.metadata.uid!), expected);
    });
  }

  it('stores outputs written to $KRUNTIME_OUTPUTS (Usage Guide outputs example)', async () => {
    await applyYaml(ns, example('run-outputs.yaml'));
    const run = await waitForRun(client, ns, 'outputs-example');
    assert.equal(run.status?.phase, 'Succeeded');
    assert.deepEqual(run.status?.outputs, { result: 'ok' });
  });

  it('runs the Usage Guide artifacts example', async () => {
    await applyYaml(ns, example('run-artifacts.yaml'));
    const run = await waitForRun(client, ns, 'artifacts-example');
    assert.equal(run.status?.phase, 'Succeeded', run.status?.message);
  });

  it('runs a python Run with env and outputs', async () => {
    await applyYaml(ns, example('run-python.yaml'));
    const run = await waitForRun(client, ns, 'python-hello');
    assert.equal(run.status?.phase, 'Succeeded', run.status?.message);
    assert.deepEqual(run.status?.outputs, { answer: '42' });
    assert.equal(await runOutput(ns, 'python', run.metadata.uid!), 'hello from kruntimes');
  });

  it('fails a script that exits 3 with the exit code in the message', async () => {
    await applyYaml(ns, bashRun('exit-three', 'echo "about to fail" >&2\nexit 3'));
    const run = await waitForRun(client, ns, 'exit-three');
    assert.equal(run.status?.phase, 'Failed');
    assert.equal(run.status?.reason, 'Failed');
    assert.equal(run.status?.exitCode, 3);
    assert.equal(run.status?.message, 'exit code 3: about to fail');
    const failed = run.status?.conditions?.find((c) => c.type === 'Failed');
    assert.equal(failed?.status, 'True');
  });

  it('fails a Run whose outputs exceed the bounds with reason OutputsTooLarge', async () => {
    await applyYaml(
      ns,
      bashRun('big-outputs', 'head -c 9000 /dev/zero | tr "\\0" x | sed "s/^/big=/" >> "$KRUNTIME_OUTPUTS"'),
    );
    const run = await waitForRun(client, ns, 'big-outputs');
    assert.equal(run.status?.phase, 'Failed');
    assert.equal(run.status?.reason, 'OutputsTooLarge');
    assert.equal(run.status?.message, 'output big exceeds 8192 bytes');
    assert.equal(run.status?.outputs, undefined);
  });

  it('fails malformed outputs with reason OutputsInvalid', async () => {
    await applyYaml(ns, bashRun('bad-outputs', 'echo "no equals sign" >> "$KRUNTIME_OUTPUTS"'));
    const run = await waitForRun(client, ns, 'bad-outputs');
    assert.equal(run.status?.phase, 'Failed');
    assert.equal(run.status?.reason, 'OutputsInvalid');
  });

  it('keeps a Run for a Runtime that does not exist Pending, saying so', async () => {
    await applyYaml(ns, bashRun('no-runtime', 'echo never').replace('runtime: bash', 'runtime: nope'));
    const run = await waitForRun(
      client,
      ns,
      'no-runtime',
      (r) => r.status?.reason === 'RuntimeNotFound',
      30_000,
    );
    assert.equal(run.status?.phase, 'Pending');
    assert.equal(run.status?.message, `Runtime "nope" not found in namespace ${ns}`);
  });

  it('runs two Runs one after the other on a Runtime with capacity 1', async () => {
    await applyYaml(
      ns,
      bashRuntimeYaml({ name: 'single', replicas: 1, runs: 1 }),
    );
    await waitForRuntimeReady(client, ns, 'single');
    await waitForSchedulable(ns, 'single', 1);
    const yaml = (name: string) =>
      // Long enough for the second to wait past the scheduler's 1 s before it explains a wait.
      bashRun(name, 'sleep 3\necho done').replace('runtime: bash', 'runtime: single');
    await applyYaml(ns, `${yaml('first')}---\n${yaml('second')}`);
    const waiting = await waitFor('one Run waiting AtCapacity', async () => {
      const runs = await Promise.all(['first', 'second'].map((n) => getRun(client, ns, n)));
      return runs.find((r) => r.status?.reason === 'AtCapacity');
    });
    assert.match(waiting.status?.message ?? '', /at capacity \(1\/1 Runs\)/);
    const [a, b] = await Promise.all(['first', 'second'].map((n) => waitForRun(client, ns, n)));
    assert.equal(a.status?.phase, 'Succeeded');
    assert.equal(b.status?.phase, 'Succeeded');
    const [early, late] = [a, b].sort((x, y) => x.status!.startTime!.localeCompare(y.status!.startTime!));
    assert.ok(
      late.status!.startTime! >= early.status!.completionTime!,
      `second Run started ${late.status!.startTime} before the first completed ${early.status!.completionTime}`,
    );
  });

  it('cancels a running Run via spec.cancelRequested (Usage Guide kubectl patch)', async () => {
    await applyYaml(ns, bashRun('hello-cancel', 'echo started\nsleep 60'));
    await waitForRun(client, ns, 'hello-cancel', (r) => r.status?.phase === 'Running');
    await kubectl([
      'patch',
      'run',
      'hello-cancel',
      '-n',
      ns,
      '--type',
      'merge',
      '-p',
      '{"spec":{"cancelRequested":true}}',
    ]);
    const run = await waitForRun(client, ns, 'hello-cancel', undefined, 30_000);
    assert.equal(run.status?.phase, 'Cancelled');
    assert.equal(run.status?.reason, 'Cancelled');
  });

  it('ends a Run that exceeds timeoutSeconds in phase Timeout', async () => {
    await applyYaml(ns, bashRun('too-slow', 'sleep 30', '  timeoutSeconds: 1\n'));
    const run = await waitForRun(client, ns, 'too-slow', undefined, 30_000);
    assert.equal(run.status?.phase, 'Timeout');
    assert.equal(run.status?.message, 'timed out after 1s');
  });

  it('deleting a Runtime removes its Deployment and RBAC through owner references', async () => {
    await kubectl(['delete', 'runtime', 'single', '-n', ns]);
    await waitFor(
      'runtime-single objects gone',
      async () => {
        const r = await kubectl([
          'get',
          'deploy,sa,role,rolebinding',
          '-n',
          ns,
          '-l',
          'runtime=single',
          '-o',
          'name',
        ]);
        return r.stdout.trim() === '';
      },
      { timeoutMs: 60_000 },
    );
    const list = await client.get<{ items: Run[] }>(Paths.runs(ns));
    assert.ok(list.items.length > 0, 'Runs stay when a Runtime goes');
  });
});
