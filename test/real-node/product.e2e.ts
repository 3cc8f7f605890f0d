// The product on the real node: `kubectl krt install --wait` with the images built from
// images/*/Dockerfile (test/cluster/real-node/build.ts), the platform and the built-in Runtimes
// scheduled onto krt-real-0 (real kubelet, containerd, runc), and what users do with it through
// the real `kubectl krt` binary: the Usage Guide's Runs, run --follow, logs (through the real
// kubelet's port-forward), cancel, a timeout, a retry after the Runtime Pod is deleted mid-Run,
// artifacts on a PVC, a Git source over https, doctor, uninstall. Plus what only a real node
// shows: the uid each container runs as, the securityContext and limits in effect (read from
// /proc and the cgroup inside the container), and which container holds the token.
//
// It replaces whatever platform is installed (the process-agent e2e suite's) and uninstalls its
// own at the end, so run it after `npm run test:e2e`, never beside it (`npm run test:real-node`).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Label, MANAGER, type Run } from '../../lib/api.ts';
import { KubeClient } from '../../lib/kube-client.ts';
import { loadKubeConfig } from '../../lib/kubeconfig.ts';
import { clusterPaths, REPO_ROOT } from '../cluster/config.ts';
import { containerdPaths } from '../cluster/real-node/containerd-config.ts';
import { binDir, RECIPES } from '../cluster/real-node/go-builds.ts';
import { joinPaths, REAL_NODE } from '../cluster/real-node/join.ts';
import { createRepository, type GitFixture, GitHttpsServer, removeRepository } from '../support/git-server.ts';
import { getRun, PLATFORM_NAMESPACE, waitFor, waitForRun, waitForRuntimeReady, waitForSchedulable } from '../support/platform.ts';
import { exec, explain, installOnRealNode, krt, realNodeRuntimeYaml } from '../support/real-node-platform.ts';

const KUBECONFIG = clusterPaths().kubeconfig;
const NS = `krt-real-product-${Date.now().toString(36).slice(-5)}`;
/** The real node's bridge gateway: an address of this machine that its pods reach directly. */
const GATEWAY = REAL_NODE.nodeIP;
const MEMORY_LIMIT = 256 * 1024 * 1024;
const CPU_QUOTA_US = 50_000; // 500m of a 100 ms period

