// The pure parts of joining the real node (kubelet + containerd + runc + CNI) to the local cluster:
// its name, label, taint and address, where its files live, the certificates' subjects and SANs, the
// kubelet's kubeconfig and command line, the RBAC binding its user needs, and the nftables rules that
// make the `kubernetes` Service's ClusterIP reach the apiserver. node.ts runs them.
//
// Why each choice (docs/real-node.md has the whole story):
//   - the node is TAINTED (kruntimes.io/real-node=true:NoSchedule) and labelled, so nothing of the
//     running cluster lands on it unless it tolerates the taint and selects the label;
//   - its InternalIP is its bridge's gateway (10.245.0.1), an address of this machine: the apiserver
//     (--kubelet-preferred-address-types=InternalIP) dials the kubelet there on 10260. A kubelet
//     refuses a loopback node IP, and 10250 on 127.0.0.1 is the node agent's;
//   - the apiserver has no Node authorizer (RBAC only), so the node's user is bound to system:node;
//   - there is no kube-proxy and no endpoints for `kubernetes` (--endpoint-reconciler-type=none):
//     the kubelet gives pods KUBERNETES_SERVICE_HOST=10.96.0.1:443, so one DNAT sends that to the
//     apiserver address the node agent's pods use (IN_CLUSTER_API), which is an address of this
//     machine, so no forwarding is needed. The apiserver's certificate names 10.96.0.1 (pki.ts).
import path from 'node:path';
import YAML from 'yaml';
import { cacheDir, IN_CLUSTER_API, Network, Ports } from '../config.ts';
import { REAL_NODE_NETWORK } from './node-config.ts';
import { realNodeDir } from './versions.ts';

export const REAL_NODE = {
  name: 'krt-real-0',
  label: { key: 'kruntimes.io/node-kind', value: 'real' },
  taint: { key: 'kruntimes.io/real-node', value: 'true', effect: 'NoSchedule' as const },
  /** The bridge's gateway: the node's InternalIP, where the apiserver reaches the kubelet. */
  nodeIP: REAL_NODE_NETWORK.gateway,
  /** Cgroup root of the kubelet's pods (kubepods below it), apart from the node agent's /kruntimes. */
  cgroupRoot: '/krt-real',
  /** The nftables table node.ts owns (added by `up`, deleted by `down`). */
  nftTable: 'krt_real_node',
  /** ClusterRoleBinding of the node's user to system:node. */
  clusterRoleBinding: 'kruntimes-real-node:system:node',
} as const;

/** `kruntimes.io/real-node=true:NoSchedule` as kubectl and --register-with-taints spell it. */
export function taintText(t = REAL_NODE.taint): string {
  return `${t.key}=${t.value}:${t.effect}`;
}

/** The `kubernetes` Service's ClusterIP: the first address of the service range. */
export function kubernetesServiceIP(serviceCidr: string = Network.serviceCidr): string {
  const [base] = serviceCidr.split('/');
  const o = base.split('.').map(Number);
  return [o[0], o[1], o[2], o[3] + 1].join('.');
}

export function joinPaths(cache = cacheDir()) {
  const root = path.join(realNodeDir(cache), 'node');
  const pki = path.join(root, 'pki');
  return {
    root,
    /** The node's containerd: config.toml, root/, state/, its sockets (containerd-config.ts). */
    containerd: path.join(root, 'containerd'),
    kubeletRoot: path.join(root, 'kubelet'),
    kubeletConfig: path.join(root, 'kubelet-config.json'),
    kubeconfig: path.join(root, 'kubelet.kubeconfig'),
    podLogs: path.join(root, 'pod-logs'),
    cniConfDir: path.join(root, 'cni', 'net.d'),
    cniData: path.join(root, 'cni'),
    pki,
    client: { cert: path.join(pki, 'kubelet-client.crt'), key: path.join(pki, 'kubelet-client.key') },
    serving: { cert: path.join(pki, 'kubelet-serving.crt'), key: path.join(pki, 'kubelet-serving.key') },
    logs: path.join(root, 'logs'),
    /** Pids of the processes `up` started, with the marker their command line must contain. */
    pids: path.join(root, 'pids.json'),
    /** Kernel settings the kubelet changes, as they were before it started (restored by `down`). */
    sysctls: path.join(root, 'sysctls.json'),
  };
}
export type JoinPaths = ReturnType<typeof joinPaths>;

/** The node's client identity: the user system:node:<name> in the group system:nodes. */
export function kubeletClientSubject(node: string = REAL_NODE.name): string {
  return `/O=system:nodes/CN=system:node:${node}`;
}

/** openssl -addext values of the kubelet's client certificate. */
export function kubeletClientExtensions(): string[] {
  return ['extendedKeyUsage=clientAuth', 'basicConstraints=critical,CA:FALSE'];
}

/** Names the apiserver (and anyone) dials the kubelet by: its InternalIP, its name, localhost. */
export function kubeletServingSans(node: string = REAL_NODE.name, nodeIP: string = REAL_NODE.nodeIP): string[] {
  return [`IP:${nodeIP}`, 'IP:127.0.0.1', `DNS:${node}`, 'DNS:localhost'];
}

export function kubeletServingExtensions(node: string = REAL_NODE.name, nodeIP: string = REAL_NODE.nodeIP): string[] {
  return [
    `subjectAltName=${kubeletServingSans(node, nodeIP).join(',')}`,
    'extendedKeyUsage=serverAuth',
    'basicConstraints=critical,CA:FALSE',
  ];
}

export interface KubeconfigFiles {
  server: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  user: string;
}

