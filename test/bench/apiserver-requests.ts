// Writes per Run, counted by the apiserver itself: `apiserver_request_total` from its /metrics,
// scraped before and after the measured batch and diffed. Pure (text in, counts out) so the
// parsing, the diff and the per-Run accounting are unit-tested; bench.ts does the scraping.
//
// No-op writes: a write that changes nothing gets no new resourceVersion, so the watch delivers no
// event for it. Successful (2xx) writes to runs minus the resourceVersions the bench's own watch saw
// for the batch's Runs (the create's included) is the number of writes that changed nothing.

/** One sample of apiserver_request_total: its labels and its value. */
export interface RequestCount {
  labels: Record<string, string>;
  value: number;
}

/** The verbs the apiserver's metrics give writes (APPLY is a server-side apply PATCH). */
export const WRITE_VERBS = ['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE', 'DELETECOLLECTION'] as const;

const METRIC = 'apiserver_request_total';

/** Parses a Prometheus label set body (`a="x",b="y\"z"`), unescaping \\, \" and \n. */
export function parseLabels(body: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < body.length && (m = re.exec(body)) !== null) {
    labels[m[1]] = m[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

/** Every apiserver_request_total sample of a /metrics text exposition. */
export function parseRequestCounts(text: string): RequestCount[] {
  const out: RequestCount[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(METRIC)) continue;
    const rest = line.slice(METRIC.length);
    let labels: Record<string, string> = {};
    let valueText: string;
    if (rest.startsWith('{')) {
      const close = rest.lastIndexOf('}');
      if (close < 0) continue;
      labels = parseLabels(rest.slice(1, close));
      valueText = rest.slice(close + 1);
    } else if (rest.startsWith(' ')) valueText = rest;
    else continue; // another metric whose name starts the same way
    const value = Number(valueText.trim().split(/\s+/)[0]);
    if (Number.isFinite(value)) out.push({ labels, value });
  }
  return out;
}

const keyOf = (labels: Record<string, string>) =>
  JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));

/** after − before per label set; a label set absent before counts from 0, unchanged ones are dropped. */
export function diffCounts(before: readonly RequestCount[], after: readonly RequestCount[]): RequestCount[] {
  const prior = new Map(before.map((c) => [keyOf(c.labels), c.value]));
  const out: RequestCount[] = [];
  for (const c of after) {
    const delta = c.value - (prior.get(keyOf(c.labels)) ?? 0);
    if (delta !== 0) out.push({ labels: c.labels, value: delta });
  }
  return out;
}

/** Writes of one resource, by verb, subresource and response code. */
export interface WriteRow {
  resource: string;
  subresource: string;
  verb: string;
  code: string;
  count: number;
}

export function isWrite(c: RequestCount): boolean {
  return (WRITE_VERBS as readonly string[]).includes(c.labels.verb ?? '');
}

/** The write rows of a diff for the given resources (all resources when none given), largest first. */
export function writeRows(delta: readonly RequestCount[], resources?: readonly string[]): WriteRow[] {
  const rows = new Map<string, WriteRow>();
  for (const c of delta) {
    if (!isWrite(c)) continue;
    const resource = c.labels.resource ?? '';
    if (resources && !resources.includes(resource)) continue;
    const row = {
      resource,
      subresource: c.labels.subresource ?? '',
      verb: c.labels.verb ?? '',
      code: c.labels.code ?? '',
    };
    const key = JSON.stringify(row);
    const prev = rows.get(key);
    if (prev) prev.count += c.value;
    else rows.set(key, { ...row, count: c.value });
  }
  return [...rows.values()].sort((a, b) => b.count - a.count || a.resource.localeCompare(b.resource));
}

export interface WriteAccount {
  runs: number;
  /** Every write request to runs (any code), the create included, per Run. */
  writesPerRun: number;
  /** Successful (2xx) writes to runs per Run. */
  successfulWritesPerRun: number;
  /** Refused writes to runs (409 conflicts and others), in total. */
  failedWrites: number;
  /** Successful writes that produced no new resourceVersion (see the header), when rvs were counted. */
  noOpWrites?: number;
  /** pods/status writes in the window (the Runtime Pods' heartbeat), per Run. */
  podStatusWritesPerRun: number;
  rows: WriteRow[];
}

const round = (x: number) => Math.round(x * 100) / 100;

/**
 * Per-Run accounting of a batch of `runs` Runs from a metrics diff taken around it.
 * `resourceVersionsSeen`: the distinct resourceVersions the watch delivered for the batch's Runs.
 */
export function accountWrites(
  delta: readonly RequestCount[],
  runs: number,
  resourceVersionsSeen?: number,
): WriteAccount {
  const rows = writeRows(delta, ['runs', 'pods']);
  const runRows = rows.filter((r) => r.resource === 'runs');
  const total = runRows.reduce((s, r) => s + r.count, 0);
  const ok = runRows.filter((r) => r.code.startsWith('2')).reduce((s, r) => s + r.count, 0);
  const podStatus = rows
    .filter((r) => r.resource === 'pods' && r.subresource === 'status')
    .reduce((s, r) => s + r.count, 0);
  return {
    runs,
    writesPerRun: round(total / runs),
    successfulWritesPerRun: round(ok / runs),
    failedWrites: total - ok,
    ...(resourceVersionsSeen !== undefined ? { noOpWrites: Math.max(0, ok - resourceVersionsSeen) } : {}),
    podStatusWritesPerRun: round(podStatus / runs),
    rows,
  };
}
