// Reading the ConfigMaps and Secrets a pod uses (volumes and env), as raw bytes per key.
import type { CoreV1Api } from '@kubernetes/client-node';
import { apiStatus } from './agent-log.ts';

export type ObjectData = Map<string, Buffer>;

/** ConfigMap `data` and `binaryData`; undefined if it does not exist. */
export async function readConfigMap(
  core: CoreV1Api,
  namespace: string,
  name: string,
): Promise<ObjectData | undefined> {
  try {
    const cm = await core.readNamespacedConfigMap({ name, namespace });
    const out: ObjectData = new Map();
    for (const [k, v] of Object.entries(cm.data ?? {})) out.set(k, Buffer.from(v, 'utf8'));
    for (const [k, v] of Object.entries(cm.binaryData ?? {})) out.set(k, Buffer.from(v, 'base64'));
    return out;
  } catch (err) {
    if (apiStatus(err) === 404) return undefined;
    throw err;
  }
}

/** Secret `data` (decoded) and `stringData`; undefined if it does not exist. */
export async function readSecret(
  core: CoreV1Api,
  namespace: string,
  name: string,
): Promise<ObjectData | undefined> {
  try {
    const s = await core.readNamespacedSecret({ name, namespace });
    const out: ObjectData = new Map();
    for (const [k, v] of Object.entries(s.data ?? {})) out.set(k, Buffer.from(v, 'base64'));
    for (const [k, v] of Object.entries(s.stringData ?? {})) out.set(k, Buffer.from(v, 'utf8'));
    return out;
  } catch (err) {
    if (apiStatus(err) === 404) return undefined;
    throw err;
  }
}

export function asStrings(data: ObjectData | undefined): Record<string, string> | undefined {
  return data && Object.fromEntries([...data].map(([k, v]) => [k, v.toString('utf8')]));
}
