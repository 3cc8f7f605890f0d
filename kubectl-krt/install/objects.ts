// API paths of the kinds install, upgrade and uninstall touch, and server-side apply of them.
import { isNotFound, type KubeClient, objectPath } from '../../lib/kube-client.ts';
import type { K8sObject } from './render.ts';

/** The field manager of everything the plugin applies. */
export const FIELD_MANAGER = 'kubectl-krt';

export { objectPath } from '../../lib/kube-client.ts';

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
