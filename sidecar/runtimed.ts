// runtimed's loop: the Runs the scheduler assigned to this pod, reconciled one key at a time on
// the controller frame (lib/controller: shared cache, keyed work queue, precondition-checked
// status writes). Each reconcile asks the attempt lifecycle (attempt.ts, pure) for the next step
// and performs it: a status write (claim, end of the attempt) inline, or a background step
// (prepare, execute and wait, cancel) whose report updates the record and requeues the key.
import { microTime, Reason, type Run, RunPhase } from '../lib/api.ts';
import { Controller, objectKey, type Result, splitKey } from '../lib/controller/controller.ts';
import { SharedCache } from '../lib/controller/shared-cache.ts';
import { StatusConflictError, StatusWriter } from '../lib/controller/status-writer.ts';
import { EventAction, EventType, recordEvent } from '../lib/events.ts';
import type { Informer } from '../lib/informer.ts';
import { KubeApiError, type KubeClient, newerOf, Paths } from '../lib/kube-client.ts';
import { errorMessage, type Logger, logger } from '../lib/log.ts';
import { endOfAttemptStatus, type RunStatusPatch, rescheduleStatus, runningStatus } from '../lib/run-status.ts';
import { type RuntimeServerClient, RuntimeServerError } from '../lib/runtime-client.ts';
import { isFinishedState } from '../lib/runtime-proto.ts';
import type { RunArtifacts } from './artifacts/run-artifacts.ts';
import {
  advance,
  type Attempt,
  attemptKey,
  decide,
  type Ending,
  isMine,
  newAttempt,
  type Report,
  Stage,
} from './attempt.ts';
import type { LogStore } from './log-store.ts';
import { runtimedMetrics, runtimedRegistry } from './metrics.ts';
import { outcomeOf, waitFailedOutcome } from './outcome.ts';
import { RunOutputs } from './run-output.ts';
import {
  PrepareSourceError,
  prepareWorkspace,
  type RunWorkspace,
  readOutputs,
  removeWorkspace,
  workspaceOf,
} from './workspace.ts';

const FINISHED_MEMORY = 10_000;
const EVENT_REPORTER = 'kruntimes.io/runtimed';
/** Steps one reconcile takes before yielding the key (each step changes the record or the Run). */
const STEPS_PER_RECONCILE = 8;
/** Ending writes the apiserver refuses (not one it could not serve) before giving the Run up. */
const MAX_REFUSALS = 3;

export interface RuntimedOptions {
  client: KubeClient;
  server: RuntimeServerClient;
  namespace: string;
  podName: string;
  podUID: string;
  workspaceRoot: string;
  /** Where Run output is kept for the log server. */
  logStore: LogStore;
  /** Called when the Runtime Server cannot be reached, so the heartbeat can report it at once. */
  onServerUnavailable?: () => void;
  /** Collects and stores $KRUNTIME_ARTIFACTS_DIR after an execution. */
  artifacts: RunArtifacts;
  /** Runs handled at once (reconcile workers); executions themselves run in the background. */
  concurrency?: number;
  /** The cache and Run informer to use instead of a watch of the apiserver (unit tests). */
  watch?: { cache: SharedCache; runs: Informer<Run> };
}

export class Runtimed {
  private readonly o: RuntimedOptions;
  private readonly cache: SharedCache;
  private readonly runs: Informer<Run>;
  private readonly writer: StatusWriter<Run>;
  private readonly controller: Controller;
  /** The attempts this runtimed holds, by Run key. */
  private readonly attempts = new Map<string, Attempt>();
  /** The Run as the artifact step last patched it (its finalizer), by uid: fresher than the cache. */
  private readonly patched = new Map<string, Run>();
  /** Cleanup of an attempt's workspace and execution, by uid: the next attempt's prepare waits for it. */
  private readonly cleanups = new Map<string, Promise<void>>();
  /** Refused ending writes, by Run key. */
  private readonly refusals = new Map<string, number>();
  /** Assignments this runtimed ended: late watch events for them must not look like work. */
  private readonly finished = new Set<string>();
  /** Runs assigned here before this runtimed started (uids): an earlier runtimed may have started them. */
  private readonly listedAtStart = new Set<string>();
  private readonly log: Logger;
  private readonly outputs: RunOutputs;
  private accepting = true;
  synced = false;