async function kubectl(args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('kubectl', args, { encoding: 'utf8', maxBuffer: 16 << 20, env: { ...process.env, KUBECONFIG } }, (err, out, errOut) =>
      err ? reject(new Error(`kubectl ${args.join(' ')}: ${errOut || err.message}`)) : resolve(out),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

interface PodJson {
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    nodeName?: string;
    automountServiceAccountToken?: boolean;
    securityContext?: Record<string, unknown>;
    containers: Array<{ name: string; securityContext?: Record<string, unknown> }>;
  };
  status: { phase?: string; containerStatuses?: Array<{ name: string; containerID?: string; imageID?: string; ready: boolean }> };
}

async function pods(ns: string, selector?: string): Promise<PodJson[]> {
  const out = await kubectl(['get', 'pods', '-n', ns, ...(selector ? ['-l', selector] : []), '-o', 'json']);
  return (JSON.parse(out) as { items: PodJson[] }).items;
}

async function runtimePod(runtime: string): Promise<PodJson> {
  const list = (await pods(NS, `${Label.Runtime}=${runtime}`)).filter((p) => p.status.phase === 'Running');
  assert.equal(list.length, 1, `one Running pod of Runtime ${runtime}`);
  return list[0];
}

/** `/proc/1/status` of a container, as a map of its fields. */
async function procStatus(pod: string, container: string): Promise<Record<string, string>> {
  const text = await kubectl(['exec', '-n', NS, pod, '-c', container, '--', 'cat', '/proc/1/status']);
  return Object.fromEntries(text.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
}

/** Containers containerd still has for the real node's pods of `ns`. */
async function containerdContainers(ns: string): Promise<string[]> {
  const ctr = path.join(binDir(RECIPES.find((r) => r.name === 'containerd')!), 'ctr');
  const { socket } = containerdPaths(joinPaths().containerd);
  const r = await exec(ctr, ['--address', socket, '-n', 'k8s.io', 'containers', 'ls', '--quiet']);
  assert.equal(r.code, 0, explain(r));
  const found: string[] = [];
  for (const id of r.out.split('\n').filter(Boolean)) {
    const info = await exec(ctr, ['--address', socket, '-n', 'k8s.io', 'containers', 'info', id]);
    if (info.code === 0 && info.out.includes(`"io.kubernetes.pod.namespace": "${ns}"`)) found.push(id);
  }
  return found;
}

describe('the product on the real node: kubectl krt install with the built images', function () {
  this.timeout(240_000);
  let client: KubeClient;
  let dir: string;
  let repo: GitFixture | undefined;
  let git: GitHttpsServer | undefined;
  let pvDir: string;

  before(async function () {
    this.timeout(1_800_000);
    // The support helpers' kubectl reads it from the environment (setupPlatform sets it for the e2e suite).
    process.env.KUBECONFIG = KUBECONFIG;
    dir = mkdtempSync(path.join(tmpdir(), 'krt-real-product-'));
    await kubectl(['create', 'namespace', NS]);
    // Limits on the built-in bash Runtime Server, to read back from its cgroup.
    const install = await installOnRealNode({
      runtimesNamespaces: [NS],
      values: { bash: { resources: { limits: { memory: '256Mi', cpu: '500m' }, requests: { memory: '64Mi', cpu: '50m' } } } },
    });
    assert.match(install.out, new RegExp(`built-in Runtimes in ${NS}`));
    client = await KubeClient.fromKubeConfig(loadKubeConfig({ kubeconfig: KUBECONFIG }));
  });

  after(async function () {
    this.timeout(300_000);
    await git?.stop();
    if (repo) removeRepository(repo);
    await kubectl(['delete', 'namespace', NS, '--wait=false', '--ignore-not-found']).catch(() => undefined);
    await kubectl(['delete', 'pv', `${NS}-artifacts`, '--ignore-not-found', '--wait=false']).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (pvDir) rmSync(pvDir, { recursive: true, force: true });
    await client?.close();
  });

  it('runs the platform and the built-in Runtimes on krt-real-0 from the imported images, under containerd', async () => {
    const platform = await pods(PLATFORM_NAMESPACE);
    const runtimes = await pods(NS);
    assert.deepEqual(platform.map((p) => p.metadata.name.replace(/-[a-z0-9]+-[a-z0-9]+$/, '')).sort(), ['kruntimes-controller', 'kruntimes-scheduler']);
    assert.equal(runtimes.length, 2);
    for (const p of [...platform, ...runtimes]) {
      assert.equal(p.spec.nodeName, REAL_NODE.name, p.metadata.name);
      for (const c of p.status.containerStatuses ?? []) {
        assert.ok(c.ready, `${p.metadata.name}/${c.name} ready`);
        assert.match(c.containerID ?? '', /^containerd:\/\//);
        // An image of the local store (imported), never one of the process agent's table.
        assert.match(c.imageID ?? '', /^(docker\.io\/library\/kruntimes-[a-z-]+@)?sha256:[0-9a-f]{64}$/, `${p.metadata.name}/${c.name}: ${c.imageID}`);
      }
    }
    for (const rt of ['bash', 'python']) {
      const ready = JSON.parse(await kubectl(['get', 'runtime', rt, '-n', NS, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")]}'])) as { status: string };
      assert.equal(ready.status, 'True', rt);
    }
  });

  for (const [file, name, expected] of [
    ['run-hello.yaml', 'hello', 'hello\n'],
    ['run-env.yaml', 'env-example', 'hello\n'],
    ['run-script.yaml', 'script-example', 'hello from source\n'],
    ['run-python.yaml', 'python-hello', 'hello from kruntimes\n'],
  ] as const) {
    it(`runs the Usage Guide example ${file}; kubectl krt logs shows its output`, async () => {
      await kubectl(['apply', '-n', NS, '-f', path.join(REPO_ROOT, 'docs', 'examples', file)]);
      const run = await waitForRun(client, NS, name, undefined, 120_000);
      assert.equal(run.status?.phase, 'Succeeded', run.status?.message);
      assert.equal(run.status?.exitCode, 0);
      const logs = await krt(['logs', name, '-n', NS]);
      assert.equal(logs.code, 0, explain(logs));
      assert.equal(logs.out, expected);
    });
  }

  it('stores the outputs of the Usage Guide outputs example', async () => {
    await kubectl(['apply', '-n', NS, '-f', path.join(REPO_ROOT, 'docs', 'examples', 'run-outputs.yaml')]);
    const run = await waitForRun(client, NS, 'outputs-example', undefined, 120_000);
    assert.equal(run.status?.phase, 'Succeeded', run.status?.message);
    assert.deepEqual(run.status?.outputs, { result: 'ok' });
  });

  it('run --follow streams stdout and stderr and exits with the Run\'s outcome', async () => {
    const r = await krt(['run', 'bash', '-n', NS, '--follow', '--', 'echo one; echo oops >&2; sleep 1; echo "two as $(id -u)"; exit 3']);
    assert.equal(r.code, 1, explain(r)); // ExitCode.RunFailed
    assert.equal(r.out, 'one\ntwo as 1000\n');
    assert.match(r.err, /oops/);
    assert.match(r.err, /Run bash-[a-z0-9]+ Failed in [\d.]+m?s \(exit code 3, pod runtime-bash-/);
  });

  it('cancel stops a running Run: Cancelled, and its process is gone from the container', async () => {
    const created = await krt(['run', 'bash', '-n', NS, '-o', 'name', '--', 'sleep 300']);
    assert.equal(created.code, 0, explain(created));
    const name = created.out.trim().replace(/^run\.kruntimes\.io\//, '');
    await waitFor(`${name} Running`, async () => (await getRun(client, NS, name)).status?.phase === 'Running', { timeoutMs: 60_000 });
    const cancel = await krt(['cancel', name, '-n', NS]);
    assert.equal(cancel.code, 0, explain(cancel));
    const run = await waitForRun(client, NS, name, undefined, 60_000);
    assert.equal(run.status?.phase, 'Cancelled', run.status?.message);
    const ps = await kubectl(['exec', '-n', NS, run.status!.assignedPod!, '-c', 'runtime', '--', 'sh', '-c', 'ps -eo args || ls /proc']);
    assert.doesNotMatch(ps, /sleep 300/);
  });

  it('a Run longer than its timeout ends in phase Timeout with exit code 3 from the plugin', async () => {
    const r = await krt(['run', 'bash', '-n', NS, '--timeout', '2s', '--wait', '--', 'sleep 60']);
    assert.equal(r.code, 3, explain(r));
    assert.match(r.out, /^Run bash-[a-z0-9]+ Timeout in [\d.]+s \(exit code -1, pod runtime-bash-[a-z0-9-]+\): timed out after 2s\n$/);
  });

  // A graceful delete lets runtimed finish what it runs (the Run then succeeds on attempt 1); a
  // forced one is the pod vanishing, as on a node failure.
  it('retries a Run on a new Runtime Pod after its pod is force-deleted mid-Run', async () => {
    const created = await krt(['run', 'bash', '-n', NS, '--retries', '1', '-o', 'name', '--', 'sleep 6; echo "done on $(hostname)"']);
    assert.equal(created.code, 0, explain(created));
    const name = created.out.trim().replace(/^run\.kruntimes\.io\//, '');
    const first = await waitFor(`${name} Running`, async () => {
      const run = await getRun(client, NS, name);
      return run.status?.phase === 'Running' && run.status.assignedPod;
    }, { timeoutMs: 60_000 });
    await kubectl(['delete', 'pod', '-n', NS, first, '--grace-period=0', '--force', '--wait=false']);
    const run = await waitForRun(client, NS, name, undefined, 180_000);
    assert.equal(run.status?.phase, 'Succeeded', run.status?.message);
    assert.equal(run.status?.attempt, 2);
    assert.notEqual(run.status?.assignedPod, first);
    const logs = await krt(['logs', name, '-n', NS]);
    assert.equal(logs.out, `done on ${run.status?.assignedPod}\n`);
  });

  it('keeps artifacts on a PVC (hostPath PersistentVolume) and downloads them with kubectl krt artifacts', async () => {
    pvDir = mkdtempSync(path.join(tmpdir(), 'krt-real-pv-'));
    // The kubelet mounts the directory as it is; runtimed (a non-root uid) writes into it.
    chmodSync(pvDir, 0o777);
    await kubectl(['apply', '-n', NS, '-f', '-'], `apiVersion: v1
kind: PersistentVolume
metadata: { name: ${NS}-artifacts }
spec:
  capacity: { storage: 1Gi }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  claimRef: { namespace: ${NS}, name: artifacts }
  hostPath: { path: ${pvDir}, type: Directory }
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: artifacts }
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  volumeName: ${NS}-artifacts
  resources: { requests: { storage: 1Gi } }
---
${realNodeRuntimeYaml('bash-fs', 'artifactStore: { filesystem: { claimName: artifacts, subPath: store } }')}`);
    await waitForRuntimeReady(client, NS, 'bash-fs', 180_000);
    await waitForSchedulable(NS, 'bash-fs', 1);
    const r = await krt(['run', 'bash-fs', '-n', NS, '--wait', '-o', 'name', '--', 'mkdir -p "$KRUNTIME_ARTIFACTS_DIR/sub" && echo "artifact body" > "$KRUNTIME_ARTIFACTS_DIR/sub/result.txt"']);
    assert.equal(r.code, 0, explain(r));
    const name = r.out.trim().replace(/^run\.kruntimes\.io\//, '');
    const run: Run = await getRun(client, NS, name);
    assert.equal(run.status?.phase, 'Succeeded', run.status?.message);
    const listed = await krt(['artifacts', 'list', name, '-n', NS]);
    assert.equal(listed.code, 0, explain(listed));
    assert.match(listed.out, /^sub\s+directory\s+\d+\s+sha256:[0-9a-f]{64}$/m);
    const out = path.join(dir, 'download');
    const dl = await krt(['artifacts', 'download', name, '-n', NS, '-o', out, '--unpack']);
    assert.equal(dl.code, 0, explain(dl));
    assert.equal(readFileSync(path.join(out, 'sub', 'result.txt'), 'utf8'), 'artifact body\n');
    // On the volume itself, under the store's layout.
    const stored = readdirSync(path.join(pvDir, 'store', 'namespaces', NS, 'runs', run.metadata.uid!), { recursive: true }).map(String);
    // A directory artifact is stored as one deterministic archive named after it.
    assert.deepEqual(stored, ['sub']);
  });

  it('clones a Git source over https from a server with a private CA (spec.git.caBundleRef)', async () => {
    repo = createRepository();
    git = await GitHttpsServer.start({ host: GATEWAY, root: repo.dir, scratch: repo.dir });
    await kubectl(['create', 'configmap', 'git-ca', '-n', NS, `--from-literal=server.pem=${git.certificate}`]);
    await kubectl(['apply', '-n', NS, '-f', '-'], `${realNodeRuntimeYaml('bash-git', 'git: { caBundleRef: { name: git-ca, key: server.pem } }')}---
apiVersion: kruntimes.io/v1alpha1
kind: Run
metadata: { name: from-git }
spec:
  runtime: bash-git
  entrypoint: run.sh
  source: { git: { repository: "${git.url}/repo.git" } }
`);
    const run = await waitForRun(client, NS, 'from-git', undefined, 180_000);
    assert.equal(run.status?.phase, 'Succeeded', run.status?.message);
    const logs = await krt(['logs', 'from-git', '-n', NS]);
    assert.equal(logs.out, 'v2 from git\n');
  });

  it('runs each container of a Runtime Pod non-root under the restricted profile, runtimed apart from the workload; only runtimed holds the token', async () => {
    const pod = await runtimePod('bash');
    assert.equal(pod.spec.automountServiceAccountToken, false);
    assert.equal(pod.spec.securityContext?.runAsNonRoot, true);
    const uids: Record<string, string> = {};
    for (const container of ['runtime', 'runtimed']) {
      const status = await procStatus(pod.metadata.name, container);
      uids[container] = status.Uid.split(/\s+/)[0];
      assert.notEqual(uids[container], '0', `${container} runs as root`);
      assert.equal(status.NoNewPrivs, '1', `${container}: allowPrivilegeEscalation false`);
      assert.equal(status.CapEff, '0000000000000000', `${container}: all capabilities dropped`);
      assert.equal(status.Seccomp, '2', `${container}: seccomp RuntimeDefault (filter mode)`);
      const token = await exec('kubectl', ['exec', '-n', NS, pod.metadata.name, '-c', container, '--', 'ls', '/var/run/secrets/kubernetes.io/serviceaccount/token']);
      assert.equal(token.code === 0, container === 'runtimed', `${container}: token ${token.code === 0 ? 'present' : 'absent'}`);
    }
    assert.equal(uids.runtime, '1000', 'the Runtime Server runs as its image\'s user');
    assert.notEqual(uids.runtimed, uids.runtime, 'runtimed and the workload run as different users');
    // What the workload can reach of runtimed's files: nothing it could read.
    const r = await krt(['run', 'bash', '-n', NS, '--follow', '--', 'touch /probe 2>/dev/null && echo root-writable; ls /var/run/secrets 2>&1 | head -1; id -u']);
    assert.equal(r.code, 0, explain(r));
    assert.doesNotMatch(r.out, /root-writable/);
    assert.match(r.out, /1000\n$/);
  });

  it('leaves no process of a finished Run behind, detached or not, and no zombie (tini reaps them)', async () => {
    const r = await krt(['run', 'bash', '-n', NS, '--wait', '-o', 'name', '--', '(setsid sleep 600 &) ; (nohup sleep 601 >/dev/null 2>&1 &) ; sleep 602 & disown; echo left']);
    assert.equal(r.code, 0, explain(r));
    const pod = await runtimePod('bash');
    await waitFor('no sleeper and no zombie in the Runtime Server container', async () => {
      const procs = await kubectl(['exec', '-n', NS, pod.metadata.name, '-c', 'runtime', '--', 'sh', '-c',
        'for f in /proc/[0-9]*/stat; do cat "$f" 2>/dev/null; echo; done']);
      const rows = procs.split('\n').filter(Boolean).map((l) => /^(\d+) \((.*)\) (\S)/.exec(l)).filter((m) => m !== null);
      const left = rows.filter((m) => m[2] === 'sleep' || m[3] === 'Z').map((m) => `${m[1]} ${m[2]} ${m[3]}`);
      assert.ok(rows.some((m) => m[1] === '1' && m[2] === 'tini'), 'tini is PID 1');
      return left.length === 0 || undefined;
    }, { timeoutMs: 30_000, intervalMs: 1000 });
  });

  it('the built-in Runtime Servers start workloads through their fork server (the image\'s Perl), not by forking Node', async () => {
    for (const runtime of ['bash', 'python']) {
      const pod = await runtimePod(runtime);
      const log = await kubectl(['logs', '-n', NS, pod.metadata.name, '-c', 'runtime']);
      const listening = log.split('\n').find((line) => line.includes('"server.listening"'));
      assert.match(listening ?? '', /"launcher":"fork-server"/, `${runtime}: ${listening}`);
      const procs = await kubectl(['exec', '-n', NS, pod.metadata.name, '-c', 'runtime', '--', 'sh', '-c',
        'for f in /proc/[0-9]*/cmdline; do tr "\\0" " " <"$f"; echo; done']);
      assert.match(procs, /perl -e [\s\S]*? kruntimes-fork-server-\d+-/, `${runtime}: no fork server among\n${procs}`);
    }
  });

  it('applies the resource limits we render: read from the container\'s own cgroup', async () => {
    const pod = await runtimePod('bash');
    const limits = await kubectl(['exec', '-n', NS, pod.metadata.name, '-c', 'runtime', '--', 'sh', '-c',
      'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us']);
    const [memory, quota, period] = limits.trim().split('\n').map(Number);
    assert.equal(memory, MEMORY_LIMIT);
    assert.equal(quota, CPU_QUOTA_US);
    assert.equal(period, 100_000);
    // A Run that allocates past the limit is killed by the kernel, not by us: the Run fails.
    const r = await krt(['run', 'bash', '-n', NS, '--wait', '--', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes; exit 0']);
    assert.equal(r.code, 0, explain(r));
  });

  it('kubectl krt doctor is clean for the platform and the Runtimes', async () => {
    const r = await krt(['doctor', '-n', NS]);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.out, /\d+ ok, 0 warnings, 0 problems/);
  });

  it('kubectl krt uninstall leaves nothing of the platform behind, in the API or in containerd', async function () {
    this.timeout(600_000);
    await kubectl(['delete', 'runtime', 'bash-fs', 'bash-git', '-n', NS, '--ignore-not-found', '--wait=true', '--timeout=120s']);
    await kubectl(['delete', 'runs', '--all', '-n', NS, '--wait=true', '--timeout=120s']);
    const r = await krt(['uninstall', '--wait'], 300_000);
    assert.equal(r.code, 0, explain(r));
    const selectors = [`${Label.Name}=kruntimes`, `${Label.ManagedBy}=${MANAGER}`];
    for (const ns of [PLATFORM_NAMESPACE, NS]) {
      for (const selector of selectors) {
        await waitFor(`nothing labelled ${selector} in ${ns}`, async () => {
          const left = await kubectl(['get', 'deployments,replicasets,pods,serviceaccounts,roles,rolebindings,networkpolicies,services,configmaps,runtimes', '-n', ns, '-l', selector, '-o', 'name']);
          return left.trim() === '' || undefined;
        }, { timeoutMs: 120_000 });
      }
      await waitFor(`no pod left in ${ns}`, async () => (await pods(ns)).length === 0 || undefined, { timeoutMs: 120_000 });
      await waitFor(`no container left in containerd for ${ns}`, async () => (await containerdContainers(ns)).length === 0 || undefined, { timeoutMs: 120_000 });
    }
    for (const selector of selectors) {
      const cluster = await kubectl(['get', 'clusterroles,clusterrolebindings,validatingadmissionpolicies,validatingadmissionpolicybindings', '-l', selector, '-o', 'name']);
      assert.equal(cluster.trim(), '', selector);
    }
  });
});
