// The arithmetic of `npm run bench -- --workflow`, pure so it is unit-tested: microsecond
// timestamps, percentiles, each dependency edge's orchestration overhead (the downstream child
// Run's kruntimes.io/created-at minus the upstream child Run's completionTime), and a Workflow's
// wall time against the sum of its task durations and its critical path.

/** One task of a Workflow as the statistics see it: its name and what it depends on. */
export interface TaskNode {
  name: string;
  dependsOn?: readonly string[];
}

/** A task's child Run, reduced to its three instants in microseconds since the Unix epoch. */
export interface ChildTimes {
  /** The Workflow controller's kruntimes.io/created-at annotation. */
  createdUs: number;
  /** status.startTime: runtimed claimed the attempt. */
  startUs: number;
  /** status.completionTime. */
  completionUs: number;
}

export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/**
 * Microseconds since the epoch of an RFC 3339 timestamp with any number of fractional digits
 * (the API's status strings carry six); Date.parse alone would keep only milliseconds.
 */
export function parseMicros(timestamp: string): number {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(timestamp);
  if (!m) throw new Error(`not an RFC 3339 timestamp: ${JSON.stringify(timestamp)}`);
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(seconds)) throw new Error(`not an RFC 3339 timestamp: ${JSON.stringify(timestamp)}`);
  const fraction = Number(((m[2] ?? '') + '000000').slice(0, 6));
  return seconds * 1000 + fraction;
}

/**
 * The kruntimes.io/created-at annotation: microseconds since the epoch as an integer (as the
 * Workflow controller writes it), or an RFC 3339 timestamp.
 */
export function parseCreatedAt(value: string): number {
  if (/^\d+$/.test(value)) return Number(value);
  return parseMicros(value);
}

/** Nearest-rank percentile (the value at rank ⌈p·n⌉) of a non-empty list. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) throw new Error('percentile of an empty list');
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** p50, p95, p99 and max, rounded to 0.1 (the unit is the caller's). */
export function percentiles(xs: readonly number[]): Percentiles {
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    count: xs.length,
    p50: round(percentile(xs, 50)),
    p95: round(percentile(xs, 95)),
    p99: round(percentile(xs, 99)),
    max: round(Math.max(...xs)),
  };
}

/** Every dependency edge, upstream first, in task order. */
export function dependencyEdges(tasks: readonly TaskNode[]): Array<{ upstream: string; downstream: string }> {
  return tasks.flatMap((t) => (t.dependsOn ?? []).map((upstream) => ({ upstream, downstream: t.name })));
}

const childOf = (children: ReadonlyMap<string, ChildTimes>, task: string): ChildTimes => {
  const c = children.get(task);
  if (!c) throw new Error(`task ${task} has no child Run`);
  return c;
};

/**
 * Per edge, in ms: the downstream child Run's creation minus the upstream child Run's completion.
 * For a task with several upstreams only the edge from the last one to finish is pure
 * orchestration; the others also hold the wait for their siblings.
 */
export function edgeOverheadsMs(
  tasks: readonly TaskNode[],
  children: ReadonlyMap<string, ChildTimes>,
): Array<{ upstream: string; downstream: string; ms: number }> {
  return dependencyEdges(tasks).map((e) => ({
    ...e,
    ms: (childOf(children, e.downstream).createdUs - childOf(children, e.upstream).completionUs) / 1000,
  }));
}

/**
 * Per task with dependencies, in ms: its child Run's creation minus the completion of the last of
 * its upstream child Runs — the controller's reaction time to the event that made the task ready.
 */
export function readyToCreatedMs(
  tasks: readonly TaskNode[],
  children: ReadonlyMap<string, ChildTimes>,
): Array<{ task: string; ms: number }> {
  return tasks
    .filter((t) => (t.dependsOn ?? []).length > 0)
    .map((t) => {
      const ready = Math.max(...t.dependsOn!.map((u) => childOf(children, u).completionUs));
      return { task: t.name, ms: (childOf(children, t.name).createdUs - ready) / 1000 };
    });
}

/** Tasks in an order where each comes after everything it depends on; throws on a cycle. */
export function topologicalOrder(tasks: readonly TaskNode[]): string[] {
  const deps = new Map(tasks.map((t) => [t.name, t.dependsOn ?? []]));
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new Error(`dependency cycle through ${name}`);
    if (!deps.has(name)) throw new Error(`unknown task ${name}`);
    state.set(name, 'visiting');
    for (const d of deps.get(name)!) visit(d);
    state.set(name, 'done');
    order.push(name);
  };
  for (const t of tasks) visit(t.name);
  return order;
}

/**
 * The chain of dependent tasks whose durations (startTime → completionTime) add up to the most:
 * the least wall time any orchestrator with zero overhead could take.
 */
export function criticalPath(
  tasks: readonly TaskNode[],
  durationsMs: ReadonlyMap<string, number>,
): { ms: number; tasks: string[] } {
  const deps = new Map(tasks.map((t) => [t.name, t.dependsOn ?? []]));
  const best = new Map<string, { ms: number; via?: string }>();
  for (const name of topologicalOrder(tasks)) {
    let via: string | undefined;
    for (const d of deps.get(name)!) if (via === undefined || best.get(d)!.ms > best.get(via)!.ms) via = d;
    const own = durationsMs.get(name);
    if (own === undefined) throw new Error(`task ${name} has no duration`);
    best.set(name, { ms: own + (via === undefined ? 0 : best.get(via)!.ms), via });
  }
  let end: string | undefined;
  for (const [name, b] of best) if (end === undefined || b.ms > best.get(end)!.ms) end = name;
  const path: string[] = [];
  for (let at = end; at !== undefined; at = best.get(at)!.via) path.unshift(at);
  return { ms: end === undefined ? 0 : best.get(end)!.ms, tasks: path };
}

export interface WorkflowReport {
  tasks: number;
  edges: number;
  /** From the client's create request to the Workflow's status.completionTime. */
  wallMs: number;
  /** Σ of the child Runs' startTime → completionTime. */
  sumOfTaskMs: number;
  criticalPathMs: number;
  criticalPathTasks: number;
  /** wallMs − criticalPathMs: what orchestration, scheduling and claiming added on the longest chain. */
  overheadOnCriticalPathMs: number;
  edgeOverheadMs: Percentiles;
  readyToCreatedMs: Percentiles;
}

/** Everything the benchmark reports for one finished Workflow. */
export function workflowReport(options: {
  tasks: readonly TaskNode[];
  children: ReadonlyMap<string, ChildTimes>;
  createdUs: number;
  completionUs: number;
}): WorkflowReport {
  const { tasks, children } = options;
  const round = (x: number) => Math.round(x * 10) / 10;
  const durations = new Map(tasks.map((t) => {
    const c = childOf(children, t.name);
    return [t.name, (c.completionUs - c.startUs) / 1000];
  }));
  const critical = criticalPath(tasks, durations);
  const wallMs = (options.completionUs - options.createdUs) / 1000;
  const edges = edgeOverheadsMs(tasks, children).map((e) => e.ms);
  return {
    tasks: tasks.length,
    edges: edges.length,
    wallMs: round(wallMs),
    sumOfTaskMs: round([...durations.values()].reduce((a, b) => a + b, 0)),
    criticalPathMs: round(critical.ms),
    criticalPathTasks: critical.tasks.length,
    overheadOnCriticalPathMs: round(wallMs - critical.ms),
    edgeOverheadMs: percentiles(edges),
    readyToCreatedMs: percentiles(readyToCreatedMs(tasks, children).map((r) => r.ms)),
  };
}
