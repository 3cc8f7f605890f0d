// A typed, promise-based client for a Runtime Server. runtimed calls it on every Run, so it keeps
// one channel (one HTTP/2 connection) for its lifetime and adds nothing per call beyond grpc-js.
// The Output extension is an async iterable of raw byte chunks.

import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import {
  type ExecuteRequest,
  type ExecuteResponse,
  type HealthResponse,
  isFinishedState,
  type OutputChunk,
  OutputStream,
  RuntimeMethod,
  type RuntimeMethodTypes,
  runtimeServiceDefinition,
  type StatusResponse,
  type UnaryRuntimeMethod,
} from './runtime-proto.ts';

/** An Execute request; only `id` is required, the rest defaults to proto3 zero values. */
export type ExecuteInput = Pick<ExecuteRequest, 'id'> & Partial<Omit<ExecuteRequest, 'id'>>;

export interface RuntimeServerClientOptions {
  /** host:port of the Runtime Server, e.g. '127.0.0.1:19091'. */
  address: string;
  /** Defaults to insecure: Runtime Servers listen inside the pod only. */
  credentials?: grpc.ChannelCredentials;
  /** Deadline of each unary call except Wait (ms). Default 10 s. */
  callTimeoutMs?: number;
  /** Deadline of one Wait call; waitFor re-issues Wait until the execution is finished. Default 30 s. */
  waitChunkMs?: number;
  /** Status polling interval used when the server has no Wait: starts here... Default 50 ms. */
  pollMinMs?: number;
  /** ...and grows by half each poll up to this. Default 500 ms. */
  pollMaxMs?: number;
  /** Extra grpc-js channel options. */
  channelOptions?: grpc.ChannelOptions;
}

export interface WaitForOptions {
  signal?: AbortSignal;
  /** Absolute deadline in epoch milliseconds (Date.now() scale). */
  deadlineMs?: number;
  /** Relative alternative to deadlineMs; the earlier of the two applies. */
  timeoutMs?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides callTimeoutMs for this call. */
  timeoutMs?: number;
}

/** One chunk of an execution's output, exactly the bytes the process wrote to that stream. */
export interface OutputData {
  stream: 'stdout' | 'stderr';
  data: Buffer;
  /** When the Runtime Server read the chunk (millisecond precision; see unixMicros). */
  ts: Date;
  /** The same instant in microseconds since the Unix epoch. */
  unixMicros: number;
}

/** The chunks of one Output call: the replay from the first byte, then live until the output ends. */
export interface OutputSubscription extends AsyncIterable<OutputData> {
  /**
   * Once the iteration ended without an error: how many bytes the server's replay bound dropped
   * after the chunks delivered (0 means the chunks are the complete output).
   */
  readonly droppedBytes: number;
}

/** gRPC status codes by name, so callers need not import grpc-js to inspect errors. */
export const GrpcCode = grpc.status;
export type GrpcCode = grpc.status;

/** A failed call to a Runtime Server, carrying the gRPC status code. */
export class RuntimeServerError extends Error {
  override readonly name = 'RuntimeServerError';
  readonly code: grpc.status;
  readonly method: string;
  readonly details: string;

  constructor(options: { method: string; code: grpc.status; details: string; cause?: unknown }) {
    super(`${options.method}: ${grpc.status[options.code] ?? options.code}: ${options.details}`, {
      cause: options.cause,
    });
    this.code = options.code;
    this.method = options.method;
    this.details = options.details;
  }

  /** NOT_FOUND from Status/Wait: the server does not know the execution ("execution lost"). */
  get isNotFound(): boolean {
    return this.code === grpc.status.NOT_FOUND;
  }

  get isUnimplemented(): boolean {
    return this.code === grpc.status.UNIMPLEMENTED;
  }

  /** The server could not be reached (not listening yet, restarting, gone). */
  get isUnavailable(): boolean {
    return this.code === grpc.status.UNAVAILABLE;
  }

  static hasCode(err: unknown, code: grpc.status): err is RuntimeServerError {
    return err instanceof RuntimeServerError && err.code === code;
  }
}

const DEFAULTS = {
  callTimeoutMs: 10_000,
  waitChunkMs: 30_000,
  pollMinMs: 50,
  pollMaxMs: 500,
} as const;

