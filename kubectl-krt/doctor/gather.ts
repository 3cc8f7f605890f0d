// Gathers the doctor's snapshot with the user's own identity. What cannot be read (RBAC) is noted
// and the checks say so, rather than failing the whole diagnosis.
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { Annotation, Label, type Run, type Runtime, type Workflow } from '../../lib/api.ts';
import { collectionPath, isNotFound, type KubeClient, Paths } from '../../lib/kube-client.ts';
import { renderCrds } from '../install/render.ts';
import { ForbiddenError } from '../kube/connection.ts';
import { ADMISSION_POLICY, OPERATOR_DEPLOYMENTS, PLATFORM_NAMESPACE } from '../platform-version.ts';
import { GUARD_KINDS, type GuardKind, type GuardView } from './guards.ts';
import type { AccessView, CrdView, DeploymentView, PodView, Snapshot } from './snapshot.ts';

export const PERMISSIONS = [
  { verb: 'get', group: 'kruntimes.io', resource: 'runs' },
  { verb: 'get', group: '', resource: 'pods' },
  { verb: 'create', group: '', resource: 'pods', subresource: 'portforward' },
] as const;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- CRDs and pod specs are read loosely
type Loose = Record<string, any>;

/** JSON with sorted keys, so two schemas compare by content. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Loose)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** How a stored CRD compares with the plugin's own manifests/crds. */
export function compareCrd(name: string, stored: Loose | undefined, expected: Loose | undefined): CrdView {
  if (!stored) return { name, present: false, schemaDiffers: [], versionsMissing: [] };
  const established = (stored.status?.conditions ?? []).some((c: Loose) => c.type === 'Established' && c.status === 'True');
  const schemaDiffers: string[] = [];
  const versionsMissing: string[] = [];
  for (const v of expected?.spec?.versions ?? []) {
    const live = (stored.spec?.versions ?? []).find((x: Loose) => x.name === v.name);
    if (!live) versionsMissing.push(v.name);
    else if (canonical(live.schema?.openAPIV3Schema) !== canonical(v.schema?.openAPIV3Schema)) schemaDiffers.push(v.name);
  }
  return { name, present: true, established, schemaDiffers, versionsMissing };
}

export function deploymentView(d: V1Deployment): DeploymentView {
  return {
    name: d.metadata!.name!,
    namespace: d.metadata!.namespace!,
    labels: d.metadata?.labels,
    replicas: d.spec?.replicas ?? 1,
    readyReplicas: d.status?.readyReplicas ?? 0,
    images: (d.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? ''),
    conditions: (d.status?.conditions ?? []).map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
    })),
  };
}

/** The Secrets and ConfigMaps a pod cannot start without (optional references excluded). */
export function podReferences(spec: Loose | undefined): { secrets: string[]; configMaps: string[] } {
  const secrets = new Set<string>();
  const configMaps = new Set<string>();
  for (const v of spec?.volumes ?? []) {
    if (v.secret?.secretName && !v.secret.optional) secrets.add(v.secret.secretName);
    if (v.configMap?.name && !v.configMap.optional) configMaps.add(v.configMap.name);
    for (const src of v.projected?.sources ?? []) {
      if (src.secret?.name && !src.secret.optional) secrets.add(src.secret.name);
      if (src.configMap?.name && !src.configMap.optional) configMaps.add(src.configMap.name);
    }
  }
  for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
    for (const e of c.env ?? []) {
      const s = e.valueFrom?.secretKeyRef;
      if (s?.name && !s.optional) secrets.add(s.name);
      const m = e.valueFrom?.configMapKeyRef;
      if (m?.name && !m.optional) configMaps.add(m.name);
    }
    for (const e of c.envFrom ?? []) {
      if (e.secretRef?.name && !e.secretRef.optional) secrets.add(e.secretRef.name);
      if (e.configMapRef?.name && !e.configMapRef.optional) configMaps.add(e.configMapRef.name);
    }
  }
  return { secrets: [...secrets].sort(), configMaps: [...configMaps].sort() };
}

export function podView(p: V1Pod): PodView {
  const conditions = (p.status?.conditions ?? []) as unknown as PodView['conditions'];
  const raw = Number.parseInt(p.metadata?.annotations?.[Annotation.CapacityRuns] ?? '', 10);
  return {
    name: p.metadata!.name!,
    namespace: p.metadata!.namespace!,
    runtime: p.metadata?.labels?.[Label.Runtime],
    phase: p.status?.phase,
    deleting: Boolean(p.metadata?.deletionTimestamp),
    ready: conditions.some((c) => c.type === 'Ready' && c.status === 'True'),
    conditions,
    containers: (p.status?.containerStatuses ?? []).map((c) => ({
      name: c.name,
      image: c.image,
      ready: c.ready,
      restartCount: c.restartCount,
      waiting: c.state?.waiting ? { reason: c.state.waiting.reason, message: c.state.waiting.message } : undefined,
      terminated: c.lastState?.terminated
        ? {
            reason: c.lastState.terminated.reason,
            exitCode: c.lastState.terminated.exitCode,
            message: c.lastState.terminated.message,
          }
        : undefined,
    })),
    capacity: Number.isFinite(raw) && raw > 0 ? raw : undefined,
    ...podReferences(p.spec as Loose | undefined),
  };
}

const why = (err: unknown) =>
  err instanceof ForbiddenError
    ? `forbidden: you may not ${err.access.verbs.join('/')} ${err.access.resource}${err.access.namespace ? ` in ${err.access.namespace}` : ''}`
    : err instanceof Error
      ? err.message
      : String(err);

