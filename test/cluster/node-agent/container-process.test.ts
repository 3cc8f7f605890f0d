import assert from 'node:assert/strict';
import { launchArgs, sortMounts } from './container-process.ts';
import { parsePorts } from './port-forward.ts';

describe('node agent: container launch', () => {
  it('mounts parents before children', () => {
    const m = (containerPath: string) => ({ hostPath: '/h', containerPath, readOnly: false });
    assert.deepEqual(
      sortMounts([m('/a/b/c'), m('/a'), m('/x/y')]).map((x) => x.containerPath),
      ['/a', '/x/y', '/a/b/c'],
    );
  });

  it('enters the pod network namespace, then private mount and UTS namespaces', () => {
    const { command, args } = launchArgs({
      argv: ['python3', '-V'],
      workingDir: '/repo',
      netnsPath: '/var/run/netns/krt-u1',
      hostname: 'pod-a',
      mounts: [
        {
          hostPath: '/v/tok',
          containerPath: '/var/run/secrets/kubernetes.io/serviceaccount',
          readOnly: true,
        },
      ],
      cgroupDir: '/sys/fs/cgroup/kruntimes/u1/c.0',
      keepVisible: ['/tmp/checkout', '/opt/node/bin'],
    });
    assert.equal(command, 'nsenter');
    assert.deepEqual(args.slice(0, 8), [
      '--net=/var/run/netns/krt-u1',
      '--',
      'unshare',
      '--mount',
      '--propagation',
      'private',
      '--uts',
      '--',
    ]);
    const init = args.slice(8);
    assert.equal(init[0], 'sh');
    assert.match(init[1], /container-init\.sh$/);
    assert.deepEqual(init.slice(2), [
      '/sys/fs/cgroup/kruntimes/u1/c.0',
      'pod-a',
      '/repo',
      '/tmp/checkout:/opt/node/bin',
      '1',
      '/v/tok',
      '/var/run/secrets/kubernetes.io/serviceaccount',
      'ro',
      '--',
      'python3',
      '-V',
    ]);
  });

  it('stays in the host network and UTS namespaces for hostNetwork pods', () => {
    const { command, args } = launchArgs({ argv: ['true'], workingDir: '/', mounts: [], cgroupDir: null, keepVisible: [] });
    assert.equal(command, 'unshare');
    assert.equal(args.includes('--uts'), false);
    assert.deepEqual(args.slice(-7), ['-', '-', '/', '-', '0', '--', 'true']);
  });

  it('parses port-forward ports', () => {
    assert.deepEqual(parsePorts(new URLSearchParams('port=8080&port=9090')), [8080, 9090]);
    assert.deepEqual(parsePorts(new URLSearchParams('port=80,443')), [80, 443]);
    assert.throws(() => parsePorts(new URLSearchParams('')), /required/);
    assert.throws(() => parsePorts(new URLSearchParams('port=70000')), /invalid port/);
  });
});
