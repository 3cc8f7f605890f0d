// kubectl krt workflow as users run it: the real plugin through kubectl's plugin discovery, in a
// subprocess, against Workflows on the local cluster. Asserts what the user sees (stdout, stderr)
// and the exit codes scripts rely on (0 Succeeded, 1 Failed, 2 usage, 4 Cancelled, 6 wait timeout).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Workflow } from '../../lib/api.ts';
import { type KubeClient, Paths } from '../../lib/kube-client.ts';
import { cacheDir, KUBE_VERSION } from '../cluster/config.ts';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  REPO,
  setupPlatform,
  waitFor,
  waitForRuntimeReady,
  waitForSchedulable,
} from '../support/platform.ts';

const PLUGIN_DIR = path.join(REPO, 'kubectl-krt', 'bin');
const KUBECTL = path.join(cacheDir(), `k8s-v${KUBE_VERSION}`, 'bin', 'kubectl');

interface Result {
  code: number;
  out: string;
  err: string;
}

describe('kubectl krt workflow (the plugin as a subprocess)', function () {
  this.timeout(240_000);
  let client: KubeClient;
  let kubeconfigPath: string;
  let ns: string;
  let dir: string;

  /** `kubectl krt ARGS -n NS`, found by kubectl on PATH; `onStart` sees the child once spawned. */
  function krt(args: readonly string[], onStart?: (stop: () => void) => void): Promise<Result> {
    return new Promise((resolve, reject) => {
      const child = spawn(KUBECTL, ['krt', ...args, '-n', ns], {
        cwd: dir,
        env: {
          ...process.env,
          KUBECONFIG: kubeconfigPath,
          NO_COLOR: '1',
          PATH: `${PLUGIN_DIR}${path.delimiter}${path.dirname(KUBECTL)}${path.delimiter}${process.env.PATH}`,
        },
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? 1, out, err });
      });
      child.stdin.end();
      onStart?.(() => child.kill('SIGINT'));
    });
  }
  const explain = (r: Result) => `exit ${r.code}\n--- stdout\n${r.out}\n--- stderr\n${r.err}`;
  const file = (name: string, yaml: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, yaml);
    return p;
  };

  before(async () => {
    ({ client, kubeconfigPath } = await setupPlatform());
    ns = await createNamespace('e2e-cliwf');
    dir = mkdtempSync(path.join(tmpdir(), 'krt-wf-'));
    await applyYaml(ns, (await import('node:fs')).readFileSync(path.join(REPO, 'docs/examples/runtime-bash.yaml'), 'utf8'));
    await waitForRuntimeReady(client, ns, 'bash');
    await waitForSchedulable(ns, 'bash', 2);
  });
  after(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it('runs the Usage Guide Workflow with -p and --follow: prefixed task output, outputs, exit 0', async () => {
    const r = await krt(['workflow', 'run', '-f', path.join(REPO, 'docs/examples/workflow-ci.yaml'), '-p', 'ref=v1.4.0', '--follow']);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.err, /workflow\.kruntimes\.io\/ci created; following its tasks/);
    assert.match(r.out, /^fetch +\| fetched v1\.4\.0 at [0-9a-f]{12}$/m);
    assert.match(r.out, /^test +\| ok - store$/m);
    assert.match(r.out, /^lint +\| linting [0-9a-f]{12}$/m);
    assert.match(r.out, /^notify +\| ci of v1\.4\.0: test Succeeded, lint Succeeded, report Succeeded$/m);
    assert.match(r.err, /Workflow ci Succeeded in \d+m?s \(5 of 5 tasks succeeded\)/);
    assert.match(r.err, /summary=1\.4\.0\+[0-9a-f]{12}: 3 tests passed, 0 lint warnings/);
    const wf = await client.get<Workflow>(Paths.workflow(ns, 'ci'));
    assert.equal(wf.spec.params?.[0].value, 'v1.4.0');

    const get = await krt(['wf', 'get', 'ci']);
    assert.equal(get.code, 0, explain(get));
    assert.match(get.out, /^NAME +PHASE +TASKS +DURATION +AGE\nci +Succeeded +5\/5 /);
    const name = await krt(['wf', 'list', '-o', 'name']);
    assert.equal(name.out, 'workflow.kruntimes.io/ci\n');
    const describe = await krt(['wf', 'describe', 'ci']);
    assert.match(describe.out, /^ {2}report +Succeeded +ci-report +1 /m);
    assert.match(describe.out, /^ {2}notify \(finally\) +Succeeded +ci-notify /m);
    const logs = await krt(['wf', 'logs', 'ci', '--task', 'test']);
    assert.equal(logs.code, 0, explain(logs));
    assert.match(logs.out, /testing [0-9a-f]{12}\nok - parse\nok - render\nok - store\n/);
  });

  it('exits 1 when a task fails, naming it and the skipped dependents', async () => {
    const f = file('failing.yaml', `apiVersion: kruntimes.io/v1alpha1
kind: Workflow
metadata:
  name: failing
spec:
  tasks:
    - name: a
      run: {runtime: bash, args: ["echo boom >&2; exit 2"]}
    - name: b
      dependsOn: [a]
      run: {runtime: bash, args: ["true"]}
`);
    const r = await krt(['wf', 'run', '-f', f, '--follow']);
    assert.equal(r.code, 1, explain(r));
    assert.match(r.err, /^a \| boom$/m, "the task's stderr goes to stderr");
    assert.match(r.err, /task b Skipped: UpstreamFailed: task a ended Failed/);
    assert.match(r.err, /Workflow failing Failed in .*TaskFailed: task a ended Failed: exit code 2/);
  });

  it('exits 4 when the Workflow is cancelled while followed, and 6 when wait --timeout elapses', async () => {
    const f = file('slow.yaml', `apiVersion: kruntimes.io/v1alpha1
kind: Workflow
metadata:
  name: slow
spec:
  tasks:
    - name: sleeper
      run: {runtime: bash, args: ["sleep 60"]}
`);
    const followed = krt(['wf', 'run', '-f', f, '--follow']);
    await waitFor('sleeper running', async () =>
      (await client.get<Workflow>(Paths.workflow(ns, 'slow')).catch(() => undefined))?.status?.tasks?.sleeper?.phase === 'Running');
    const waited = await krt(['wf', 'wait', 'slow', '--timeout', '1s']);
    assert.equal(waited.code, 6, explain(waited));
    assert.match(waited.err, /timed out after 1s/);
    const cancel = await krt(['wf', 'cancel', 'slow', '--wait']);
    assert.equal(cancel.code, 0, explain(cancel));
    assert.match(cancel.out, /workflow\.kruntimes\.io\/slow cancel requested/);
    const r = await followed;
    assert.equal(r.code, 4, explain(r));
    assert.match(r.err, /Workflow slow Cancelled/);
  });

  it('refuses bad input before sending anything: an undeclared -p, an invalid spec (exit 2)', async () => {
    const badParam = await krt(['wf', 'run', '-f', path.join(REPO, 'docs/examples/workflow-ci.yaml'), '-p', 'nope=1']);
    assert.equal(badParam.code, 2, explain(badParam));
    assert.match(badParam.err, /nope/);
    assert.match(badParam.err, /ref/);
    const cyclic = file('cycle.yaml', `apiVersion: kruntimes.io/v1alpha1
kind: Workflow
metadata:
  name: cycle
spec:
  tasks:
    - {name: a, dependsOn: [c], run: {runtime: bash, args: ["true"]}}
    - {name: b, dependsOn: [a], run: {runtime: bash, args: ["true"]}}
    - {name: c, dependsOn: [b], run: {runtime: bash, args: ["true"]}}
`);
    const r = await krt(['wf', 'run', '-f', cyclic]);
    assert.equal(r.code, 2, explain(r));
    assert.match(r.err, /a -> c -> b -> a/);
    const exists = await client.get(Paths.workflow(ns, 'cycle')).then(() => true, () => false);
    assert.equal(exists, false, 'nothing was created');
  });
});
