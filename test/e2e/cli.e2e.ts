// kubectl krt as users run it: the real executable in a subprocess, both directly as kubectl-krt
// and through kubectl's plugin discovery (`kubectl krt …` with kubectl-krt/bin on PATH), against
// the local cluster with the platform installed from its manifests.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Run } from '../../lib/api.ts';
import type { KubeClient } from '../../lib/kube-client.ts';
import { cacheDir, KUBE_VERSION } from '../cluster/config.ts';
import {
  applyYaml,
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

const PLUGIN_DIR = path.join(REPO, 'kubectl-krt', 'bin');
const PLUGIN = path.join(PLUGIN_DIR, 'kubectl-krt');
const COMPLETER = path.join(PLUGIN_DIR, 'kubectl_complete-krt');
/** kubectl 1.34 (plugin completion needs ≥ 1.26), built with the local cluster. */
const KUBECTL = path.join(cacheDir(), `k8s-v${KUBE_VERSION}`, 'bin', 'kubectl');

const example = (name: string) => readFileSync(path.join(REPO, 'docs', 'examples', name), 'utf8');

interface Result {
  code: number;
  stdout: Buffer;
  stderr: string;
  /** stdout as text. */
  out: string;
}

/** How the CLI is invoked: the executable itself, or kubectl finding it on PATH. */
type Via = 'kubectl-krt' | 'kubectl krt';

let kubeconfigPath = '';

function command(
  via: Via,
  args: readonly string[],
): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  const env = { ...process.env, KUBECONFIG: kubeconfigPath, NO_COLOR: '1' };
  if (via === 'kubectl-krt') return { file: PLUGIN, args: [...args], env };
  return {
    file: KUBECTL,
    args: ['krt', ...args],
    env: {
      ...env,
      PATH: `${PLUGIN_DIR}${path.delimiter}${path.dirname(KUBECTL)}${path.delimiter}${process.env.PATH}`,
    },
  };
}

function krtVia(
  via: Via,
  args: readonly string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Result> {
  const c = command(via, args);
  return new Promise((resolve, reject) => {
    const child = spawn(c.file, c.args, { env: { ...c.env, ...options.env }, cwd: tmpdir() });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr: err, out: stdout.toString() });
    });
    child.stdin.end(options.input ?? '');
  });
}

const krt = (args: readonly string[], options?: Parameters<typeof krtVia>[2]) =>
  krtVia('kubectl-krt', args, options);
const kubectlKrt = (args: readonly string[], options?: Parameters<typeof krtVia>[2]) =>
  krtVia('kubectl krt', args, options);

function explain(r: Result): string {
  return `exit ${r.code}\n--- stdout\n${r.out.slice(0, 2000)}\n--- stderr\n${r.stderr.slice(0, 2000)}`;
}

/** The deterministic bytes the big-output script writes: a SHA-256 chain, so not UTF-8 text. */
function chainBytes(seed: string, length: number): Buffer {
  const parts: Buffer[] = [];
  let h = Buffer.from(seed);
  let n = 0;
  while (n < length) {
    h = createHash('sha256').update(h).digest();
    parts.push(h);
    n += h.length;
  }
  return Buffer.concat(parts).subarray(0, length);
}
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function runName(r: Result): string {
  const m = /run\.kruntimes\.io\/([a-z0-9.-]+)/.exec(`${r.out}\n${r.stderr}`);
  assert.ok(m, `no Run name in the output:\n${explain(r)}`);
  return m[1];
}

