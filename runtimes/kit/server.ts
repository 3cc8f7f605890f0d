// A Runtime Server: the whole executor.v1.Runtime contract (plus the Wait and Output extensions)
// around a CommandResolver that says what process a request runs. Built-in and custom TypeScript
// runtimes differ only in their resolver.

import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { RUNTIME_SERVER_PORT } from '../../lib/api.ts';
import {
  type ExecuteRequest,
  type ExecuteResponse,
  FailureMessage,
  type HealthResponse,
  type IdRequest,
  type ListResponse,
  ORIGINAL_RUNTIME_METHODS,
  type OutputChunkMessage,
  RuntimeMethod,
  runtimeServiceSubset,
  type StatusResponse,
} from '../../lib/runtime-proto.ts';
import { DEFAULT_OUTPUT_LIMIT_BYTES } from './bounded-output.ts';
import { type CommandResolver, Execution, errorText } from './execution.ts';
import { executeDecision, withoutMissingDefaultEntrypoint } from './execute-rules.ts';
import { ForkServer } from './fork-server.ts';
import { ownsWorkingDir, PASSED_SERVER_ENV, type SweepOptions, workspaceRootFrom } from './isolation.ts';
import { DirectLauncher, LauncherKind, type ProcessLauncher } from './launcher.ts';
import { jsonLogger, type Logger } from './log.ts';
import { OutputReplay, ReplayBudget } from './output-replay.ts';
import { streamOutput } from './output-stream.ts';
import { executeRequestProblem } from './request-checks.ts';
import { RefusedError, resolveExecutable } from './workspace.ts';

export interface RuntimeServerOptions {
  /** What process a request runs. */
  command: CommandResolver;
  /** Shown in log lines. Default 'runtime'. */
  name?: string;
  /** Default 19091; 0 picks a free port (see RuntimeServer.port). */
  port?: number;
  /**
   * Default '127.0.0.1': runtimed, in the same pod, is the only client; '0.0.0.0' (KRUNTIME_HOST)
   * opens it to the pod network, where the Runtime's NetworkPolicy is all that guards it.
   */
  host?: string;
  /** Extra readiness for Health, e.g. "interpreter not found". Called per Health call. */
  health?: () => HealthResponse;
  /** Serve the Wait extension. Default true. */
  serveWait?: boolean;
  /** Serve the Output extension. Default true. Both false: exactly the original six RPCs. */
  serveOutput?: boolean;
  /** Retained stdout and stderr per execution for Status, each. Default 1 MiB. */
  outputLimitBytes?: number;
  /** Raw output kept per execution for Output replay; beyond it chunks are dropped. Default 64 MiB. */
  outputReplayLimitBytes?: number;
  /** Raw output kept for replay across executions; finished ones give way first. Default 256 MiB. */
  outputReplayTotalBytes?: number;
  /** Cancel/timeout: SIGTERM to the group, SIGKILL after this. Default 3000 ms. */
  killGraceMs?: number;
  /** After the main process exits, how long its pipes may stay open before the group is killed. Default 100 ms. */
  lingerMs?: number;
  /** Finished executions kept for Status/List until Forget; beyond this the oldest are dropped. Default 1000. */
  maxFinished?: number;
  /** Parent of the working directories made for requests without working_dir. Default <tmpdir>/kruntimes-work. */
  workRoot?: string;
  /** The server's environment; only PATH, LANG, LC_ALL, TZ and the passEnv names reach workloads. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Names taken from env into every workload's environment. Default PASSED_SERVER_ENV. */
  passEnv?: readonly string[];
  /**
   * The volume runtimed prepares workspaces on: a working_dir <workspaceRoot>/runs/<name> is removed
   * at Forget. Default $KRUNTIME_WORKSPACE, else /workspace.
   */
  workspaceRoot?: string;
  /** /proc and signalling for the end-of-execution sweep (tests). */
  sweep?: SweepOptions;
  /**
   * How workloads are started (launcher.ts): 'fork-server', a small Perl process that forks them
   * (the default where Perl is on the server's PATH), or 'direct', Node's spawn (the fallback).
   */
  launcher?: LauncherKind;
  /** Default: JSON lines on stderr. */
  logger?: Logger;
}

/** What distinguishes one runtime from another; spread it into RuntimeServerOptions or ServeOptions. */
export interface RuntimeDefinition {
  name: string;
  command: CommandResolver;
  health?: () => HealthResponse;
}

export interface ShutdownOptions {
  /** How long running executions may finish on their own before they are cancelled. Default 10 s. */
  graceMs?: number;
}

