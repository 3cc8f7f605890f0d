// The Operations Guide end to end (runs last: it deletes the CRDs, so every kruntimes object in
// the cluster goes with them): kubectl krt install → Runtimes → Runs → kubectl krt upgrade with a
// changed setting while a Run is in flight (it still completes) → kubectl krt backup → kubectl krt
// uninstall --delete-crds and the workload namespace deleted → kubectl krt restore --install → every
// Runtime and Run is back, the finished ones with their phase, outputs and times, and not executed
// again; the upgraded setting is back too; new Runs succeed.
// Executions are counted outside the Runs' workspaces: each Run appends its name to a file in a
// hostPath directory, which outlives the namespace and its Runtime Pods.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { Annotation, type Run, type Runtime, type Workflow } from '../../lib/api.ts';
import { Paths } from '../../lib/kube-client.ts';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  kubectl,
  PLATFORM_NAMESPACE,
  REPO,
  run,
  setupPlatform,
  waitFor,
  waitForRun,
  waitForRuntimeReady,
  waitForSchedulable,
} from '../support/platform.ts';

const KUBECTL_DIR = path.join(homedir(), '.cache/kruntimes/k8s-v1.34.4/bin');
process.env.PATH = `${KUBECTL_DIR}${path.delimiter}${process.env.PATH}`;
const PLUGIN = path.join(REPO, 'kubectl-krt', 'bin', 'kubectl-krt');
const CRDS = ['runs.kruntimes.io', 'runtimes.kruntimes.io', 'workflows.kruntimes.io'];

