// The real node end to end: a pod from our built image, run by a real kubelet with containerd and
// runc on node krt-real-0, beside the process node agent of the running local cluster.
//
// Part of the real-node tier (`npm run test:real-node`: .mocharc.real-node.json, test/real-node/),
// which runs after the process-agent suite (`npm test` runs both). Its before() runs `node.ts up
// --no-build` (which builds only when nothing is built) and creates a namespace of its own,
// deleted at the end; the node is left up (`npm run cluster -- down` takes it down too).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RuntimeServerClient } from '../../lib/runtime-client.ts';
import { clusterPaths, NODE_NAME, REPO_ROOT } from '../cluster/config.ts';
import { REAL_NODE, taintText } from '../cluster/real-node/join.ts';
import { REAL_NODE_KUBELET_PORTS } from '../cluster/real-node/node-config.ts';

const KUBECONFIG = clusterPaths().kubeconfig;
const NS = `krt-real-e2e-${randomBytes(3).toString('hex')}`;
const IMAGE = 'kruntimes-bash-runtime:0.1.0';
const RUNTIME_PORT = 19091;

function run(cmd: string, args: string[], input?: string, timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 << 20, env: { ...process.env, KUBECONFIG } }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

const kubectl = (args: string[], input?: string) => run('kubectl', args, input);

interface Pod {
  spec: { nodeName?: string };
  status: {
    podIP?: string;
    conditions?: Array<{ type: string; status: string }>;
    containerStatuses?: Array<{
      containerID?: string;
      imageID?: string;
      ready: boolean;
      state?: { waiting?: { reason?: string; message?: string } };
    }>;
  };
}

async function getPod(name: string): Promise<Pod> {
  return JSON.parse(await kubectl(['-n', NS, 'get', 'pod', name, '-o', 'json'])) as Pod;
}

function podManifest(name: string, extra: { runAsUser?: number } = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: {
      nodeSelector: { [REAL_NODE.label.key]: REAL_NODE.label.value },
      tolerations: [{ key: REAL_NODE.taint.key, operator: 'Equal', value: REAL_NODE.taint.value, effect: REAL_NODE.taint.effect }],
      securityContext: { runAsNonRoot: true, ...(extra.runAsUser !== undefined ? { runAsUser: extra.runAsUser } : {}) },
      terminationGracePeriodSeconds: 5,
      containers: [{
        name: 'runtime',
        image: IMAGE,
        imagePullPolicy: 'IfNotPresent',
        // The kubelet's TCP probe dials the pod IP; the server listens on 127.0.0.1 unless told.
        env: [{ name: 'KRUNTIME_HOST', value: '0.0.0.0' }],
        readinessProbe: { tcpSocket: { port: RUNTIME_PORT }, periodSeconds: 2 },
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      }],
    },
  });
}

/** `kubectl port-forward` to a pod; resolves with the local port once it forwards. */
function portForward(pod: string, port: number): Promise<{ localPort: number; stop: () => void }> {
  const child = spawn('kubectl', ['-n', NS, 'port-forward', `pod/${pod}`, `:${port}`], { env: { ...process.env, KUBECONFIG }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`port-forward did not start: ${out}`));
    }, 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ localPort: Number(m[1]), stop: () => child.kill() });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`port-forward exited with ${code}: ${out}`));
    });
  });
}

const SELF_SUBJECT_REVIEW = `
const fs = require('fs'), https = require('https');
const d = '/var/run/secrets/kubernetes.io/serviceaccount/';
const req = https.request({
  host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT,
  path: '/apis/authentication.k8s.io/v1/selfsubjectreviews', method: 'POST', ca: fs.readFileSync(d + 'ca.crt'),
  headers: { authorization: 'Bearer ' + fs.readFileSync(d + 'token', 'utf8'), 'content-type': 'application/json' },
}, (r) => { let b = ''; r.on('data', (c) => (b += c)); r.on('end', () => console.log(JSON.stringify({ status: r.statusCode, body: JSON.parse(b) }))); });
req.on('error', (e) => { console.error(e.message); process.exit(1); });
req.end(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }));`;