const DEFAULTS = {
  name: 'runtime',
  host: '127.0.0.1',
  killGraceMs: 3000,
  lingerMs: 100,
  maxFinished: 1000,
  shutdownGraceMs: 10_000,
  /** tryShutdown waits for open calls; do not wait on a stuck client forever. */
  forceShutdownMs: 2000,
} as const;

export async function startRuntimeServer(options: RuntimeServerOptions): Promise<RuntimeServer> {
  const server = new RuntimeServer(options);
  await server.listen();
  return server;
}

export class RuntimeServer {
  readonly name: string;
  private readonly options: RuntimeServerOptions;
  private readonly logger: Logger;
  private readonly grpcServer = new grpc.Server();
  private readonly executionsById = new Map<string, Execution>();
  /** Ids of finished executions in the order they finished, for maxFinished eviction. */
  private readonly finishedOrder = new Set<string>();
  private readonly replayBudget: ReplayBudget;
  /** Replaced by the direct launcher if the fork server cannot start or goes away. */
  private launcher: ProcessLauncher = new DirectLauncher();
  /** A fork server that went away: its socket stays open for its waiters until shutdown. */
  private retiredLauncher: ProcessLauncher | undefined;
  private boundPort = 0;
  private accepting = true;
  private shutdownPromise: Promise<void> | undefined;

  constructor(options: RuntimeServerOptions) {
    this.options = options;
    this.name = options.name ?? DEFAULTS.name;
    this.logger = options.logger ?? jsonLogger({ name: this.name });
    this.replayBudget = new ReplayBudget(options.outputReplayTotalBytes);
    this.replayBudget.reclaim = (neededBytes) => this.reclaimReplays(neededBytes);
    const methods = [
      ...ORIGINAL_RUNTIME_METHODS,
      ...(options.serveWait === false ? [] : [RuntimeMethod.Wait]),
      ...(options.serveOutput === false ? [] : [RuntimeMethod.Output]),
    ];
    this.grpcServer.addService(runtimeServiceSubset(methods), this.handlers());
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    return this.boundPort;
  }

  /** host:port a client on this machine can dial. */
  get address(): string {
    const host = this.options.host ?? DEFAULTS.host;
    const dialHost = host === '0.0.0.0' || host === '::' || host === '[::]' ? '127.0.0.1' : host;
    return `${dialHost}:${this.boundPort}`;
  }

  get executions(): ReadonlyMap<string, Execution> {
    return this.executionsById;
  }

  /** Raw output currently held for Output replay, across executions. */
  get replayBytes(): number {
    return this.replayBudget.usedBytes;
  }

  get shuttingDown(): boolean {
    return !this.accepting;
  }

  /** The launcher in use: 'fork-server' or 'direct'. */
  get launcherKind(): LauncherKind {
    return this.launcher.kind;
  }

  async listen(): Promise<void> {
    await this.startLauncher();
    const host = this.options.host ?? DEFAULTS.host;
    const port = this.options.port ?? RUNTIME_SERVER_PORT;
    const bindHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    return new Promise((resolve, reject) => {
      this.grpcServer.bindAsync(
        `${bindHost}:${port}`,
        grpc.ServerCredentials.createInsecure(),
        (err, bound) => {
          if (err) {
            reject(err);
            return;
          }
          this.boundPort = bound;
          this.logger('info', 'server.listening', {
            host,
            port: bound,
            wait: this.options.serveWait !== false,
            output: this.options.serveOutput !== false,
            launcher: this.launcher.kind,
          });
          resolve();
        },
      );
    });
  }

  /** The fork server when asked for (the default) and Perl is there; the direct launcher otherwise. */
  private async startLauncher(): Promise<void> {
    if ((this.options.launcher ?? LauncherKind.ForkServer) !== LauncherKind.ForkServer) return;
    const perl = resolveExecutable('perl', (this.options.env ?? process.env).PATH);
    if (perl === undefined) {
      this.logger('info', 'launcher.direct', { reason: 'perl not found on PATH' });
      return;
    }
    const forkServer = new ForkServer({
      perl,
      onExit: (reason) => {
        this.logger('warn', 'launcher.exited', { reason, now: LauncherKind.Direct });
        this.retiredLauncher = forkServer;
        this.launcher = new DirectLauncher();
      },
    });
    try {
      await forkServer.start();
      this.launcher = forkServer;
    } catch (err) {
      this.logger('warn', 'launcher.direct', { reason: `the fork server could not start: ${errorText(err)}` });
    }
  }

  health(): HealthResponse {
    if (!this.accepting) return { healthy: false, message: 'shutting down' };
    const extra = this.options.health?.();
    if (extra !== undefined && !extra.healthy) return extra;
    return { healthy: true, message: 'ok' };
  }

