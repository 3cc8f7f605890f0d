// What the scheduler needs to know about a Runtime Pod, read from the pod object.
import type { V1Pod } from '@kubernetes/client-node';
import { PodConditionType } from '../../lib/api.ts';
import { podCapacity, type ResourceAmounts } from '../../lib/resources.ts';
import type { PodView } from './decide.ts';

export function podView(pod: V1Pod, inUse: ResourceAmounts): PodView {
  const conditions = pod.status?.conditions ?? [];
  const ready = conditions.some((c) => c.type === 'Ready' && c.status === 'True');
  const hb = conditions.find((c) => c.type === PodConditionType.RuntimedReady);
  let heartbeatMs: number | undefined;
  if (hb?.status === 'True') {
    const t = hb.lastProbeTime ?? hb.lastTransitionTime;
    heartbeatMs = t ? new Date(t as unknown as string).getTime() : undefined;
  }
  return {
    name: pod.metadata!.name!,
    uid: pod.metadata!.uid!,
    ready,
    heartbeatMs,
    terminating:
      Boolean(pod.metadata?.deletionTimestamp) ||
      pod.status?.phase === 'Succeeded' ||
      pod.status?.phase === 'Failed',
    capacity: podCapacity(pod.metadata?.annotations),
    inUse,
  };
}
