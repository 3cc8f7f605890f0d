// Logical resources: what a Runtime Pod offers (spec.capacity.resources, projected onto its pods as
// kruntimes.io/capacity.<name> annotations) and what a Run holds while it is active
// (spec.resources.requests). The scheduler accounts them, the Runtime controller projects them, the
// CLI parses them: the rules live here once.
import { Annotation, DEFAULT_CAPACITY_RUNS, Limits, RESOURCE_RUNS, type RunSpec, type RuntimeSpec } from './api.ts';

/** Resource name → whole amount. */
export type ResourceAmounts = Record<string, number>;

/** The syntax of a resource name (the CRDs' rule): lowercase alphanumerics, '-' or '.'. */
const RESOURCE_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export function isValidResourceName(name: string): boolean {
  return name.length <= Limits.resourceNameBytes && RESOURCE_NAME.test(name);
}

/** A capacity value as the CRD accepts it (an integer or a string of digits), or undefined. */
export function wholeAmount(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'string' && /^[0-9]{1,15}$/.test(value)) return Number(value);
  return undefined;
}

/**
 * What a Run holds of its pod while Scheduled or Running: its spec.resources.requests with
 * runs defaulted to 1, without zero amounts (a request of 0 asks for nothing).
 */
export function runRequests(spec: Pick<RunSpec, 'resources'>): ResourceAmounts {
  const out: ResourceAmounts = { [RESOURCE_RUNS]: 1 };
  for (const [name, amount] of Object.entries(spec.resources?.requests ?? {})) {
    if (typeof amount === 'number' && amount > 0) out[name] = amount;
  }
  return out;
}

/** The per-pod capacity a Runtime declares; runs defaults to 1 as the CRD's default does. */
export function runtimeCapacity(spec: Pick<RuntimeSpec, 'capacity'>): ResourceAmounts {
  const out: ResourceAmounts = { [RESOURCE_RUNS]: DEFAULT_CAPACITY_RUNS };
  for (const [name, value] of Object.entries(spec.capacity?.resources ?? {})) {
    const amount = wholeAmount(value);
    if (amount !== undefined && (name !== RESOURCE_RUNS || amount >= 1)) out[name] = amount;
  }
  return out;
}

export function capacityAnnotation(name: string): string {
  return `${Annotation.CapacityPrefix}${name}`;
}

/** The pod annotations that carry a Runtime's capacity, one per resource name. */
export function capacityAnnotations(capacity: ResourceAmounts): Record<string, string> {
  return Object.fromEntries(Object.entries(capacity).map(([name, n]) => [capacityAnnotation(name), String(n)]));
}

/**
 * A pod's capacity read back from its annotations. A pod without the runs annotation (made by
 * hand, or by a much older operator) runs one Run at a time; a name it does not carry is 0.
 */
export function podCapacity(annotations: Record<string, string> | undefined): ResourceAmounts {
  const out: ResourceAmounts = { [RESOURCE_RUNS]: DEFAULT_CAPACITY_RUNS };
  for (const [key, value] of Object.entries(annotations ?? {})) {
    if (!key.startsWith(Annotation.CapacityPrefix)) continue;
    const name = key.slice(Annotation.CapacityPrefix.length);
    const amount = wholeAmount(value);
    if (!isValidResourceName(name) || amount === undefined) continue;
    if (name === RESOURCE_RUNS && amount < 1) continue;
    out[name] = amount;
  }
  return out;
}

/** Adds b into a, in place. */
export function addAmounts(a: ResourceAmounts, b: ResourceAmounts): ResourceAmounts {
  for (const [name, n] of Object.entries(b)) a[name] = (a[name] ?? 0) + n;
  return a;
}

/** The names of `requests` that do not fit beside `inUse` within `capacity`. */
export function shortOf(requests: ResourceAmounts, inUse: ResourceAmounts, capacity: ResourceAmounts): string[] {
  return Object.keys(requests)
    .filter((name) => (inUse[name] ?? 0) + requests[name] > (capacity[name] ?? 0))
    .sort();
}

/** `gpu=1, runs=1`: amounts in name order, as `--request` takes them. */
export function formatAmounts(amounts: ResourceAmounts): string {
  return Object.keys(amounts)
    .sort()
    .map((name) => `${name}=${amounts[name]}`)
    .join(', ');
}

/**
 * Why no pod of a Runtime with this capacity could ever run a Run with these requests, or
 * undefined when an idle pod could.
 */
export function unsatisfiable(runtime: string, requests: ResourceAmounts, capacity: ResourceAmounts): string | undefined {
  const missing = Object.keys(requests).filter((n) => capacity[n] === undefined).sort();
  const over = Object.keys(requests).filter((n) => capacity[n] !== undefined && requests[n] > capacity[n]).sort();
  if (missing.length === 0 && over.length === 0) return undefined;
  const parts = [
    ...missing.map((n) => `${n}=${requests[n]} requested, Runtime "${runtime}" has no ${n} in spec.capacity.resources`),
    ...over.map((n) => `${n}=${requests[n]} requested, each Runtime Pod of "${runtime}" has ${n} ${capacity[n]}`),
  ];
  return `Insufficient ${[...missing, ...over].join(', ')}: ${parts.join('; ')}; no pod of this Runtime can ever run it`;
}