  constructor(options: RuntimedOptions) {
    this.o = options;
    this.log = logger.child({ component: 'runtimed', pod: options.podName });
    this.outputs = new RunOutputs({ server: options.server, store: options.logStore, log: this.log });
    this.cache = options.watch?.cache ?? new SharedCache(options.client);
    // Leaving the field selector means the Run is no longer ours (retried elsewhere, or deleted):
    // the cache drops it and the next reconcile stops whatever still runs.
    this.runs =
      options.watch?.runs ??
      this.cache.informer<Run>(Paths.runs(options.namespace), {
        fieldSelector: `status.assignedPod=${options.podName}`,
      });
    this.runs.on('delete', (r) => this.writer.forget(r.metadata.uid));
    this.writer = new StatusWriter<Run>(options.client, Paths.runStatus);
    this.controller = new Controller({
      name: 'runtimed',
      cache: this.cache,
      registry: runtimedRegistry,
      reconcile: (key) => this.reconcile(key),
      concurrency: options.concurrency ?? 64,
      baseDelayMs: 50,
      // An apiserver that cannot be reached is waited out, however long, at this pace: giving up
      // would leave the Run assigned to a healthy pod that no longer runs it.
      maxDelayMs: 5000,
    }).watch(this.runs, objectKey);
  }

  /** Attempts held, and once the pod is terminating the assignments still to hand back. */
  get activeCount(): number {
    let n = this.attempts.size;
    if (!this.accepting)
      for (const run of this.runs.list())
        if (
          run.status?.phase === RunPhase.Scheduled &&
          isMine(run, this.o.podName, this.o.podUID) &&
          !this.attempts.has(objectKey(run))
        )
          n++;
    return n;
  }

  async start(): Promise<void> {
    await this.cache.waitForSync([this.runs as Informer<unknown>]);
    for (const run of this.runs.list()) this.listedAtStart.add(run.metadata.uid!);
    await this.controller.start();
    this.synced = true;
    this.log.info('runtimed watching assigned Runs');
  }

  /** Stop taking new Runs (pod terminating): unstarted ones are handed back, running ones claimed and finished. */
  stopAccepting(): void {
    this.accepting = false;
    for (const run of this.runs.list()) this.controller.enqueue(objectKey(run));
  }

  async stop(): Promise<void> {
    await this.controller.stop();
    await this.cache.stop();
  }

  private async reconcile(key: string): Promise<Result | void> {
    const { namespace, name } = splitKey(key);
    for (let i = 0; i < STEPS_PER_RECONCILE; i++) {
      const cached = this.runs.get(name, namespace);
      const run = cached && this.writer.latest(cached);
      const attempt = this.attempts.get(key);
      const step = decide({
        run,
        attempt,
        podName: this.o.podName,
        podUID: this.o.podUID,
        accepting: this.accepting,
        finished: run !== undefined && this.finished.has(attemptKey(run)),
        listedAtStart: run !== undefined && this.listedAtStart.has(run.metadata.uid!),
        nowMs: Date.now(),
      });
      switch (step.type) {
        case 'none':
          return step.requeueAfterMs === undefined ? undefined : { requeueAfterMs: step.requeueAfterMs };
        case 'start':
          this.begin(key, run!, step);
          break;
        case 'adopt':
          this.adopt(key, run!);
          break;
        case 'claim':
          if (!(await this.claim(key, run!, attempt!))) return;
          break;
        case 'execute':
          this.execute(key, run!, attempt!);
          break;
        case 'cancel':
          this.cancel(key, attempt!);
          break;
        case 'end':
          if (!(await this.end(key, run!, attempt, step.ending))) return;
          break;
        case 'drop':
          this.drop(key, attempt!);
          break;
      }
    }
    return { requeue: true };
  }

  /** Applies a report to the attempt it is about (if still held) and reconciles the Run again. */
  private report(key: string, of: Attempt, report: Report): void {
    const current = this.attempts.get(key);
    if (!current || current.uid !== of.uid || current.key !== of.key) return;
    this.attempts.set(key, advance(current, report));
    this.controller.enqueue(key);
  }

  private hold(key: string, attempt: Attempt): void {
    this.attempts.set(key, attempt);
    runtimedMetrics.active.set(this.attempts.size);
  }

