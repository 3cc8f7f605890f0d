// What `kubectl krt install`/`upgrade` installed, kept in ConfigMap kruntimes-install in the
// platform namespace: the contract upgrade, uninstall, backup and restore read.
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { isNotFound, type KubeClient } from '../../lib/kube-client.ts';
import { PLATFORM_NAMESPACE } from '../platform-version.ts';
import { applyObject, objectPath } from './objects.ts';
import type { K8sObject } from './render.ts';
import type { PlatformValues, RuntimesValues } from './values.ts';

export const INSTALL_RECORD_NAME = 'kruntimes-install';
export const RecordKey = {
  Version: 'version',
  PlatformValues: 'platform-values.yaml',
  RuntimesValues: 'runtimes-values.yaml',
  RuntimesNamespaces: 'runtimes-namespaces',
  InstalledAt: 'installed-at',
  UpgradedAt: 'upgraded-at',
} as const;

export interface InstallRecord {
  /** The plugin version that installed or last upgraded. */
  version: string;
  platformValues: PlatformValues;
  runtimesValues: RuntimesValues;
  /** Namespaces holding the built-in Runtimes. */
  runtimesNamespaces: string[];
  installedAt: string;
  /** Absent until the first upgrade. */
  upgradedAt?: string;
}

export class InstallRecordInvalidError extends Error {
  constructor(message: string) {
    super(`ConfigMap ${INSTALL_RECORD_NAME} -n ${PLATFORM_NAMESPACE} is damaged: ${message}`);
    this.name = 'InstallRecordInvalidError';
  }
}

const recordRef = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: INSTALL_RECORD_NAME, namespace: PLATFORM_NAMESPACE },
} as const;

export function recordConfigMap(record: InstallRecord): K8sObject {
  return {
    ...recordRef,
    metadata: {
      ...recordRef.metadata,
      labels: { 'app.kubernetes.io/name': 'kruntimes', 'app.kubernetes.io/managed-by': 'kubectl-krt' },
    },
    data: {
      [RecordKey.Version]: record.version,
      [RecordKey.PlatformValues]: stringifyYaml(record.platformValues),
      [RecordKey.RuntimesValues]: stringifyYaml(record.runtimesValues),
      [RecordKey.RuntimesNamespaces]: JSON.stringify(record.runtimesNamespaces),
      [RecordKey.InstalledAt]: record.installedAt,
      ...(record.upgradedAt ? { [RecordKey.UpgradedAt]: record.upgradedAt } : {}),
    },
  };
}

export function parseInstallRecord(data: Record<string, string>): InstallRecord {
  const need = (key: string) => {
    const v = data[key];
    if (v === undefined) throw new InstallRecordInvalidError(`data.${key} is missing`);
    return v;
  };
  let namespaces: unknown;
  try {
    namespaces = JSON.parse(need(RecordKey.RuntimesNamespaces));
  } catch {
    throw new InstallRecordInvalidError(`data.${RecordKey.RuntimesNamespaces} is not a JSON array`);
  }
  if (!Array.isArray(namespaces) || !namespaces.every((n) => typeof n === 'string')) {
    throw new InstallRecordInvalidError(`data.${RecordKey.RuntimesNamespaces} is not a JSON array of namespaces`);
  }
  return {
    version: need(RecordKey.Version),
    platformValues: parseYaml(need(RecordKey.PlatformValues)) as PlatformValues,
    runtimesValues: parseYaml(need(RecordKey.RuntimesValues)) as RuntimesValues,
    runtimesNamespaces: namespaces,
    installedAt: need(RecordKey.InstalledAt),
    ...(data[RecordKey.UpgradedAt] ? { upgradedAt: data[RecordKey.UpgradedAt] } : {}),
  };
}

/** The record, or undefined when the plugin never installed here. */
export async function readInstallRecord(client: KubeClient): Promise<InstallRecord | undefined> {
  let cm: { data?: Record<string, string> };
  try {
    cm = await client.get(objectPath(recordRef));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  return parseInstallRecord(cm.data ?? {});
}

/** Server-side applies the record (field manager kubectl-krt); the platform namespace must exist. */
export async function writeInstallRecord(client: KubeClient, record: InstallRecord): Promise<void> {
  await applyObject(client, recordConfigMap(record));
}

export async function deleteInstallRecord(client: KubeClient): Promise<void> {
  try {
    await client.delete(objectPath(recordRef));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
