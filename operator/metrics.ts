// The operator's Prometheus metrics, served on the health port (8081) at /metrics. Each role
// registers what it measures: the scheduler the queue, the controller role (reaper) Run outcomes.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export const operatorRegistry = new Registry();

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600];

export const schedulerMetrics = {
  queueWait: new Histogram({
    name: 'kruntimes_scheduler_queue_wait_seconds',
    help: 'From when a Run could first be scheduled (creation, or the end of its retry backoff) to its assignment.',
    buckets: SECONDS_BUCKETS,
    registers: [operatorRegistry],
  }),
  assignments: new Counter({
    name: 'kruntimes_scheduler_assignments_total',
    help: 'Attempts assigned to Runtime Pods.',
    registers: [operatorRegistry],
  }),
};

export const runMetrics = {
  finished: new Counter({
    name: 'kruntimes_runs_finished_total',
    help: 'Runs seen reaching a terminal phase, by phase (result) and reason.',
    labelNames: ['result', 'reason'] as const,
    registers: [operatorRegistry],
  }),
  duration: new Histogram({
    name: 'kruntimes_run_duration_seconds',
    help: 'From creation to the terminal phase, all attempts included, by result.',
    labelNames: ['result'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [operatorRegistry],
  }),
  retries: new Counter({
    name: 'kruntimes_run_retries_total',
    help: 'Runs seen going back to Pending for another attempt, by the reason the attempt ended.',
    labelNames: ['reason'] as const,
    registers: [operatorRegistry],
  }),
  active: new Gauge({
    name: 'kruntimes_runs',
    help: 'Runs that are not terminal, by phase.',
    labelNames: ['phase'] as const,
    registers: [operatorRegistry],
  }),
  reaped: new Counter({
    name: 'kruntimes_reaper_actions_total',
    help: 'Attempts the stale Run reaper ended, by reason and what followed (Retry, Reschedule or the terminal phase).',
    labelNames: ['reason', 'result'] as const,
    registers: [operatorRegistry],
  }),
  ttlDeleted: new Counter({
    name: 'kruntimes_ttl_deleted_total',
    help: 'Finished Runs deleted by ttlSecondsAfterFinished.',
    registers: [operatorRegistry],
  }),
};

/** Where the Workflow gauge counts from at scrape time: the Workflow controller's cache. */
let countWorkflows: (() => ReadonlyMap<string, number>) | undefined;
export function countWorkflowsWith(count: () => ReadonlyMap<string, number>): void {
  countWorkflows = count;
}

export const workflowMetrics = {
  workflows: new Gauge({
    name: 'kruntimes_workflows',
    help: 'Workflows by phase.',
    labelNames: ['phase'] as const,
    registers: [operatorRegistry],
    collect() {
      for (const [phase, n] of countWorkflows?.() ?? []) this.set({ phase }, n);
    },
  }),
  edgeLatency: new Histogram({
    name: 'kruntimes_workflow_edge_latency_seconds',
    help: "Orchestration overhead per dependency edge: from the last upstream task's completionTime to the creation of the downstream task's Run.",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [operatorRegistry],
  }),
  runsCreated: new Counter({
    name: 'kruntimes_workflow_runs_created_total',
    help: 'Child Runs created by the Workflow controller.',
    registers: [operatorRegistry],
  }),
};
