// The real node's identity, certificates, RBAC binding, kubelet command line and the nft DNAT that
// sends the `kubernetes` ClusterIP to the apiserver: all pure text, checked here.
import assert from 'node:assert/strict';
import YAML from 'yaml';
import { IN_CLUSTER_API, NODE_NAME, Ports } from '../config.ts';
import { APISERVER_SANS } from '../pki.ts';
import {
  joinPaths,
  kubeletArgs,
  kubeletClientSubject,
  kubeletIptablesCleanup,
  kubeletServingExtensions,
  kubeletServingSans,
  kubernetesServiceIP,
  REAL_NODE,
  renderKubeletKubeconfig,
  renderNftRules,
  renderNodeClusterRoleBinding,
  serviceDnat,
  taintText,
} from './join.ts';
import { REAL_NODE_NETWORK } from './node-config.ts';

describe('real node join', () => {
  it('is a node of its own, tainted, at its bridge gateway', () => {
    assert.notEqual(REAL_NODE.name, NODE_NAME);
    assert.equal(taintText(), 'kruntimes.io/real-node=true:NoSchedule');
    assert.equal(REAL_NODE.nodeIP, REAL_NODE_NETWORK.gateway);
    const args = kubeletArgs({ config: '/n/c.json', kubeconfig: '/n/k', rootDir: '/n/kubelet', certDir: '/n/pki' });
    assert.ok(args.includes('--hostname-override=krt-real-0'));
    assert.ok(args.includes('--node-ip=10.245.0.1'));
    assert.ok(args.includes('--node-labels=kruntimes.io/node-kind=real'));
    assert.ok(args.includes('--root-dir=/n/kubelet'));
    for (const p of Object.values(joinPaths('/c')).flatMap((v) => (typeof v === 'string' ? [v] : Object.values(v)))) {
      assert.ok(p.startsWith('/c/real-node/node'), p);
    }
  });

  it('issues a system:nodes client identity and a serving certificate for the InternalIP', () => {
    assert.equal(kubeletClientSubject(), '/O=system:nodes/CN=system:node:krt-real-0');
    assert.deepEqual(kubeletServingSans(), ['IP:10.245.0.1', 'IP:127.0.0.1', 'DNS:krt-real-0', 'DNS:localhost']);
    const ext = kubeletServingExtensions();
    assert.equal(ext[0], 'subjectAltName=IP:10.245.0.1,IP:127.0.0.1,DNS:krt-real-0,DNS:localhost');
    assert.ok(ext.includes('extendedKeyUsage=serverAuth'));
  });

  it('binds the node user to system:node and points the kubelet at the apiserver by file paths', () => {
    type Crb = { roleRef: { name: string }; subjects: Array<{ kind: string; name: string }> };
    const crb = YAML.parse(renderNodeClusterRoleBinding()) as Crb;
    assert.equal(crb.roleRef.name, 'system:node');
    assert.deepEqual(crb.subjects.map((s) => `${s.kind}/${s.name}`), ['User/system:node:krt-real-0']);
    const files = { server: 'https://127.0.0.1:6443', caFile: '/ca', certFile: '/c', keyFile: '/k', user: 'u' };
    const kc = YAML.parse(renderKubeletKubeconfig(files)) as {
      clusters: Array<{ cluster: Record<string, string> }>;
      users: Array<{ user: Record<string, string> }>;
    };
    assert.deepEqual(kc.clusters[0].cluster, { server: 'https://127.0.0.1:6443', 'certificate-authority': '/ca' });
    assert.deepEqual(kc.users[0].user, { 'client-certificate': '/c', 'client-key': '/k' });
  });

  it('DNATs the kubernetes ClusterIP from the real pods to the apiserver address pods use, in a table of its own', () => {
    assert.equal(kubernetesServiceIP('10.96.0.0/16'), '10.96.0.1');
    assert.ok(APISERVER_SANS.includes('IP:10.96.0.1'), 'the apiserver certificate names the ClusterIP');
    const d = serviceDnat();
    assert.deepEqual([d.apiHost, d.apiPort], [IN_CLUSTER_API.host, Ports.apiserver]);
    assert.equal(renderNftRules(d), [
      'add table ip krt_real_node',
      'delete table ip krt_real_node',
      'table ip krt_real_node {',
      '  chain prerouting {',
      '    type nat hook prerouting priority dstnat; policy accept;',
      '    ip saddr 10.245.0.0/24 ip daddr 10.96.0.1 tcp dport 443 dnat to 10.244.0.1:6443',
      '  }',
      '}',
      '',
    ].join('\n'));
  });
});

describe('cleanup of the kubelet iptables chains', () => {
  const chain = (family: string, table: string, name: string, hook?: string) =>
    ({ chain: { family, table, name, handle: 1, ...(hook ? { hook } : {}) } });
  const rule = (family: string, table: string, chainName: string, handle: number, expr: unknown[]) =>
    ({ rule: { family, table, chain: chainName, handle, expr } });

  it('removes its jumps, its chains and the tables they leave empty, and keeps what others added', () => {
    const ruleset = JSON.stringify({
      nftables: [
        { metainfo: {} },
        { table: { family: 'ip', name: 'filter' } },
        chain('ip', 'filter', 'KUBE-FIREWALL'),
        chain('ip', 'filter', 'INPUT', 'input'),
        rule('ip', 'filter', 'KUBE-FIREWALL', 6, [{ drop: null }]),
        rule('ip', 'filter', 'INPUT', 5, [{ counter: {} }, { jump: { target: 'KUBE-FIREWALL' } }]),
        { table: { family: 'ip', name: 'nat' } },
        chain('ip', 'nat', 'KUBE-KUBELET-CANARY'),
        chain('ip', 'nat', 'POSTROUTING', 'postrouting'),
        rule('ip', 'nat', 'POSTROUTING', 9, [{ masquerade: null }]),
        { table: { family: 'ip', name: 'krt_real_node' } },
      ],
    });
    assert.equal(kubeletIptablesCleanup(ruleset), [
      'delete rule ip filter INPUT handle 5',
      'flush chain ip filter KUBE-FIREWALL',
      'flush chain ip nat KUBE-KUBELET-CANARY',
      'delete chain ip filter KUBE-FIREWALL',
      'delete chain ip nat KUBE-KUBELET-CANARY',
      'delete table ip filter',
      '',
    ].join('\n'));
    assert.equal(kubeletIptablesCleanup(JSON.stringify({ nftables: [{ table: { family: 'ip', name: 'filter' } }] })), '');
  });
});
