// Pod networking with iproute2: a host bridge and, per pod, a network namespace joined to it by a
// veth pair. Pods reach each other and the host (the apiserver) through the bridge only; the
// host does not forward, so no pod packet leaves this machine.
import { Network } from '../config.ts';
import { exec, execOrThrow } from './exec.ts';

export const netnsPath = (name: string) => `/var/run/netns/${name}`;

/** Private and shared address ranges other than the pod CIDR (which is more specific than 10/8). */
const OTHER_PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'] as const;

export function podNetworkNames(podUid: string): { netns: string; veth: string } {
  // Interface names are limited to 15 bytes.
  return {
    netns: `${Network.netnsPrefix}${podUid}`,
    veth: `${Network.vethPrefix}${podUid.replaceAll('-', '').slice(0, 15 - Network.vethPrefix.length)}`,
  };
}

/** Creates the bridge with the gateway address if it is missing; idempotent. */
export async function ensureBridge(): Promise<void> {
  const show = await exec('ip', ['-o', '-4', 'addr', 'show', 'dev', Network.bridge]);
  if (show.code !== 0) {
    const add = await exec('ip', ['link', 'add', Network.bridge, 'type', 'bridge']);
    if (add.code !== 0 && !add.stderr.includes('File exists')) throw new Error(`ip link add: ${add.stderr}`);
  }
  if (!show.stdout.includes(`${Network.gateway}/${Network.prefixLength}`)) {
    const addr = await exec('ip', [
      'addr',
      'add',
      `${Network.gateway}/${Network.prefixLength}`,
      'dev',
      Network.bridge,
    ]);
    if (addr.code !== 0 && !addr.stderr.includes('File exists'))
      throw new Error(`ip addr add: ${addr.stderr}`);
  }
  await execOrThrow('ip', ['link', 'set', Network.bridge, 'up']);
}

export async function deleteBridge(): Promise<void> {
  await exec('ip', ['link', 'del', Network.bridge]);
}

/** Creates the pod's namespace with `eth0` (the pod IP), loopback up and a default route via the bridge. */
export async function createPodNetwork(podUid: string, ip: string): Promise<void> {
  const { netns, veth } = podNetworkNames(podUid);
  // A leftover from an interrupted attempt would make `netns add` fail.
  await deletePodNetwork(podUid);
  await execOrThrow(
    'ip',
    ['-batch', '-'],
    [
      `netns add ${netns}`,
      `link add ${veth} type veth peer name eth0 netns ${netns}`,
      `link set ${veth} master ${Network.bridge} up`,
    ].join('\n'),
  );
  await execOrThrow(
    'ip',
    ['-n', netns, '-batch', '-'],
    [
      'link set lo up',
      `addr add ${ip}/${Network.prefixLength} dev eth0`,
      'link set eth0 up',
      `route add default via ${Network.gateway}`,
      // Belt and braces for "pod traffic stays local": other private ranges are unreachable from
      // pods even if the host forwards packets.
      ...OTHER_PRIVATE_RANGES.map((r) => `route add blackhole ${r}`),
    ].join('\n'),
  );
}

/** Deleting the namespace destroys its eth0 and with it the host end of the veth pair. */
export async function deletePodNetwork(podUid: string): Promise<void> {
  const { netns, veth } = podNetworkNames(podUid);
  await exec('ip', ['netns', 'del', netns]);
  await exec('ip', ['link', 'del', veth]);
}

/** Names of all pod network namespaces this node created (also those of earlier agent runs). */
export async function listPodNetns(): Promise<string[]> {
  const r = await exec('ip', ['netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith(Network.netnsPrefix));
}

/** Removes every pod namespace, stray veth and the bridge. */
export async function deleteAllPodNetworks(): Promise<void> {
  for (const ns of await listPodNetns()) await exec('ip', ['netns', 'del', ns]);
  const links = await exec('ip', ['-o', 'link', 'show']);
  for (const m of links.stdout.matchAll(new RegExp(`^\\d+: (${Network.vethPrefix}[0-9a-f]+)[@:]`, 'gm'))) {
    await exec('ip', ['link', 'del', m[1]]);
  }
}
