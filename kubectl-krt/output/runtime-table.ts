// Runtimes and their pods as tables: how big the pool is, how much of it is in use, and whether
// each pod's runtimed is alive (its heartbeat condition).
import type { ChalkInstance } from 'chalk';
import {
  ACTIVE_PHASES,
  Annotation,
  DEFAULT_CAPACITY_RUNS,
  DEFAULT_REPLICAS,
  Label,
  Limits,
  PodConditionType,
  RESOURCE_RUNS,
  type Run,
  type RunPhase,
  type Runtime,
} from '../../lib/api.ts';
import { runtimeCapacity } from '../../lib/resources.ts';
import { age } from './format.ts';
import { indent, renderFields, renderTable } from './table.ts';

/** The fields of a core/v1 Pod these tables read. */
export interface PodInfo {
  metadata: {
    name?: string;
    namespace?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  status?: {
    phase?: string;
    conditions?: Array<{
      type: string;
      status: string;
      lastProbeTime?: string | null;
      lastTransitionTime?: string;
      reason?: string;
    }>;
  };
}

export function capacityOf(runtime: Runtime): number {
  return runtime.spec.capacity?.resources?.runs ?? DEFAULT_CAPACITY_RUNS;
}

function podCapacity(pod: PodInfo, fallback: number): number {
  const n = Number(pod.metadata.annotations?.[Annotation.CapacityRuns]);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

export function isActive(run: Run): boolean {
  return ACTIVE_PHASES.has(run.status?.phase as RunPhase);
}

/** Slots in use per pod name, from the Runs that hold one (Scheduled or Running). */
export function slotsByPod(runs: readonly Run[]): Map<string, number> {
  const used = new Map<string, number>();
  for (const run of runs) {
    const pod = run.status?.assignedPod;
    if (pod && isActive(run)) used.set(pod, (used.get(pod) ?? 0) + 1);
  }
  return used;
}

function podReady(pod: PodInfo): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** `True, 3s ago`: the heartbeat condition and how old its last probe is. */
export function heartbeat(pod: PodInfo, now: number): string {
  const c = pod.status?.conditions?.find((x) => x.type === PodConditionType.RuntimedReady);
  if (!c) return 'none';
  const at = c.lastProbeTime ?? c.lastTransitionTime ?? undefined;
  const stale = at ? now - Date.parse(at) > Limits.schedulerStaleSeconds * 1000 : false;
  return `${c.status}${c.status !== 'True' && c.reason ? ` (${c.reason})` : ''}, ${age(at, now)} ago${stale ? ', stale' : ''}`;
}

/** The Runtime Pods of a Runtime: its label, in its namespace. */
export function podsOf(runtime: Runtime, pods: readonly PodInfo[]): PodInfo[] {
  return pods.filter(
    (p) =>
      p.metadata.labels?.[Label.Runtime] === runtime.metadata.name &&
      (p.metadata.namespace === undefined || p.metadata.namespace === runtime.metadata.namespace),
  );
}

function image(runtime: Runtime): string {
  const first = runtime.spec.template.spec.containers[0] as { image?: string } | undefined;
  return first?.image ?? '';
}

export interface RuntimeRow {
  runtime: Runtime;
  pods: readonly PodInfo[];
  /** Active Runs of this Runtime. */
  runs: readonly Run[];
}

export function renderRuntimeTable(
  rows: readonly RuntimeRow[],
  o: { wide: boolean; namespaces: boolean; now: number },
): string {
  return renderTable(
    [
      ...(o.namespaces ? ['NAMESPACE'] : []),
      'NAME',
      'READY',
      'CAPACITY',
      'IN-USE',
      'AGE',
      ...(o.wide ? ['IMAGE'] : []),
    ],
    rows.map(({ runtime, pods, runs }) => {
      const capacity = capacityOf(runtime);
      const ready = pods.filter((p) => podReady(p) && !p.metadata.deletionTimestamp);
      const slots = ready.reduce((n, p) => n + podCapacity(p, capacity), 0);
      const used = runs.filter(isActive).length;
      return [
        ...(o.namespaces ? [runtime.metadata.namespace ?? ''] : []),
        runtime.metadata.name ?? '',
        `${runtime.status?.readyReplicas ?? 0}/${runtime.spec.replicas ?? DEFAULT_REPLICAS}`,
        capacityCell(runtime, capacity),
        `${used}/${slots}`,
        age(runtime.metadata.creationTimestamp, o.now),
        ...(o.wide ? [image(runtime)] : []),
      ];
    }),
  );
}

/** The CAPACITY cell: Runs per pod, then any other resource a pod offers (`4/pod,gpu=1`). */
function capacityCell(runtime: Runtime, runs: number): string {
  const others = Object.entries(runtimeCapacity(runtime.spec))
    .filter(([name]) => name !== RESOURCE_RUNS)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, n]) => `,${name}=${n}`);
  return `${runs}/pod${others.join('')}`;
}

/** `4 Runs per pod`, and the other resources a pod offers: `4 Runs, gpu 1 per pod`. */
function capacityLine(runtime: Runtime, runs: number): string {
  const others = Object.entries(runtimeCapacity(runtime.spec))
    .filter(([name]) => name !== RESOURCE_RUNS)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, n]) => `, ${name} ${n}`);
  return `${runs} Run${runs === 1 ? '' : 's'}${others.join('')} per pod`;
}

export function describeRuntime(row: RuntimeRow, chalk: ChalkInstance, now: number): string {
  const { runtime, pods, runs } = row;
  const capacity = capacityOf(runtime);
  const used = slotsByPod(runs);
  const ready = runtime.status?.conditions?.find((c) => c.type === 'Ready');
  let out = renderFields([
    ['Name', runtime.metadata.name ?? ''],
    ['Namespace', runtime.metadata.namespace ?? ''],
    ['Image', image(runtime)],
    [
      'Replicas',
      `${runtime.status?.readyReplicas ?? 0} ready of ${runtime.spec.replicas ?? DEFAULT_REPLICAS}`,
    ],
    ['Capacity', capacityLine(runtime, capacity)],
    ['In Use', `${runs.filter(isActive).length} Run(s) Scheduled or Running`],
    [
      'Ready',
      ready
        ? `${ready.status}${ready.reason ? ` (${ready.reason})` : ''}${ready.message ? `: ${ready.message}` : ''}`
        : 'unknown',
    ],
    ['Age', age(runtime.metadata.creationTimestamp, now)],
  ]);
  out += pods.length
    ? `Pods:\n${indent(
        renderTable(
          ['POD', 'READY', 'HEARTBEAT', 'IN-USE', 'AGE'],
          pods.map((p) => {
            const isReady = podReady(p);
            const state = p.metadata.deletionTimestamp
              ? chalk.yellow('Terminating')
              : isReady
                ? chalk.green('True')
                : chalk.red('False');
            return [
              p.metadata.name ?? '',
              state,
              heartbeat(p, now),
              `${used.get(p.metadata.name ?? '') ?? 0}/${podCapacity(p, capacity)}`,
              age(p.metadata.creationTimestamp, now),
            ];
          }),
        ),
      )}`
    : 'Pods:  <none>\n';
  return out;
}