export class RuntimeServerClient {
  readonly address: string;
  private readonly client: grpc.Client;
  private readonly callTimeoutMs: number;
  private readonly waitChunkMs: number;
  private readonly pollMinMs: number;
  private readonly pollMaxMs: number;
  /** Flips to false for good once the server answers Wait with UNIMPLEMENTED. */
  private waitSupported = true;
  /** Likewise for Output. */
  private outputSupported = true;

  constructor(options: RuntimeServerClientOptions) {
    this.address = options.address;
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULTS.callTimeoutMs;
    this.waitChunkMs = options.waitChunkMs ?? DEFAULTS.waitChunkMs;
    this.pollMinMs = options.pollMinMs ?? DEFAULTS.pollMinMs;
    this.pollMaxMs = options.pollMaxMs ?? DEFAULTS.pollMaxMs;
    this.client = new grpc.Client(options.address, options.credentials ?? grpc.credentials.createInsecure(), {
      // List carries every retained execution with up to 2 MiB of output each: no 4 MiB cap.
      'grpc.max_receive_message_length': -1,
      ...options.channelOptions,
    });
  }

  /** Whether Wait is still believed to be served (false after one UNIMPLEMENTED answer). */
  get usesWait(): boolean {
    return this.waitSupported;
  }

  execute(request: ExecuteInput, options?: CallOptions): Promise<ExecuteResponse> {
    const full: ExecuteRequest = {
      id: request.id,
      args: request.args ?? [],
      env: request.env ?? {},
      timeoutSeconds: request.timeoutSeconds ?? 0,
      workingDir: request.workingDir ?? '',
      entrypoint: request.entrypoint ?? '',
      handler: request.handler ?? '',
    };
    return this.call(RuntimeMethod.Execute, full, options);
  }

  /** Throws RuntimeServerError with isNotFound when the server does not know the id. */
  status(id: string, options?: CallOptions): Promise<StatusResponse> {
    return this.call(RuntimeMethod.Status, { id }, options);
  }

  async list(options?: CallOptions): Promise<StatusResponse[]> {
    const response = await this.call(RuntimeMethod.List, {}, options);
    return response.entries;
  }

  async cancel(id: string, options?: CallOptions): Promise<void> {
    await this.call(RuntimeMethod.Cancel, { id }, options);
  }

  /** Refused with FAILED_PRECONDITION while the execution runs; NOT_FOUND for unknown ids. */
  async forget(id: string, options?: CallOptions): Promise<void> {
    await this.call(RuntimeMethod.Forget, { id }, options);
  }

  health(options?: CallOptions): Promise<HealthResponse> {
    return this.call(RuntimeMethod.Health, {}, options);
  }

  /**
   * Resolves with the final status once the execution is finished (SUCCEEDED or FAILED).
   * Uses the Wait extension; after the server once answers UNIMPLEMENTED it polls Status instead
   * (pollMinMs growing to pollMaxMs) for the rest of this client's life.
   * Rejects with RuntimeServerError: NOT_FOUND (execution lost), DEADLINE_EXCEEDED when the
   * deadline passes, or whatever else the server answers; with signal.reason when aborted.
   */
  async waitFor(id: string, options: WaitForOptions = {}): Promise<StatusResponse> {
    const deadline = Math.min(
      options.deadlineMs ?? Number.POSITIVE_INFINITY,
      options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs,
    );
    const { signal } = options;
    while (this.waitSupported) {
      signal?.throwIfAborted();
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw deadlineError(RuntimeMethod.Wait, id);
      try {
        const status = await this.call(
          RuntimeMethod.Wait,
          { id },
          { signal, timeoutMs: Math.min(remaining, this.waitChunkMs) },
        );
        if (isFinishedState(status.state)) return status;
        // The server answered early with a non-final status; ask again, without spinning.
        await sleep(this.pollMinMs, undefined, { signal });
      } catch (err) {
        if (RuntimeServerError.hasCode(err, grpc.status.UNIMPLEMENTED)) {
          this.waitSupported = false;
        } else if (!RuntimeServerError.hasCode(err, grpc.status.DEADLINE_EXCEEDED)) {
          throw err;
        }
      }
    }
    return this.pollStatus(id, deadline, signal);
  }

  /** Whether Output is still believed to be served (false after one UNIMPLEMENTED answer). */
  get usesOutput(): boolean {
    return this.outputSupported;
  }

