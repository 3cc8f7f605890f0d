// runtimed's Prometheus metrics, served on its HTTP port at /metrics.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export const runtimedRegistry = new Registry();

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800];

export const runtimedMetrics = {
  /** Attempts this runtimed ended, by what followed: a terminal phase, or `Retry`. */
  attempts: new Counter({
    name: 'kruntimes_runtimed_attempts_total',
    help: 'Attempts ended by this runtimed, by result (terminal phase or Retry) and reason.',
    labelNames: ['result', 'reason'] as const,
    registers: [runtimedRegistry],
  }),
  retries: new Counter({
    name: 'kruntimes_runtimed_retries_total',
    help: 'Attempts this runtimed sent back to Pending for another attempt, by reason.',
    labelNames: ['reason'] as const,
    registers: [runtimedRegistry],
  }),
  duration: new Histogram({
    name: 'kruntimes_runtimed_attempt_duration_seconds',
    help: 'From the start of the execution (or the claim) to the end of the attempt, by result.',
    labelNames: ['result'] as const,
    buckets: DURATION_BUCKETS,
    registers: [runtimedRegistry],
  }),
  claimWait: new Histogram({
    name: 'kruntimes_runtimed_claim_wait_seconds',
    help: 'From the assignment (scheduledTime) to the start of the execution, or to the claim when it comes first.',
    buckets: DURATION_BUCKETS,
    registers: [runtimedRegistry],
  }),
  active: new Gauge({
    name: 'kruntimes_runtimed_active_runs',
    help: 'Runs this runtimed is claiming, executing or finishing.',
    registers: [runtimedRegistry],
  }),
  adopted: new Counter({
    name: 'kruntimes_runtimed_adopted_total',
    help: 'Executions found running after a runtimed restart, by result (adopted or lost).',
    labelNames: ['result'] as const,
    registers: [runtimedRegistry],
  }),
};
