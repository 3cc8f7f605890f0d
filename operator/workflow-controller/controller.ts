// The Workflow controller on the controller frame: Workflows and their child Runs (mapped to the
// Workflow through its controller ownerReference) enqueue the Workflow; each reconcile reads the
// Workflow and the Runs named after its tasks from the shared cache, asks decideWorkflow what to
// do, and does it: create Runs (idempotent: deterministic names, AlreadyExists adopts), cancel
// Runs, write status (precondition-checked), record Events, delete after the TTL.
import type { Registry } from 'prom-client';
import {
  Annotation,
  type Run,
  isWorkflowTerminal,
  WorkflowPhase,
  preciseMicroTime,
  type Workflow,
} from '../../lib/api.ts';
import { Controller, objectKey, type Result, splitKey } from '../../lib/controller/controller.ts';
import type { SharedCache } from '../../lib/controller/shared-cache.ts';
import { StatusWriter } from '../../lib/controller/status-writer.ts';
import { EventAction, recordEvent } from '../../lib/events.ts';
import type { Informer } from '../../lib/informer.ts';
import { isAlreadyExists, isNotFound, type KubeClient, Paths } from '../../lib/kube-client.ts';
import { errorMessage, logger } from '../../lib/log.ts';
import { allTasks, childRunName } from '../../lib/workflow-names.ts';
import { CONTROLLER_RUN_VIEW } from '../controller-run-view.ts';
import { countWorkflowsWith, workflowMetrics } from '../metrics.ts';
import { type ChildRun, decideWorkflow, type WorkflowEvent } from './decide.ts';

const log = logger.child({ component: 'workflow-controller' });
const EVENT_REPORTER = 'kruntimes.io/workflow-controller';
/** How long a Run this controller created may be missing from the cache before it counts as gone. */
const CREATED_GRACE_MS = 60_000;
/** How long a status change that is only running tasks' progress may wait for the next write. */
const PROGRESS_WRITE_DELAY_MS = 250;

/** The Workflow a Run belongs to, by its controller ownerReference. */
export function owningWorkflowKey(run: Run): string | undefined {
  const owner = run.metadata.ownerReferences?.find((o) => o.controller && o.kind === 'Workflow');
  return owner ? `${run.metadata.namespace}/${owner.name}` : undefined;
}

export class WorkflowController {
  private readonly client: KubeClient;
  private readonly instance: string;
  private readonly workflows: Informer<Workflow>;
  private readonly runs: Informer<Run>;
  private readonly status: StatusWriter<Workflow>;
  private readonly controller: Controller;
  /**
   * Runs created (or found by an AlreadyExists) that the cache may not hold yet, by namespace/name:
   * the expectations that keep a reconcile racing the watch from creating or failing a task twice.
   */
  private readonly recent = new Map<string, { run: Run; at: number }>();
  /** Workflows whose status write is being held back (see isProgressOnly), since when (ms). */
  private readonly deferred = new Map<string, number>();
  /**
   * Events recorded since the Workflow's status was last written: a decision made from an
   * unwritten status announces the same task ends again, and they are recorded once.
   */
  private readonly announced = new Map<string, Set<string>>();

  constructor(options: { client: KubeClient; cache: SharedCache; registry: Registry; instance: string }) {
    this.client = options.client;
    this.instance = options.instance;
    this.workflows = options.cache.informer<Workflow>(Paths.workflows());
    this.runs = options.cache.informer<Run>(Paths.runs(), { transform: CONTROLLER_RUN_VIEW });
    this.status = new StatusWriter<Workflow>(this.client, Paths.workflowStatus);
    this.controller = new Controller({
      name: 'workflow',
      cache: options.cache,
      registry: options.registry,
      reconcile: (key) => this.reconcile(key),
      concurrency: 8,
    })
      .watch(this.workflows, objectKey)
      .watch(this.runs, owningWorkflowKey);
    countWorkflowsWith(() => this.countByPhase());
  }

  async start(): Promise<void> {
    await this.controller.start();
  }

  async stop(): Promise<void> {
    await this.controller.stop();
  }

  private countByPhase(): Map<string, number> {
    const counts = new Map<string, number>(Object.values(WorkflowPhase).map((p) => [p, 0]));
    for (const w of this.workflows.list()) {
      const phase = w.status?.phase ?? WorkflowPhase.Pending;
      counts.set(phase, (counts.get(phase) ?? 0) + 1);
    }
    return counts;
  }

