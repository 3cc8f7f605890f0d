// Checks before install/upgrade/uninstall touch anything. Observing is separate from deciding:
// `decidePreflight(observed)` is pure and unit-tested; `observePreflight` asks the cluster.
import semver from 'semver';
import type { KubeClient } from '../../lib/kube-client.ts';
import type { Access } from '../kube/access.ts';
import { objectPath } from './objects.ts';
import type { InstallRecord } from './record.ts';
import type { K8sObject } from './render.ts';

/** CEL validation with messages and CRD selectableFields (beta, on by default) need 1.31. */
export const MIN_KUBERNETES = '1.31.0';

export const Mode = { Install: 'install', Upgrade: 'upgrade', Uninstall: 'uninstall' } as const;
export type Mode = (typeof Mode)[keyof typeof Mode];

export interface HelmOwned {
  object: string;
  release: string;
  namespace: string;
}

export interface Observed {
  mode: Mode;
  pluginVersion: string;
  /** /version's gitVersion: `v1.34.4`. */
  serverVersion: string;
  /** Access the plan needs that SelfSubjectAccessReview denied. */
  denied: Access[];
  record?: InstallRecord;
  /** Objects of the plan that a Helm release manages. */
  helmOwned: HelmOwned[];
  /** Platform Deployments exist (applied from manifests/ or by an earlier tool) though nothing is recorded. */
  unrecordedPlatform?: boolean;
  force: boolean;
}

export interface Decision {
  problems: string[];
  warnings: string[];
}

/** -1, 0, 1 like a comparator; versions that are not semver compare as equal. */
export function compareVersions(a: string, b: string): number {
  const va = semver.coerce(a, { includePrerelease: true });
  const vb = semver.coerce(b, { includePrerelease: true });
  if (!va || !vb) return 0;
  return semver.compare(va, vb);
}

function describeAccess(a: Access): string {
  const resource = `${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.group ? `.${a.group}` : ''}`;
  return `${a.verbs.join('/')} ${resource}${a.namespace ? ` in ${a.namespace}` : ' (cluster-wide)'}`;
}

export function decidePreflight(o: Observed): Decision {
  const problems: string[] = [];
  const warnings: string[] = [];
  const server = semver.coerce(o.serverVersion);
  if (!server) warnings.push(`cannot tell the cluster's Kubernetes version from ${JSON.stringify(o.serverVersion)}`);
  else if (semver.lt(server, MIN_KUBERNETES)) {
    problems.push(`the cluster runs Kubernetes ${o.serverVersion}; kruntimes needs ${MIN_KUBERNETES} or newer (CEL validation rules and CRD selectable fields)`);
  }
  if (o.denied.length > 0) {
    problems.push(`you are not allowed to ${o.denied.map(describeAccess).join(', ')}; ${o.mode} needs cluster-admin or equivalent rights`);
  }
  for (const h of o.helmOwned) {
    problems.push(`${h.object} belongs to Helm release ${h.release} in namespace ${h.namespace}: manage it with helm (helm upgrade ${h.release} ./charts/… -n ${h.namespace} --reuse-values), or helm uninstall it first`);
  }
  if (o.mode === Mode.Install && o.record) {
    problems.push(`kruntimes ${o.record.version} is already installed (by kubectl krt on ${o.record.installedAt}); use kubectl krt upgrade to change it`);
  }
  if (o.mode === Mode.Install && !o.record && o.unrecordedPlatform && o.helmOwned.length === 0) {
    warnings.push('kruntimes Deployments exist in kruntimes-system without an install record (applied from manifests/?); taking them over');
  }
  if (o.mode === Mode.Upgrade) {
    if (!o.record) problems.push('nothing to upgrade: kubectl krt install has not installed kruntimes here (no ConfigMap kruntimes-install in kruntimes-system); use kubectl krt install');
    else if (compareVersions(o.pluginVersion, o.record.version) < 0) {
      const downgrade = `this plugin (${o.pluginVersion}) is older than the installed kruntimes (${o.record.version})`;
      if (o.force) warnings.push(`${downgrade}; downgrading because of --force`);
      else problems.push(`${downgrade}: refusing to downgrade; use a plugin of version ${o.record.version} or newer, or pass --force to downgrade anyway`);
    }
  }
  if (o.mode === Mode.Uninstall && !o.record) {
    warnings.push('no install record (ConfigMap kruntimes-install): removing the platform objects only; Runtimes in workload namespaces are left alone');
  }
  return { problems, warnings };
}

/** The access applying or deleting `objects` needs (one review per kind and namespace). */
export function accessFor(objects: K8sObject[], verbs: readonly string[]): Access[] {
  const seen = new Map<string, Access>();
  for (const o of objects) {
    const path = objectPath(o);
    const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
    const resource = path.split('/').at(-2)!;
    const namespace = o.metadata.namespace;
    for (const verb of verbs) {
      const key = `${verb}|${group}|${resource}|${namespace ?? ''}`;
      if (!seen.has(key)) seen.set(key, { verbs: [verb], group, resource, ...(namespace ? { namespace } : {}) });
    }
  }
  return [...seen.values()];
}

export async function deniedAccess(client: KubeClient, wanted: Access[]): Promise<Access[]> {
  const answers = await Promise.all(
    wanted.map(async (a) => {
      const review = await client.create<{ status?: { allowed?: boolean } }>(
        '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
        {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { verb: a.verbs[0], group: a.group, resource: a.resource, namespace: a.namespace } },
        },
      );
      return review.status?.allowed ? undefined : a;
    }),
  );
  return answers.filter((a): a is Access => a !== undefined);
}

/** Which of `objects` (those that exist) carry Helm's release annotations. */
export async function helmOwnedObjects(client: KubeClient, objects: K8sObject[]): Promise<HelmOwned[]> {
  const owned = await Promise.all(
    objects.map(async (o) => {
      const live = await client.get<K8sObject>(objectPath(o)).catch(() => undefined);
      const release = live?.metadata.annotations?.['meta.helm.sh/release-name'];
      if (!release && live?.metadata.labels?.['app.kubernetes.io/managed-by'] !== 'Helm') return undefined;
      return {
        object: `${o.kind} ${o.metadata.name}`,
        release: release ?? '(unknown)',
        namespace: live?.metadata.annotations?.['meta.helm.sh/release-namespace'] ?? '(unknown)',
      };
    }),
  );
  return owned.filter((h): h is HelmOwned => h !== undefined);
}