  /**
   * The execution's output from its beginning, then live, ending when the process's output is
   * finished. Iterating throws RuntimeServerError: NOT_FOUND for an unknown id, UNIMPLEMENTED for a
   * server without the extension (remembered: later calls throw it without asking); or
   * signal.reason when aborted. No deadline: the stream lasts as long as the execution.
   */
  output(id: string, options: { signal?: AbortSignal } = {}): OutputSubscription {
    const subscription = {
      droppedBytes: 0,
      [Symbol.asyncIterator]: () =>
        this.readOutput(id, options.signal, (dropped) => {
          subscription.droppedBytes += dropped;
        }),
    };
    return subscription;
  }

  /** Resolves when the channel is connected (or rejects at the deadline, epoch ms). */
  waitForReady(deadlineMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.waitForReady(deadlineMs, (err) => (err ? reject(err) : resolve()));
    });
  }

  close(): void {
    this.client.close();
  }

  private async pollStatus(
    id: string,
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<StatusResponse> {
    let interval = this.pollMinMs;
    for (;;) {
      signal?.throwIfAborted();
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw deadlineError(RuntimeMethod.Status, id);
      const status = await this.call(
        RuntimeMethod.Status,
        { id },
        { signal, timeoutMs: Math.min(remaining, this.callTimeoutMs) },
      );
      if (isFinishedState(status.state)) return status;
      await sleep(Math.min(interval, Math.max(0, deadline - Date.now())), undefined, { signal });
      interval = Math.min(this.pollMaxMs, Math.ceil(interval * 1.5));
    }
  }

  private async *readOutput(
    id: string,
    signal: AbortSignal | undefined,
    onDropped: (bytes: number) => void,
  ): AsyncGenerator<OutputData> {
    const method = RuntimeMethod.Output;
    if (!this.outputSupported) {
      throw new RuntimeServerError({
        method,
        code: grpc.status.UNIMPLEMENTED,
        details: 'Output is not served',
      });
    }
    signal?.throwIfAborted();
    const definition = runtimeServiceDefinition[method];
    const call = this.client.makeServerStreamRequest(
      definition.path,
      definition.requestSerialize,
      definition.responseDeserialize,
      { id },
    );
    const onAbort = () => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const chunk of call as AsyncIterable<OutputChunk>) {
        if (chunk.stream === OutputStream.Stdout || chunk.stream === OutputStream.Stderr) {
          yield {
            stream: chunk.stream === OutputStream.Stdout ? 'stdout' : 'stderr',
            data: chunk.data,
            ts: new Date(Math.floor(chunk.unixMicros / 1000)),
            unixMicros: chunk.unixMicros,
          };
        } else if (chunk.droppedBytes > 0) {
          onDropped(chunk.droppedBytes);
        }
        // Any other chunk is a kind this client does not know yet: skipped, as proto3 intends.
      }
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const serviceError = err as grpc.ServiceError;
      const error = new RuntimeServerError({
        method,
        code: serviceError.code ?? grpc.status.UNKNOWN,
        details: serviceError.details ?? String(err),
        cause: err,
      });
      if (error.isUnimplemented) this.outputSupported = false;
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      // A consumer that stopped early must not leave the server streaming to nobody.
      call.cancel();
    }
  }

  private call<M extends UnaryRuntimeMethod>(
    method: M,
    request: RuntimeMethodTypes[M][0],
    options: CallOptions = {},
  ): Promise<RuntimeMethodTypes[M][1]> {
    const definition = runtimeServiceDefinition[method];
    const { signal } = options;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => call.cancel();
      const call = this.client.makeUnaryRequest(
        definition.path,
        definition.requestSerialize,
        definition.responseDeserialize,
        request,
        { deadline: Date.now() + (options.timeoutMs ?? this.callTimeoutMs) },
        (err: grpc.ServiceError | null, response?: RuntimeMethodTypes[M][1]) => {
          signal?.removeEventListener('abort', onAbort);
          if (signal?.aborted) reject(signal.reason);
          else if (err)
            reject(new RuntimeServerError({ method, code: err.code, details: err.details, cause: err }));
          else resolve(response as RuntimeMethodTypes[M][1]);
        },
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function deadlineError(method: string, id: string): RuntimeServerError {
  return new RuntimeServerError({
    method,
    code: grpc.status.DEADLINE_EXCEEDED,
    details: `execution ${id} not finished before the deadline`,
  });
}
