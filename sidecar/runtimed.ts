// runtimed: claims the Runs the scheduler assigned to this pod, runs them on the local Runtime
// Server, and writes their status. One watch (Runs whose status.assignedPod is this pod) drives it.
import { isTerminal, microTime, Reason, type Run, RunPhase } from '../lib/api.ts';
import { EventAction, EventType, recordEvent } from '../lib/events.ts';
import { createInformer, type Informer } from '../lib/informer.ts';
import { isConflict, isNotFound, KubeApiError, type KubeClient, newerOf, Paths } from '../lib/kube-client.ts';
import { errorMessage, type Logger, logger } from '../lib/log.ts';
import {
  endOfAttemptStatus,
  type Outcome,
  type RunStatusPatch,
  rescheduleStatus,
  runningStatus,
} from '../lib/run-status.ts';
import { type RuntimeServerClient, RuntimeServerError } from '../lib/runtime-client.ts';
import type { StatusResponse } from '../lib/runtime-proto.ts';
import { decideRunAction } from './decide.ts';
import type { LogStore } from './log-store.ts';
import { runtimedMetrics } from './metrics.ts';
import type { RunArtifacts, StoredArtifacts } from './artifacts/run-artifacts.ts';
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

/**
 * Identifies one assignment of a Run: a retry, or a rescheduled attempt that keeps its number,
 * landing on this pod again is new work (scheduledTime is written anew by every assignment).
 */
const attemptKey = (run: Run) =>
  `${run.metadata.uid}/${run.status?.attempt ?? 0}/${run.status?.scheduledTime ?? ''}`;

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
}

/** What runtimed knows about a Run it is handling right now. */
interface Execution {
  uid: string;
  name: string;
  stage: 'claiming' | 'executing' | 'finishing';
  cancelSent: boolean;
  /** The attempt this execution belongs to. */
  attempt: number;
}

export class Runtimed {
  private readonly o: RuntimedOptions;
  private runs!: Informer<Run>;
  private readonly executions = new Map<string, Execution>();
  /** Runs this runtimed finished recently: late watch events for them must not look like work to adopt. */
  private readonly finished = new Set<string>();
  private readonly log: Logger;
  private readonly outputs: RunOutputs;
  private accepting = true;
  synced = false;

  constructor(options: RuntimedOptions) {
    this.o = options;
    this.log = logger.child({ component: 'runtimed', pod: options.podName });
    this.outputs = new RunOutputs({ server: options.server, store: options.logStore, log: this.log });
  }

  get activeCount(): number {
    return this.executions.size;
  }

  async start(): Promise<void> {
    this.runs = createInformer<Run>({
      client: this.o.client,
      path: Paths.runs(this.o.namespace),
      fieldSelector: `status.assignedPod=${this.o.podName}`,
    });
    this.runs.on('add', (r) => this.onRun(r));
    this.runs.on('update', (r) => this.onRun(r));
    // Leaving the field selector means the Run is no longer ours (the reaper retried it elsewhere,
    // or it was deleted): stop executing it, it must not run twice at the same time.
    this.runs.on('delete', (r) => this.onUnassigned(r));
    await this.runs.start();
    this.synced = true;
    this.log.info('runtimed watching assigned Runs');
  }

  /** Stop taking new Runs (pod terminating); running ones finish. */
  stopAccepting(): void {
    this.accepting = false;
  }

  async stop(): Promise<void> {
    await this.runs?.stop();
  }

  private onRun(run: Run): void {
    const action = decideRunAction({
      run,
      podName: this.o.podName,
      podUID: this.o.podUID,
      local: this.executions.get(run.metadata.uid!),
      finished: this.finished.has(attemptKey(run)),
      accepting: this.accepting,
    });
    switch (action) {
      case 'claim':
        void this.claimAndExecute(run);
        break;
      case 'cancel-unstarted':
        void this.finishUnstarted(run);
        break;
      case 'cancel':
        void this.cancel(run);
        break;
      case 'adopt':
        void this.adopt(run);
        break;
      case 'none':
        break;
    }
  }

