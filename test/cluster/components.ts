// The five processes of the local cluster: command lines and health checks. The non-obvious
// flags say why next to them; docs/local-cluster.md sums up the choices.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { ClusterPaths } from './config.ts';
import { binaries, Network, NODE_NAME, Ports, REPO_ROOT } from './config.ts';
import type { DaemonSpec } from './daemon.ts';
import type { ClientTls } from './https-get.ts';
import { get } from './https-get.ts';
import { CONTROL_PLANE_QPS } from './kubeconfig.ts';
import { FRONT_PROXY_CN } from './pki.ts';

export interface Component {
  spec: DaemonSpec;
  /** True when the component answers its health endpoint. */
  healthy(tls: ClientTls): Promise<boolean>;
}

export const ComponentName = {
  etcd: 'etcd',
  apiserver: 'kube-apiserver',
  controllerManager: 'kube-controller-manager',
  scheduler: 'kube-scheduler',
  nodeAgent: 'node-agent',
} as const;
export type ComponentName = (typeof ComponentName)[keyof typeof ComponentName];

/** Start order; `down` stops them in reverse. */
export const START_ORDER: readonly ComponentName[] = [
  ComponentName.etcd,
  ComponentName.apiserver,
  ComponentName.controllerManager,
  ComponentName.scheduler,
  ComponentName.nodeAgent,
];

export const NODE_AGENT_MAIN = path.join(REPO_ROOT, 'test', 'cluster', 'node-agent', 'main.ts');

let noFsyncSupported: boolean | undefined;
/** `--unsafe-no-fsync` exists since etcd 3.5; probe like envtest does instead of assuming. */
function etcdSupportsNoFsync(etcd: string): boolean {
  if (noFsyncSupported === undefined) {
    try {
      noFsyncSupported = execFileSync(etcd, ['--help'], { encoding: 'utf8', stdio: 'pipe' }).includes(
        '--unsafe-no-fsync',
      );
    } catch (err) {
      const out = (err as { stdout?: string; stderr?: string }).stdout ?? '';
      noFsyncSupported = out.includes('--unsafe-no-fsync');
    }
  }
  return noFsyncSupported;
}

const healthz = (url: string, tls: ClientTls, verify: boolean) =>
  get(url, tls, verify).then((r) => r.status === 200 && r.body.trim() === 'ok');

