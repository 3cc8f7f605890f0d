// The packaged linux-amd64 kubectl-krt (a Node single executable) driving the real cluster with no
// Node on PATH: PATH holds only kubectl and the binary. version, install (dry run: the manifests
// carried inside the binary render the same objects as the checkout; then a real install whose
// Runtimes run a Run), run, logs, cancel.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { KubeClient } from '../../lib/kube-client.ts';
import pkg from '../../package.json' with { type: 'json' };
import { cacheDir, KUBE_VERSION } from '../cluster/config.ts';
import { DIST, ensurePluginDist } from '../support/plugin-dist.ts';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  installPlatformFromManifests,
  kubectl,
  PLATFORM_NAMESPACE,
  REPO,
  setupPlatform,
  waitForRun,
  waitForRuntimeReady,
  waitForSchedulable,
} from '../support/platform.ts';

const KUBECTL = path.join(cacheDir(), `k8s-v${KUBE_VERSION}`, 'bin', 'kubectl');

interface Result {
  code: number;
  out: string;
  stderr: string;
}

describe('kubectl krt as a single executable (linux-amd64, no Node on PATH)', function () {
  this.timeout(600_000);
  let client: KubeClient;
  let kubeconfigPath: string;
  let ns: string;
  let bin: string;
  let commit: string;
  let installNs = '';

  const kubectlKrt = (args: string[]): Promise<Result> =>
    new Promise((resolve, reject) => {
      const child = spawn('kubectl', ['krt', ...args], {
        env: { PATH: bin, HOME: tmpdir(), KUBECONFIG: kubeconfigPath, NO_COLOR: '1' },
        cwd: tmpdir(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (out += d));
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? 1, out, stderr }));
    });
  const explain = (r: Result) => `exit ${r.code}\n--- stdout\n${r.out.slice(0, 2000)}\n--- stderr\n${r.stderr.slice(0, 2000)}`;

  before(async () => {
    const [info, platform] = await Promise.all([ensurePluginDist(), setupPlatform()]);
    ({ client, kubeconfigPath } = platform);
    commit = info.build.commit;
    bin = mkdtempSync(path.join(tmpdir(), 'krt-bin-'));
    symlinkSync(path.join(DIST, 'linux-amd64', 'kubectl-krt'), path.join(bin, 'kubectl-krt'));
    symlinkSync(KUBECTL, path.join(bin, 'kubectl'));
    ns = await createNamespace('e2e-binary');
    installNs = await createNamespace('e2e-binary-install');
    // A record left by an interrupted earlier run would make install refuse; the platform stays.
    await kubectl(['delete', 'configmap', 'kruntimes-install', '-n', PLATFORM_NAMESPACE, '--ignore-not-found']);
    await applyYaml(ns, readFileSync(path.join(REPO, 'docs', 'examples', 'runtime-bash.yaml'), 'utf8'));
    await waitForRuntimeReady(client, ns, 'bash');
    await waitForSchedulable(ns, 'bash', 2);
  });

  after(async () => {
    if (ns) await deleteNamespace(ns);
    if (installNs) await deleteNamespace(installNs);
    // Leave the platform as the rest of the suite expects it: from the manifests, no install record.
    await kubectl(['delete', 'configmap', 'kruntimes-install', '-n', PLATFORM_NAMESPACE, '--ignore-not-found'], { check: false });
    await installPlatformFromManifests();
    if (bin) rmSync(bin, { recursive: true, force: true });
  });

  it('reports its version, commit and build date, and the platform and Kubernetes versions', async () => {
    const r = await kubectlKrt(['version']);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.out, new RegExp(`^Client Version: +${pkg.version.replaceAll('.', '\\.')}$`, 'm'));
    assert.match(r.out, new RegExp(`^Client Commit: +${commit}$`, 'm'));
    assert.match(r.out, /^Client Build Date: +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m);
    assert.match(r.out, /^Platform Version: +0\.1\.0 \(kruntimes-operator:0\.1\.0\)$/m);
    assert.match(r.out, /^Kubernetes Version: +v1\.34\.4$/m);
  });

  it('install --dry-run renders the same objects from the manifests inside the binary as the checkout does', async () => {
    const r = await kubectlKrt(['install', '--dry-run', '--runtimes-namespace', ns]);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.out, /^kind: CustomResourceDefinition\n(.*\n)*? {2}name: runs\.kruntimes\.io$/m);
    assert.match(r.out, /^kind: Deployment$/m);
    const fromCheckout = await promisify(execFile)(path.join(REPO, 'kubectl-krt', 'bin', 'kubectl-krt'), ['install', '--dry-run', '--runtimes-namespace', ns], {
      env: { ...process.env, KUBECONFIG: kubeconfigPath, NO_COLOR: '1' },
      maxBuffer: 16 << 20,
    });
    // The install record's timestamp is the only thing that may differ.
    const stamp = /^( *installed-at: ).*$/gm;
    assert.match(r.out, stamp);
    assert.equal(r.out.replace(stamp, '$1T'), fromCheckout.stdout.replace(stamp, '$1T'));
  });

  it('runs a command and waits, then shows its logs byte for byte', async () => {
    const r = await kubectlKrt(['run', 'bash', '-n', ns, '--name', 'from-binary', '--wait', '--', 'printf "hello from the binary\\n"; echo to-stderr >&2']);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.out, /^Run from-binary Succeeded in \S+ \(exit code 0, pod runtime-bash-\S+\)$/m);
    const logs = await kubectlKrt(['logs', 'from-binary', '-n', ns, '--stream', 'stdout']);
    assert.equal(logs.code, 0, explain(logs));
    assert.equal(logs.out, 'hello from the binary\n');
    const failed = await kubectlKrt(['run', 'bash', '-n', ns, '--wait', '--', 'exit 3']);
    assert.equal(failed.code, 1, explain(failed));
  });

  it('installs for real: takes over the platform, installs the built-in Runtimes, and a Run on them succeeds', async () => {
    const r = await kubectlKrt(['install', '--runtimes-namespace', installNs, '--set', 'python.enabled=false', '--wait']);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.out, new RegExp(`kruntimes ${pkg.version.replaceAll('.', '\\.')} installed in kruntimes-system; built-in Runtimes in ${installNs}`));
    await waitForRuntimeReady(client, installNs, 'bash');
    await waitForSchedulable(installNs, 'bash', 1);
    const run = await kubectlKrt(['run', 'bash', '-n', installNs, '--name', 'after-install', '--wait', '--', 'echo installed']);
    assert.equal(run.code, 0, explain(run));
    assert.match(run.out, /^Run after-install Succeeded in \S+ \(exit code 0, pod runtime-bash-\S+\)$/m);
  });

  it('cancels a running Run', async () => {
    const created = await kubectlKrt(['run', 'bash', '-n', ns, '--name', 'cancel-me', '--', 'echo started; sleep 60']);
    assert.equal(created.code, 0, explain(created));
    assert.equal(created.out, 'run.kruntimes.io/cancel-me created\n');
    await waitForRun(client, ns, 'cancel-me', (run) => run.status?.phase === 'Running', 60_000);
    const cancel = await kubectlKrt(['cancel', 'cancel-me', '-n', ns, '--wait']);
    assert.equal(cancel.code, 0, explain(cancel));
    assert.equal(cancel.out, 'run.kruntimes.io/cancel-me cancel requested\nrun.kruntimes.io/cancel-me Cancelled\n');
  });
});
