// The Runtime controller's decision: which objects to (re)apply and what status to report.
// Every object it renders is compared with what the cluster holds: one that is missing, was
// rendered differently (its applied-hash annotation) or was edited since (a rendered field no
// longer has the rendered value) is applied again, so a deleted NetworkPolicy or an edited Role
// is put back at the next event of that object.
import { createHash } from 'node:crypto';
import type { V1Deployment } from '@kubernetes/client-node';
import {
  type Condition,
  DEFAULT_REPLICAS,
  type Runtime,
  RuntimeConditionType,
  type RuntimeStatus,
} from '../../lib/api.ts';
import { Annotation, Component, Label } from '../../lib/api.ts';
import { boundMessage } from '../../lib/message.ts';
import { setCondition } from '../../lib/run-status.ts';
import { type RenderConfig, renderRuntimeObjects, serviceAccountName } from './render.ts';
import type { RetainedStores } from './render-maintainer.ts';

export const APPLIED_HASH = 'kruntimes.io/applied-hash';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kubernetes manifests are open-ended objects
type Obj = Record<string, any>;

/** Identifies a rendered object among the observed ones. */
export const objectId = (o: { kind?: string; metadata?: { name?: string } }) => `${o.kind}/${o.metadata?.name}`;

/**
 * The owned objects of one Runtime by objectId, from each kind's cached list. Keyed by the kind
 * the list is of: items of a list carry no kind (only watch events do).
 */
export function indexObserved(lists: ReadonlyArray<readonly [string, readonly Obj[]]>, runtime: string): Map<string, Obj> {
  const out = new Map<string, Obj>();
  for (const [kind, objects] of lists)
    for (const o of objects)
      if (o.metadata?.labels?.[Label.Runtime] === runtime) out.set(objectId({ kind, metadata: o.metadata }), o);
  return out;
}

/**
 * Whether `observed` has every value `wanted` has. Arrays must match item for item (each item
 * containing the wanted one), so a removed rule or port counts as a change; fields the apiserver
 * adds (defaults, status) do not.
 */
export function contains(observed: unknown, wanted: unknown): boolean {
  if (wanted === null || typeof wanted !== 'object') return observed === wanted;
  if (observed === null || typeof observed !== 'object') return false;
  if (Array.isArray(wanted)) {
    return Array.isArray(observed) && observed.length === wanted.length && wanted.every((w, i) => contains(observed[i], w));
  }
  return Object.entries(wanted as Obj).every(([k, v]) => v === undefined || contains((observed as Obj)[k], v));
}

/** Whether the observed object still is what was rendered: same hash, labels, and every rendered field. */
export function inPlace(rendered: Obj, observed: Obj | undefined): boolean {
  if (!observed || observed.metadata?.deletionTimestamp) return false;
  if (observed.metadata?.annotations?.[APPLIED_HASH] !== rendered.metadata.annotations[APPLIED_HASH]) return false;
  if (!contains(observed.metadata?.labels, rendered.metadata.labels)) return false;
  // ownerReferences are left out: the maintainer's RBAC gets its owner (a Deployment UID) at apply time.
  // apiVersion and kind are left out too: items of a cached list carry neither.
  const { metadata: _m, apiVersion: _a, kind: _k, ...body } = rendered;
  return contains(observed, body);
}

/** Rendered objects with the applied-hash annotation, the hash of each as rendered (doctor compares it too). */
export function withAppliedHash(objects: Obj[]): Obj[] {
  for (const o of objects) {
    const hash = createHash('sha256').update(JSON.stringify(o)).digest('hex').slice(0, 16);
    o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [APPLIED_HASH]: hash };
  }
  return objects;
}

export interface RuntimeDecision {
  /** Objects to server-side apply, in order; empty when the cluster already matches. */
  apply: Obj[];
  /** The status to write, or undefined when unchanged. */
  status?: RuntimeStatus;
}

export const isMaintainerObject = (o: Obj) => o.metadata?.labels?.[Label.Component] === Component.RuntimeMaintainer;

/** What the controller sees of the ServiceAccount a Runtime's pod template names (undefined: none such). */
export interface AccountView {
  automountServiceAccountToken?: boolean;
  uid?: string;
}

/**
 * Puts the UID of the pods' ServiceAccount on the Runtime Pods' template (when known): tokens are
 * bound to it, so one deleted and put back must roll the pods, or runtimed stays unauthenticated
 * until its token is re-issued.
 */
export function withServiceAccountUID(deployment: Obj, uid: string | undefined): void {
  if (!uid) return;
  const template = deployment.spec.template;
  const annotations = { ...template.metadata?.annotations, [Annotation.ServiceAccountUID]: uid };
  template.metadata = { ...template.metadata, annotations };
}

/**
 * The RuntimedCredentials condition: whether runtimed in the Runtime Pods gets API credentials,
 * and whose. With the Runtime's own ServiceAccount only runtimed mounts its token; with one the
 * template names, runtimed uses the token every container mounts, and none when the account (or
 * the template) turns automounting off.
 */
