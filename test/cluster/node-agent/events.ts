// Pod events as a kubelet records them (visible in `kubectl describe pod`). Only what helps a
// user: failures, back-offs, kills — not the four routine events per container start, which would
// double the API writes of every pod start during benchmarks.
import { randomBytes } from 'node:crypto';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { NODE_NAME } from '../config.ts';
import { errorText, log } from './agent-log.ts';

export type EventType = 'Normal' | 'Warning';

/** The same event for the same object is recorded at most once per this interval. */
const DEDUPE_MS = 10_000;

export class EventRecorder {
  private readonly core: CoreV1Api;
  private readonly recent = new Map<string, number>();

  constructor(core: CoreV1Api) {
    this.core = core;
  }

  record(pod: V1Pod, type: EventType, reason: string, message: string, container?: string): void {
    const meta = pod.metadata ?? {};
    const key = `${meta.uid}/${container ?? ''}/${reason}/${message}`;
    const now = Date.now();
    if ((this.recent.get(key) ?? 0) > now - DEDUPE_MS) return;
    this.recent.set(key, now);
    if (this.recent.size > 5000) {
      for (const [k, t] of this.recent) if (t < now - DEDUPE_MS) this.recent.delete(k);
    }
    log('event', { pod: `${meta.namespace}/${meta.name}`, container, type, reason, message });
    const time = new Date();
    this.core
      .createNamespacedEvent({
        namespace: meta.namespace ?? 'default',
        body: {
          metadata: { name: `${meta.name}.${randomBytes(8).toString('hex')}`, namespace: meta.namespace },
          involvedObject: {
            apiVersion: 'v1',
            kind: 'Pod',
            name: meta.name,
            namespace: meta.namespace,
            uid: meta.uid,
            fieldPath: container ? `spec.containers{${container}}` : undefined,
          },
          type,
          reason,
          message,
          source: { component: 'kubelet', host: NODE_NAME },
          reportingComponent: 'kubelet',
          reportingInstance: NODE_NAME,
          firstTimestamp: time,
          lastTimestamp: time,
          count: 1,
        },
      })
      .catch((err) => {
        // Events cannot be created in a namespace being deleted; that is expected, not an error.
        if (!errorText(err).includes('being terminated'))
          log('event.error', { reason, error: errorText(err) });
      });
  }
}
