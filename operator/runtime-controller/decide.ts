// The Runtime controller's decision: which objects to (re)apply and what status to report.
import { createHash } from 'node:crypto';
import type { V1Deployment } from '@kubernetes/client-node';
import {
  type Condition,
  DEFAULT_REPLICAS,
  type Runtime,
  RuntimeConditionType,
  type RuntimeStatus,
} from '../../lib/api.ts';
import { setCondition } from '../../lib/run-status.ts';
import { type RenderConfig, renderRuntimeObjects } from './render.ts';

export const APPLIED_HASH = 'kruntimes.io/applied-hash';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kubernetes manifests are open-ended objects
type Obj = Record<string, any>;

export interface RuntimeDecision {
  /** Objects to server-side apply, in order; empty when the cluster already matches. */
  apply: Obj[];
  /** The status to write, or undefined when unchanged. */
  status?: RuntimeStatus;
}

export function decideRuntime(input: {
  runtime: Runtime;
  deployment?: V1Deployment;
  config: RenderConfig;
  now?: string;
}): RuntimeDecision {
  const { runtime, deployment } = input;
  const objects = renderRuntimeObjects(runtime, input.config);
  const hash = createHash('sha256').update(JSON.stringify(objects)).digest('hex').slice(0, 16);
  const dep = objects.find((o) => o.kind === 'Deployment')!;
  dep.metadata.annotations = { ...(dep.metadata.annotations ?? {}), [APPLIED_HASH]: hash };
  const upToDate = deployment?.metadata?.annotations?.[APPLIED_HASH] === hash;

  const desired = runtime.spec.replicas ?? DEFAULT_REPLICAS;
  const ready = deployment?.status?.readyReplicas ?? 0;
  const current = deployment?.status?.replicas ?? 0;
  const now = input.now ?? new Date().toISOString();
  const isReady = deployment !== undefined && ready >= desired;
  const readyCondition: Condition = isReady
    ? {
        type: RuntimeConditionType.Ready,
        status: 'True',
        reason: 'PodsReady',
        message: `${ready}/${desired} Runtime Pods ready`,
      }
    : {
        type: RuntimeConditionType.Ready,
        status: 'False',
        reason: deployment ? 'PodsNotReady' : 'Creating',
        message: deployment
          ? `${ready}/${desired} Runtime Pods ready; see kubectl describe deploy ${dep.metadata.name} -n ${runtime.metadata.namespace}`
          : 'creating the Runtime Pods',
      };
  const prev = runtime.status ?? {};
  const status: RuntimeStatus = {
    replicas: current,
    readyReplicas: ready,
    observedGeneration: runtime.metadata.generation,
    conditions: setCondition(prev.conditions, readyCondition, now),
  };
  const prevReady = prev.conditions?.find((c) => c.type === RuntimeConditionType.Ready);
  const changed =
    prev.replicas !== status.replicas ||
    prev.readyReplicas !== status.readyReplicas ||
    prev.observedGeneration !== status.observedGeneration ||
    prevReady?.status !== readyCondition.status ||
    prevReady?.reason !== readyCondition.reason ||
    prevReady?.message !== readyCondition.message;
  return { apply: upToDate ? [] : objects, status: changed ? status : undefined };
}