export function credentialsCondition(runtime: Runtime, account: AccountView | undefined): Condition {
  const type = RuntimeConditionType.RuntimedCredentials;
  const podSpec = runtime.spec.template.spec as Obj;
  const named = podSpec.serviceAccountName as string | undefined;
  const own = serviceAccountName(runtime.metadata.name!);
  if (!named) {
    return {
      type,
      status: 'True',
      reason: 'OwnServiceAccount',
      message: `runtimed uses ServiceAccount ${own}, whose token only runtimed mounts; the runtime container gets no API credentials`,
    };
  }
  if (!account) {
    return { type, status: 'False', reason: 'ServiceAccountNotFound', message: `ServiceAccount ${named} named by the pod template does not exist` };
  }
  const byTemplate = podSpec.automountServiceAccountToken as boolean | undefined;
  if ((byTemplate ?? account.automountServiceAccountToken ?? true) === false) {
    const who = byTemplate === false ? 'the pod template sets' : `ServiceAccount ${named} has`;
    return {
      type,
      status: 'False',
      reason: 'TokenNotMounted',
      message:
        `${who} automountServiceAccountToken: false, so runtimed has no API credentials and cannot take Runs; ` +
        `set automountServiceAccountToken: true in the pod template, or remove serviceAccountName to use ${own}`,
    };
  }
  return {
    type,
    status: 'True',
    reason: 'SharedServiceAccount',
    message: `runtimed uses the token of ServiceAccount ${named}, which every container of the Runtime Pods mounts: the workload can act as runtimed`,
  };
}

export function decideRuntime(input: {
  runtime: Runtime;
  /** The owned objects the cluster holds, by objectId (kind/name). */
  observed?: ReadonlyMap<string, Obj>;
  /** The ServiceAccount the pod template names, as the cluster holds it (ignored without one). */
  account?: AccountView;
  config: RenderConfig;
  /** Earlier stores that Runs of the Runtime still need cleaned up (retainedStores). */
  retained?: RetainedStores;
  now?: string;
}): RuntimeDecision {
  const { runtime } = input;
  const rendered = renderRuntimeObjects(runtime, input.config, input.retained);
  const dep = rendered.find((o) => o.kind === 'Deployment' && !isMaintainerObject(o))!;
  const named = (runtime.spec.template.spec as Obj).serviceAccountName as string | undefined;
  withServiceAccountUID(
    dep,
    named ? input.account?.uid : input.observed?.get(`ServiceAccount/${dep.spec.template.spec.serviceAccountName}`)?.metadata?.uid,
  );
  const objects = withAppliedHash(rendered);
  const deployment = input.observed?.get(objectId(dep)) as V1Deployment | undefined;
  // In render order: the maintainer's Deployment comes before the RBAC it owns.
  const apply = objects.filter((o) => !inPlace(o, input.observed?.get(objectId(o))));

  const desired = runtime.spec.replicas ?? DEFAULT_REPLICAS;
  const ready = deployment?.status?.readyReplicas ?? 0;
  const isReady = deployment !== undefined && ready >= desired;
  // The Deployment could not create pods (quota, a ServiceAccount that does not exist, a field the
  // admission refuses): the ReplicaSet's reason and message, not a bare count.
  const failure = deployment?.status?.conditions?.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
  const readyCondition: Condition = isReady
    ? {
        type: RuntimeConditionType.Ready,
        status: 'True',
        reason: 'PodsReady',
        message: `${ready}/${desired} Runtime Pods ready`,
      }
    : failure
      ? {
          type: RuntimeConditionType.Ready,
          status: 'False',
          reason: conditionReason(failure.reason, 'ReplicaFailure'),
          message: boundMessage(`Deployment ${dep.metadata.name} cannot create pods: ${failure.message ?? ''}`),
        }
      : {
          type: RuntimeConditionType.Ready,
          status: 'False',
          reason: deployment ? 'PodsNotReady' : 'Creating',
          message: deployment
            ? `${ready}/${desired} Runtime Pods ready; see kubectl describe deploy ${dep.metadata.name} -n ${runtime.metadata.namespace}`
            : 'creating the Runtime Pods',
        };
  const credentials = credentialsCondition(runtime, input.account);
  return { apply, status: statusWith(runtime, [readyCondition, credentials], deployment, input.now) };
}

/** A condition reason from an apiserver or ReplicaSet reason (CamelCase, as the CRD's pattern wants). */
function conditionReason(reason: string | undefined, fallback: string): string {
  return reason && /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/.test(reason) ? reason : fallback;
}

/** The status with these conditions, or undefined when it would not change anything. */
function statusWith(
  runtime: Runtime,
  conditions: readonly Condition[],
  deployment: V1Deployment | undefined,
  now?: string,
): RuntimeStatus | undefined {
  const prev = runtime.status ?? {};
  const at = now ?? new Date().toISOString();
  const status: RuntimeStatus = {
    replicas: deployment?.status?.replicas ?? 0,
    readyReplicas: deployment?.status?.readyReplicas ?? 0,
    observedGeneration: runtime.metadata.generation,
    conditions: conditions.reduce<Condition[] | undefined>((all, c) => setCondition(all, c, at), prev.conditions),
  };
  const changed =
    prev.replicas !== status.replicas ||
    prev.readyReplicas !== status.readyReplicas ||
    prev.observedGeneration !== status.observedGeneration ||
    conditions.some((c) => {
      const was = prev.conditions?.find((p) => p.type === c.type);
      return was?.status !== c.status || was?.reason !== c.reason || was?.message !== c.message;
    });
  return changed ? status : undefined;
}

/**
 * The status when the apiserver refused an object the controller applies (an invalid pod
 * template, a quota, an admission policy): Ready=False with the apiserver's reason and message,
 * so the Runtime says what `kubectl describe` and doctor should show. Undefined when unchanged.
 */
export function applyFailedStatus(input: {
  runtime: Runtime;
  object: { kind?: string; metadata?: { name?: string } };
  reason: string;
  message: string;
  deployment?: V1Deployment;
  now?: string;
}): RuntimeStatus | undefined {
  const condition: Condition = {
    type: RuntimeConditionType.Ready,
    status: 'False',
    reason: conditionReason(input.reason, 'ApplyFailed'),
    message: boundMessage(`the Runtime controller cannot apply ${objectId(input.object)}: ${input.message}`),
  };
  return statusWith(input.runtime, [condition], input.deployment, input.now);
}
