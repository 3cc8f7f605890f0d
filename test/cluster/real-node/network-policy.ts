// The real node's NetworkPolicy agent, kube-network-policies (built and patched by go-builds.ts),
// as node.ts runs it: a host process beside the kubelet, not a DaemonSet, since no registry serves
// its image here. Pure: its identity, RBAC, kubeconfig path, command line and nft cleanup.
//
// Why each choice (docs/real-node.md has the whole story):
//   - it reaches the apiserver with a kubeconfig (the patch's --kubeconfig) and a client
//     certificate of its own, whose user gets upstream's ClusterRole (list/watch pods, namespaces,
//     NetworkPolicies) plus Events, instead of a ServiceAccount token at in-cluster paths;
//   - it enforces on packets to and from the pods of krt-real-0 only (--hostname-override), by
//     queueing each new connection's first packet (nfqueue 100) and answering in userspace; this
//     kernel lacks nft's `queue`, so the patched agent queues through the xt NFQUEUE target;
//   - NRI is off: containerd's NRI socket is under the node's own directory, and v0.8.0 only dials
//     /var/run/nri/nri.sock. Pod IPs then come from the apiserver, as upstream does without NRI;
//   - the DNS race workaround (a prerouting chain for UDP 53) is off: the kernel (6.18) has the fix;
//   - it drops its table on SIGINT only (SIGTERM kills it with the table left, failing closed), so
//     node.ts stops it with SIGINT and deletes the table if it is still there.
import path from 'node:path';
import YAML from 'yaml';
import { type JoinPaths, REAL_NODE } from './join.ts';

export const NETWORK_POLICY_AGENT = {
  name: 'kube-network-policies',
  /** The inet table the agent owns (upstream's default name). */
  nftTable: 'kube-network-policies',
  /** nfqueue number (upstream's default). */
  queue: 100,
  /** Its Prometheus endpoint; upstream's :9080 on all addresses is more than a test node needs. */
  metricsAddress: '127.0.0.1:9086',
  /** The client certificate's user, bound to the ClusterRole below. */
  user: 'kruntimes-real-node:kube-network-policies',
  clusterRole: 'kruntimes-real-node:kube-network-policies',
  /** Signal that makes it delete its nft table before exiting. */
  stopSignal: 'SIGINT',
} as const;

export function networkPolicyPaths(jp: JoinPaths) {
  return {
    kubeconfig: path.join(jp.root, 'kube-network-policies.kubeconfig'),
    client: { cert: path.join(jp.pki, 'kube-network-policies.crt'), key: path.join(jp.pki, 'kube-network-policies.key') },
  };
}

export function agentClientSubject(): string {
  return `/CN=${NETWORK_POLICY_AGENT.user}`;
}

const LABELS = { 'app.kubernetes.io/managed-by': 'kruntimes-real-node' };

/** Upstream install.yaml's ClusterRole (list/watch pods, namespaces, NetworkPolicies) plus Events, bound to the agent's user. */
export function renderAgentRbac(): string {
  const name = NETWORK_POLICY_AGENT.clusterRole;
  const role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name, labels: LABELS },
    rules: [
      { apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['list', 'watch'] },
      { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['list', 'watch'] },
      { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch', 'update'] },
    ],
  };
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: LABELS },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: NETWORK_POLICY_AGENT.user }],
  };
  return [role, binding].map((o) => YAML.stringify(o)).join('---\n');
}

export function agentArgs(kubeconfig: string, node: string = REAL_NODE.name): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--hostname-override=${node}`,
    `--nfqueue-id=${NETWORK_POLICY_AGENT.queue}`,
    '--disable-nri',
    '--netfilter-bug-1766-fix=false',
    `--metrics-bind-address=${NETWORK_POLICY_AGENT.metricsAddress}`,
    '--v=2',
  ];
}

/** `nft -f` input that deletes the agent's table, or '' when `nft -j list tables` shows none. */
export function agentNftCleanup(tablesJson: string): string {
  const items = (JSON.parse(tablesJson) as { nftables?: Array<{ table?: { family: string; name: string } }> }).nftables ?? [];
  const present = items.some((i) => i.table?.family === 'inet' && i.table.name === NETWORK_POLICY_AGENT.nftTable);
  return present ? `delete table inet ${NETWORK_POLICY_AGENT.nftTable}\n` : '';
}
