// What the stale Run reaper needs to know about a Runtime Pod, read from the pod object.
import type { V1Pod } from '@kubernetes/client-node';
import { PodConditionType } from '../../lib/api.ts';
import type { ReaperPodView } from './decide.ts';

const ms = (t: unknown): number | undefined => {
  if (t === undefined || t === null) return undefined;
  const v = t instanceof Date ? t.getTime() : Date.parse(String(t));
  return Number.isFinite(v) ? v : undefined;
};

export function reaperPodView(pod: V1Pod): ReaperPodView {
  const conditions = pod.status?.conditions ?? [];
  const ready = conditions.find((c) => c.type === 'Ready');
  const hb = conditions.find((c) => c.type === PodConditionType.RuntimedReady);
  return {
    uid: pod.metadata!.uid!,
    ready: ready?.status === 'True',
    notReadySinceMs: ready && ready.status !== 'True' ? ms(ready.lastTransitionTime) : undefined,
    heartbeatMs: hb ? (ms(hb.lastProbeTime) ?? ms(hb.lastTransitionTime)) : undefined,
    deletionMs: ms(pod.metadata?.deletionTimestamp),
    finished: pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed',
  };
}
