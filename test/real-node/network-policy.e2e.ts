// NetworkPolicy on the real node: the policy kruntimes renders for a Runtime
// (operator/runtime-controller/render.ts), enforced on krt-real-0 by kube-network-policies
// (test/cluster/real-node/network-policy.ts, started by `node.ts up`).
//
//   npx node test/cluster/real-node/node.ts up                        (or let before() do it)
//   flock /tmp/krt-cluster.lock npx mocha --no-config --extension ts --timeout 300000 test/real-node/network-policy.e2e.ts
//
// Three namespaces of its own on krt-real-0: a "runtime" pod (labelled as the renderer selects,
// listening on runtimed's port and the Runtime Server's), a client in the namespace the policy
// names as the platform's, and a client in another namespace. Each check connects from inside a
// client pod (bash's /dev/tcp, 3 s timeout). Without the policy both clients reach both ports;
// with it, the platform reaches runtimed's port only and the other namespace reaches nothing,
// while the kubelet's probes and `kubectl port-forward` still reach the pod; after deleting it,
// both reach both again. Outside test/e2e/ like real-node.e2e.ts: it needs the real node.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Label, type Runtime, RUNTIME_SERVER_PORT, RUNTIMED_HTTP_PORT } from '../../lib/api.ts';
import { renderRuntimeObjects } from '../../operator/runtime-controller/render.ts';
import { clusterPaths, REPO_ROOT } from '../cluster/config.ts';
import { REAL_NODE } from '../cluster/real-node/join.ts';
import { NETWORK_POLICY_AGENT } from '../cluster/real-node/network-policy.ts';

const KUBECONFIG = clusterPaths().kubeconfig;
const ID = randomBytes(3).toString('hex');
const NS = { runtime: `krt-np-${ID}-runtime`, platform: `krt-np-${ID}-platform`, other: `krt-np-${ID}-other` };
const IMAGE = 'kruntimes-bash-runtime:0.1.0';
const RUNTIME = 'np';
const PORTS = [RUNTIMED_HTTP_PORT, RUNTIME_SERVER_PORT] as const;
const NODE_TS = path.join(REPO_ROOT, 'test', 'cluster', 'real-node', 'node.ts');

function run(cmd: string, args: string[], input?: string, timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 << 20, env: { ...process.env, KUBECONFIG } }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

const kubectl = (args: string[], input?: string) => run('kubectl', args, input);

/** The NetworkPolicy the Runtime controller renders for Runtime `np` in NS.runtime, with NS.platform as the platform's namespace. */
function renderedPolicy(): Record<string, unknown> {
  const runtime: Runtime = {
    apiVersion: 'kruntimes.io/v1alpha1',
    kind: 'Runtime',
    metadata: { name: RUNTIME, namespace: NS.runtime, uid: '00000000-0000-0000-0000-000000000000' },
    spec: { template: { spec: { containers: [{ name: 'runtime', image: IMAGE }] } } },
  } as Runtime;
  const objects = renderRuntimeObjects(runtime, { runtimedImage: 'kruntimes-runtimed:0.1.0', platformNamespace: NS.platform, maintainerImage: 'kruntimes-operator:0.1.0' });
  const policy = structuredClone(objects.find((o) => o.kind === 'NetworkPolicy')!);
  // No Runtime owns it here: a dangling owner reference would let the garbage collector delete it.
  delete policy.metadata.ownerReferences;
  return policy;
}

function pod(ns: string, name: string, labels: Record<string, string>, command: string[], readyPort?: number): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels },
    spec: {
      nodeSelector: { [REAL_NODE.label.key]: REAL_NODE.label.value },
      tolerations: [{ key: REAL_NODE.taint.key, operator: 'Equal', value: REAL_NODE.taint.value, effect: REAL_NODE.taint.effect }],
      securityContext: { runAsNonRoot: true },
      terminationGracePeriodSeconds: 1,
      containers: [{
        name: 'main',
        image: IMAGE,
        imagePullPolicy: 'IfNotPresent',
        command,
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        ...(readyPort ? { readinessProbe: { tcpSocket: { port: readyPort }, periodSeconds: 1 } } : {}),
      }],
    },
  });
}

// Each port answers one line and keeps the connection until the client ends it (kubectl port-forward
// may lose what a server sends just before closing).
const SERVE = `for (const p of [${PORTS.join(', ')}]) require('net').createServer((s) => {
  s.on('error', () => {}); s.on('end', () => s.end()); s.write('port ' + p + '\\n'); }).listen(p);`;

type Reach = 'open' | 'timeout' | `failed: ${string}`;

/** Connects from the client pod of namespace `ns` to the runtime pod's port; 'open' when it read the server's line. */
async function reach(ns: string, ip: string, port: number): Promise<Reach> {
  const script = `timeout 3 bash -c 'exec 3<>/dev/tcp/${ip}/${port} && head -1 <&3'; echo "rc=$?"`;
  const out = await kubectl(['-n', ns, 'exec', 'client', '--', 'bash', '-c', script]);
  if (out.includes(`port ${port}\n`) && out.includes('rc=0')) return 'open';
  if (out.includes('rc=124')) return 'timeout';
  return `failed: ${out.trim()}`;
}

type Matrix = Record<string, Reach>;

async function matrix(ip: string): Promise<Matrix> {
  const m: Matrix = {};
  for (const from of ['platform', 'other'] as const) for (const port of PORTS) m[`${from} → ${port}`] = await reach(NS[from], ip, port);
  return m;
}

