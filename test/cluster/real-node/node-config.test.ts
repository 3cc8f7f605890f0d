// The real node's kubelet and CNI drafts stay apart from the process agent (port, bridge, pod range,
// cgroups) and carry the cgroup settings this machine needs.
import assert from 'node:assert/strict';
import { Network, Ports } from '../config.ts';
import { REAL_NODE_KUBELET_PORTS, REAL_NODE_NETWORK, renderCniConflist, renderKubeletConfig } from './node-config.ts';

describe('real node kubelet and CNI config', () => {
  it('gives the node its own bridge and pod range, state under its directory, nftables portmap', () => {
    type Ipam = { dataDir: string; ranges: Array<Array<{ subnet: string }>> };
    const conf = JSON.parse(renderCniConflist({ dataDir: '/n/cni', ...REAL_NODE_NETWORK })) as {
      cniVersion: string;
      plugins: Array<{ type: string; bridge?: string; backend?: string; ipam?: Ipam }>;
    };
    assert.equal(conf.cniVersion, '1.0.0');
    assert.deepEqual(conf.plugins.map((p) => p.type), ['bridge', 'portmap']);
    const bridge = conf.plugins[0];
    assert.notEqual(bridge.bridge, Network.bridge);
    assert.equal(bridge.ipam?.dataDir, '/n/cni/ipam');
    assert.ok(!bridge.ipam!.ranges[0][0].subnet.startsWith('10.244.'), 'outside the agent pod range');
    assert.equal(conf.plugins[1].backend, 'nftables');
  });

  it('serves on a port the node agent does not use, cgroupfs on cgroup v1, containerd by its socket', () => {
    const cfg = JSON.parse(renderKubeletConfig({
      containerdSocket: '/n/containerd.sock',
      clientCaFile: '/p/ca.crt',
      tlsCertFile: '/p/k.crt',
      tlsKeyFile: '/p/k.key',
      cgroupDriver: 'cgroupfs',
      cgroupRoot: '/krt-real',
      ...REAL_NODE_KUBELET_PORTS,
    })) as Record<string, unknown>;
    assert.equal(cfg.kind, 'KubeletConfiguration');
    assert.notEqual(cfg.port, Ports.kubelet);
    assert.equal(cfg.containerRuntimeEndpoint, 'unix:///n/containerd.sock');
    assert.equal(cfg.cgroupDriver, 'cgroupfs');
    assert.equal(cfg.failCgroupV1, false);
    assert.equal(cfg.readOnlyPort, 0);
    assert.equal(cfg.podLogsDir, undefined);
    assert.deepEqual(cfg.authentication, { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: '/p/ca.crt' } });
  });

  it('registers with the taint and keeps pod logs where it is told', () => {
    const cfg = JSON.parse(renderKubeletConfig({
      containerdSocket: '/s',
      clientCaFile: '/ca',
      tlsCertFile: '/c',
      tlsKeyFile: '/k',
      cgroupDriver: 'cgroupfs',
      cgroupRoot: '/krt-real',
      podLogsDir: '/n/pod-logs',
      registerWithTaints: [{ key: 'kruntimes.io/real-node', value: 'true', effect: 'NoSchedule' }],
      ...REAL_NODE_KUBELET_PORTS,
    })) as Record<string, unknown>;
    assert.equal(cfg.podLogsDir, '/n/pod-logs');
    assert.equal(cfg.registerNode, true);
    assert.deepEqual(cfg.registerWithTaints, [{ key: 'kruntimes.io/real-node', value: 'true', effect: 'NoSchedule' }]);
  });
});