  /** The Run of that name: the cache's copy, else one this controller created moments ago. */
  private childRun(namespace: string, name: string): Run | undefined {
    const key = `${namespace}/${name}`;
    const cached = this.runs.get(name, namespace);
    const recent = this.recent.get(key);
    if (cached || (recent && Date.now() - recent.at > CREATED_GRACE_MS)) this.recent.delete(key);
    return cached ?? this.recent.get(key)?.run;
  }

  private async reconcile(key: string): Promise<Result | void> {
    // Records of creates outlive their Workflow only until the grace period ends.
    for (const [k, r] of this.recent) if (Date.now() - r.at > CREATED_GRACE_MS) this.recent.delete(k);
    const { namespace, name } = splitKey(key);
    const cached = this.workflows.get(name, namespace);
    if (!cached) {
      this.deferred.delete(key);
      this.announced.delete(key);
      return;
    }
    // kubectl krt restore gives the status back first; until then the Workflow is not ours.
    if (cached.metadata.annotations?.[Annotation.Restoring] !== undefined) return;
    const workflow = this.status.latest(cached);
    const runs = new Map<string, ChildRun>();
    for (const { task } of allTasks(workflow)) {
      const run = this.childRun(namespace, childRunName(name, task.name));
      if (!run) continue;
      const own = run.metadata.ownerReferences?.some((o) => o.controller && o.uid === workflow.metadata.uid);
      runs.set(task.name, { kind: own ? 'own' : 'foreign', run });
    }
    const decision = decideWorkflow({ workflow, runs, now: new Date() });

    if (decision.delete) {
      log.info('ttlSecondsAfterFinished passed: deleting the Workflow', { workflow: key });
      await this.client
        .delete(Paths.workflow(namespace, name), { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' })
        .catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
      this.status.forget(workflow.metadata.uid);
      return;
    }

    await Promise.all(
      decision.create.map(async ({ run, readyAtMs }) => {
        const createdAt = preciseMicroTime();
        run.metadata.annotations = { ...run.metadata.annotations, [Annotation.CreatedAt]: createdAt };
        let created: Run;
        try {
          created = await this.client.create<Run>(Paths.runs(namespace), run);
          workflowMetrics.runsCreated.inc();
          if (readyAtMs !== undefined) workflowMetrics.edgeLatency.observe(Math.max(0, Date.parse(createdAt) - readyAtMs) / 1000);
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
          // Created by an earlier reconcile whose answer we never saw, or someone else's Run:
          // the next decision tells which from its ownerReference.
          created = await this.client.get<Run>(Paths.run(namespace, run.metadata.name!));
        }
        this.recent.set(`${namespace}/${created.metadata.name}`, { run: created, at: Date.now() });
      }),
    );
    await Promise.all(
      decision.cancel.map((runName) =>
        this.client.mergePatch(Paths.run(namespace, runName), { spec: { cancelRequested: true } }).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        }),
      ),
    );
    if (decision.status && decision.progressOnly) {
      // Fold the change into a write a moment later (or into the write of the Workflow's end).
      const since = this.deferred.get(key) ?? Date.now();
      this.deferred.set(key, since);
      const left = PROGRESS_WRITE_DELAY_MS - (Date.now() - since);
      if (left > 0) {
        this.record(key, workflow, decision.events);
        return { requeueAfterMs: Math.min(left, decision.requeueAfterMs ?? left) };
      }
    }
    if (decision.status) {
      this.deferred.delete(key);
      const written = await this.status.write(workflow, decision.status);
      if (!written) return;
      this.record(key, workflow, decision.events);
      this.announced.delete(key);
      if (isWorkflowTerminal(decision.status.phase) && !isWorkflowTerminal(workflow.status?.phase))
        log.info('workflow finished', { workflow: key, phase: decision.status.phase, message: decision.status.message });
    } else this.record(key, workflow, decision.events);
    if (decision.requeueAfterMs !== undefined) return { requeueAfterMs: decision.requeueAfterMs };
  }

  /** Events are best effort: never worth failing or delaying a Workflow for. */
  private record(key: string, workflow: Workflow, events: readonly WorkflowEvent[]): void {
    let announced = this.announced.get(key);
    if (!announced) this.announced.set(key, (announced = new Set()));
    for (const e of events) {
      const id = `${e.reason}/${e.message}`;
      if (announced.has(id)) continue;
      announced.add(id);
      recordEvent(
        this.client,
        { kind: 'Workflow', metadata: workflow.metadata },
        {
          type: e.type,
          reason: e.reason,
          action: e.reason === 'TaskStarted' ? EventAction.Start : EventAction.Finish,
          message: e.message,
        },
        { controller: EVENT_REPORTER, instance: this.instance },
      ).catch((err: unknown) => log.debug('event not recorded', { error: errorMessage(err) }));
    }
  }
}