/** Polls until the agent has caught up with a policy change (it syncs its set of pod IPs), then asserts. */
async function expectMatrix(ip: string, expected: Matrix, withinMs = 45_000): Promise<void> {
  const t0 = Date.now();
  const history: string[] = [];
  let seen = await matrix(ip);
  while (JSON.stringify(seen) !== JSON.stringify(expected) && Date.now() < t0 + withinMs) {
    history.push(`+${((Date.now() - t0) / 1000).toFixed(1)} s ${JSON.stringify(seen)}`);
    await sleep(1000);
    seen = await matrix(ip);
  }
  assert.deepEqual(seen, expected, `after ${((Date.now() - t0) / 1000).toFixed(1)} s; earlier:\n${history.join('\n')}`);
  if (history.length) process.stderr.write(`    (converged after ${((Date.now() - t0) / 1000).toFixed(1)} s; earlier:\n    ${history.join('\n    ')})\n`);
}

const ALL_OPEN: Matrix = {
  [`platform → ${RUNTIMED_HTTP_PORT}`]: 'open',
  [`platform → ${RUNTIME_SERVER_PORT}`]: 'open',
  [`other → ${RUNTIMED_HTTP_PORT}`]: 'open',
  [`other → ${RUNTIME_SERVER_PORT}`]: 'open',
};

function portForwardRead(ns: string, podName: string, port: number): Promise<string> {
  const child = spawn('kubectl', ['-n', ns, 'port-forward', `pod/${podName}`, `:${port}`], { env: { ...process.env, KUBECONFIG }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`port-forward did not start: ${out}`));
    }, 30_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      const socket = net.connect(Number(m[1]), '127.0.0.1');
      let line = '';
      socket.on('data', (c) => {
        line += c.toString();
        if (line.includes('\n')) socket.end();
      });
      socket.on('close', () => {
        child.kill();
        resolve(line);
      });
      socket.on('error', (e) => {
        child.kill();
        reject(e);
      });
    });
  });
}

describe('NetworkPolicy on the real node (kube-network-policies)', function () {
  this.timeout(180_000);
  let ip = '';

  before(async function () {
    this.timeout(1_800_000);
    // `up` starts the agent; skip it when the node and its agent already run (status only reads).
    const status = await run(process.execPath, [NODE_TS, 'status']);
    if (!/^kube-network-policies: running/m.test(status) || !/Ready=True/.test(status)) {
      await run(process.execPath, [NODE_TS, 'up', '--no-build'], undefined, 1_800_000);
    }
    for (const ns of Object.values(NS)) await kubectl(['create', 'namespace', ns]);
    await kubectl(['apply', '-f', '-'], pod(NS.runtime, 'runtime', { [Label.Runtime]: RUNTIME }, ['node', '-e', SERVE], RUNTIME_SERVER_PORT));
    for (const ns of [NS.platform, NS.other]) await kubectl(['apply', '-f', '-'], pod(ns, 'client', {}, ['sleep', 'infinity']));
    for (const ns of Object.values(NS)) await kubectl(['-n', ns, 'wait', '--for=condition=Ready', 'pod', '--all', '--timeout=120s']);
    ip = (await kubectl(['-n', NS.runtime, 'get', 'pod', 'runtime', '-o', 'jsonpath={.status.podIP}'])).trim();
    assert.match(ip, /^10\.245\.0\.\d+$/);
  });

  after(async function () {
    this.timeout(120_000);
    await kubectl(['delete', 'namespace', ...Object.values(NS), '--wait=true', '--timeout=90s']).catch(() => undefined);
  });

  it('without a NetworkPolicy, both namespaces reach runtimed\'s port and the Runtime Server', async () => {
    await expectMatrix(ip, ALL_OPEN);
  });

  it('the rendered NetworkPolicy lets only the platform in, and only to runtimed\'s port', async () => {
    const policy = renderedPolicy();
    assert.deepEqual(policy.spec, {
      podSelector: { matchLabels: { [Label.Runtime]: RUNTIME } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NS.platform } } }], ports: [{ protocol: 'TCP', port: RUNTIMED_HTTP_PORT }] }],
    });
    await kubectl(['apply', '-f', '-'], JSON.stringify(policy));
    await expectMatrix(ip, {
      [`platform → ${RUNTIMED_HTTP_PORT}`]: 'open',
      [`platform → ${RUNTIME_SERVER_PORT}`]: 'timeout',
      [`other → ${RUNTIMED_HTTP_PORT}`]: 'timeout',
      [`other → ${RUNTIME_SERVER_PORT}`]: 'timeout',
    });
    // The agent queues the pod's packets: its IP is in the agent's set, the rules queue to nfqueue 100.
    const table = await run('nft', ['list', 'table', 'inet', NETWORK_POLICY_AGENT.nftTable]);
    assert.match(table, new RegExp(`set podips-v4 \\{[^}]*\\b${ip.replace(/\./g, '\\.')}\\b`));
    assert.match(table, new RegExp(`ip daddr @podips-v4 queue num ${NETWORK_POLICY_AGENT.queue}`));
  });

  it('with the policy in force, the kubelet\'s probes and kubectl port-forward still reach the pod', async () => {
    // The probe connects from the host as root (the agent accepts uid 0), port-forward from inside the pod's network namespace.
    await sleep(3000);
    const ready = await kubectl(['-n', NS.runtime, 'get', 'pod', 'runtime', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
    assert.equal(ready, 'True');
    assert.equal(await portForwardRead(NS.runtime, 'runtime', RUNTIMED_HTTP_PORT), `port ${RUNTIMED_HTTP_PORT}\n`);
    assert.equal(await portForwardRead(NS.runtime, 'runtime', RUNTIME_SERVER_PORT), `port ${RUNTIME_SERVER_PORT}\n`);
  });

  it('after the policy is deleted, both namespaces reach both ports again', async () => {
    await kubectl(['-n', NS.runtime, 'delete', 'networkpolicy', '--all']);
    await expectMatrix(ip, ALL_OPEN);
  });
});
