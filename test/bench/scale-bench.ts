// The scale benchmarks (`npm run bench -- --scale-queue N` and `--scale-pods PxS --in-flight M`),
// on the bench Runtime bench.ts has set up:
//
// - scale-queue: N trivial Runs created by C creators as fast as they go, far more than the
//   Runtime's slots, so they queue behind a full Runtime that drains at its full throughput. The
//   question is whether the scheduler's memory stays bounded while it holds the queue: its RSS
//   (and the controller's) is sampled every second with the number of Runs not yet finished, and
//   written as a CSV and an SVG curve; the report gives the idle, peak and after-drain RSS, what
//   a queued Run costs the scheduler at the peak, the drain rate and create→visible percentiles.
// - scale-pods: M Runs that sleep (`sleep S`), so that all of them are in flight at once on
//   P pods × S slots: how long until every one is running, create→scheduled and create→running,
//   the most running at once (from their stamped start and completion), and the memory and CPU of
//   the scheduler, all runtimed and all Runtime Servers together.
//
// The arithmetic is in scale.ts (unit-tested); this file drives the cluster and reads /proc.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type KubeClient, Paths } from '../../lib/kube-client.ts';
import { type ProcessTarget, snapshot } from './process-usage.ts';
import type { RunWatch } from './run-batch.ts';
import { drainRate, maxConcurrent, rssSummary, type SeriesRow, seriesCsv, timeSeriesSvg } from './scale.ts';
import { percentiles } from './workflow-stats.ts';

export interface ScaleContext {
  client: KubeClient;
  namespace: string;
  runtime: string;
  watch: RunWatch;
  targets: ProcessTarget[];
  concurrency: number;
  pods: number;
  slots: number;
  out?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const COMPONENTS = ['scheduler', 'controller', 'runtimed', 'Runtime Server', 'kube-apiserver', 'etcd'] as const;
const column = (component: string, what: 'rss_mb' | 'cpu_ms') => `${component.replace(/[^a-z]+/gi, '_').toLowerCase()}_${what}`;

/** Samples every second: per component the summed RSS and CPU, Runs created and finished, load. */
class Sampler {
  readonly rows: SeriesRow[] = [];
  private timer?: NodeJS.Timeout;
  private readonly targets: ProcessTarget[];
  private readonly progress: () => { created: number; finished: number };
  constructor(targets: ProcessTarget[], progress: () => { created: number; finished: number }) {
    this.targets = targets;
    this.progress = progress;
  }