  /**
   * Stop accepting work (Execute answers UNAVAILABLE, Health unhealthy), let running executions
   * finish for graceMs, cancel the rest, then close the gRPC server. Idempotent.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    this.shutdownPromise ??= this.runShutdown(options.graceMs ?? DEFAULTS.shutdownGraceMs);
    return this.shutdownPromise;
  }

  private async runShutdown(graceMs: number): Promise<void> {
    this.accepting = false;
    const running = [...this.executionsById.values()].filter((execution) => !execution.finished);
    this.logger('info', 'server.shutting_down', { running: running.length, graceMs });
    const allFinished = Promise.all(running.map(finishedPromise));
    if (!(await finishesWithin(allFinished, graceMs))) {
      for (const execution of running) execution.stop(FailureMessage.Cancelled);
      await allFinished;
    }
    // Waiters were answered when their executions finished; tryShutdown only waits for in-flight calls.
    const closed = new Promise<void>((resolve) => this.grpcServer.tryShutdown(() => resolve()));
    if (!(await finishesWithin(closed, DEFAULTS.forceShutdownMs))) this.grpcServer.forceShutdown();
    this.launcher.close();
    this.retiredLauncher?.close();
    this.logger('info', 'server.stopped', {});
  }

  private execute(request: ExecuteRequest): ExecuteResponse {
    const existing = this.executionsById.get(request.id);
    const decision = executeDecision(existing?.state);
    if (decision === 'duplicate') {
      // At-least-once delivery: an unfinished execution is the same attempt; never start it twice.
      this.logger('info', 'execution.duplicate', { id: request.id, state: existing?.state });
      return { id: request.id };
    }
    if (decision === 'rerun' && existing !== undefined) {
      // A finished, unforgotten id Executed again is a new attempt (the original runtimed's retry).
      this.logger('info', 'execution.rerun', { id: request.id, previousState: existing.state });
      this.drop(request.id, existing);
    }
    const workingDir = request.workingDir || this.defaultWorkingDir(request.id);
    const execution = new Execution({
      request: { ...request, workingDir },
      command: this.checkedCommand,
      serverEnv: this.options.env ?? process.env,
      passEnv: this.options.passEnv ?? PASSED_SERVER_ENV,
      ownsWorkingDir: ownsWorkingDir(workingDir, {
        workspaceRoot: this.options.workspaceRoot ?? workspaceRootFrom(this.options.env ?? process.env),
        scratchRoot: this.scratchRoot,
      }),
      sweep: this.options.sweep,
      launcher: this.launcher,
      outputLimitBytes: this.options.outputLimitBytes ?? DEFAULT_OUTPUT_LIMIT_BYTES,
      replay: new OutputReplay({
        budget: this.replayBudget,
        limitBytes: this.options.outputReplayLimitBytes,
      }),
      killGraceMs: this.options.killGraceMs ?? DEFAULTS.killGraceMs,
      lingerMs: this.options.lingerMs ?? DEFAULTS.lingerMs,
      logger: this.logger,
      onFinished: (finished) => this.retain(finished),
    });
    this.executionsById.set(request.id, execution);
    this.logger('info', 'execution.accepted', {
      id: request.id,
      entrypoint: request.entrypoint || undefined,
      args: request.args.length,
      timeoutSeconds: request.timeoutSeconds || undefined,
    });
    execution.start();
    return { id: request.id };
  }

  /** The runtime's resolver behind the checks every runtime needs. */
  private readonly checkedCommand: CommandResolver = (request) => {
    if (!isAbsolute(request.workingDir)) {
      throw new RefusedError(`working_dir "${request.workingDir}" must be an absolute path`);
    }
    return this.options.command(withoutMissingDefaultEntrypoint(request));
  };

  private get scratchRoot(): string {
    return this.options.workRoot ?? join(tmpdir(), 'kruntimes-work');
  }