/** The kubelet's kubeconfig: the cluster CA and the node's client certificate, by path. */
export function renderKubeletKubeconfig(o: KubeconfigFiles): string {
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'krt', cluster: { server: o.server, 'certificate-authority': o.caFile } }],
    users: [{ name: o.user, user: { 'client-certificate': o.certFile, 'client-key': o.keyFile } }],
    contexts: [{ name: 'krt', context: { cluster: 'krt', user: o.user } }],
    'current-context': 'krt',
  });
}

/** Without the Node authorizer, RBAC alone must let the node's user do what a kubelet does. */
export function renderNodeClusterRoleBinding(node: string = REAL_NODE.name): string {
  return YAML.stringify({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: REAL_NODE.clusterRoleBinding, labels: { 'app.kubernetes.io/managed-by': 'kruntimes-real-node' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:node' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: `system:node:${node}` }],
  });
}

export interface ServiceDnat {
  table: string;
  /** Only packets from the real node's pods are rewritten. */
  podCidr: string;
  serviceIP: string;
  servicePort: number;
  apiHost: string;
  apiPort: number;
}

export function serviceDnat(): ServiceDnat {
  return {
    table: REAL_NODE.nftTable,
    podCidr: REAL_NODE_NETWORK.subnet,
    serviceIP: kubernetesServiceIP(),
    servicePort: 443,
    apiHost: IN_CLUSTER_API.host,
    apiPort: IN_CLUSTER_API.port,
  };
}

/**
 * An `nft -f` script: (re)creates one table of our own with a prerouting DNAT of the `kubernetes`
 * ClusterIP to the apiserver. Deleting the table (`nft delete table ip <table>`) undoes it all.
 * The leading `add table` + `delete table` makes the script idempotent.
 */
export function renderNftRules(d: ServiceDnat): string {
  return [
    `add table ip ${d.table}`,
    `delete table ip ${d.table}`,
    `table ip ${d.table} {`,
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    `    ip saddr ${d.podCidr} ip daddr ${d.serviceIP} tcp dport ${d.servicePort} dnat to ${d.apiHost}:${d.apiPort}`,
    '  }',
    '}',
    '',
  ].join('\n');
}

export interface KubeletArgsOptions {
  config: string;
  kubeconfig: string;
  rootDir: string;
  certDir: string;
}

export function kubeletArgs(o: KubeletArgsOptions, node: string = REAL_NODE.name): string[] {
  return [
    `--config=${o.config}`,
    `--kubeconfig=${o.kubeconfig}`,
    `--root-dir=${o.rootDir}`,
    `--cert-dir=${o.certDir}`,
    `--hostname-override=${node}`,
    `--node-ip=${REAL_NODE.nodeIP}`,
    `--node-labels=${REAL_NODE.label.key}=${REAL_NODE.label.value}`,
    '--v=1',
  ];
}

/** The apiserver URL the kubelet itself uses (from the host). */
export const KUBELET_API_SERVER = `https://127.0.0.1:${Ports.apiserver}`;

/** iptables chains the kubelet makes on start (kubelet_network_linux.go) and leaves behind. */
export const KUBELET_IPTABLES_CHAINS = ['KUBE-FIREWALL', 'KUBE-KUBELET-CANARY', 'KUBE-IPTABLES-HINT'] as const;
const IPTABLES_TABLES = ['filter', 'nat', 'mangle'];

type NftItem = {
  table?: { family: string; name: string };
  chain?: { family: string; table: string; name: string; hook?: string };
  rule?: { family: string; table: string; chain: string; handle: number; expr: Array<Record<string, unknown>> };
};

/**
 * `nft -f` commands that undo what the kubelet added to the iptables-nft tables, from `nft -j list
 * ruleset`: the rules that jump to its chains, its chains, and then each ip/ip6 filter, nat or mangle
 * table that is left with nothing but empty chains (iptables-nft makes them again when anyone needs
 * them). Rules and chains of anyone else are kept, and so is every table that still has a rule.
 */
export function kubeletIptablesCleanup(rulesetJson: string): string {
  const items = (JSON.parse(rulesetJson) as { nftables: NftItem[] }).nftables;
  const ours = new Set<string>(KUBELET_IPTABLES_CHAINS);
  const key = (family: string, table: string) => `${family} ${table}`;
  const cmds: string[] = [];
  const remainingRules = new Map<string, number>();
  for (const { rule } of items) {
    if (!rule) continue;
    const jumpsToOurs = rule.expr.some((e) => {
      const target = ((e.jump ?? e.goto) as { target?: string } | undefined)?.target;
      return target !== undefined && ours.has(target);
    });
    if (jumpsToOurs && !ours.has(rule.chain)) cmds.push(`delete rule ${rule.family} ${rule.table} ${rule.chain} handle ${rule.handle}`);
    else if (!ours.has(rule.chain)) {
      const k = key(rule.family, rule.table);
      remainingRules.set(k, (remainingRules.get(k) ?? 0) + 1);
    }
  }
  for (const { chain } of items) {
    if (chain && ours.has(chain.name)) cmds.push(`flush chain ${chain.family} ${chain.table} ${chain.name}`);
  }
  for (const { chain } of items) {
    if (chain && ours.has(chain.name)) cmds.push(`delete chain ${chain.family} ${chain.table} ${chain.name}`);
  }
  for (const { table } of items) {
    if (!table || !['ip', 'ip6'].includes(table.family) || !IPTABLES_TABLES.includes(table.name)) continue;
    const hasOurs = items.some(({ chain: c }) => c && c.family === table.family && c.table === table.name && ours.has(c.name));
    if (hasOurs && !remainingRules.get(key(table.family, table.name))) cmds.push(`delete table ${table.family} ${table.name}`);
  }
  return cmds.length ? `${cmds.join('\n')}\n` : '';
}
