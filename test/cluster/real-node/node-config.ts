// Drafts of the real node's kubelet and CNI configuration, for the part of issue 12 that joins a
// kubelet + containerd node to the local cluster (nothing starts them yet). They encode what this
// machine needs, found while building the node:
//   - cgroup v1 (hybrid: /sys/fs/cgroup is a tmpfs of v1 controllers, cgroup2 at .../unified holds
//     only hugetlb) and PID 1 is not systemd → cgroupDriver cgroupfs, SystemdCgroup=false for runc, and
//     failCgroupV1: false (Kubernetes 1.35 turns it on by default; 1.34 still runs on v1);
//   - port 10250 belongs to the process node agent → the kubelet serves on another port;
//   - the agent's pods use the bridge krt0 with 10.244.0.0/16 → the real node gets its own bridge
//     and pod range; host-local's state and everything else stays under the node's directory;
//   - the base system has no iptables binary (buildah's dependencies bring one), the kernel has
//     nftables → portmap's nftables backend, which needs no binary.
import path from 'node:path';

export interface CniOptions {
  /** Directory for host-local's allocations (instead of /var/lib/cni/networks). */
  dataDir: string;
  bridge: string;
  subnet: string;
  gateway: string;
}

export const REAL_NODE_NETWORK: Omit<CniOptions, 'dataDir'> = {
  bridge: 'krt1',
  subnet: '10.245.0.0/24',
  gateway: '10.245.0.1',
};

/** The conflist for containerd's CRI conf_dir (loopback is set up by the CRI itself from bin_dirs). */
export function renderCniConflist(o: CniOptions): string {
  return `${JSON.stringify({
    cniVersion: '1.0.0',
    name: 'krt-real',
    plugins: [
      {
        type: 'bridge',
        bridge: o.bridge,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          dataDir: path.join(o.dataDir, 'ipam'),
          ranges: [[{ subnet: o.subnet, gateway: o.gateway }]],
          routes: [{ dst: '0.0.0.0/0' }],
        },
      },
      { type: 'portmap', backend: 'nftables', capabilities: { portMappings: true } },
    ],
  }, null, 2)}\n`;
}

export interface KubeletOptions {
  containerdSocket: string;
  clientCaFile: string;
  tlsCertFile: string;
  tlsKeyFile: string;
  port: number;
  healthzPort: number;
  cgroupDriver: 'systemd' | 'cgroupfs';
  /** Kubelet cgroups below this root, apart from the node agent's /kruntimes tree. */
  cgroupRoot: string;
  /** Where container logs go (instead of /var/log/pods). */
  podLogsDir?: string;
  /** Taints the node registers with (so that only pods that tolerate them land there). */
  registerWithTaints?: Array<{ key: string; value: string; effect: 'NoSchedule' | 'NoExecute' | 'PreferNoSchedule' }>;
}

export const REAL_NODE_KUBELET_PORTS = { port: 10260, healthzPort: 10248 } as const;

/** A KubeletConfiguration (kubelet.config.k8s.io/v1beta1) as JSON, which the kubelet's --config reads like YAML. */
export function renderKubeletConfig(o: KubeletOptions): string {
  const endpoint = `unix://${o.containerdSocket}`;
  return `${JSON.stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: '0.0.0.0',
    port: o.port,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: o.healthzPort,
    tlsCertFile: o.tlsCertFile,
    tlsPrivateKeyFile: o.tlsKeyFile,
    // The apiserver's kubelet client certificate is the cluster admin's (components.ts).
    authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: o.clientCaFile } },
    authorization: { mode: 'AlwaysAllow' },
    containerRuntimeEndpoint: endpoint,
    imageServiceEndpoint: endpoint,
    cgroupDriver: o.cgroupDriver,
    failCgroupV1: false,
    cgroupRoot: o.cgroupRoot,
    cgroupsPerQOS: true,
    failSwapOn: false,
    // A shared development disk must not make the node evict test pods.
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    rotateCertificates: false,
    serverTLSBootstrap: false,
    clusterDomain: 'cluster.local',
    clusterDNS: [],
    resolvConf: '/etc/resolv.conf',
    maxPods: 110,
    ...(o.podLogsDir ? { podLogsDir: o.podLogsDir } : {}),
    ...(o.registerWithTaints ? { registerNode: true, registerWithTaints: o.registerWithTaints } : {}),
  }, null, 2)}\n`;
}