  start(t0: number): void {
    const take = () => {
      const snap = snapshot(this.targets);
      const row: SeriesRow = { t_s: round((Date.now() - t0) / 1000), ...this.progress(), load1: round(os.loadavg()[0], 2) };
      row.outstanding = row.created! - row.finished!;
      for (const c of COMPONENTS) {
        const mine = [...snap.values()].filter((s) => s.component === c);
        if (mine.length === 0) continue;
        row[column(c, 'rss_mb')] = round(mine.reduce((n, s) => n + s.rssKb, 0) / 1024);
        row[column(c, 'cpu_ms')] = Math.round(mine.reduce((n, s) => n + s.cpuMs, 0));
      }
      this.rows.push(row);
    };
    take();
    this.timer = setInterval(take, 1000);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  values(col: string): number[] {
    return this.rows.map((r) => r[col]).filter((v): v is number => v !== undefined);
  }

  columns(): string[] {
    const cols = ['t_s', 'created', 'finished', 'outstanding', 'load1'];
    for (const c of COMPONENTS)
      for (const w of ['rss_mb', 'cpu_ms'] as const) if (this.rows.some((r) => r[column(c, w)] !== undefined)) cols.push(column(c, w));
    return cols;
  }
}

const runBody = (name: string, runtime: string, script: string) => ({
  apiVersion: 'kruntimes.io/v1alpha1',
  kind: 'Run',
  metadata: { name },
  spec: { runtime, entrypoint: 'script', source: { inline: script } },
});

/** Runs one batch with the sampler going, `settleS` seconds of sampling after it; returns what it saw. */
async function sampledBatch(ctx: ScaleContext, prefix: string, n: number, script: string, settleS: number) {
  const create = (name: string) => ctx.client.create(Paths.runs(ctx.namespace), runBody(name, ctx.runtime, script));
  let createdNow = 0;
  const sampler = new Sampler(ctx.targets, () => {
    let finished = 0;
    for (const name of ctx.watch.visible.keys()) if (name.startsWith(`${prefix}-`)) finished++;
    return { created: createdNow, finished };
  });
  const loadAtStart = os.loadavg();
  // Idle before: the baseline the queue's cost is measured against.
  const idle = snapshot(ctx.targets);
  const t0 = Date.now();
  sampler.start(t0);
  const counting = async (name: string) => {
    createdNow++;
    return create(name);
  };
  const result = await ctx.watch.batch(prefix, n, { concurrency: ctx.concurrency, create: counting });
  await sleep(settleS * 1000);
  sampler.stop();
  const idleRss = (c: string) =>
    round([...idle.values()].filter((s) => s.component === c).reduce((x, s) => x + s.rssKb, 0) / 1024);
  return { result, sampler, t0, loadAtStart, idleRss, samples: ctx.watch.samples(result.created) };
}

function writeFiles(ctx: ScaleContext, name: string, sampler: Sampler, svg: string, report: unknown): void {
  if (!ctx.out) return;
  fs.mkdirSync(ctx.out, { recursive: true });
  fs.writeFileSync(path.join(ctx.out, `${name}.csv`), seriesCsv(sampler.columns(), sampler.rows));
  fs.writeFileSync(path.join(ctx.out, `${name}.svg`), svg);
  fs.writeFileSync(path.join(ctx.out, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${ctx.out}/${name}.{csv,svg,json}`);
}

export async function benchScaleQueue(ctx: ScaleContext, n: number): Promise<unknown> {
  const prefix = `queue-${Date.now().toString(36)}`;
  const { result, sampler, t0, loadAtStart, idleRss, samples } = await sampledBatch(ctx, prefix, n, 'echo hi\n', 15);
  const visible = samples.filter((s) => s.visible !== undefined);
  const sched = sampler.values(column('scheduler', 'rss_mb'));
  const ctrl = sampler.values(column('controller', 'rss_mb'));
  const maxOutstanding = Math.max(...sampler.values('outstanding'));
  const peakIndex = sched.indexOf(Math.max(...sched));
  const schedIdle = idleRss('scheduler');
  const atPeak = sampler.rows.find((r) => r.outstanding === maxOutstanding)?.[column('scheduler', 'rss_mb')] ?? schedIdle;
  const report = {
    mode: 'scale-queue',
    runs: n,
    concurrency: ctx.concurrency,
    pods: ctx.pods,
    slotsPerPod: ctx.slots,
    phases: Object.fromEntries(
      [...new Set(samples.map((s) => s.phase ?? 'unknown'))].map((p) => [p, samples.filter((s) => (s.phase ?? 'unknown') === p).length]),
    ),
    seconds: round((result.t1 - t0) / 1000),
    runsPerSecond: round(n / ((Math.max(...visible.map((s) => s.visible!)) - t0) / 1000)),
    drainRunsPerSecond10to90: drainRate(visible.map((s) => s.visible!)),
    maxOutstanding,
    latencyMs: {
      'create→scheduled': percentiles(samples.filter((s) => s.scheduled).map((s) => s.scheduled! - s.created)),
      'create→visible': percentiles(visible.map((s) => s.visible! - s.created)),
    },
    schedulerRssMb: {
      idle: schedIdle,
      ...rssSummary(sched),
      atPeakOutstanding: atPeak,
      peakAtSeconds: sampler.rows[peakIndex]?.t_s,
    },
    // At the moment the queue was longest: the RSS later in the drain also holds garbage not yet
    // given back, not queued Runs.
    schedulerKbPerQueuedRun:
      maxOutstanding > 0 ? round(((atPeak - schedIdle) * 1024) / maxOutstanding, 2) : undefined,
    controllerRssMb: { idle: idleRss('controller'), ...rssSummary(ctrl) },
    loadAverage: { atStart: loadAtStart.map((x) => round(x, 2)), atEnd: os.loadavg().map((x) => round(x, 2)) },
  };
  console.log(JSON.stringify(report, null, 2));
  const svg = timeSeriesSvg(
    [
      { label: 'scheduler RSS MB', axis: 'left', points: sampler.rows.map((r) => [r.t_s!, r[column('scheduler', 'rss_mb')] ?? 0] as const) },
      { label: 'controller RSS MB', axis: 'left', points: sampler.rows.map((r) => [r.t_s!, r[column('controller', 'rss_mb')] ?? 0] as const) },
      { label: 'Runs created, not yet finished', axis: 'right', points: sampler.rows.map((r) => [r.t_s!, r.outstanding ?? 0] as const) },
    ],
    {
      title: `${n} Runs queued behind ${ctx.pods} pods × ${ctx.slots} slots: ${report.runsPerSecond} Runs/s, load ${report.loadAverage.atStart[0]}`,
      left: 'RSS (MB)',
      right: 'Runs outstanding',
    },
  );
  writeFiles(ctx, 'scale-queue', sampler, svg, report);
  return report;
}

export async function benchScalePods(ctx: ScaleContext, inFlight: number, sleepSeconds: number): Promise<unknown> {
  const prefix = `inflight-${Date.now().toString(36)}`;
  const { result, sampler, t0, loadAtStart, idleRss, samples } = await sampledBatch(
    ctx,
    prefix,
    inFlight,
    `sleep ${sleepSeconds}\n`,
    5,
  );
  const started = samples.filter((s) => s.running !== undefined);
  const sumOf = (c: string) => rssSummary(sampler.values(column(c, 'rss_mb')));
  const cpuSeconds = (c: string) => {
    const v = sampler.values(column(c, 'cpu_ms'));
    return v.length ? round((v.at(-1)! - v[0]) / 1000) : undefined;
  };
  const report = {
    mode: 'scale-pods',
    pods: ctx.pods,
    slotsPerPod: ctx.slots,
    inFlight,
    sleepSeconds,
    concurrency: ctx.concurrency,
    phases: Object.fromEntries(
      [...new Set(samples.map((s) => s.phase ?? 'unknown'))].map((p) => [p, samples.filter((s) => (s.phase ?? 'unknown') === p).length]),
    ),
    maxRunningAtOnce: maxConcurrent(started.filter((s) => s.completed).map((s) => ({ start: s.running!, end: s.completed! }))),
    secondsUntilAllRunning: started.length ? round((Math.max(...started.map((s) => s.running!)) - t0) / 1000) : undefined,
    secondsUntilAllVisible: round((result.t1 - t0) / 1000),
    latencyMs: {
      'create→scheduled': percentiles(samples.filter((s) => s.scheduled).map((s) => s.scheduled! - s.created)),
      'create→running': percentiles(started.map((s) => s.running! - s.created)),
      'create→visible': percentiles(samples.filter((s) => s.visible).map((s) => s.visible! - s.created)),
    },
    rssMbSummedOverInstances: Object.fromEntries(
      COMPONENTS.map((c) => [c, { idle: idleRss(c), ...sumOf(c) }]).filter(([, v]) => (v as { peak: number }).peak > 0),
    ),
    cpuSecondsDuringBatch: Object.fromEntries(COMPONENTS.map((c) => [c, cpuSeconds(c)]).filter(([, v]) => v !== undefined)),
    loadAverage: { atStart: loadAtStart.map((x) => round(x, 2)), atEnd: os.loadavg().map((x) => round(x, 2)) },
    peakLoad1: Math.max(...sampler.values('load1')),
  };
  console.log(JSON.stringify(report, null, 2));
  const svg = timeSeriesSvg(
    [
      { label: 'scheduler RSS MB', axis: 'left', points: sampler.rows.map((r) => [r.t_s!, r[column('scheduler', 'rss_mb')] ?? 0] as const) },
      {
        label: 'Runs created, not yet finished',
        axis: 'right',
        points: sampler.rows.map((r) => [r.t_s!, r.outstanding ?? 0] as const),
      },
      { label: 'load average (1 min) × 100', axis: 'right', points: sampler.rows.map((r) => [r.t_s!, (r.load1 ?? 0) * 100] as const) },
    ],
    {
      title: `${inFlight} sleeping Runs on ${ctx.pods} pods × ${ctx.slots} slots, load ${report.loadAverage.atStart[0]}`,
      left: 'RSS (MB)',
      right: 'Runs outstanding; load × 100',
    },
  );
  writeFiles(ctx, 'scale-pods', sampler, svg, report);
  return report;
}
