// The local cluster end to end: real control plane, pods run by the node agent as processes.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { AppsV1Api, CoreV1Api, KubeConfig, PortForward } from '@kubernetes/client-node';
import { ensureCluster } from '../cluster/cluster.ts';

const HOST_IMAGE = 'kruntimes-host';

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
    await sleep(50);
  }
}

function kubectl(kubeconfig: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' }, (err, stdout, stderr) =>
      err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
  });
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

const isReady = (p: V1Pod) =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** A tiny HTTP server that first prints its pid (a host pid: pods share the host PID namespace). `$$$$` is `$$` after Kubernetes $(VAR) expansion. */
const webContainer = (port: number): V1Container => ({
  name: 'web',
  image: HOST_IMAGE,
  command: ['sh', '-c', `echo "pid=$$$$"; exec python3 -m http.server ${port}`],
  ports: [{ name: 'http', containerPort: port }],
  readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 2 },
});

describe('local cluster', function () {
  this.timeout(180_000);
  let kubeconfig: string;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  const namespaces: string[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  before(async () => {
    ({ kubeconfigPath: kubeconfig } = await ensureCluster());
    kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
  });

  after(async () => {
    await Promise.all(namespaces.map((name) => core.deleteNamespace({ name }).catch(() => undefined)));
    for (const cleanup of cleanups) await cleanup();
  });

  async function namespace(prefix: string): Promise<string> {
    const name = `${prefix}-${randomBytes(3).toString('hex')}`;
    await core.createNamespace({ body: { metadata: { name } } });
    namespaces.push(name);
    // Pods need the namespace's default ServiceAccount (ServiceAccount admission).
    await waitFor('default service account', () =>
      core.readNamespacedServiceAccount({ name: 'default', namespace: name }).then(() => true),
    );
    return name;
  }

  async function createPod(
    ns: string,
    name: string,
    containers: V1Container[],
    extra: Partial<V1Pod['spec']> = {},
  ) {
    return core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name }, spec: { containers, ...extra } },
    });
  }

  const pod = (ns: string, name: string) => core.readNamespacedPod({ namespace: ns, name });

  async function podPid(ns: string, name: string): Promise<number> {
    const out = await waitFor('pid in the logs', async () => {
      const log = await kubectl(kubeconfig, ['logs', '-n', ns, name]);
      return /pid=(\d+)/.exec(log)?.[1];
    });
    return Number(out);
  }

  describe('a Deployment with a readiness probe', () => {
    let ns: string;
    const labels = { app: 'web' };

    before(async () => {
      ns = await namespace('e2e-cluster');
      await apps.createNamespacedDeployment({
        namespace: ns,
        body: {
          metadata: { name: 'web' },
          spec: {
            replicas: 2,
            selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: { containers: [webContainer(8080)], terminationGracePeriodSeconds: 5 },
            },
          },
        },
      });
    });

    const readyPods = async () => {
      const list = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
      return list.items.filter((p) => isReady(p) && !p.metadata?.deletionTimestamp);
    };

    it('becomes Available with 2 pods on distinct IPs, both serving the same port', async () => {
      const t0 = Date.now();
      await waitFor('deployment available', async () => {
        const d = await apps.readNamespacedDeployment({ namespace: ns, name: 'web' });
        const available = d.status?.conditions?.find((c) => c.type === 'Available')?.status === 'True';
        return available && d.status?.availableReplicas === 2 ? true : undefined;
      });
      console.log(`      deployment create → 2 replicas available: ${Date.now() - t0} ms`);
      const pods = await readyPods();
      assert.equal(pods.length, 2);
      const ips = pods.map((p) => p.status?.podIP ?? '');
      assert.notEqual(ips[0], ips[1]);
      for (const ip of ips) {
        assert.match(ip, /^10\.244\.\d+\.\d+$/);
        const res = await httpGet(`http://${ip}:8080/`);
        assert.equal(res.status, 200);
      }
      for (const p of pods) {
        const cs = p.status?.containerStatuses?.[0];
        assert.equal(cs?.ready, true);
        assert.equal(cs?.started, true);
        assert.ok(cs?.state?.running?.startedAt);
        assert.match(cs?.containerID ?? '', /^krt:\/\//);
        assert.ok(cs?.imageID);
        assert.equal(p.status?.hostIP, '127.0.0.1');
        assert.ok(p.status?.startTime);
        for (const type of ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready']) {
          assert.equal(p.status?.conditions?.find((c) => c.type === type)?.status, 'True', type);
        }
      }
    });

    it('serves kubectl logs', async () => {
      const [p] = await readyPods();
      const log = await kubectl(kubeconfig, ['logs', '-n', ns, p.metadata!.name!]);
      assert.match(log, /^pid=\d+$/m);
      // The readiness probe's requests are logged by the server on stderr.
      assert.match(log, /"GET \/ HTTP\/1\.1" 200/);
      const tail = await kubectl(kubeconfig, [
        'logs',
        '-n',
        ns,
        p.metadata!.name!,
        '--tail=1',
        '--timestamps',
      ]);
      assert.equal(tail.trimEnd().split('\n').length, 1);
      assert.match(tail, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z /);
    });

    it('port-forwards to a pod with client-node PortForward through the apiserver', async () => {
      const [p] = await readyPods();
      const forward = new PortForward(kc);
      const server = net.createServer((socket) => {
        forward
          .portForward(ns, p.metadata!.name!, [8080], socket, null, socket)
          .catch((err) => socket.destroy(err));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const { port } = server.address() as AddressInfo;
        const res = await httpGet(`http://127.0.0.1:${port}/`);
        assert.equal(res.status, 200);
        assert.match(res.body, /Directory listing/);
      } finally {
        server.close();
      }
    });

    it('port-forwards with kubectl port-forward (SPDY at the node)', async () => {
      const [p] = await readyPods();
      const child = spawn('kubectl', [
        '--kubeconfig',
        kubeconfig,
        'port-forward',
        '-n',
        ns,
        `pod/${p.metadata!.name}`,
        ':8080',
      ]);
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      try {
        const port = await waitFor(
          'kubectl port-forward listening',
          async () => /127\.0\.0\.1:(\d+) -> 8080/.exec(out)?.[1],
          20_000,
        );
        const res = await httpGet(`http://127.0.0.1:${port}/`);
        assert.equal(res.status, 200);
        assert.match(res.body, /Directory listing/);
      } finally {
        child.kill();
      }
    });

    it('kills the processes of a deleted pod and the ReplicaSet replaces it', async () => {
      const [victim] = await readyPods();
      const name = victim.metadata!.name!;
      const pid = await podPid(ns, name);
      assert.doesNotThrow(() => process.kill(pid, 0), 'the container process runs before the delete');
      await core.deleteNamespacedPod({ namespace: ns, name });
      await waitFor('pod gone', () =>
        pod(ns, name).then(
          () => undefined,
          (err) => (err.code === 404 ? true : undefined),
        ),
      );
      assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the container process is gone');
      await waitFor('replacement ready', async () => {
        const pods = await readyPods();
        return pods.length === 2 && pods.every((p) => p.metadata?.name !== name) ? true : undefined;
      });
    });
  });

  describe('single pods', () => {
    let ns: string;
    before(async () => {
      ns = await namespace('e2e-pods');
    });

    it('streams kubectl logs -f while the container writes', async () => {
      await createPod(ns, 'ticker', [
        {
          name: 'tick',
          image: HOST_IMAGE,
          command: ['sh', '-c', 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.2; done'],
        },
      ]);
      await waitFor('ticker running', async () =>
        (await pod(ns, 'ticker')).status?.phase === 'Running' ? true : undefined,
      );
      const child = spawn('kubectl', ['--kubeconfig', kubeconfig, 'logs', '-f', '-n', ns, 'ticker']);
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      try {
        await waitFor(
          'five ticks',
          async () => ((out.match(/^tick \d+$/gm)?.length ?? 0) >= 5 ? true : undefined),
          20_000,
        );
      } finally {
        child.kill();
      }
    });

    it('shows ErrImagePull / ImagePullBackOff for an unknown image', async () => {
      await createPod(ns, 'noimage', [{ name: 'c', image: 'registry.example/does-not-exist:1.0' }]);
      const reason = await waitFor('image pull error', async () => {
        const r = (await pod(ns, 'noimage')).status?.containerStatuses?.[0]?.state?.waiting?.reason;
        return r === 'ErrImagePull' || r === 'ImagePullBackOff' ? r : undefined;
      });
      assert.ok(reason);
      const p = await pod(ns, 'noimage');
      assert.equal(p.status?.phase, 'Pending');
      assert.match(p.status?.containerStatuses?.[0]?.state?.waiting?.message ?? '', /does-not-exist/);
    });

    it('restarts a container that exits 1 under restartPolicy Always', async () => {
      await createPod(ns, 'crasher', [
        {
          name: 'c',
          image: HOST_IMAGE,
          command: ['sh', '-c', 'echo crashing; exit 1'],
          terminationMessagePolicy: 'FallbackToLogsOnError',
        },
      ]);
      const cs = await waitFor('a restart', async () => {
        const s = (await pod(ns, 'crasher')).status?.containerStatuses?.[0];
        return (s?.restartCount ?? 0) >= 1 && s?.lastState?.terminated ? s : undefined;
      });
      assert.equal(cs.lastState?.terminated?.exitCode, 1);
      assert.equal(cs.lastState?.terminated?.reason, 'Error');
      assert.equal(cs.lastState?.terminated?.message, 'crashing');
      const previous = await kubectl(kubeconfig, ['logs', '-n', ns, 'crasher', '--previous']);
      assert.match(previous, /crashing/);
    });

    it('runs init containers first and completes a restartPolicy Never pod', async () => {
      await createPod(
        ns,
        'job',
        [
          {
            name: 'main',
            image: HOST_IMAGE,
            command: ['sh', '-c', 'cat /work/init.txt'],
            volumeMounts: [{ name: 'w', mountPath: '/work' }],
          },
        ],
        {
          restartPolicy: 'Never',
          initContainers: [
            {
              name: 'init',
              image: HOST_IMAGE,
              command: ['sh', '-c', 'echo from-init > /work/init.txt'],
              volumeMounts: [{ name: 'w', mountPath: '/work' }],
            },
          ],
          volumes: [{ name: 'w', emptyDir: {} }],
        },
      );
      const p = await waitFor('pod succeeded', async () => {
        const x = await pod(ns, 'job');
        return x.status?.phase === 'Succeeded' ? x : undefined;
      });
      assert.equal(p.status?.initContainerStatuses?.[0]?.state?.terminated?.exitCode, 0);
      assert.equal(p.status?.containerStatuses?.[0]?.state?.terminated?.reason, 'Completed');
      assert.match(await kubectl(kubeconfig, ['logs', '-n', ns, 'job']), /from-init/);
    });

    it('mounts a claim bound to a hostPath PersistentVolume', async () => {
      const pvName = `${ns}-pv`;
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'krt-pv-'));
      cleanups.push(async () => {
        await core.deletePersistentVolume({ name: pvName }).catch(() => undefined);
        fs.rmSync(dir, { recursive: true, force: true });
      });
      await core.createPersistentVolume({
        body: {
          metadata: { name: pvName },
          spec: {
            capacity: { storage: '1Mi' },
            accessModes: ['ReadWriteOnce'],
            storageClassName: '',
            hostPath: { path: dir, type: 'Directory' },
          },
        },
      });
      await core.createNamespacedPersistentVolumeClaim({
        namespace: ns,
        body: {
          metadata: { name: 'data' },
          spec: {
            accessModes: ['ReadWriteOnce'],
            storageClassName: '',
            volumeName: pvName,
            resources: { requests: { storage: '1Mi' } },
          },
        },
      });
      await createPod(
        ns,
        'pvc-writer',
        [
          {
            name: 'c',
            image: HOST_IMAGE,
            command: ['sh', '-c', 'echo persisted > /data/out.txt'],
            volumeMounts: [{ name: 'data', mountPath: '/data' }],
          },
        ],
        { restartPolicy: 'Never', volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }] },
      );
      await waitFor('pvc pod succeeded', async () =>
        (await pod(ns, 'pvc-writer')).status?.phase === 'Succeeded' ? true : undefined,
      );
      assert.equal(fs.readFileSync(path.join(dir, 'out.txt'), 'utf8'), 'persisted\n');
    });

    it('gives containers in-cluster config, env and the downward API', async () => {
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'cfg' }, data: { GREETING: 'hello' } },
      });
      // An authenticated but unauthorized request answers 403 naming the service account: proof that the
      // projected token, the CA and KUBERNETES_SERVICE_HOST work from inside the pod's network namespace.
      const script = [
        'import json, os, ssl, urllib.request',
        "d = '/var/run/secrets/kubernetes.io/serviceaccount'",
        "ns = open(d + '/namespace').read()",
        "ctx = ssl.create_default_context(cafile=d + '/ca.crt')",
        "url = 'https://%s:%s/api/v1/namespaces/%s/pods' % (os.environ['KUBERNETES_SERVICE_HOST'], os.environ['KUBERNETES_SERVICE_PORT'], ns)",
        "req = urllib.request.Request(url, headers={'Authorization': 'Bearer ' + open(d + '/token').read()})",
        'try:',
        '    urllib.request.urlopen(req, context=ctx)',
        'except urllib.error.HTTPError as e:',
        "    print('api', e.code, json.load(e)['message'])",
        "print('env', os.environ['POD_NAME'], os.environ['POD_IP'], os.environ['GREETING'], os.environ['MEM_MI'])",
        "print('labels', open('/etc/podinfo/labels').read().replace(chr(10), ' '))",
        "print('hostname', os.uname().nodename)",
      ].join('\n');
      await core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name: 'incluster', labels: { team: 'krt' } },
          spec: {
            restartPolicy: 'Never',
            containers: [
              {
                name: 'c',
                image: HOST_IMAGE,
                command: ['python3', '-c', script],
                envFrom: [{ configMapRef: { name: 'cfg' } }],
                env: [
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                  {
                    name: 'MEM_MI',
                    valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } },
                  },
                ],
                resources: { limits: { memory: '64Mi' } },
                volumeMounts: [{ name: 'podinfo', mountPath: '/etc/podinfo', readOnly: true }],
              },
            ],
            volumes: [
              {
                name: 'podinfo',
                downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] },
              },
            ],
          },
        },
      });
      const p = await waitFor('pod finished', async () => {
        const x = await pod(ns, 'incluster');
        return x.status?.phase === 'Succeeded' || x.status?.phase === 'Failed' ? x : undefined;
      });
      const log = await kubectl(kubeconfig, ['logs', '-n', ns, 'incluster']);
      assert.equal(p.status?.phase, 'Succeeded', log);
      assert.match(log, new RegExp(`api 403 .*system:serviceaccount:${ns}:default`));
      assert.match(log, new RegExp(`env incluster ${p.status?.podIP?.replaceAll('.', '\\.')} hello 64`));
      assert.match(log, /labels team="krt"/);
      assert.match(log, /hostname incluster/);
    });
  });
});