describe('real node (kubelet + containerd + runc) beside the process node agent', function () {
  this.timeout(180_000);

  before(async function () {
    this.timeout(1_800_000);
    await run(process.execPath, [path.join(REPO_ROOT, 'test', 'cluster', 'real-node', 'node.ts'), 'up', '--no-build'], undefined, 1_800_000);
    await kubectl(['create', 'namespace', NS]);
  });

  after(async () => {
    await kubectl(['delete', 'namespace', NS, '--wait=false']).catch(() => undefined);
  });

  it('registers krt-real-0 Ready, tainted and labelled, with the kubelet at its InternalIP on 10260', async () => {
    type Node = {
      metadata: { labels: Record<string, string> };
      spec: { taints?: Array<{ key: string; value?: string; effect: string }> };
      status: {
        addresses: Array<{ type: string; address: string }>;
        daemonEndpoints: { kubeletEndpoint: { Port: number } };
        nodeInfo: { containerRuntimeVersion: string };
        conditions: Array<{ type: string; status: string }>;
      };
    };
    const node = JSON.parse(await kubectl(['get', 'node', REAL_NODE.name, '-o', 'json'])) as Node;
    assert.equal(node.status.conditions.find((c) => c.type === 'Ready')?.status, 'True');
    assert.equal(node.metadata.labels[REAL_NODE.label.key], REAL_NODE.label.value);
    assert.deepEqual((node.spec.taints ?? []).map((t) => `${t.key}=${t.value}:${t.effect}`), [taintText()]);
    assert.equal(node.status.addresses.find((a) => a.type === 'InternalIP')?.address, REAL_NODE.nodeIP);
    assert.equal(node.status.daemonEndpoints.kubeletEndpoint.Port, REAL_NODE_KUBELET_PORTS.port);
    assert.match(node.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\/2\./);
    // The process agent's node is untouched.
    const agent = JSON.parse(await kubectl(['get', 'node', NODE_NAME, '-o', 'json'])) as Node;
    assert.ok(!(agent.spec.taints ?? []).some((t) => t.key === REAL_NODE.taint.key));
  });

  it('runs the built bash-runtime image as uid 1000 under runAsNonRoot; logs, exec and port-forward go through the kubelet', async () => {
    await kubectl(['apply', '-f', '-'], podManifest('bash'));
    await kubectl(['-n', NS, 'wait', '--for=condition=Ready', 'pod/bash', '--timeout=120s']);
    const pod = await getPod('bash');
    assert.equal(pod.spec.nodeName, REAL_NODE.name);
    assert.match(pod.status.containerStatuses?.[0].containerID ?? '', /^containerd:\/\//);
    assert.ok(pod.status.podIP?.startsWith('10.245.0.'), pod.status.podIP);

    const ids = (await kubectl(['-n', NS, 'exec', 'bash', '--', 'sh', '-c', 'id -u; id -g; id -un; grep ^Uid: /proc/1/status'])).trim().split('\n');
    assert.deepEqual(ids.slice(0, 3), ['1000', '1000', 'node']);
    assert.match(ids[3], /^Uid:\s+1000\s+1000\s+1000\s+1000$/);

    const logs = await kubectl(['-n', NS, 'logs', 'bash']);
    assert.match(logs, /"event":"server\.listening"/);

    const pf = await portForward('bash', RUNTIME_PORT);
    const client = new RuntimeServerClient({ address: `127.0.0.1:${pf.localPort}`, callTimeoutMs: 5000 });
    try {
      const health = await client.health();
      assert.equal(health.healthy, true);
      await client.execute({ id: 'e2e', args: ['echo "uid=$(id -u) host=$(hostname)"'], workingDir: '/tmp' });
      const done = await client.waitFor('e2e');
      assert.equal(done.exitCode, 0);
      assert.equal(String(done.stdout).trim(), 'uid=1000 host=bash');
    } finally {
      client.close();
      pf.stop();
    }
  });

  it('reaches the apiserver through the kubernetes Service ClusterIP with its projected token', async () => {
    const env = await kubectl(['-n', NS, 'exec', 'bash', '--', 'sh', '-c', 'echo $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT']);
    assert.equal(env.trim(), '10.96.0.1:443');
    const out = JSON.parse(await kubectl(['-n', NS, 'exec', 'bash', '--', 'node', '-e', SELF_SUBJECT_REVIEW])) as {
      status: number;
      body: { status: { userInfo: { username: string; extra?: Record<string, string[]> } } };
    };
    assert.equal(out.status, 201);
    assert.equal(out.body.status.userInfo.username, `system:serviceaccount:${NS}:default`);
    // A projected (bound) token names the pod and the node it was issued for.
    assert.deepEqual(out.body.status.userInfo.extra?.['authentication.kubernetes.io/node-name'], [REAL_NODE.name]);
  });

  it('the kubelet enforces runAsNonRoot: a pod asking for uid 0 does not start', async () => {
    await kubectl(['apply', '-f', '-'], podManifest('as-root', { runAsUser: 0 }));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const waiting = (await getPod('as-root')).status.containerStatuses?.[0]?.state?.waiting;
      if (waiting?.reason === 'CreateContainerConfigError') {
        assert.match(waiting.message ?? '', /non-root/);
        break;
      }
      assert.ok(Date.now() < deadline, `as-root: ${JSON.stringify(waiting)}`);
      await sleep(500);
    }
  });
});
