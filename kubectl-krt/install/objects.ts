// API paths of the kinds install, upgrade and uninstall touch, and server-side apply of them.
import { API_VERSION, Plural } from '../../lib/api.ts';
import { isNotFound, type KubeClient } from '../../lib/kube-client.ts';
import type { K8sObject } from './render.ts';

/** The field manager of everything the plugin applies. */
export const FIELD_MANAGER = 'kubectl-krt';

const PLURALS: Readonly<Record<string, { plural: string; namespaced: boolean }>> = {
  'v1/Namespace': { plural: 'namespaces', namespaced: false },
  'v1/ServiceAccount': { plural: 'serviceaccounts', namespaced: true },
  'v1/Service': { plural: 'services', namespaced: true },
  'v1/ConfigMap': { plural: 'configmaps', namespaced: true },
  'apps/v1/Deployment': { plural: 'deployments', namespaced: true },
  'rbac.authorization.k8s.io/v1/ClusterRole': { plural: 'clusterroles', namespaced: false },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { plural: 'clusterrolebindings', namespaced: false },
  'rbac.authorization.k8s.io/v1/Role': { plural: 'roles', namespaced: true },
  'rbac.authorization.k8s.io/v1/RoleBinding': { plural: 'rolebindings', namespaced: true },
  'apiextensions.k8s.io/v1/CustomResourceDefinition': { plural: 'customresourcedefinitions', namespaced: false },
  'monitoring.coreos.com/v1/ServiceMonitor': { plural: 'servicemonitors', namespaced: true },
  [`${API_VERSION}/Runtime`]: { plural: Plural.Runtime, namespaced: true },
};

export function objectPath(o: Pick<K8sObject, 'apiVersion' | 'kind' | 'metadata'>): string {
  const t = PLURALS[`${o.apiVersion}/${o.kind}`];
  if (!t) throw new Error(`no API path known for ${o.apiVersion} ${o.kind}`);
  const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  const ns = t.namespaced ? `/namespaces/${o.metadata.namespace}` : '';
  return `${base}${ns}/${t.plural}/${o.metadata.name}`;
}

/** `deployment/kruntimes-scheduler -n kruntimes-system`, for progress and dry-run output. */
export function describeObject(o: K8sObject): string {
  return `${o.kind.toLowerCase()}/${o.metadata.name}${o.metadata.namespace ? ` -n ${o.metadata.namespace}` : ''}`;
}

export function applyObject(client: KubeClient, o: K8sObject): Promise<K8sObject> {
  return client.apply<K8sObject>(objectPath(o), o, FIELD_MANAGER);
}

/** Deletes; true when it existed. */
export async function deleteObject(client: KubeClient, o: K8sObject): Promise<boolean> {
  try {
    await client.delete(objectPath(o), { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

export async function exists(client: KubeClient, o: K8sObject): Promise<boolean> {
  try {
    await client.get(objectPath(o));
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