  private defaultWorkingDir(id: string): string {
    const dir = join(this.scratchRoot, `exec-${id.replace(/[^\w.-]/g, '_')}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  private retain(execution: Execution): void {
    this.finishedOrder.add(execution.id);
    const max = this.options.maxFinished ?? DEFAULTS.maxFinished;
    for (const id of this.finishedOrder) {
      if (this.finishedOrder.size <= max) break;
      this.finishedOrder.delete(id);
      this.executionsById.get(id)?.replay.release();
      this.executionsById.delete(id);
      this.logger('warn', 'execution.evicted', { id, maxFinished: max });
    }
  }

  /** Frees the replays of finished executions, oldest first, until neededBytes are free. */
  private reclaimReplays(neededBytes: number): void {
    let freed = 0;
    for (const id of this.finishedOrder) {
      if (freed >= neededBytes) break;
      const replay = this.executionsById.get(id)?.replay;
      if (replay === undefined || replay.released || replay.retainedBytes === 0) continue;
      freed += replay.retainedBytes;
      replay.release();
      this.logger('warn', 'execution.output_released', { id, bytes: replay.releasedBytes });
    }
  }

  /** Drops the execution and removes its workspace (or its HOME and TMPDIR) before answering. */
  private async forget(id: string): Promise<void> {
    const execution = this.executionsById.get(id);
    if (execution === undefined) throw new CallError(grpc.status.NOT_FOUND, `execution ${id} not found`);
    if (!execution.finished) {
      throw new CallError(grpc.status.FAILED_PRECONDITION, `execution ${id} is still running`);
    }
    this.drop(id, execution);
    const started = performance.now();
    await execution.release();
    this.logger('info', 'execution.forgotten', { id, removeMs: Math.round((performance.now() - started) * 10) / 10 });
  }

  /** Forgets a finished execution's retained state. */
  private drop(id: string, execution: Execution): void {
    execution.replay.release();
    this.executionsById.delete(id);
    this.finishedOrder.delete(id);
  }

  private find(id: string): Execution {
    const execution = this.executionsById.get(id);
    if (execution === undefined) throw new CallError(grpc.status.NOT_FOUND, `execution ${id} not found`);
    return execution;
  }

  private handlers(): grpc.UntypedServiceImplementation {
    return {
      [RuntimeMethod.Execute]: unary<ExecuteRequest, ExecuteResponse>((request) => {
        const problem = executeRequestProblem(request);
        if (problem !== undefined) throw new CallError(grpc.status.INVALID_ARGUMENT, problem);
        if (!this.accepting) throw new CallError(grpc.status.UNAVAILABLE, 'shutting down');
        return this.execute(request);
      }),
      [RuntimeMethod.Status]: unary<IdRequest, StatusResponse>((request) => this.find(request.id).toStatus()),
      [RuntimeMethod.List]: unary<object, ListResponse>(() => ({
        entries: [...this.executionsById.values()].map((execution) => execution.toStatus()),
      })),
      [RuntimeMethod.Cancel]: unary<IdRequest, object>((request) => {
        // Idempotent: cancelling a finished execution changes nothing.
        this.find(request.id).stop(FailureMessage.Cancelled);
        return {};
      }),
      [RuntimeMethod.Forget]: unary<IdRequest, object>(async (request) => {
        await this.forget(request.id);
        return {};
      }),
      [RuntimeMethod.Health]: unary<object, HealthResponse>(() => this.health()),
      [RuntimeMethod.Wait]: (
        call: grpc.ServerUnaryCall<IdRequest, StatusResponse>,
        callback: grpc.sendUnaryData<StatusResponse>,
      ) => {
        const execution = this.executionsById.get(call.request.id);
        if (execution === undefined) {
          callback({ code: grpc.status.NOT_FOUND, details: `execution ${call.request.id} not found` });
        } else if (execution.finished) {
          callback(null, execution.toStatus());
        } else {
          const unsubscribe = execution.onFinish((finished) => callback(null, finished.toStatus()));
          call.once('cancelled', unsubscribe);
        }
      },
      [RuntimeMethod.Output]: (call: grpc.ServerWritableStream<IdRequest, OutputChunkMessage>) => {
        const execution = this.executionsById.get(call.request.id);
        if (execution === undefined) {
          call.emit('error', {
            code: grpc.status.NOT_FOUND,
            details: `execution ${call.request.id} not found`,
          });
        } else {
          streamOutput(execution.replay, call);
        }
      },
    };
  }
}

/** A gRPC status to answer a call with. */
class CallError extends Error {
  readonly code: grpc.status;
  constructor(code: grpc.status, details: string) {
    super(details);
    this.code = code;
  }
}

function unary<Req, Res>(handle: (request: Req) => Res | Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  const fail = (callback: grpc.sendUnaryData<Res>, err: unknown) => {
    const code = err instanceof CallError ? err.code : grpc.status.INTERNAL;
    callback({ code, details: errorText(err) });
  };
  return (call, callback) => {
    try {
      const answer = handle(call.request);
      if (answer instanceof Promise) answer.then((value) => callback(null, value), (err: unknown) => fail(callback, err));
      else callback(null, answer);
    } catch (err) {
      fail(callback, err);
    }
  };
}

function finishedPromise(execution: Execution): Promise<void> {
  if (execution.finished) return Promise.resolve();
  return new Promise((resolve) => execution.onFinish(() => resolve()));
}

/** Whether promise settles within ms; the timer never outlives the answer. */
async function finishesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