  /** Takes an assignment: the log begins, and the workspace is prepared (after a probe, if asked). */
  private begin(key: string, run: Run, step: { claimFirst: boolean; probeFirst: boolean }): void {
    const attempt = newAttempt(run, step);
    this.hold(key, attempt);
    const uid = attempt.uid;
    this.listedAtStart.delete(uid);
    // The log exists before anyone can see the Run Running, so a follower never finds it missing.
    this.outputs.begin(run);
    void (async () => {
      await this.cleanups.get(uid);
      if (step.probeFirst) {
        // Assigned before this runtimed started: the one before may have started it unclaimed.
        // A finished execution of an earlier attempt (left unforgotten by a runtimed that died)
        // is not this attempt's.
        const earlier = (run.status?.attempt ?? 1) > 1;
        const found = await this.o.server.status(uid).then(
          (s) => !earlier || !isFinishedState(s.state),
          () => false,
        );
        if (found) {
          runtimedMetrics.adopted.inc({ result: 'adopted' });
          this.log.info('adopted an execution an earlier runtimed started', { run: run.metadata.name, runUID: uid });
          this.report(key, attempt, { type: 'found', atMs: Date.now() });
          this.outputs.capture(uid);
          await this.awaitEnd(key, attempt, run, workspaceOf(this.o.workspaceRoot, uid));
          return;
        }
      }
      try {
        await prepareWorkspace(this.o.workspaceRoot, run);
        this.report(key, attempt, { type: 'prepared' });
      } catch (err) {
        const message =
          err instanceof PrepareSourceError ? err.message : `preparing the workspace failed: ${errorMessage(err)}`;
        this.report(key, attempt, { type: 'prepareFailed', message });
      }
    })();
  }

  /** A Running Run this runtimed holds no record of (it restarted): follow the execution if the server has it. */
  private adopt(key: string, run: Run): void {
    const attempt = newAttempt(run, { claimFirst: false }, Stage.Starting);
    this.hold(key, attempt);
    const uid = attempt.uid;
    this.listedAtStart.delete(uid);
    const ws = workspaceOf(this.o.workspaceRoot, uid);
    void (async () => {
      try {
        await this.o.server.status(uid);
      } catch (err) {
        const lost = err instanceof RuntimeServerError && err.isNotFound;
        runtimedMetrics.adopted.inc({ result: 'lost' });
        this.report(key, attempt, {
          type: 'ended',
          outcome: {
            phase: RunPhase.Failed,
            reason: lost ? Reason.ExecutionLost : Reason.RuntimeError,
            message: lost ? 'runtimed restarted and the Runtime Server no longer knows the execution' : errorMessage(err),
          },
        });
        return;
      }
      runtimedMetrics.adopted.inc({ result: 'adopted' });
      this.log.info('adopted running execution', { run: run.metadata.name, runUID: uid });
      this.report(key, attempt, { type: 'found', atMs: Date.now() });
      // Output replays from the first byte, so the log is rewritten whole.
      this.outputs.begin(run);
      this.outputs.capture(uid);
      await this.awaitEnd(key, attempt, run, ws);
    })();
  }

  /** Writes Running; false when the Run is gone (its delete event reconciles it again). */
  private async claim(key: string, run: Run, attempt: Attempt): Promise<boolean> {
    const startedMs = attempt.startedMs ?? Date.now();
    const written = await this.writer.mergePatch(run, runningStatus(run, microTime(new Date(startedMs))));
    if (!written) return false;
    const current = this.attempts.get(key);
    if (current) this.attempts.set(key, advance(current, { type: 'claimed' }));
    if (attempt.stage !== Stage.Executing) observeClaimWait(run);
    return true;
  }