describe('kubectl krt (the plugin as a subprocess)', function () {
  this.timeout(300_000);
  let client: KubeClient;
  let ns: string;
  let workdir: string;

  before(async () => {
    assert.ok(
      existsSync(KUBECTL),
      `kubectl ${KUBE_VERSION} is expected at ${KUBECTL} (built with the local cluster)`,
    );
    ({ client, kubeconfigPath } = await setupPlatform());
    ns = await createNamespace('e2e-cli');
    await applyYaml(ns, example('runtime-bash.yaml'));
    await applyYaml(ns, example('runtime-python.yaml'));
    await waitForRuntimeReady(client, ns, 'bash');
    await waitForRuntimeReady(client, ns, 'python');
    await waitForSchedulable(ns, 'bash', 2);
    await waitForSchedulable(ns, 'python', 1);
    workdir = mkdtempSync(path.join(tmpdir(), 'krt-e2e-'));
  });
  after(async () => {
    if (ns) await deleteNamespace(ns);
  });

  describe('invocation', () => {
    it('is found by kubectl as a plugin and prints its usage as "kubectl krt"', async () => {
      for (const via of ['kubectl-krt', 'kubectl krt'] as const) {
        const r = await krtVia(via, ['--help']);
        assert.equal(r.code, 0, explain(r));
        assert.match(r.out, /^Usage:\n {2}kubectl krt COMMAND \[flags\]$/m);
        assert.match(r.out, /^ {2}run +create a Run/m);
      }
      const bare = await kubectlKrt([]);
      assert.equal(bare.code, 0, explain(bare));
      assert.match(bare.out, /^Commands:$/m);
      const client = await kubectlKrt(['version', '--client']);
      assert.match(client.out, /^Client Version: +0\.1\.0\nClient Commit: +[0-9a-f]{40}\nClient Build Date: +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$/);
    });

    it('refuses bad usage with exit code 2 before contacting the cluster', async () => {
      const noRuntime = await krt(['run']);
      assert.equal(noRuntime.code, 2, explain(noRuntime));
      assert.match(noRuntime.stderr, /error: give the Runtime to run on: kubectl krt run RUNTIME/);
      const badFlag = await kubectlKrt(['list', '--bogus']);
      assert.equal(badFlag.code, 2, explain(badFlag));
      assert.match(badFlag.stderr, /unknown flag --bogus for kubectl krt list/);
      const badEntrypoint = await krt(['run', 'bash', '--inline', 'echo', '--entrypoint', '../x', '-n', ns]);
      assert.equal(badEntrypoint.code, 2);
      assert.match(badEntrypoint.stderr, /spec\.entrypoint must not contain a '\.\.' path segment/);
      const unknown = await krt(['lgos']);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /unknown command "lgos" for "kubectl krt": did you mean "logs"\?/);
    });

    it('reports the versions of plugin, platform and Kubernetes', async () => {
      const r = await kubectlKrt(['version']);
      assert.equal(r.code, 0, explain(r));
      assert.match(r.out, /^Client Version: +0\.1\.0$/m);
      assert.match(r.out, /^Platform Version: +0\.1\.0 \(kruntimes-operator:0\.1\.0\)$/m);
      assert.match(r.out, new RegExp(`^Kubernetes Version: +v${KUBE_VERSION.replaceAll('.', '\\.')}$`, 'm'));
      assert.equal(r.stderr, '');
    });
  });

  describe('run', () => {
    it('runs a bash command with --wait: result, outputs and exit code 0 (through kubectl)', async () => {
      const r = await kubectlKrt([
        'run',
        'bash',
        '-n',
        ns,
        '--wait',
        '--',
        'echo hello from bash; echo "result=ok" >> "$KRUNTIME_OUTPUTS"',
      ]);
      assert.equal(r.code, 0, explain(r));
      assert.match(r.out, /^Run bash-[a-z0-9]+ Succeeded in \S+ \(exit code 0, pod runtime-bash-\S+\)$/m);
      assert.match(r.out, /^Outputs:\n {2}result=ok$/m);
      const run = await getRun(client, ns, runName(r));
      assert.deepEqual(run.spec.args, ['echo hello from bash; echo "result=ok" >> "$KRUNTIME_OUTPUTS"']);
      assert.equal(run.status?.phase, 'Succeeded');
    });

    it("runs a python file with --follow: stdout is exactly the workload's, outputs come at the end", async () => {
      const file = path.join(workdir, 'hello.py');
      writeFileSync(
        file,
        [
          'import os, sys',
          'print(f"hello from {os.environ[\'NAME\']}")',
          'print("to stderr", file=sys.stderr)',
          'with open(os.environ["KRUNTIME_OUTPUTS"], "a") as f:',
          '    f.write("answer=42\\n")',
          '',
        ].join('\n'),
      );
      const r = await krt(['run', 'python', '-n', ns, '--file', file, '--env', 'NAME=kruntimes', '--follow']);
      assert.equal(r.code, 0, explain(r));
      assert.equal(r.out, 'hello from kruntimes\n');
      assert.match(r.stderr, /^to stderr$/m);
      assert.match(r.stderr, /^Run python-[a-z0-9]+ Succeeded/m);
      assert.match(r.stderr, /^Outputs:\n {2}answer=42$/m);
      const run = await getRun(client, ns, runName(r));
      assert.equal(run.spec.entrypoint, 'hello.py');
      assert.deepEqual(run.spec.env, { NAME: 'kruntimes' });
    });

    it('runs a script from stdin (-f -) and warns about secret-looking env names', async () => {
      const r = await kubectlKrt(['run', 'bash', '-n', ns, '-f', '-', '--env', 'API_TOKEN=x', '--follow'], {
        input: 'echo "from stdin: $API_TOKEN"\n',
      });
      assert.equal(r.code, 0, explain(r));
      assert.equal(r.out, 'from stdin: x\n');
      assert.match(r.stderr, /warning: --env API_TOKEN looks like a secret/);
    });

    it('--follow shows the first line while the Run still runs', async () => {
      const c = command('kubectl-krt', [
        'run',
        'bash',
        '-n',
        ns,
        '--name',
        'follow-live',
        '--follow',
        '--',
        'echo first; sleep 3; echo second',
      ]);
      const child = spawn(c.file, c.args, { env: c.env, cwd: tmpdir() });
      const seen: Array<{ at: number; text: string }> = [];
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const firstLine = new Promise<void>((resolve) => {
        child.stdout.on('data', (d: Buffer) => {
          seen.push({ at: Date.now(), text: d.toString() });
          if (d.toString().includes('first')) resolve();
        });
      });
      const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
        child.on('close', (code) => resolve({ code, at: Date.now() })),
      );
      await firstLine;
      const phaseWhenFirstSeen = (await getRun(client, ns, 'follow-live')).status?.phase;
      const end = await exited;
      assert.equal(end.code, 0, stderr);
      const text = seen.map((s) => s.text).join('');
      assert.equal(text, 'first\nsecond\n');
      const first = seen.find((s) => s.text.includes('first'))!;
      const second = seen.find((s) => s.text.includes('second'))!;
      // Within its first second an execution is still Scheduled (its claim window, lib/claim-window.ts).
      assert.ok(
        phaseWhenFirstSeen === 'Scheduled' || phaseWhenFirstSeen === 'Running',
        `the first line arrived while the Run was running (phase ${phaseWhenFirstSeen})`,
      );
      assert.ok(second.at - first.at >= 2500, `second line ${second.at - first.at} ms after the first`);
      assert.ok(end.at - first.at >= 2500, `the command ended ${end.at - first.at} ms after the first line`);
    });

    it('exits 1 for a Run that Failed, with its exit code and stderr tail', async () => {
      const r = await krt(['run', 'bash', '-n', ns, '--wait', '--', 'echo about to fail >&2; exit 3']);
      assert.equal(r.code, 1, explain(r));
      assert.match(
        r.out,
        /^Run bash-[a-z0-9]+ Failed in \S+ \(exit code 3, pod \S+\): exit code 3: about to fail$/m,
      );
    });

    it('exits 3 for a Run that timed out', async () => {
      const r = await kubectlKrt(['run', 'bash', '-n', ns, '--timeout', '1s', '--wait', '--', 'sleep 30']);
      assert.equal(r.code, 3, explain(r));
      assert.match(r.out, /^Run bash-[a-z0-9]+ Timeout/m);
      const run = await getRun(client, ns, runName(r));
      assert.equal(run.spec.timeoutSeconds, 1);
    });

    it('cancel --wait stops a Running Run, and run --wait on it exits 4', async () => {
      const waiting = krt([
        'run',
        'bash',
        '-n',
        ns,
        '--name',
        'to-cancel',
        '--wait',
        '--',
        'echo started; sleep 60',
      ]);
      await waitForRun(client, ns, 'to-cancel', (r) => r.status?.phase === 'Running', 60_000);
      const cancel = await kubectlKrt(['cancel', 'to-cancel', '-n', ns, '--wait']);
      assert.equal(cancel.code, 0, explain(cancel));
      assert.equal(
        cancel.out,
        'run.kruntimes.io/to-cancel cancel requested\nrun.kruntimes.io/to-cancel Cancelled\n',
      );
      const r = await waiting;
      assert.equal(r.code, 4, explain(r));
      assert.match(r.out, /^Run to-cancel Cancelled/m);
      const again = await krt(['cancel', 'to-cancel', '-n', ns]);
      assert.equal(again.code, 0);
      assert.match(again.out, /already ended Cancelled; nothing to cancel/);
    });

    it('prints -o name and -o json that scripts can use', async () => {
      const created = await krt([
        'run',
        'bash',
        '-n',
        ns,
        '-o',
        'name',
        '--label',
        'suite=cli',
        '--',
        'echo named',
      ]);
      assert.equal(created.code, 0, explain(created));
      assert.match(created.out, /^run\.kruntimes\.io\/bash-[a-z0-9]+\n$/);
      const name = created.out.trim().split('/')[1];
      await waitForRun(client, ns, name);
      const one = await kubectlKrt(['get', name, '-n', ns, '-o', 'json']);
      assert.equal(one.code, 0, explain(one));
      const run = JSON.parse(one.out) as Run;
      assert.equal(run.kind, 'Run');
      assert.equal(run.metadata.name, name);
      assert.equal(run.status?.phase, 'Succeeded');
      const list = await krt(['list', '-n', ns, '-l', 'suite=cli', '-o', 'json']);
      const parsed = JSON.parse(list.out) as { kind: string; items: Run[] };
      assert.equal(parsed.kind, 'List');
      assert.deepEqual(
        parsed.items.map((r) => r.metadata.name),
        [name],
      );
      const names = await krt(['list', '-n', ns, '-l', 'suite=cli', '-o', 'name']);
      assert.equal(names.out, `run.kruntimes.io/${name}\n`);
      const yaml = await krt(['get', name, '-n', ns, '-o', 'yaml']);
      assert.match(yaml.out, /^kind: Run$/m);
    });

    it('lists Runs filtered by phase and runtime, in a table', async () => {
      const r = await kubectlKrt(['list', '-n', ns, '--phase', 'failed,timeout', '--runtime', 'bash']);
      assert.equal(r.code, 0, explain(r));
      const lines = r.out.trim().split('\n');
      assert.match(lines[0], /^NAME +PHASE +RUNTIME +DURATION +AGE$/);
      assert.ok(lines.length >= 3, r.out);
      for (const line of lines.slice(1)) assert.match(line, /^\S+ +(Failed|Timeout) +bash +/);
      const all = await krt(['list', '-A', '-o', 'wide', '--phase', 'Cancelled']);
      assert.match(all.out, new RegExp(`^${ns} +to-cancel +Cancelled +bash .* Cancelled\\b`, 'm'));
    });
  });

  describe('describe', () => {
    it('explains why a Pending Run waits', async () => {
      const created = await krt(['run', 'no-such-runtime', '-n', ns, '--name', 'stuck', '--', 'echo']);
      assert.equal(created.code, 0, explain(created));
      await waitForRun(client, ns, 'stuck', (r) => r.status?.reason === 'RuntimeNotFound');
      const r = await kubectlKrt(['describe', 'stuck', '-n', ns]);
      assert.equal(r.code, 0, explain(r));
      assert.match(r.out, /^Phase: +Pending$/m);
      assert.match(r.out, /^Reason: +RuntimeNotFound$/m);
      assert.match(
        r.out,
        new RegExp(
          `^Explanation:\\n {2}There is no Runtime named "no-such-runtime" in namespace ${ns}: create it`,
          'm',
        ),
      );
      const logs = await krt(['logs', 'stuck', '-n', ns]);
      assert.equal(logs.code, 5);
      assert.match(logs.stderr, /Run stuck has not started yet \(Pending\)/);
    });

    it('describes a finished Run with timing, pod, outputs and conditions', async () => {
      const r = await krt([
        'run',
        'bash',
        '-n',
        ns,
        '--name',
        'described',
        '--wait',
        '--',
        'echo "k=v" >> "$KRUNTIME_OUTPUTS"',
      ]);
      assert.equal(r.code, 0, explain(r));
      const d = await krt(['describe', 'described', '-n', ns]);
      assert.match(d.out, /^Phase: +Succeeded$/m);
      assert.match(d.out, /^Attempt: +1 of 1$/m);
      assert.match(d.out, /^Assigned Pod: +runtime-bash-\S+ \(uid \S+\)$/m);
      assert.match(d.out, /^ {2}Started to Completed: +\S+$/m);
      assert.match(d.out, /^Outputs:\n {2}k: +v$/m);
      assert.match(d.out, /^ {2}Succeeded +True +Completed /m);
    });
  });

  describe('logs', () => {
    const SIZE = 1_500_000;
    const expected = chainBytes('kruntimes', SIZE);
    let bigRun = '';

    it('returns the full stdout of a finished Run byte for byte (1.5 MB, not UTF-8)', async () => {
      assert.throws(() => new TextDecoder('utf-8', { fatal: true }).decode(expected));
      const script = path.join(workdir, 'big.py');
      writeFileSync(
        script,
        [
          'import hashlib, sys',
          "out = bytearray(); h = b'kruntimes'",
          `while len(out) < ${SIZE}:`,
          '    h = hashlib.sha256(h).digest(); out += h',
          `sys.stdout.buffer.write(bytes(out[:${SIZE}]))`,
          'print("done", file=sys.stderr)',
          '',
        ].join('\n'),
      );
      const follow = await krt([
        'run',
        'python',
        '-n',
        ns,
        '--file',
        script,
        '--name',
        'big-output',
        '--follow',
      ]);
      assert.equal(follow.code, 0, explain(follow));
      assert.equal(sha256(follow.stdout), sha256(expected), '--follow streamed the bytes unchanged');
      bigRun = 'big-output';
      for (const via of ['kubectl-krt', 'kubectl krt'] as const) {
        const r = await krtVia(via, ['logs', bigRun, '-n', ns, '--stream', 'stdout']);
        assert.equal(r.code, 0, explain(r));
        assert.equal(r.stdout.length, SIZE);
        assert.equal(sha256(r.stdout), sha256(expected), `logs via ${via}`);
        assert.equal(r.stderr, '');
      }
      const both = await krt(['logs', bigRun, '-n', ns]);
      assert.equal(both.stdout.length, SIZE + 'done\n'.length);
      const stderrOnly = await krt(['logs', bigRun, '-n', ns, '--stream', 'stderr']);
      assert.equal(stderrOnly.out, 'done\n');
    });

    it('supports --tail and --timestamps', async () => {
      const r = await krt([
        'run',
        'bash',
        '-n',
        ns,
        '--name',
        'lines',
        '--wait',
        '--',
        'for i in 1 2 3 4 5; do echo line $i; done',
      ]);
      assert.equal(r.code, 0, explain(r));
      const tail = await kubectlKrt(['logs', 'lines', '-n', ns, '--tail', '2']);
      assert.equal(tail.out, 'line 4\nline 5\n');
      const ts = await krt(['logs', 'lines', '-n', ns, '--timestamps']);
      const lines = ts.out.trim().split('\n');
      assert.equal(lines.length, 5);
      for (const [i, line] of lines.entries()) {
        assert.match(
          line,
          new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z line ${i + 1}$`),
        );
      }
    });

    it('follows a running Run with logs -f until it ends', async () => {
      const created = await krt([
        'run',
        'bash',
        '-n',
        ns,
        '--name',
        'tailed',
        '--',
        'echo a; sleep 2; echo b',
      ]);
      assert.equal(created.code, 0, explain(created));
      const r = await kubectlKrt(['logs', '-f', 'tailed', '-n', ns]);
      assert.equal(r.code, 0, explain(r));
      assert.equal(r.out, 'a\nb\n');
      assert.equal((await getRun(client, ns, 'tailed')).status?.phase, 'Succeeded');
    });

    it('falls back to the container log while the Runtime Pod is being deleted, and says when the pod is gone', async () => {
      // A Runtime whose pods linger while terminating: a helper container ignores SIGTERM, so after
      // runtimed has exited the pod still exists (and its container log with it) for a while.
      await applyYaml(
        ns,
        `apiVersion: kruntimes.io/v1alpha1
kind: Runtime
metadata:
  name: lingering
spec:
  replicas: 1
  template:
    metadata:
      labels:
        runtime: lingering
    spec:
      terminationGracePeriodSeconds: 120
      containers:
      - name: runtime
        image: kruntimes-bash-runtime:latest
      - name: keeper
        image: kruntimes-host
        command: ["sh", "-c", "trap '' TERM; while :; do sleep 1; done"]
`,
      );
      await waitForRuntimeReady(client, ns, 'lingering');
      await waitForSchedulable(ns, 'lingering', 1);
      const r = await krt([
        'run',
        'lingering',
        '-n',
        ns,
        '--name',
        'orphaned',
        '--wait',
        '--',
        'echo kept in the container log; echo second line',
      ]);
      assert.equal(r.code, 0, explain(r));
      const pod = (await getRun(client, ns, 'orphaned')).status!.assignedPod!;
      await kubectl(['delete', 'pod', pod, '-n', ns, '--wait=false']);
      // runtimed has exited (nothing to finish), the keeper holds the pod.
      await waitFor(
        `runtimed of ${pod} to terminate`,
        async () => {
          const p = JSON.parse((await kubectl(['get', 'pod', pod, '-n', ns, '-o', 'json'])).stdout) as {
            status: { containerStatuses?: Array<{ name: string; state?: { terminated?: unknown } }> };
          };
          return (
            p.status.containerStatuses?.find((c) => c.name === 'runtimed')?.state?.terminated !== undefined
          );
        },
        { timeoutMs: 60_000 },
      );
      const fallback = await kubectlKrt(['logs', 'orphaned', '-n', ns]);
      assert.equal(fallback.code, 0, explain(fallback));
      assert.equal(fallback.out, 'kept in the container log\nsecond line\n');
      assert.match(
        fallback.stderr,
        new RegExp(
          `krt: runtimed on pod ${pod} unreachable \\(.*\\); showing the container log, which may be incomplete`,
        ),
      );

      await kubectl(['delete', 'pod', pod, '-n', ns, '--grace-period=0', '--force']);
      await waitFor(
        `pod ${pod} gone`,
        async () => (await kubectl(['get', 'pod', pod, '-n', ns], { check: false })).code !== 0,
      );
      const gone = await krt(['logs', 'orphaned', '-n', ns]);
      assert.equal(gone.code, 5, explain(gone));
      assert.match(
        gone.stderr,
        new RegExp(
          `error: the Runtime Pod ${pod} that ran Run orphaned no longer exists, and its logs went with it`,
        ),
      );
    });
  });

  describe('RBAC', () => {
    it('names pods/portforward when a user may not port-forward', async () => {
      const finished = await krt([
        'run',
        'bash',
        '-n',
        ns,
        '--name',
        'for-limited',
        '--wait',
        '--',
        'echo secret output',
      ]);
      assert.equal(finished.code, 0, explain(finished));
      await applyYaml(
        ns,
        `apiVersion: v1
kind: ServiceAccount
metadata:
  name: krt-limited
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: krt-limited
rules:
- apiGroups: [kruntimes.io]
  resources: [runs]
  verbs: [get, list, watch, create, patch]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: krt-limited
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: krt-limited }
subjects:
- { kind: ServiceAccount, name: krt-limited, namespace: ${ns} }
`,
      );
      const token = (
        await kubectl(['create', 'token', 'krt-limited', '-n', ns, '--duration', '1h'])
      ).stdout.trim();
      const admin = JSON.parse(
        (await kubectl(['config', 'view', '--raw', '--minify', '-o', 'json'])).stdout,
      ) as {
        clusters: Array<{
          cluster: {
            server: string;
            'certificate-authority-data'?: string;
            'certificate-authority'?: string;
          };
        }>;
      };
      const cluster = admin.clusters[0].cluster;
      const ca = cluster['certificate-authority-data']
        ? `certificate-authority-data: ${cluster['certificate-authority-data']}`
        : `certificate-authority: ${cluster['certificate-authority']}`;
      const limited = path.join(workdir, 'limited.kubeconfig');
      writeFileSync(
        limited,
        `apiVersion: v1
kind: Config
clusters: [{ name: local, cluster: { server: "${cluster.server}", ${ca} } }]
users: [{ name: krt-limited, user: { token: "${token}" } }]
contexts: [{ name: limited, context: { cluster: local, user: krt-limited, namespace: ${ns} } }]
current-context: limited
`,
      );
      // The namespace comes from the context; the Run is readable, its log is not.
      const get = await krt(['get', 'for-limited', '--kubeconfig', limited]);
      assert.equal(get.code, 0, explain(get));
      const r = await kubectlKrt(['logs', 'for-limited', '--kubeconfig', limited]);
      assert.equal(r.code, 5, explain(r));
      assert.match(
        r.stderr,
        new RegExp(
          `warning: you may not (get or )?create pods/portforward in namespace ${ns} \\(needed to read the Run's log from runtimed\\): ask your cluster administrator for a Role in namespace ${ns} that grants "get" and "create" on apiGroups \\[""\\] resources \\["pods/portforward"\\]`,
        ),
      );
      assert.match(r.stderr, new RegExp(`error: you may not get pods/log in namespace ${ns}`));
      assert.doesNotMatch(r.out, /secret output/);

      // Creating is allowed; listing Runtimes is not, and the error says which permission is missing.
      const rt = await krt(['runtime', 'list', '--kubeconfig', limited]);
      assert.equal(rt.code, 5, explain(rt));
      assert.match(
        rt.stderr,
        new RegExp(`error: you may not list runtimes.kruntimes.io in namespace ${ns}: ask`),
      );
    });
  });

  describe('runtimes and completion', () => {
    it('shows Runtimes with capacity, slots in use and pod heartbeats', async () => {
      await waitForSchedulable(ns, 'bash', 2);
      const list = await kubectlKrt(['runtime', 'list', '-n', ns]);
      assert.equal(list.code, 0, explain(list));
      assert.match(list.out, /^NAME +READY +CAPACITY +IN-USE +AGE$/m);
      assert.match(list.out, /^bash +2\/2 +4\/pod +\d+\/8 +\S+$/m);
      const get = await krt(['runtime', 'get', 'bash', '-n', ns]);
      assert.equal(get.code, 0, explain(get));
      assert.match(get.out, /^Capacity: +4 Runs per pod$/m);
      const podLines = get.out.split('\n').filter((l) => /^ {2}runtime-bash-/.test(l));
      assert.equal(podLines.length, 2, get.out);
      for (const line of podLines) assert.match(line, /True +True, \d+s ago +\d\/4 +\S+$/);
    });

    it('completes subcommands, Run and Runtime names, also through kubectl', async () => {
      const subcommands = await krt(['__complete', '']);
      assert.match(subcommands.out, /^run$/m);
      assert.match(subcommands.out, /:4\n$/);
      const runtimes = (await krt(['__complete', '-n', ns, 'run', ''])).out.trim().split('\n');
      assert.ok(runtimes.includes('bash') && runtimes.includes('python'), runtimes.join(' '));
      assert.equal(runtimes.at(-1), ':4');
      const env = { ...process.env, KUBECONFIG: kubeconfigPath };
      const viaShim = await new Promise<string>((resolve) => {
        const child = spawn(COMPLETER, ['logs', '-n', ns, 'big-'], { env });
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
        });
        child.on('close', () => resolve(out));
      });
      assert.equal(viaShim, 'big-output\n:4\n');
      // kubectl's own completion asks kubectl_complete-krt for "kubectl krt …".
      const viaKubectl = await kubectlComplete(['__complete', 'krt', 'describe', '-n', ns, 'stu']);
      assert.match(viaKubectl, /^stuck$/m);
      const script = await krt(['completion', 'bash']);
      assert.match(script.out, /complete -F _kubectl_krt kubectl-krt/);
    });
  });
});

/** kubectl 1.34 with the plugin directory on PATH, for its __complete. */
function kubectlComplete(args: string[]): Promise<string> {
  const c = command('kubectl krt', []);
  return new Promise((resolve) => {
    const child = spawn(KUBECTL, args, { env: c.env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('close', () => resolve(out));
  });
}