export async function gatherSnapshot(
  client: KubeClient,
  options: { namespace?: string; allNamespaces: boolean; pluginVersion: string; nowMs?: number },
): Promise<Snapshot> {
  const unreadable: Snapshot['unreadable'] = [];
  const attempt = async <T>(what: string, fn: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      unreadable.push({ what, why: why(err) });
      return fallback;
    }
  };
  const getOr = async <T>(path: string): Promise<T | undefined> => {
    try {
      return await client.get<T>(path);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  const expected = renderCrds() as Loose[];
  const crds = await attempt(
    'crds',
    () =>
      Promise.all(
        expected.map(async (e) =>
          compareCrd(e.metadata.name, await getOr<Loose>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${e.metadata.name}`), e),
        ),
      ),
    expected.map((e) => ({ name: e.metadata.name as string, present: true, schemaDiffers: [], versionsMissing: [] })),
  );
  const controlPlane = await attempt(
    'control-plane',
    () =>
      Promise.all(
        OPERATOR_DEPLOYMENTS.map(async (name) => {
          const d = await getOr<V1Deployment>(`${Paths.deployments(PLATFORM_NAMESPACE)}/${name}`);
          return { name, deployment: d ? deploymentView(d) : undefined };
        }),
      ),
    OPERATOR_DEPLOYMENTS.map((name) => ({ name, deployment: undefined })),
  );
  // Cluster-scoped: many users may not read it, and doctor then says nothing of it.
  const admissionPolicy = await Promise.all(
    ['validatingadmissionpolicies', 'validatingadmissionpolicybindings'].map(
      async (plural) => (await getOr(`/apis/admissionregistration.k8s.io/v1/${plural}/${ADMISSION_POLICY}`)) !== undefined,
    ),
  ).then(
    ([policy, binding]) => ({ policy, binding }),
    () => undefined,
  );
  const apiPresent = crds.every((c) => c.present);
  const scope = options.allNamespaces ? undefined : options.namespace;
  const runtimes = apiPresent
    ? await attempt('runtimes', async () => (await client.get<{ items: Runtime[] }>(Paths.runtimes(scope))).items, [])
    : [];
  const runs = apiPresent
    ? await attempt('runs', async () => (await client.get<{ items: Run[] }>(Paths.runs(scope))).items, [])
    : [];
  const workflows = apiPresent
    ? await attempt('workflows', async () => (await client.get<{ items: Workflow[] }>(Paths.workflows(scope))).items, [])
    : [];
  const namespaces = scope
    ? [scope]
    : [...new Set([...runtimes, ...runs, ...workflows].map((o) => o.metadata.namespace!))].sort();
  const deployments: DeploymentView[] = [];
  const pods: PodView[] = [];
  let secrets: Set<string> | undefined = new Set();
  let configMaps: Set<string> | undefined = new Set();
  const access: AccessView[] = [];
  let guards: GuardView[] | undefined = [];
  for (const ns of namespaces) {
    const deps = await attempt(`Deployments in ${ns}`, async () => (await client.get<{ items: V1Deployment[] }>(Paths.deployments(ns))).items, []);
    deployments.push(...deps.map(deploymentView));
    const ps = await attempt(
      `Runtime Pods in ${ns}`,
      async () => (await client.get<{ items: V1Pod[] }>(Paths.pods(ns), { query: { labelSelector: Label.Runtime } })).items,
      [],
    );
    pods.push(...ps.map(podView));
    if (guards) {
      const found = await attempt(
        `ServiceAccounts, Roles, RoleBindings and NetworkPolicies in ${ns}`,
        () =>
          Promise.all(
            (Object.entries(GUARD_KINDS) as Array<[GuardKind, string]>).map(async ([kind, apiVersion]) => {
              const list = await client.get<{ items: Loose[] }>(collectionPath(apiVersion, kind, ns));
              return list.items.map((object) => ({ kind, object }));
            }),
          ),
        undefined,
      );
      guards = found ? [...guards, ...found.flat()] : undefined;
    }
    // Optional: without permission to list them, pods' own errors still tell of missing ones.
    try {
      for (const s of (await client.get<{ items: Loose[] }>(`/api/v1/namespaces/${ns}/secrets`)).items) secrets?.add(`${ns}/${s.metadata.name}`);
    } catch {
      secrets = undefined;
    }
    try {
      for (const c of (await client.get<{ items: Loose[] }>(`/api/v1/namespaces/${ns}/configmaps`)).items) configMaps?.add(`${ns}/${c.metadata.name}`);
    } catch {
      configMaps = undefined;
    }
    for (const p of PERMISSIONS) {
      const resource = 'subresource' in p ? `${p.resource}/${p.subresource}` : p.resource;
      try {
        const review = await client.create<{ status?: { allowed?: boolean } }>('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { namespace: ns, verb: p.verb, group: p.group, resource: p.resource, ...('subresource' in p ? { subresource: p.subresource } : {}) } },
        });
        access.push({ namespace: ns, verb: p.verb, resource, allowed: review.status?.allowed === true });
      } catch (err) {
        access.push({ namespace: ns, verb: p.verb, resource, allowed: false, error: why(err) });
      }
    }
  }
  return {
    nowMs: options.nowMs ?? Date.now(),
    pluginVersion: options.pluginVersion,
    platformNamespace: PLATFORM_NAMESPACE,
    namespaces,
    crds,
    controlPlane,
    runtimes,
    deployments,
    pods,
    runs,
    workflows,
    secrets,
    configMaps,
    access,
    guards,
    admissionPolicy,
    unreadable,
  };
}
