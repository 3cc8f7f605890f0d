// Leader election through a coordination.k8s.io Lease, so that only one replica of a controller
// acts. The holder renews every `renewMs`; others take over once `leaseDurationSeconds` passed.
import { hostname } from 'node:os';
import { microTime } from './api.ts';
import { isAlreadyExists, isConflict, isNotFound, type KubeClient, Paths } from './kube-client.ts';
import { errorMessage, logger } from './log.ts';

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity?: string;
  leaseDurationSeconds?: number;
  renewMs?: number;
  onStartedLeading: () => Promise<void> | void;
  onStoppedLeading: () => void;
}

export class LeaderElector {
  private readonly o: Required<Omit<LeaderElectionOptions, 'identity'>> & { identity: string };
  private leading = false;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(options: LeaderElectionOptions) {
    this.o = {
      leaseDurationSeconds: 15,
      renewMs: 5000,
      identity: `${hostname()}-${process.pid}`,
      ...options,
    };
  }

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.leading) {
      // Release so a successor need not wait for the lease to expire.
      await this.write((lease) => ({ ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 })).catch(
        () => {},
      );
    }
  }

  private async tick(): Promise<void> {
    try {
      const got = await this.tryAcquireOrRenew();
      if (got && !this.leading) {
        this.leading = true;
        logger.info('became leader', { lease: this.o.name, identity: this.o.identity });
        await this.o.onStartedLeading();
      } else if (!got && this.leading) {
        this.leading = false;
        logger.warn('lost leadership', { lease: this.o.name });
        this.o.onStoppedLeading();
      }
    } catch (err) {
      logger.warn('leader election failed', { lease: this.o.name, error: errorMessage(err) });
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.leading ? this.o.renewMs : 2000);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity, leaseDurationSeconds } = this.o;
    let lease: Lease;
    try {
      lease = await client.get<Lease>(Paths.lease(namespace, name));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        const now = microTime();
        await client.create(Paths.leases(namespace), {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: 0,
          },
        });
        return true;
      } catch (e) {
        if (isAlreadyExists(e)) return false;
        throw e;
      }
    }
    const s = lease.spec;
    const expired =
      !s.holderIdentity ||
      !s.renewTime ||
      Date.now() - new Date(s.renewTime).getTime() > (s.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (s.holderIdentity !== identity && !expired) return false;
    const now = microTime();
    try {
      await client.replace(Paths.lease(namespace, name), {
        ...lease,
        spec: {
          ...s,
          holderIdentity: identity,
          leaseDurationSeconds,
          renewTime: now,
          acquireTime: s.holderIdentity === identity ? s.acquireTime : now,
          leaseTransitions: (s.leaseTransitions ?? 0) + (s.holderIdentity === identity ? 0 : 1),
        },
      });
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  private async write(spec: (lease: Lease) => Lease['spec']): Promise<void> {
    const lease = await this.o.client.get<Lease>(Paths.lease(this.o.namespace, this.o.name));
    if (lease.spec.holderIdentity !== this.o.identity) return;
    await this.o.client.replace(Paths.lease(this.o.namespace, this.o.name), { ...lease, spec: spec(lease) });
  }
}
