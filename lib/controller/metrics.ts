// Per-controller metrics every controller on the frame gets, labelled by controller name, as
// controller-runtime exports them: queue depth, reconciles by result, reconcile duration, errors.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export const ReconcileResult = {
  Success: 'success',
  Requeue: 'requeue',
  RequeueAfter: 'requeue_after',
  Error: 'error',
} as const;
export type ReconcileResult = (typeof ReconcileResult)[keyof typeof ReconcileResult];

export interface ControllerMetrics {
  depth: Gauge<'controller'>;
  reconciles: Counter<'controller' | 'result'>;
  errors: Counter<'controller'>;
  duration: Histogram<'controller'>;
  wait: Histogram<'controller'>;
}

const perRegistry = new WeakMap<Registry, ControllerMetrics>();

/** The frame's metrics in `registry`, created once per registry. */
export function controllerMetrics(registry: Registry): ControllerMetrics {
  let m = perRegistry.get(registry);
  if (m) return m;
  m = {
    depth: new Gauge({
      name: 'kruntimes_controller_queue_depth',
      help: 'Keys waiting in the controller work queue.',
      labelNames: ['controller'] as const,
      registers: [registry],
    }),
    reconciles: new Counter({
      name: 'kruntimes_controller_reconcile_total',
      help: 'Reconciles by controller and result (success, requeue, requeue_after, error).',
      labelNames: ['controller', 'result'] as const,
      registers: [registry],
    }),
    errors: new Counter({
      name: 'kruntimes_controller_reconcile_errors_total',
      help: 'Reconciles that failed and were retried with backoff.',
      labelNames: ['controller'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'kruntimes_controller_reconcile_duration_seconds',
      help: 'Time spent in one reconcile.',
      labelNames: ['controller'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    wait: new Histogram({
      name: 'kruntimes_controller_queue_wait_seconds',
      help: 'How long a key waited in the work queue before a worker took it.',
      labelNames: ['controller'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [registry],
    }),
  };
  perRegistry.set(registry, m);
  return m;
}
