// containerd's rendered config keeps every path under its own directory, disables CRI and NRI for a
// ctr-only containerd, and carries the node's CRI settings otherwise; the cgroup driver follows the
// machine (systemd only when systemd is PID 1).
import assert from 'node:assert/strict';
import { cgroupSetup, containerdPaths, CRI_PLUGINS, hasCapSysResource, renderContainerdConfig } from './containerd-config.ts';

describe('real node containerd config', () => {
  it('keeps root, state, sockets and plugin paths under its directory', () => {
    const text = renderContainerdConfig({ dir: '/c/smoke', runc: '/b/runc' });
    assert.match(text, /^version = 3$/m);
    assert.match(text, /^root = "\/c\/smoke\/root"$/m);
    assert.match(text, /^state = "\/c\/smoke\/state"$/m);
    assert.match(text, /^imports = \[\]$/m);
    assert.match(text, /^\[grpc\]\n {2}address = "\/c\/smoke\/containerd\.sock"$/m);
    assert.match(text, /^\[ttrpc\]\n {2}address = "\/c\/smoke\/containerd\.sock\.ttrpc"$/m);
    assert.match(text, /^ {2}path = "\/c\/smoke\/opt"$/m);
    for (const line of text.split('\n').filter((l) => l.includes('"/'))) assert.match(line, /"\/c\/smoke\//, line);
    assert.ok(!text.includes('/run/containerd') && !text.includes('/var/run/nri'));
    assert.equal(containerdPaths('/c/smoke').socket, '/c/smoke/containerd.sock');
  });

  it('disables CRI and NRI without a cri section', () => {
    const text = renderContainerdConfig({ dir: '/d', runc: '/b/runc' });
    for (const p of CRI_PLUGINS) assert.ok(text.includes(`"${p}"`), p);
    assert.ok(!text.includes("'io.containerd.cri.v1.runtime'.containerd"));
  });

  it('configures runc, CNI, the sandbox image and the cgroup driver for the CRI', () => {
    const text = renderContainerdConfig({
      dir: '/d',
      runc: '/b/runc',
      cri: { cniBinDir: '/cni/bin', cniConfDir: '/cni/conf', sandboxImage: 'registry.k8s.io/pause:3.10.1', systemdCgroup: false },
    });
    assert.match(text, /^disabled_plugins = \[\]$/m);
    assert.match(text, /^ {2}socket_path = "\/d\/nri\.sock"$/m);
    assert.match(text, /runtimes\.runc\.options\]\n {2}BinaryName = "\/b\/runc"\n {2}SystemdCgroup = false$/m);
    assert.match(text, /^ {2}bin_dirs = \["\/cni\/bin"\]\n {2}conf_dir = "\/cni\/conf"$/m);
    assert.match(text, /^ {2}sandbox = "registry\.k8s\.io\/pause:3\.10\.1"$/m);
    assert.match(text, /^ {2}netns_mounts_under_state_dir = true$/m);
    assert.match(text, /^ {2}restrict_oom_score_adj = false$/m);
  });

  it('caps oom_score_adj where containerd cannot lower it (no CAP_SYS_RESOURCE)', () => {
    assert.equal(hasCapSysResource('000001fffeffffff'), false);
    assert.equal(hasCapSysResource('000001ffffffffff'), true);
    const text = renderContainerdConfig({
      dir: '/d',
      runc: '/b/runc',
      cri: { cniBinDir: '/b', cniConfDir: '/c', sandboxImage: 'p', systemdCgroup: false, restrictOomScoreAdj: true },
    });
    assert.match(text, /^ {2}restrict_oom_score_adj = true$/m);
  });

  it('picks the cgroup driver from the machine', () => {
    assert.deepEqual(cgroupSetup('tmpfs\n', 'process_api\n'), { version: 1, systemdIsInit: false, driver: 'cgroupfs' });
    assert.deepEqual(cgroupSetup('cgroup2fs', 'systemd'), { version: 2, systemdIsInit: true, driver: 'systemd' });
    assert.deepEqual(cgroupSetup('cgroup2fs', 'init'), { version: 2, systemdIsInit: false, driver: 'cgroupfs' });
  });
});