  private execute(key: string, run: Run, attempt: Attempt): void {
    const starting = { ...attempt, stage: Stage.Starting, busy: true };
    this.attempts.set(key, starting);
    const uid = attempt.uid;
    const ws = workspaceOf(this.o.workspaceRoot, uid);
    void (async () => {
      // A retried attempt may land where an earlier one ran: the Runtime Server sees a repeated
      // Execute for the same id only after a Forget (off the first attempt's path).
      if ((run.status?.attempt ?? 1) > 1) await this.o.server.forget(uid).catch(() => {});
      try {
        await this.o.server.execute({
          id: uid,
          args: run.spec.args ?? [],
          env: {
            ...run.spec.env,
            KRUNTIME_OUTPUTS: ws.outputsFile,
            KRUNTIME_ARTIFACTS_DIR: ws.artifactsDir,
            KRUNTIME_RUN_NAME: run.metadata.name!,
            KRUNTIME_RUN_UID: uid,
          },
          timeoutSeconds: run.spec.timeoutSeconds ?? 0,
          workingDir: ws.dir,
          entrypoint: run.spec.entrypoint ?? '',
        });
      } catch (err) {
        if (err instanceof RuntimeServerError && err.isUnavailable) {
          // Nothing started: the Runtime Server is down or restarting. Tell the scheduler at once
          // (heartbeat) and hand the Run back without spending one of its attempts.
          this.o.onServerUnavailable?.();
          this.report(key, starting, {
            type: 'unavailable',
            message: `the Runtime Server of pod ${this.o.podName} was unavailable`,
          });
          return;
        }
        this.report(key, starting, {
          type: 'ended',
          outcome: {
            phase: RunPhase.Failed,
            reason: Reason.RuntimeExecute,
            message: `the Runtime Server refused the Run: ${errorMessage(err)}`,
          },
        });
        return;
      }
      if (!starting.claimed) observeClaimWait(run);
      this.report(key, starting, { type: 'accepted', atMs: Date.now() });
      this.outputs.capture(uid);
      await this.awaitEnd(key, starting, run, ws);
    })();
  }

  /** Waits for the execution's end, reads its outputs, stores its artifacts, and reports the outcome. */
  private async awaitEnd(key: string, attempt: Attempt, run: Run, ws: RunWorkspace): Promise<void> {
    const uid = attempt.uid;
    let status;
    try {
      status = await this.o.server.waitFor(uid);
    } catch (err) {
      const lost = err instanceof RuntimeServerError && err.isNotFound;
      const cancelSent = this.attempts.get(key)?.cancelSent ?? false;
      this.report(key, attempt, { type: 'ended', outcome: waitFailedOutcome(lost, cancelSent, errorMessage(err)) });
      return;
    }
    this.outputs.executionFinished(uid, status);
    const outcome = outcomeOf(status, await readOutputs(ws), { timeoutSeconds: run.spec.timeoutSeconds });
    const { namespace, name } = splitKey(key);
    const latest = newerOf(run, this.runs.get(name, namespace));
    const stored = await this.o.artifacts.store(latest, ws.artifactsDir, outcome);
    if (stored.run !== latest) this.patched.set(uid, stored.run);
    this.report(key, attempt, { type: 'ended', outcome: stored.outcome, extraStatus: stored.status });
  }

  private cancel(key: string, attempt: Attempt): void {
    this.report(key, attempt, { type: 'cancelling' });
    const uid = attempt.uid;
    void this.o.server.cancel(uid).then(
      () => {
        this.log.info('cancel sent', { runUID: uid });
        this.report(key, attempt, { type: 'cancelSent' });
      },
      (err: unknown) => {
        // NOT_FOUND: the execution is already gone, and waiting for it reports that.
        if (err instanceof RuntimeServerError && err.isNotFound) return this.report(key, attempt, { type: 'cancelSent' });
        this.log.warn('cancel failed; retrying', { runUID: uid, error: errorMessage(err) });
        this.report(key, attempt, { type: 'cancelFailed', atMs: Date.now() });
      },
    );
  }

