// The RuntimedReady pod condition is runtimed's heartbeat: the scheduler only assigns Runs to pods
// whose heartbeat is True and fresh. It is True only while the Runtime Server answers healthy.
import { Limits, PodConditionType } from '../lib/api.ts';
import { type KubeClient, Paths } from '../lib/kube-client.ts';
import { errorMessage, logger } from '../lib/log.ts';
import type { RuntimeServerClient } from '../lib/runtime-client.ts';

export interface HeartbeatOptions {
  client: KubeClient;
  server: RuntimeServerClient;
  namespace: string;
  podName: string;
  intervalMs?: number;
  /** Extra gate, e.g. the Run watch being synced and the pod not terminating. */
  canTakeWork: () => { ok: boolean; reason: string; message: string };
}

export class Heartbeat {
  private readonly o: HeartbeatOptions;
  private timer?: NodeJS.Timeout;
  private lastStatus?: string;
  private lastTransition = new Date().toISOString();
  healthy = false;

  constructor(options: HeartbeatOptions) {
    this.o = options;
  }

  start(): void {
    void this.beat();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /** Beat now (for example right after becoming able to take work, or when stopping). */
  async beat(): Promise<void> {
    clearTimeout(this.timer);
    let ok = false;
    let reason = 'RuntimeServerUnhealthy';
    let message = '';
    try {
      const h = await this.o.server.health({ timeoutMs: 2000 });
      ok = h.healthy;
      message = h.message || (ok ? 'Runtime Server healthy' : 'Runtime Server unhealthy');
    } catch (err) {
      message = `Runtime Server unreachable: ${errorMessage(err)}`;
    }
    if (ok) {
      const gate = this.o.canTakeWork();
      ok = gate.ok;
      reason = gate.reason;
      message = gate.ok ? 'runtimed and the Runtime Server are ready' : gate.message;
    }
    this.healthy = ok;
    const status = ok ? 'True' : 'False';
    const now = new Date().toISOString();
    if (status !== this.lastStatus) this.lastTransition = now;
    try {
      await this.o.client.strategicPatch(Paths.podStatus(this.o.namespace, this.o.podName), {
        status: {
          conditions: [
            {
              type: PodConditionType.RuntimedReady,
              status,
              reason,
              message,
              lastProbeTime: now,
              lastTransitionTime: this.lastTransition,
            },
          ],
        },
      });
      if (status !== this.lastStatus) logger.info('heartbeat', { status, reason, message });
      this.lastStatus = status;
    } catch (err) {
      logger.warn('heartbeat write failed', { error: errorMessage(err) });
    }
    // Until healthy, retry quickly so a new pod becomes schedulable as soon as it can take work.
    const next = ok ? (this.o.intervalMs ?? Limits.heartbeatSeconds * 1000) : 500;
    this.timer = setTimeout(() => void this.beat(), next);
    this.timer.unref();
  }
}
