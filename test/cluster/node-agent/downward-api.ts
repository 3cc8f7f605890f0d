// The downward API: values of fieldRef and resourceFieldRef selectors, shared by container env
// and downwardAPI/projected volumes.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { divideQuantity } from './quantity.ts';

export interface PodAddresses {
  podIP: string;
  hostIP: string;
}

/** What a resourceFieldRef reads when the container sets no limit: the node's allocatable. */
export type NodeAllocatable = Record<'cpu' | 'memory' | 'ephemeral-storage', string>;

export class DownwardApiError extends Error {}

/** `key="value"` lines sorted by key, like the kubelet's fieldpath.FormatMap (volumes only). */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m![k])}`)
    .join('\n');
}

/**
 * Resolves a fieldRef path. `allowMaps` permits whole `metadata.labels`/`metadata.annotations`
 * (volumes only — env vars must name one key).
 */
export function fieldRefValue(pod: V1Pod, fieldPath: string, addr: PodAddresses, allowMaps = false): string {
  const meta = pod.metadata ?? {};
  const subscript = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (subscript) {
    const map = subscript[1] === 'labels' ? meta.labels : meta.annotations;
    return map?.[subscript[2]] ?? '';
  }
  switch (fieldPath) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? '';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'metadata.labels':
    case 'metadata.annotations':
      if (!allowMaps) break;
      return formatMap(fieldPath === 'metadata.labels' ? meta.labels : meta.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return addr.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return addr.hostIP;
  }
  throw new DownwardApiError(`unsupported fieldRef fieldPath ${JSON.stringify(fieldPath)}`);
}

/** Resolves `limits.cpu`, `requests.memory`, … of a container, divided by the divisor and rounded up. */
export function resourceFieldValue(
  container: V1Container,
  resource: string,
  divisor: string | undefined,
  allocatable: NodeAllocatable,
): string {
  const [kind, name] = resource.split('.', 2) as [string, keyof NodeAllocatable];
  if ((kind !== 'limits' && kind !== 'requests') || !(name in allocatable)) {
    throw new DownwardApiError(`unsupported resourceFieldRef resource ${JSON.stringify(resource)}`);
  }
  const res = container.resources ?? {};
  const value =
    kind === 'limits'
      ? (res.limits?.[name] ?? allocatable[name])
      : (res.requests?.[name] ?? res.limits?.[name] ?? '0');
  return divideQuantity(value, divisor);
}