  /**
   * Writes the end of the attempt: the terminal status, Pending for a retry, or Pending unspent
   * (handed back). Returns false when the reconcile should stop here (Run gone, or given up).
   */
  private async end(key: string, observed: Run, attempt: Attempt | undefined, ending: Ending): Promise<boolean> {
    const run = newerOf(observed, attempt && this.patched.get(attempt.uid));
    const now = Date.now();
    let status: RunStatusPatch;
    let retried = false;
    let result: string;
    if (ending.kind === 'handBack') {
      // A pause lets the heartbeat take this pod out of scheduling first.
      status = rescheduleStatus(
        run,
        { reason: ending.reason, message: ending.message },
        microTime(new Date(now)),
        microTime(new Date(now + ending.delayMs)),
      );
      result = 'Reschedule';
    } else {
      // Ended within the claim window (started, never written Running): this one write carries
      // when it started and its Running condition.
      const startedAt =
        attempt?.startedMs !== undefined && !attempt.claimed ? microTime(new Date(attempt.startedMs)) : undefined;
      const next = endOfAttemptStatus(run, ending.outcome, now, startedAt);
      status = { ...next.status, ...attempt?.extraStatus };
      retried = next.retried;
      result = retried ? 'Retry' : ending.outcome.phase;
    }
    let written: Run | undefined;
    try {
      written = await this.writer.mergePatch(run, status);
    } catch (err) {
      if (err instanceof StatusConflictError) throw err;
      // A request the apiserver refuses (not one it could not serve) will not pass by waiting.
      if (err instanceof KubeApiError && err.code >= 400 && err.code < 500 && ![408, 429].includes(err.code)) {
        const refused = (this.refusals.get(key) ?? 0) + 1;
        this.refusals.set(key, refused);
        if (refused >= MAX_REFUSALS) {
          this.log.error('ending write refused; giving the Run up', { run: run.metadata.name, error: errorMessage(err) });
          this.refusals.delete(key);
          if (attempt) this.drop(key, attempt, true);
          return false;
        }
      }
      throw err;
    }
    this.refusals.delete(key);
    const reason = ending.kind === 'handBack' ? ending.reason : ending.outcome.reason;
    if (written) {
      runtimedMetrics.attempts.inc({ result, reason });
      if (attempt?.startedMs !== undefined)
        runtimedMetrics.duration.observe({ result }, Math.max(0, now - attempt.startedMs) / 1000);
      if (retried) runtimedMetrics.retries.inc({ reason });
      const fields = {
        run: run.metadata.name,
        runUID: run.metadata.uid,
        attempt: run.status?.attempt,
        phase: status.phase,
        reason,
      };
      if (ending.kind === 'handBack') this.log.warn('handed the Run back for rescheduling', { ...fields, message: ending.message });
      else {
        const { outcome } = ending;
        this.log.info(retried ? 'attempt failed; retrying' : 'run finished', { ...fields, exitCode: outcome.exitCode });
        // Failures and retries leave an Event; a success costs no extra write.
        if (retried || outcome.phase === RunPhase.Failed || outcome.phase === RunPhase.Timeout)
          this.event(written, {
            type: EventType.Warning,
            reason: retried ? Reason.RetryBackoff : outcome.reason,
            action: retried ? EventAction.Retry : EventAction.Fail,
            message: status.message ?? outcome.message,
          });
      }
    }
    this.rememberFinished(attemptKey(run));
    if (attempt) this.drop(key, attempt, true);
    return written !== undefined;
  }

  /**
   * Lets an attempt go: its log closes (or goes, for an attempt that neither ran nor ended here),
   * and the execution and workspace are cleaned up off the hot path.
   */
  private drop(key: string, attempt: Attempt, ended = false): void {
    const current = this.attempts.get(key);
    if (current && current.uid === attempt.uid && current.key === attempt.key) this.attempts.delete(key);
    runtimedMetrics.active.set(this.attempts.size);
    const uid = attempt.uid;
    this.patched.delete(uid);
    const ran = attempt.stage === Stage.Executing || attempt.stage === Stage.Starting;
    if (ran || ended) this.outputs.end(uid);
    else this.outputs.discard(uid);
    const ws = workspaceOf(this.o.workspaceRoot, uid);
    const cleanup = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      if (ran) await this.o.server.forget(uid).catch(() => {});
      await removeWorkspace(ws).catch(() => {});
    });
    this.cleanups.set(uid, cleanup);
    void cleanup.finally(() => {
      if (this.cleanups.get(uid) === cleanup) this.cleanups.delete(uid);
    });
  }

  private event(run: Run, event: Parameters<typeof recordEvent>[2]): void {
    recordEvent(this.o.client, run, event, { controller: EVENT_REPORTER, instance: this.o.podName }).catch(
      (err: unknown) => this.log.warn('event not recorded', { run: run.metadata.name, error: errorMessage(err) }),
    );
  }

  private rememberFinished(key: string): void {
    this.finished.add(key);
    // A Set iterates in insertion order: drop the oldest beyond the bound.
    if (this.finished.size > FINISHED_MEMORY) this.finished.delete(this.finished.values().next().value!);
  }
}

function observeClaimWait(run: Run): void {
  if (run.status?.scheduledTime)
    runtimedMetrics.claimWait.observe(Math.max(0, Date.now() - Date.parse(run.status.scheduledTime)) / 1000);
}