export function components(paths: ClusterPaths): Record<ComponentName, Component> {
  const bin = binaries();
  const p = paths;
  const kubeconfigFlags = [
    `--kubeconfig=${p.kubeconfig}`,
    `--authentication-kubeconfig=${p.kubeconfig}`,
    `--authorization-kubeconfig=${p.kubeconfig}`,
  ];
  const etcdUrl = `http://127.0.0.1:${Ports.etcdClient}`;
  const peerUrl = `http://127.0.0.1:${Ports.etcdPeer}`;
  return {
    [ComponentName.etcd]: {
      spec: {
        name: ComponentName.etcd,
        command: bin.etcd,
        marker: bin.etcd,
        args: [
          '--name=krt',
          `--data-dir=${p.etcdData}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          `--initial-cluster=krt=${peerUrl}`,
          '--auto-compaction-mode=periodic',
          '--auto-compaction-retention=10m',
          '--quota-backend-bytes=4294967296',
          '--log-level=warn',
          // Test data only: skipping fsync makes every write much cheaper on a shared 2-core machine.
          ...(etcdSupportsNoFsync(bin.etcd) ? ['--unsafe-no-fsync=true'] : []),
        ],
      },
      healthy: () => get(`${etcdUrl}/health`).then((r) => r.status === 200 && r.body.includes('"true"')),
    },
    [ComponentName.apiserver]: {
      spec: {
        name: ComponentName.apiserver,
        command: bin.apiserver,
        marker: bin.apiserver,
        args: [
          `--etcd-servers=${etcdUrl}`,
          // 0.0.0.0: reachable from the host (127.0.0.1) and from pods (the bridge gateway).
          '--bind-address=0.0.0.0',
          `--advertise-address=${Network.gateway}`,
          `--secure-port=${Ports.apiserver}`,
          `--tls-cert-file=${p.apiserver.cert}`,
          `--tls-private-key-file=${p.apiserver.key}`,
          `--client-ca-file=${p.ca.cert}`,
          '--authorization-mode=RBAC',
          '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
          `--service-account-key-file=${p.serviceAccount.pub}`,
          `--service-account-signing-key-file=${p.serviceAccount.key}`,
          `--service-cluster-ip-range=${Network.serviceCidr}`,
          // No kube-proxy: the `kubernetes` Service endpoints would be useless writes.
          '--endpoint-reconciler-type=none',
          '--kubelet-preferred-address-types=InternalIP',
          `--kubelet-client-certificate=${p.admin.cert}`,
          `--kubelet-client-key=${p.admin.key}`,
          '--allow-privileged=true',
          // Profiling stays on: `kubectl get --raw /debug/pprof/profile` is how apiserver load is investigated.
          '--profiling=true',
          // Never throttle: benchmarks burst hundreds of requests per second on purpose.
          '--enable-priority-and-fairness=false',
          '--max-requests-inflight=0',
          '--max-mutating-requests-inflight=0',
          '--event-ttl=1h',
          // Request-header auth config: without it every delegating component (controller-manager,
          // scheduler) logs "missing content for CA bundle" in a retry loop.
          `--requestheader-client-ca-file=${p.ca.cert}`,
          `--requestheader-allowed-names=${FRONT_PROXY_CN}`,
          '--requestheader-username-headers=X-Remote-User',
          '--requestheader-group-headers=X-Remote-Group',
          '--requestheader-extra-headers-prefix=X-Remote-Extra-',
          `--proxy-client-cert-file=${p.frontProxy.cert}`,
          `--proxy-client-key-file=${p.frontProxy.key}`,
        ],
      },
      healthy: (tls) => healthz(`https://127.0.0.1:${Ports.apiserver}/readyz`, tls, true),
    },
    [ComponentName.controllerManager]: {
      spec: {
        name: ComponentName.controllerManager,
        command: bin.controllerManager,
        marker: bin.controllerManager,
        args: [
          ...kubeconfigFlags,
          '--bind-address=127.0.0.1',
          `--secure-port=${Ports.controllerManager}`,
          // A restarted process would otherwise wait for its own old lease to expire.
          '--leader-elect=false',
          `--root-ca-file=${p.ca.cert}`,
          `--service-account-private-key-file=${p.serviceAccount.key}`,
          '--use-service-account-credentials=false',
          `--kube-api-qps=${CONTROL_PLANE_QPS.qps}`,
          `--kube-api-burst=${CONTROL_PLANE_QPS.burst}`,
        ],
      },
      healthy: (tls) => healthz(`https://127.0.0.1:${Ports.controllerManager}/healthz`, tls, false),
    },
    [ComponentName.scheduler]: {
      spec: {
        name: ComponentName.scheduler,
        command: bin.scheduler,
        marker: bin.scheduler,
        args: [
          `--config=${p.schedulerConfig}`,
          `--authentication-kubeconfig=${p.kubeconfig}`,
          `--authorization-kubeconfig=${p.kubeconfig}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${Ports.scheduler}`,
        ],
      },
      healthy: (tls) => healthz(`https://127.0.0.1:${Ports.scheduler}/healthz`, tls, false),
    },
    [ComponentName.nodeAgent]: {
      spec: {
        name: ComponentName.nodeAgent,
        command: process.execPath,
        marker: NODE_AGENT_MAIN,
        args: [NODE_AGENT_MAIN],
        cwd: REPO_ROOT,
        env: { ...process.env, KRT_CLUSTER_DIR: p.state, KRT_NODE_NAME: NODE_NAME },
      },
      healthy: (tls) => healthz(`https://127.0.0.1:${Ports.kubelet}/healthz`, tls, false),
    },
  };
}
