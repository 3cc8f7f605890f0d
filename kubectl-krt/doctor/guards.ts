// The objects that guard a Runtime's pods — runtimed's ServiceAccount, Role and RoleBinding and the
// NetworkPolicy — as the Runtime controller renders them (its own pure render, so doctor and the
// controller cannot disagree on what "in place" means), compared with the cluster's copies. The
// controller puts a deleted or edited one back at once: one that stays missing or altered means the
// controller is not running or cannot apply it.
import type { Runtime } from '../../lib/api.ts';
import { APPLIED_HASH, contains, inPlace, isMaintainerObject, withAppliedHash } from '../../operator/runtime-controller/decide.ts';
import { renderRuntimeObjects } from '../../operator/runtime-controller/render.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kubernetes manifests are open-ended objects
type Obj = Record<string, any>;

/** The guard kinds by the apiVersion the controller renders them with. */
export const GUARD_KINDS = {
  ServiceAccount: 'v1',
  Role: 'rbac.authorization.k8s.io/v1',
  RoleBinding: 'rbac.authorization.k8s.io/v1',
  NetworkPolicy: 'networking.k8s.io/v1',
} as const;
export type GuardKind = keyof typeof GUARD_KINDS;

/** An object of a guard kind as the cluster holds it (list items carry no kind). */
export interface GuardView {
  kind: GuardKind;
  object: Obj;
}

export interface GuardProblem {
  /** Kind/name. */
  object: string;
  /** What is wrong: `missing`, or which parts differ from the render. */
  problem: string;
}

/** The guard objects the controller renders for `runtime` (none of the maintainer's), hashed as it applies them. */
export function renderedGuards(runtime: Runtime, platformNamespace: string): Obj[] {
  // The images do not shape a guard object; the platform namespace shapes the NetworkPolicy.
  const objects = renderRuntimeObjects(runtime, { runtimedImage: '', maintainerImage: '', platformNamespace });
  return withAppliedHash(objects.filter((o) => o.kind in GUARD_KINDS && !isMaintainerObject(o)));
}

/** What differs between a rendered object and the cluster's copy, in words. */
function differences(rendered: Obj, observed: Obj): string {
  const out: string[] = [];
  if (observed.metadata?.deletionTimestamp) out.push('being deleted');
  if (!contains(observed.metadata?.labels, rendered.metadata.labels)) out.push('labels');
  const { metadata: _m, apiVersion: _a, kind: _k, ...body } = rendered;
  for (const [field, value] of Object.entries(body)) if (!contains(observed[field], value)) out.push(field);
  if (observed.metadata?.annotations?.[APPLIED_HASH] !== rendered.metadata.annotations[APPLIED_HASH])
    out.push(`annotation ${APPLIED_HASH} (replaced, or applied by another kruntimes version)`);
  return `not as the Runtime controller renders it: ${out.join(', ')}`;
}

/** The guard objects of `runtime` that are missing or altered in `observed` (all namespaces' guards). */
export function guardProblems(runtime: Runtime, platformNamespace: string, observed: readonly GuardView[]): GuardProblem[] {
  const ns = runtime.metadata.namespace;
  const problems: GuardProblem[] = [];
  for (const rendered of renderedGuards(runtime, platformNamespace)) {
    const found = observed.find(
      (g) =>
        g.kind === rendered.kind &&
        g.object.metadata?.namespace === ns &&
        g.object.metadata?.name === rendered.metadata.name,
    )?.object;
    const object = `${rendered.kind}/${rendered.metadata.name}`;
    if (!found) problems.push({ object, problem: 'missing' });
    else if (!inPlace(rendered, found)) problems.push({ object, problem: differences(rendered, found) });
  }
  return problems;
}