const counterDir = path.join(tmpdir(), `krt-lifecycle-${process.pid}`);
const executions = () => {
  try {
    return readFileSync(path.join(counterDir, 'executions'), 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

const runtimeYaml = `apiVersion: kruntimes.io/v1alpha1
kind: Runtime
metadata:
  name: counter
  labels: { team: lifecycle }
spec:
  replicas: 1
  capacity:
    resources:
      runs: 4
  template:
    spec:
      containers:
        - name: runtime
          image: kruntimes-bash-runtime:latest
          env:
            - name: LIFECYCLE_TOKEN
              valueFrom: { secretKeyRef: { name: lifecycle-token, key: token } }
            # Runs get the runtime container's variables only when the Runtime passes them on.
            - { name: KRUNTIME_PASS_ENV, value: LIFECYCLE_TOKEN }
          volumeMounts:
            - { name: counter, mountPath: /counter }
      volumes:
        - name: counter
          hostPath: { path: ${counterDir}, type: DirectoryOrCreate }
`;
const runYaml = (name: string, script: string) => `apiVersion: kruntimes.io/v1alpha1
kind: Run
metadata:
  name: ${name}
spec:
  runtime: counter
  entrypoint: script
  env: { RUN_NAME: ${name} }
  source:
    inline: |
      echo "$RUN_NAME" >> /counter/executions
${script
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
`;

/** A finished Workflow must come back finished: its tasks are never executed again. */
const workflowYaml = `apiVersion: kruntimes.io/v1alpha1
kind: Workflow
metadata:
  name: pipeline
spec:
  tasks:
    - name: first
      run:
        runtime: counter
        entrypoint: script
        source:
          inline: |
            echo pipeline-first >> /counter/executions
            echo "n=1" >> "$KRUNTIME_OUTPUTS"
    - name: second
      dependsOn: [first]
      run:
        runtime: counter
        entrypoint: script
        env: { FIRST: $(tasks.first.outputs.n) }
        source:
          inline: echo "pipeline-second-$FIRST" >> /counter/executions
  outputs: { first: $(tasks.first.outputs.n) }
`;

const builtinRunYaml = `apiVersion: kruntimes.io/v1alpha1
kind: Run
metadata:
  name: builtin
spec:
  runtime: bash
  entrypoint: script
  source:
    inline: echo "on=builtin" >> "$KRUNTIME_OUTPUTS"
`;

async function krt(args: string[], kubeconfig: string) {
  return run(PLUGIN, args, { env: { KUBECONFIG: kubeconfig, NO_COLOR: '1' }, timeoutMs: 200_000 });
}

const recordExists = async () =>
  (await kubectl(['get', 'configmap', 'kruntimes-install', '-n', PLATFORM_NAMESPACE], { check: false })).code === 0;
const recordValue = async (key: string) =>
  (
    await kubectl([
      'get',
      'configmap',
      'kruntimes-install',
      '-n',
      PLATFORM_NAMESPACE,
      '-o',
      `jsonpath={.data.${key.replaceAll('.', '\\.')}}`,
    ])
  ).stdout;
const logLevel = async (deployment: string) =>
  (
    await kubectl([
      'get',
      'deployment',
      deployment,
      '-n',
      PLATFORM_NAMESPACE,
      '-o',
      'jsonpath={.spec.template.spec.containers[0].env[?(@.name=="KRT_LOG_LEVEL")].value}',
    ])
  ).stdout;

/** The platform as setupPlatform leaves it: CRDs Established, platform applied and rolled out. */
async function reinstallPlatform(): Promise<void> {
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', 'manifests/crds']);
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', 'manifests/crds']);
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', 'manifests/platform']);
  for (const name of ['kruntimes-scheduler', 'kruntimes-controller'])
    await kubectl(['rollout', 'status', `deployment/${name}`, '-n', PLATFORM_NAMESPACE, '--timeout=120s']);
}

describe('lifecycle: backup, uninstall with the CRDs, restore', function () {
  this.timeout(600_000);
  let ns: string;
  let kubeconfig: string;
  const archive = path.join(tmpdir(), `krt-lifecycle-${process.pid}.tar.gz`);
  const original = new Map<string, Run>();

  before(async () => {
    mkdirSync(counterDir, { recursive: true });
    writeFileSync(path.join(counterDir, 'executions'), '');
    const p = await setupPlatform();
    kubeconfig = p.kubeconfigPath;
    // The install suite installs and uninstalls on the same platform: start once it is done.
    await waitFor('no kubectl krt installation in the cluster', async () => !(await recordExists()), {
      timeoutMs: 300_000,
      intervalMs: 2000,
    });
    ns = await createNamespace('lifecycle');
    const install = await krt(['install', '--runtimes-namespace', ns, '--set', 'python.enabled=false', '--wait'], kubeconfig);
    assert.equal(install.code, 0, `${install.stdout}${install.stderr}`);
    // A Secret the Runtime's Pods cannot start without: backed up with --include-secrets.
    await kubectl(['create', 'secret', 'generic', 'lifecycle-token', '-n', ns, '--from-literal=token=s3cr3t']);
    await applyYaml(ns, runtimeYaml);
    await waitForRuntimeReady(p.client, ns, 'counter');
    await waitForSchedulable(ns, 'counter', 1);
    await waitForRuntimeReady(p.client, ns, 'bash');
    await waitForSchedulable(ns, 'bash', 1);
  });

  after(async () => {
    // Whatever happened, leave the platform installed and working for everyone else, as
    // setupPlatform installs it (manifests, no install record).
    await krt(['uninstall', '--wait'], kubeconfig);
    await kubectl(['delete', 'configmap', 'kruntimes-install', '-n', PLATFORM_NAMESPACE, '--ignore-not-found']);
    await reinstallPlatform();
    if (ns) await deleteNamespace(ns);
    rmSync(archive, { force: true });
    rmSync(counterDir, { recursive: true, force: true });
  });

  it('install → Runs → upgrade with a Run in flight → backup → uninstall --delete-crds → restore --install', async () => {
    const { client } = await setupPlatform();
    await applyYaml(ns, runYaml('ok', 'echo "answer=42" >> "$KRUNTIME_OUTPUTS"'));
    await applyYaml(ns, runYaml('bad', 'echo "half=done" >> "$KRUNTIME_OUTPUTS"\nexit 3'));
    await applyYaml(ns, builtinRunYaml);
    for (const name of ['ok', 'bad', 'builtin']) original.set(name, await waitForRun(client, ns, name));
    assert.equal(original.get('ok')!.status!.phase, 'Succeeded');
    assert.deepEqual(original.get('ok')!.status!.outputs, { answer: '42' });
    assert.equal(original.get('bad')!.status!.phase, 'Failed');
    assert.equal(original.get('bad')!.status!.exitCode, 3);
    assert.equal(original.get('builtin')!.status!.phase, 'Succeeded', original.get('builtin')!.status!.message);
    await applyYaml(ns, workflowYaml);
    const pipeline = await waitFor('Workflow pipeline finished', async () => {
      const w = await client.get<Workflow>(Paths.workflow(ns, 'pipeline'));
      return w.status?.phase === 'Succeeded' ? w : undefined;
    });
    for (const name of ['pipeline-first', 'pipeline-second']) original.set(name, await waitForRun(client, ns, name));

    // Upgrade with a changed setting while a Run is in flight: the Run still completes.
    await applyYaml(ns, runYaml('inflight', 'sleep 6\necho "done=yes" >> "$KRUNTIME_OUTPUTS"'));
    await waitForRun(client, ns, 'inflight', (r) => r.status?.phase === 'Running');
    const up = await krt(['upgrade', '--set', 'logLevel=debug', '--wait'], kubeconfig);
    assert.equal(up.code, 0, `${up.stdout}${up.stderr}`);
    assert.equal(await logLevel('kruntimes-scheduler'), 'debug');
    assert.match(await recordValue('platform-values.yaml'), /^logLevel: debug$/m);
    const inflight = await waitForRun(client, ns, 'inflight', undefined, 120_000);
    assert.equal(inflight.status?.phase, 'Succeeded', inflight.status?.message);
    assert.deepEqual(inflight.status?.outputs, { done: 'yes' });
    original.set('inflight', inflight);
    assert.deepEqual(executions().sort(), ['bad', 'inflight', 'ok', 'pipeline-first', 'pipeline-second-1']);

    // Backup.
    const b = await krt(['backup', '-n', ns, '--include-secrets', '-o', archive], kubeconfig);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stdout, `backup written to ${archive}: 2 Runtimes, 6 Runs, 1 Workflows, 1 Secrets, the install record\n`);
    assert.match(b.stderr, /warning: .* holds 1 Secret\(s\) in clear \(base64\): store it as safely as the credentials themselves/);

    // Uninstall with the CRDs, and the workload namespace deleted.
    const un = await krt(['uninstall', '--delete-crds', '--yes', '--wait'], kubeconfig);
    assert.equal(un.code, 0, `${un.stdout}${un.stderr}`);
    await kubectl(['delete', 'namespace', ns, '--wait=true', '--timeout=180s']);

    // Other suites running at the same time may install the CRDs again at any moment: what
    // restore says of a missing platform is asserted while it is still missing.
    const crdsGone = async () => (await kubectl(['get', 'crd', CRDS[0]], { check: false })).code !== 0;
    const plan = await krt(['restore', archive, '--dry-run', '--install'], kubeconfig);
    assert.equal(plan.code, 0, plan.stderr);
    const lines = plan.stdout.split('\n').filter((l) => l && !l.startsWith('InstallRecord'));
    const creates = [
      `Namespace ${ns}: create`,
      `Secret ${ns}/lifecycle-token: create`,
      `Runtime ${ns}/bash: create`,
      `Runtime ${ns}/counter: create`,
      `Workflow ${ns}/pipeline: create (restoring until its 2 child Runs have their status back)`,
      ...['bad', 'builtin', 'inflight', 'ok', 'pipeline-first', 'pipeline-second'].map((n) => `Run ${ns}/${n}: create`),
    ];
    if (lines[0].startsWith('Platform:')) {
      assert.match(lines[0], /^Platform: install 0\.\d+\.\d+\S* from the recorded values \(no CRD runs\.kruntimes\.io/);
      assert.deepEqual(lines.slice(1), creates);
    } else assert.deepEqual(lines, creates);
    if (await crdsGone()) {
      const missing = await krt(['restore', archive], kubeconfig);
      if (await crdsGone()) {
        assert.equal(missing.code, 5, `${missing.stdout}${missing.stderr}`);
        assert.match(
          missing.stderr,
          /error: the platform is not installed \(no CRD runs\.kruntimes\.io, runtimes\.kruntimes\.io, workflows\.kruntimes\.io\): install it first with kubectl krt install \(the backup records version [^)]+\), or pass --install to install it from the values the backup recorded/,
        );
      }
    }

    // Restore, the platform first from the recorded values.
    const restored = await krt(['restore', archive, '--install'], kubeconfig);
    assert.equal(restored.code, 0, `${restored.stdout}${restored.stderr}`);
    assert.match(restored.stdout, /^restored from .*: \d+ created, [01] updated, 0 resumed, \d+ already there, \d skipped\n$/);
    // The platform came back with the upgraded setting. (Read from the record restore --install
    // wrote: other suites' setupPlatform re-applies manifests/platform, and with it logLevel info.)
    assert.match(await recordValue('platform-values.yaml'), /^logLevel: debug$/m);

    // Every object is back; finished Runs keep phase, outputs, exit code and times.
    const rt = await client.get<Runtime>(Paths.runtime(ns, 'counter'));
    assert.equal(rt.metadata.labels?.team, 'lifecycle');
    await waitForRuntimeReady(client, ns, 'counter');
    await waitForSchedulable(ns, 'counter', 1);
    for (const name of ['ok', 'bad', 'builtin', 'inflight', 'pipeline-first', 'pipeline-second']) {
      const now = await client.get<Run>(Paths.run(ns, name));
      const was = original.get(name)!;
      for (const field of ['phase', 'outputs', 'exitCode', 'message', 'reason', 'startTime', 'completionTime', 'attempt'] as const)
        assert.deepEqual(now.status?.[field], was.status?.[field], `${name} status.${field}`);
      assert.equal(now.metadata.annotations?.[Annotation.OriginalCreationTimestamp], was.metadata.creationTimestamp);
      assert.equal(now.metadata.annotations?.[Annotation.Restoring], undefined);
      assert.notEqual(now.metadata.uid, was.metadata.uid);
    }
    // The Workflow is back finished, with its task summaries and outputs, owning its new Runs.
    const wf = await client.get<Workflow>(Paths.workflow(ns, 'pipeline'));
    assert.deepEqual([wf.status?.phase, wf.status?.outputs, wf.status?.tasks], [pipeline.status?.phase, { first: '1' }, pipeline.status?.tasks]);
    assert.equal(wf.metadata.annotations?.[Annotation.Restoring], undefined);
    for (const name of ['pipeline-first', 'pipeline-second']) {
      const child = await client.get<Run>(Paths.run(ns, name));
      assert.deepEqual(child.metadata.ownerReferences?.map((o) => [o.kind, o.uid]), [['Workflow', wf.metadata.uid]]);
    }
    // The Runtime Pods have been ready a while: nothing ran again, no task of the Workflow either.
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(executions().sort(), ['bad', 'inflight', 'ok', 'pipeline-first', 'pipeline-second-1']);

    // Restoring again changes nothing.
    const again = await krt(['restore', archive], kubeconfig);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /: 0 created, 0 updated, 0 resumed, 11 already there, /);

    // New Runs succeed.
    await applyYaml(ns, runYaml('after', 'echo "fresh=yes" >> "$KRUNTIME_OUTPUTS"\necho "token=$LIFECYCLE_TOKEN" >> "$KRUNTIME_OUTPUTS"'));
    const fresh = await waitForRun(client, ns, 'after', undefined, 120_000);
    assert.equal(fresh.status?.phase, 'Succeeded', fresh.status?.message);
    assert.deepEqual(fresh.status?.outputs, { fresh: 'yes', token: 's3cr3t' }, 'the restored Secret reaches the Runtime Pods');
    assert.deepEqual(executions().sort(), ['after', 'bad', 'inflight', 'ok', 'pipeline-first', 'pipeline-second-1']);
    await waitFor(
      'doctor to find the namespace clean',
      async () => {
        const d = await krt(['doctor', '-n', ns], kubeconfig);
        return d.code === 0 ? d : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 1000 },
    );
  });
});
