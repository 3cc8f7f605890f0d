// The Node object and its heartbeat: status via nodes/status (updates of the node itself drop
// status), a Lease in kube-node-lease renewed every LEASE_RENEW_MS.
import os from 'node:os';
import type { CoordinationV1Api, CoreV1Api, V1Lease, V1Node, V1NodeCondition } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions, V1MicroTime } from '@kubernetes/client-node';
import { KUBE_VERSION, Network, NODE_NAME, Ports } from '../config.ts';
import { apiStatus, errorText, log } from './agent-log.ts';

export const LEASE_DURATION_S = 40;
const LEASE_RENEW_MS = 10_000;
/** The kubelet re-posts status every 5 min when leases carry the heartbeat; once a minute is plenty. */
const STATUS_REPORT_MS = 60_000;

/**
 * Advertised resources. Nothing is enforced (pods are plain processes), so the node advertises
 * generously: resource requests in manifests must never make pods unschedulable here.
 */
export const NODE_CAPACITY = {
  cpu: '32',
  memory: '64Gi',
  pods: '110',
  'ephemeral-storage': '100Gi',
} as const;

const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';

function conditions(now: Date, previous: V1NodeCondition[] | undefined): V1NodeCondition[] {
  const desired = [
    { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
    {
      type: 'MemoryPressure',
      status: 'False',
      reason: 'KubeletHasSufficientMemory',
      message: 'kubelet has sufficient memory available',
    },
    {
      type: 'DiskPressure',
      status: 'False',
      reason: 'KubeletHasNoDiskPressure',
      message: 'kubelet has no disk pressure',
    },
    {
      type: 'PIDPressure',
      status: 'False',
      reason: 'KubeletHasSufficientPID',
      message: 'kubelet has sufficient PID available',
    },
  ];
  return desired.map((c) => {
    const prev = previous?.find((p) => p.type === c.type);
    const lastTransitionTime =
      prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : now;
    return { ...c, lastHeartbeatTime: now, lastTransitionTime };
  });
}

function nodeStatus(now: Date, previous?: V1NodeCondition[]): NonNullable<V1Node['status']> {
  return {
    conditions: conditions(now, previous),
    addresses: [
      { type: 'InternalIP', address: Network.nodeIP },
      { type: 'Hostname', address: NODE_NAME },
    ],
    capacity: { ...NODE_CAPACITY },
    allocatable: { ...NODE_CAPACITY },
    daemonEndpoints: { kubeletEndpoint: { Port: Ports.kubelet } },
    nodeInfo: {
      kubeletVersion: `v${KUBE_VERSION}`,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: os.arch() === 'x64' ? 'amd64' : os.arch(),
      containerRuntimeVersion: 'krt-process://0.1.0',
      kernelVersion: os.release(),
      osImage: 'kruntimes local node',
      machineID: '',
      systemUUID: '',
      bootID: '',
    },
  };
}

export class NodeRegistration {
  private readonly core: CoreV1Api;
  private readonly coordination: CoordinationV1Api;
  private nodeUid = '';
  private lease?: V1Lease;
  private timers: NodeJS.Timeout[] = [];
  private lastConditions?: V1NodeCondition[];

  constructor(core: CoreV1Api, coordination: CoordinationV1Api) {
    this.core = core;
    this.coordination = coordination;
  }

  /** Creates the Node, or marks an existing one Ready again; then starts the heartbeats. */
  async register(): Promise<void> {
    const now = new Date();
    let node: V1Node;
    try {
      node = await this.core.readNode({ name: NODE_NAME });
      node = await this.patchStatus(nodeStatus(now, node.status?.conditions));
      log('node.updated', { node: NODE_NAME });
    } catch (err) {
      if (apiStatus(err) !== 404) throw err;
      node = await this.core.createNode({
        body: {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: {
            name: NODE_NAME,
            labels: {
              'kubernetes.io/hostname': NODE_NAME,
              'kubernetes.io/os': 'linux',
              'kubernetes.io/arch': os.arch() === 'x64' ? 'amd64' : os.arch(),
              'node.kubernetes.io/instance-type': 'krt-local',
            },
          },
          spec: {},
          status: nodeStatus(now),
        },
      });
      log('node.created', { node: NODE_NAME });
    }
    this.nodeUid = node.metadata?.uid ?? '';
    this.lastConditions = node.status?.conditions;
    await this.liftNotReadyTaint(node);
    await this.renewLease();
    this.timers.push(
      setInterval(
        () => this.renewLease().catch((e) => log('lease.error', { error: errorText(e) })),
        LEASE_RENEW_MS,
      ),
      setInterval(
        () => this.reportStatus().catch((e) => log('node.status.error', { error: errorText(e) })),
        STATUS_REPORT_MS,
      ),
    );
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  private patchStatus(status: NonNullable<V1Node['status']>): Promise<V1Node> {
    // Strategic merge: conditions merge by type, so conditions others set survive.
    return this.core.patchNodeStatus(
      { name: NODE_NAME, body: { status } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
  }

  private async reportStatus(): Promise<void> {
    const node = await this.patchStatus(nodeStatus(new Date(), this.lastConditions));
    this.lastConditions = node.status?.conditions;
  }

  /**
   * The TaintNodesByCondition admission taints every new Node not-ready until the node-lifecycle
   * controller notices Ready (up to its 5 s monitor period). The node knows it is ready, so it
   * lifts the NoSchedule taint itself and the first pods schedule at once. The controller-manager
   * also edits a new node right away, so a lost race is retried from a fresh read.
   */
  private async liftNotReadyTaint(initial: V1Node): Promise<void> {
    let node = initial;
    for (let attempt = 1; attempt <= 5; attempt++) {
      const taints = node.spec?.taints ?? [];
      const kept = taints.filter((t) => !(t.key === NOT_READY_TAINT && t.effect === 'NoSchedule'));
      if (kept.length === taints.length) return;
      try {
        // A merge patch carrying resourceVersion applies only if the node did not change meanwhile.
        await this.core.patchNode(
          {
            name: NODE_NAME,
            body: {
              metadata: { resourceVersion: node.metadata?.resourceVersion },
              spec: { taints: kept.length > 0 ? kept : null },
            },
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        log('node.taint.lifted', { taint: NOT_READY_TAINT, attempt });
        return;
      } catch (err) {
        if (apiStatus(err) !== 409) {
          log('node.taint.error', { error: errorText(err) });
          return;
        }
        node = await this.core.readNode({ name: NODE_NAME });
      }
    }
  }

  private async renewLease(): Promise<void> {
    const namespace = 'kube-node-lease';
    const spec = {
      holderIdentity: NODE_NAME,
      leaseDurationSeconds: LEASE_DURATION_S,
      // MicroTime needs 6 fractional digits; Date#toISOString has 3 and is rejected.
      renewTime: new V1MicroTime(),
    };
    if (!this.lease) {
      try {
        this.lease = await this.coordination.readNamespacedLease({ name: NODE_NAME, namespace });
      } catch (err) {
        if (apiStatus(err) !== 404) throw err;
        this.lease = await this.coordination.createNamespacedLease({
          namespace,
          body: {
            metadata: {
              name: NODE_NAME,
              namespace,
              ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: NODE_NAME, uid: this.nodeUid }],
            },
            spec,
          },
        });
        return;
      }
    }
    try {
      this.lease = await this.coordination.replaceNamespacedLease({
        name: NODE_NAME,
        namespace,
        body: { ...this.lease, spec: { ...this.lease.spec, ...spec } },
      });
    } catch (err) {
      // A conflict or a deleted lease: read it afresh next time.
      this.lease = undefined;
      throw err;
    }
  }
}
