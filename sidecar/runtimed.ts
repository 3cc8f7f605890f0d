// runtimed: claims the Runs the scheduler assigned to this pod, runs them on the local Runtime
// Server, and writes their status. One watch (Runs whose status.assignedPod is this pod) drives it.
import { isTerminal, Reason, type Run, RunPhase } from '../lib/api.ts';
import { createInformer, type Informer } from '../lib/informer.ts';
import { isConflict, isNotFound, type KubeClient, newerOf, Paths } from '../lib/kube-client.ts';
import { errorMessage, type Logger, logger } from '../lib/log.ts';
import { type Outcome, runningStatus, terminalStatus } from '../lib/run-status.ts';
import { type RuntimeServerClient, RuntimeServerError } from '../lib/runtime-client.ts';
import type { StatusResponse } from '../lib/runtime-proto.ts';
import { decideRunAction } from './decide.ts';
import type { LogStore } from './log-store.ts';
import { outcomeOf } from './outcome.ts';
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

export interface RuntimedOptions {
  client: KubeClient;
  server: RuntimeServerClient;
  namespace: string;
  podName: string;
  podUID: string;
  workspaceRoot: string;
  /** Where Run output is kept for the log server. */
  logStore: LogStore;
}

/** What runtimed knows about a Run it is handling right now. */
interface Execution {
  uid: string;
  name: string;
  stage: 'claiming' | 'executing' | 'finishing';
  cancelSent: boolean;
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
      finished: this.finished.has(run.metadata.uid!),
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
    const exec: Execution = { uid, name: run.metadata.name!, stage: 'claiming', cancelSent: false };
    this.executions.set(uid, exec);
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
      await this.finish(
        run,
        {
          phase: RunPhase.Failed,
          reason: lost ? Reason.ExecutionLost : Reason.RuntimeError,
          message: lost
            ? 'the Runtime Server lost the execution'
            : `waiting for the execution failed: ${errorMessage(err)}`,
        },
        ws,
      );
      return;
    }
    this.outputs.executionFinished(uid, status);
    const outcome = outcomeOf(status, await readOutputs(ws), {
      timeoutSeconds: run.spec.timeoutSeconds,
    });
    await this.finish(run, outcome, ws);
  }

  /** Writes the terminal status (retrying lost races from fresh state), then cleans up. */
  private async finish(run: Run, outcome: Outcome, ws: RunWorkspace): Promise<void> {
    const uid = run.metadata.uid!;
    const exec = this.executions.get(uid);
    if (exec) exec.stage = 'finishing';
    this.outputs.end(uid);
    // The caller's copy is usually our own last write (the claim); the watch may still lag behind it.
    let current = newerOf(run, this.runs.get(run.metadata.name!, run.metadata.namespace));
    for (let attempt = 0; attempt < 10; attempt++) {
      if (isTerminal(current.status?.phase)) break;
      try {
        await this.writeStatus(current, terminalStatus(current, outcome));
        this.log.info('run finished', {
          run: run.metadata.name,
          runUID: uid,
          phase: outcome.phase,
          reason: outcome.reason,
          exitCode: outcome.exitCode,
        });
        break;
      } catch (err) {
        if (isNotFound(err)) break;
        if (isConflict(err))
          this.log.debug('terminal write conflict', {
            rv: current.metadata.resourceVersion,
            phase: current.status?.phase,
          });
        if (!isConflict(err)) {
          this.log.warn('terminal status write failed; retrying', { runUID: uid, error: errorMessage(err) });
          await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
        }
        try {
          current = await this.o.client.get<Run>(Paths.run(run.metadata.namespace!, run.metadata.name!));
        } catch (e) {
          if (isNotFound(e)) break;
        }
      }
    }
    this.executions.delete(uid);
    this.rememberFinished(uid);
    // Off the hot path: the Runtime Server may drop the execution, and the workspace goes.
    setImmediate(() => {
      this.o.server.forget(uid).catch(() => {});
      removeWorkspace(ws).catch(() => {});
    });
  }

  private async finishUnstarted(run: Run): Promise<void> {
    const uid = run.metadata.uid!;
    this.executions.set(uid, { uid, name: run.metadata.name!, stage: 'finishing', cancelSent: true });
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
    this.executions.set(uid, { uid, name: run.metadata.name!, stage: 'executing', cancelSent: false });
    const ws = workspaceOf(this.o.workspaceRoot, uid);
    try {
      await this.o.server.status(uid);
    } catch (err) {
      const lost = err instanceof RuntimeServerError && err.isNotFound;
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
    this.log.info('adopted running execution', { run: run.metadata.name, runUID: uid });
    // Output replays from the first byte, so the log is rewritten whole.
    this.outputs.begin(run);
    this.outputs.capture(uid);
    if (run.spec.cancelRequested) void this.cancel(run);
    await this.awaitAndFinish(run, ws);
  }

  private rememberFinished(uid: string): void {
    this.finished.add(uid);
    // A Set iterates in insertion order: drop the oldest beyond the bound.
    if (this.finished.size > FINISHED_MEMORY) this.finished.delete(this.finished.values().next().value!);
  }

  private writeStatus(run: Run, status: Run['status']): Promise<Run> {
    return this.o.client.mergePatch<Run>(Paths.runStatus(run.metadata.namespace!, run.metadata.name!), {
      metadata: { resourceVersion: run.metadata.resourceVersion },
      status,
    });
  }
}