  private async claimAndExecute(run: Run): Promise<void> {
    const uid = run.metadata.uid!;
    const exec: Execution = {
      uid,
      name: run.metadata.name!,
      stage: 'claiming',
      cancelSent: false,
      attempt: run.status?.attempt ?? 0,
    };
    this.executions.set(uid, exec);
    runtimedMetrics.active.set(this.executions.size);
    const log = this.log.child({ run: run.metadata.name, runUID: uid });
    // Prepare the workspace while the claim is in flight; nothing executes before the claim wins.
    const prepared = prepareWorkspace(this.o.workspaceRoot, run).then(
      (ws) => ({ ws }),
      (error: unknown) => ({ error }),
    );
    // The log exists before anyone can see the Run Running, so a follower never finds it missing.
    this.outputs.begin(run);
    let claimed: Run;
    try {
      claimed = await this.writeStatus(run, runningStatus(run));
    } catch (err) {
      this.executions.delete(uid);
      runtimedMetrics.active.set(this.executions.size);
      this.outputs.discard(uid);
      const ws = await prepared;
      if ('ws' in ws) void removeWorkspace(ws.ws);
      if (!isConflict(err) && !isNotFound(err)) log.warn('claim failed', { error: errorMessage(err) });
      else
        log.debug('claim lost', {
          rv: run.metadata.resourceVersion,
          phase: run.status?.phase,
          error: errorMessage(err),
        });
      // On conflict the watch delivers the newer version and decides again.
      const latest = this.runs.get(run.metadata.name!, run.metadata.namespace);
      if (latest && latest.metadata.resourceVersion !== run.metadata.resourceVersion) this.onRun(latest);
      return;
    }
    const prep = await prepared;
    if ('error' in prep) {
      const message =
        prep.error instanceof PrepareSourceError
          ? prep.error.message
          : `preparing the workspace failed: ${errorMessage(prep.error)}`;
      await this.finish(
        claimed,
        { phase: RunPhase.Failed, reason: Reason.PrepareSource, message },
        workspaceOf(this.o.workspaceRoot, uid),
      );
      return;
    }
    const { ws } = prep;
    if (run.status?.scheduledTime)
      runtimedMetrics.claimWait.observe(Math.max(0, Date.now() - Date.parse(run.status.scheduledTime)) / 1000);
    // A retried attempt may land where an earlier one ran: the Runtime Server sees a repeated
    // Execute for the same id only after a Forget (off the first attempt's path).
    if ((run.status?.attempt ?? 1) > 1) await this.o.server.forget(uid).catch(() => {});
    exec.stage = 'executing';
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
        await this.handBack(claimed, `the Runtime Server of pod ${this.o.podName} was unavailable`, ws);
        return;
      }
      await this.finish(
        claimed,
        {
          phase: RunPhase.Failed,
          reason: Reason.RuntimeExecute,
          message: `the Runtime Server refused the Run: ${errorMessage(err)}`,
        },
        ws,
      );
      return;
    }
    this.outputs.capture(uid);
    // A cancel that arrived while we were claiming is applied now that there is something to cancel.
    const latest = this.runs.get(run.metadata.name!, run.metadata.namespace);
    if (latest?.spec.cancelRequested) void this.cancel(latest);
    await this.awaitAndFinish(claimed, ws);
  }

  private async awaitAndFinish(run: Run, ws: RunWorkspace): Promise<void> {
    const uid = run.metadata.uid!;
    let status: StatusResponse;
    try {
      status = await this.o.server.waitFor(uid);
    } catch (err) {
      const lost = err instanceof RuntimeServerError && err.isNotFound;
      const cancelSent = this.executions.get(uid)?.cancelSent ?? false;
      await this.finish(run, waitFailedOutcome(lost, cancelSent, errorMessage(err)), ws);
      return;
    }
    this.outputs.executionFinished(uid, status);
    const outcome = outcomeOf(status, await readOutputs(ws), {
      timeoutSeconds: run.spec.timeoutSeconds,
    });
    const stored = await this.o.artifacts.store(run, ws.artifactsDir, outcome);
    await this.finish(stored.run, stored.outcome, ws, stored.status);
  }

  /**
   * Ends the attempt: writes the terminal status, or Pending for a retry when the policy allows one
   * (retrying lost races from fresh state, as long as the attempt is still this pod's), then cleans up.
   */
  private async finish(
    run: Run,
    outcome: Outcome,
    ws: RunWorkspace,
    artifacts: StoredArtifacts['status'] = {},
  ): Promise<void> {
    const uid = run.metadata.uid!;
    const exec = this.executions.get(uid);
    if (exec) exec.stage = 'finishing';
    this.outputs.end(uid);
    const attemptNo = run.status?.attempt ?? 0;
    // The caller's copy is usually our own last write (the claim); the watch may still lag behind it.
    let current = newerOf(run, this.runs.get(run.metadata.name!, run.metadata.namespace));
    // Lost races re-read and decide again (a bounded number of times); an apiserver that cannot be
    // reached is waited out, however long: giving up would leave the Run Running on a healthy pod.
    for (let attempt = 0, conflicts = 0, refusals = 0; conflicts < 10 && refusals < 3; attempt++) {
      if (isTerminal(current.status?.phase) || !this.isOurAttempt(current, run)) break;
      try {
        const next = endOfAttemptStatus(current, outcome);
        const written = await this.writeStatus(current, { ...next.status, ...artifacts });
        const result = next.retried ? 'Retry' : outcome.phase;
        runtimedMetrics.attempts.inc({ result, reason: outcome.reason });
        if (current.status?.startTime)
          runtimedMetrics.duration.observe(
            { result },
            Math.max(0, Date.now() - Date.parse(current.status.startTime)) / 1000,
          );
        if (next.retried) runtimedMetrics.retries.inc({ reason: outcome.reason });
        this.log.info(next.retried ? 'attempt failed; retrying' : 'run finished', {
          run: run.metadata.name,
          runUID: uid,
          attempt: attemptNo,
          phase: next.status.phase,
          reason: outcome.reason,
          exitCode: outcome.exitCode,
        });
        // Failures and retries leave an Event; a success costs no extra write.
        if (next.retried || outcome.phase === RunPhase.Failed || outcome.phase === RunPhase.Timeout)
          this.event(written, {
            type: EventType.Warning,
            reason: next.retried ? Reason.RetryBackoff : outcome.reason,
            action: next.retried ? EventAction.Retry : EventAction.Fail,
            message: next.status.message ?? outcome.message,
          });
        break;
      } catch (err) {
        if (isNotFound(err)) break;
        if (isConflict(err)) {
          conflicts++;
          this.log.debug('terminal write conflict', {
            rv: current.metadata.resourceVersion,
            phase: current.status?.phase,
          });
        } else {
          // A request the apiserver refuses (not one it could not serve) will not pass by waiting.
          if (err instanceof KubeApiError && err.code >= 400 && err.code < 500 && ![408, 429].includes(err.code))
            refusals++;
          this.log.warn('terminal status write failed; retrying', { runUID: uid, error: errorMessage(err) });
          await new Promise((r) => setTimeout(r, Math.min(200 * (attempt + 1), 5000)));
        }
        try {
          current = await this.o.client.get<Run>(Paths.run(run.metadata.namespace!, run.metadata.name!));
        } catch (e) {
          if (isNotFound(e)) break;
        }
      }
    }
    if (this.executions.get(uid) === exec) this.executions.delete(uid);
    runtimedMetrics.active.set(this.executions.size);
    this.rememberFinished(attemptKey(run));
    this.redecide(run);
    // Off the hot path: the Runtime Server may drop the execution, and the workspace goes.
    setImmediate(() => {
      this.o.server.forget(uid).catch(() => {});
      removeWorkspace(ws).catch(() => {});
    });
  }

  /** Returns a claimed Run that never started to Pending (same attempt number), then cleans up. */
  private async handBack(run: Run, message: string, ws: RunWorkspace): Promise<void> {
    const uid = run.metadata.uid!;
    const exec = this.executions.get(uid);
    if (exec) exec.stage = 'finishing';
    this.outputs.end(uid);
    const current = newerOf(run, this.runs.get(run.metadata.name!, run.metadata.namespace));
    if (!isTerminal(current.status?.phase) && this.isOurAttempt(current, run)) {
      try {
        // A second's pause lets the heartbeat take this pod out of scheduling first.
        const status = rescheduleStatus(
          current,
          { reason: Reason.RuntimeExecute, message },
          microTime(),
          microTime(new Date(Date.now() + 1000)),
        );
        await this.writeStatus(current, status);
        runtimedMetrics.attempts.inc({ result: 'Reschedule', reason: Reason.RuntimeExecute });
        this.log.warn('handed the Run back for rescheduling', { run: run.metadata.name, runUID: uid, message });
      } catch (err) {
        // A lost race means someone else moved the Run on; anything else leaves it Running here,
        // which the reaper resolves if this pod cannot finish it.
        this.log.warn('handing the Run back failed', { run: run.metadata.name, error: errorMessage(err) });
      }
    }
    if (this.executions.get(uid) === exec) this.executions.delete(uid);
    runtimedMetrics.active.set(this.executions.size);
    this.rememberFinished(attemptKey(run));
    this.redecide(run);
    setImmediate(() => removeWorkspace(ws).catch(() => {}));
  }

  private async finishUnstarted(run: Run): Promise<void> {
    const uid = run.metadata.uid!;
    this.executions.set(uid, {
      uid,
      name: run.metadata.name!,
      stage: 'finishing',
      cancelSent: true,
      attempt: run.status?.attempt ?? 0,
    });
    await this.finish(
      run,
      { phase: RunPhase.Cancelled, reason: Reason.Cancelled, message: 'cancelled before it started' },
      workspaceOf(this.o.workspaceRoot, uid),
    );
  }

  private async cancel(run: Run): Promise<void> {
    const exec = this.executions.get(run.metadata.uid!);
    if (!exec || exec.cancelSent || exec.stage !== 'executing') return;
    exec.cancelSent = true;
    try {
      await this.o.server.cancel(run.metadata.uid!);
      this.log.info('cancel sent', { run: run.metadata.name, runUID: run.metadata.uid });
    } catch (err) {
      // NOT_FOUND: the execution is already gone, and waiting for it reports that.
      if (err instanceof RuntimeServerError && err.isNotFound) return;
      exec.cancelSent = false;
      this.log.warn('cancel failed; retrying', { runUID: run.metadata.uid, error: errorMessage(err) });
      setTimeout(() => void this.cancel(run), 1000).unref();
    }
  }

  /** A Run this pod was running before runtimed restarted: resume waiting if the server has it. */
  private async adopt(run: Run): Promise<void> {
    const uid = run.metadata.uid!;
    this.executions.set(uid, {
      uid,
      name: run.metadata.name!,
      stage: 'executing',
      cancelSent: false,
      attempt: run.status?.attempt ?? 0,
    });
    runtimedMetrics.active.set(this.executions.size);
    const ws = workspaceOf(this.o.workspaceRoot, uid);
    try {
      await this.o.server.status(uid);
    } catch (err) {
      const lost = err instanceof RuntimeServerError && err.isNotFound;
      runtimedMetrics.adopted.inc({ result: 'lost' });
      await this.finish(
        run,
        {
          phase: RunPhase.Failed,
          reason: lost ? Reason.ExecutionLost : Reason.RuntimeError,
          message: lost
            ? 'runtimed restarted and the Runtime Server no longer knows the execution'
            : errorMessage(err),
        },
        ws,
      );
      return;
    }
    runtimedMetrics.adopted.inc({ result: 'adopted' });
    this.log.info('adopted running execution', { run: run.metadata.name, runUID: uid });
    // Output replays from the first byte, so the log is rewritten whole.
    this.outputs.begin(run);
    this.outputs.capture(uid);
    if (run.spec.cancelRequested) void this.cancel(run);
    await this.awaitAndFinish(run, ws);
  }

  /**
   * A new assignment of this Run to this pod may have arrived while the previous attempt was
   * still finishing (and was ignored then): decide again from the cache now that it is done.
   */
  private redecide(run: Run): void {
    const latest = this.runs.get(run.metadata.name!, run.metadata.namespace);
    if (latest && latest.metadata.uid === run.metadata.uid && attemptKey(latest) !== attemptKey(run))
      setImmediate(() => this.onRun(latest));
  }

  /** The Run is still assigned to this pod for the same attempt (the reaper may have moved it). */
  private isOurAttempt(current: Run, ours: Run): boolean {
    const s = current.status ?? {};
    return (
      s.assignedPod === this.o.podName &&
      (!s.assignedPodUID || s.assignedPodUID === this.o.podUID) &&
      attemptKey(current) === attemptKey(ours)
    );
  }


  /** The Run left this pod's watch while we hold it: cancel what still executes. */
  private onUnassigned(run: Run): void {
    const exec = this.executions.get(run.metadata.uid!);
    if (!exec || exec.stage !== 'executing') return;
    this.log.warn('run no longer assigned to this pod; cancelling its execution', {
      run: run.metadata.name,
      runUID: exec.uid,
      attempt: exec.attempt,
    });
    void this.cancel(run);
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

  private writeStatus(run: Run, status: RunStatusPatch): Promise<Run> {
    return this.o.client.mergePatch<Run>(Paths.runStatus(run.metadata.namespace!, run.metadata.name!), {
      metadata: { resourceVersion: run.metadata.resourceVersion },
      status,
    });
  }
}
