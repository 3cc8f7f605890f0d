// Fixed facts of the local cluster: versions, ports, addresses and where its files live.
import os from 'node:os';
import path from 'node:path';

export const KUBE_VERSION = '1.34.4';
export const ETCD_VERSION = '3.6.16';
export const NODE_NAME = 'krt-node-0';

/** The repository root: default working directory of mapped images and home of their entry points. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

export const Ports = {
  etcdClient: 2379,
  etcdPeer: 2380,
  apiserver: 6443,
  controllerManager: 10257,
  scheduler: 10259,
  kubelet: 10250,
} as const;

/**
 * Pod networking: one host bridge, one network namespace per pod. Only these self-made
 * addresses carry pod traffic; the host does not forward anything beyond the bridge.
 */
export const Network = {
  bridge: 'krt0',
  gateway: '10.244.0.1',
  podCidr: '10.244.0.0/16',
  prefixLength: 16,
  serviceCidr: '10.96.0.0/16',
  /** The Node's InternalIP: the apiserver dials the node agent here; hostNetwork pods get it as pod IP. */
  nodeIP: '127.0.0.1',
  /** Network namespaces are named `<netnsPrefix><pod uid>`; host-side veths `<vethPrefix><uid prefix>`. */
  netnsPrefix: 'krt-',
  vethPrefix: 'krtv',
} as const;

/** The apiserver address pods use (in-cluster config), reachable through the bridge. */
export const IN_CLUSTER_API = { host: Network.gateway, port: Ports.apiserver } as const;

export function cacheDir(): string {
  return process.env.KRT_CACHE || path.join(os.homedir(), '.cache', 'kruntimes');
}

export function stateDir(): string {
  return process.env.KRT_CLUSTER_DIR || path.join(cacheDir(), 'cluster');
}

export function binaries(cache = cacheDir()) {
  const k8s = path.join(cache, `k8s-v${KUBE_VERSION}`, 'bin');
  return {
    etcd: path.join(cache, `etcd-v${ETCD_VERSION}`, 'bin', 'etcd'),
    apiserver: path.join(k8s, 'kube-apiserver'),
    controllerManager: path.join(k8s, 'kube-controller-manager'),
    scheduler: path.join(k8s, 'kube-scheduler'),
  } as const;
}

/** Every file and directory of a cluster's state directory. */
export function clusterPaths(state = stateDir()) {
  const pki = path.join(state, 'pki');
  return {
    state,
    pki,
    ca: { cert: path.join(pki, 'ca.crt'), key: path.join(pki, 'ca.key') },
    apiserver: { cert: path.join(pki, 'apiserver.crt'), key: path.join(pki, 'apiserver.key') },
    admin: { cert: path.join(pki, 'admin.crt'), key: path.join(pki, 'admin.key') },
    kubelet: { cert: path.join(pki, 'kubelet.crt'), key: path.join(pki, 'kubelet.key') },
    frontProxy: {
      cert: path.join(pki, 'front-proxy-client.crt'),
      key: path.join(pki, 'front-proxy-client.key'),
    },
    serviceAccount: { key: path.join(pki, 'sa.key'), pub: path.join(pki, 'sa.pub') },
    kubeconfig: path.join(state, 'admin.kubeconfig'),
    schedulerConfig: path.join(state, 'scheduler.yaml'),
    etcdData: path.join(state, 'etcd'),
    logs: path.join(state, 'logs'),
    run: path.join(state, 'run'),
    pods: path.join(state, 'pods'),
    lock: path.join(state, 'up.lock'),
  };
}
export type ClusterPaths = ReturnType<typeof clusterPaths>;
