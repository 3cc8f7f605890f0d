// The Runtime Server contract (proto/runtime/v1/runtime.proto) loaded once, plus TypeScript types
// for its messages. Field names are camelCase (proto-loader keepCase: false) everywhere in
// TypeScript; the wire keeps the proto's field numbers, so this is invisible to other servers.

import { fileURLToPath } from 'node:url';
import type { ServiceDefinition as GrpcServiceDefinition } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const RUNTIME_PROTO_PATH = fileURLToPath(
  new URL('../proto/runtime/v1/runtime.proto', import.meta.url),
);

export const RUNTIME_PROTO_PACKAGE = 'executor.v1';
export const RUNTIME_SERVICE_NAME = `${RUNTIME_PROTO_PACKAGE}.Runtime`;

/** How every component decodes the contract; one setting so that types below stay true. */
export const RUNTIME_PROTO_LOADER_OPTIONS = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
} as const satisfies protoLoader.Options;

/** The execution states on the wire. There is no timeout/cancelled state: those are FAILED, exit -1. */
export const ExecutionState = {
  Unspecified: 'EXECUTION_STATE_UNSPECIFIED',
  Pending: 'EXECUTION_STATE_PENDING',
  Running: 'EXECUTION_STATE_RUNNING',
  Succeeded: 'EXECUTION_STATE_SUCCEEDED',
  Failed: 'EXECUTION_STATE_FAILED',
} as const;
export type ExecutionState = (typeof ExecutionState)[keyof typeof ExecutionState];

export function isFinishedState(state: ExecutionState): boolean {
  return state === ExecutionState.Succeeded || state === ExecutionState.Failed;
}

/** error_message of a FAILED execution that was cancelled or timed out (exit_code -1). */
export const FailureMessage = {
  Cancelled: 'cancelled',
  Timeout: 'timeout',
} as const;

/** The RPC names of the contract: the original six, then our extensions `Wait` and `Output`. */
export const RuntimeMethod = {
  Execute: 'Execute',
  Status: 'Status',
  List: 'List',
  Cancel: 'Cancel',
  Forget: 'Forget',
  Health: 'Health',
  Wait: 'Wait',
  Output: 'Output',
} as const;
export type RuntimeMethod = (typeof RuntimeMethod)[keyof typeof RuntimeMethod];

/** The methods every kruntimes Runtime Server implements (the original, wire-compatible contract). */
export const ORIGINAL_RUNTIME_METHODS = [
  RuntimeMethod.Execute,
  RuntimeMethod.Status,
  RuntimeMethod.List,
  RuntimeMethod.Cancel,
  RuntimeMethod.Forget,
  RuntimeMethod.Health,
] as const;

/** The extension RPCs (a kit server serves them by default); callers fall back on UNIMPLEMENTED. */
export const EXTENSION_RUNTIME_METHODS = [RuntimeMethod.Wait, RuntimeMethod.Output] as const;

/** Which stream an OutputChunk carries; UNSPECIFIED only on the final truncation marker. */
export const OutputStream = {
  Unspecified: 'STREAM_UNSPECIFIED',
  Stdout: 'STREAM_STDOUT',
  Stderr: 'STREAM_STDERR',
} as const;
export type OutputStream = (typeof OutputStream)[keyof typeof OutputStream];

export function runtimeMethodPath(method: RuntimeMethod): string {
  return `/${RUNTIME_SERVICE_NAME}/${method}`;
}

// Messages as decoded with RUNTIME_PROTO_LOADER_OPTIONS (defaults: true, so every field is present).

export interface ExecuteRequest {
  /** The Run UID, stable across attempts. */
  id: string;
  args: string[];
  env: Record<string, string>;
  /** 0 means no timeout. */
  timeoutSeconds: number;
  workingDir: string;
  /** Relative path inside workingDir; empty means args are the command. */
  entrypoint: string;
  handler: string;
}
export interface ExecuteResponse {
  id: string;
}
export interface IdRequest {
  id: string;
}
export type StatusRequest = IdRequest;
export type CancelRequest = IdRequest;
export type ForgetRequest = IdRequest;
export type WaitRequest = IdRequest;
export type OutputRequest = IdRequest;
export interface StatusResponse {
  id: string;
  state: ExecutionState;
  exitCode: number;
  stdout: string;
  stderr: string;
  errorMessage: string;
}
export type ListRequest = Record<string, never>;
export interface ListResponse {
  entries: StatusResponse[];
}
export type CancelResponse = Record<string, never>;
export type ForgetResponse = Record<string, never>;
export type HealthRequest = Record<string, never>;
export interface HealthResponse {
  healthy: boolean;
  message: string;
}
export interface OutputChunk {
  stream: OutputStream;
  /** The raw bytes as written by the process. */
  data: Buffer;
  /** Microseconds since the Unix epoch (fits a JS number until the year 2255). */
  unixMicros: number;
  /** Set only on the final marker (stream UNSPECIFIED, no data): bytes the replay bound dropped. */
  droppedBytes: number;
}

/** An OutputChunk as a server writes it: a data chunk leaves droppedBytes out (nothing on the wire). */
export type OutputChunkMessage = Omit<OutputChunk, 'droppedBytes'> & { droppedBytes?: number };

/** Request and response type of each RPC, so clients and servers stay typed per method. */
export interface RuntimeMethodTypes {
  Execute: [ExecuteRequest, ExecuteResponse];
  Status: [StatusRequest, StatusResponse];
  List: [ListRequest, ListResponse];
  Cancel: [CancelRequest, CancelResponse];
  Forget: [ForgetRequest, ForgetResponse];
  Health: [HealthRequest, HealthResponse];
  Wait: [WaitRequest, StatusResponse];
  Output: [OutputRequest, OutputChunk];
}

/** The methods whose response is a server stream; every other method is unary. */
export type StreamingRuntimeMethod = typeof RuntimeMethod.Output;
export type UnaryRuntimeMethod = Exclude<RuntimeMethod, StreamingRuntimeMethod>;

export const runtimePackageDefinition: protoLoader.PackageDefinition = protoLoader.loadSync(
  RUNTIME_PROTO_PATH,
  RUNTIME_PROTO_LOADER_OPTIONS,
);

/** The `executor.v1.Runtime` service with all eight methods, usable with grpc-js Server and Client. */
export const runtimeServiceDefinition = runtimePackageDefinition[
  RUNTIME_SERVICE_NAME
] as unknown as GrpcServiceDefinition;

/** The service restricted to some methods, e.g. to serve only the original six (no extensions). */
export function runtimeServiceSubset(methods: readonly RuntimeMethod[]): GrpcServiceDefinition {
  return Object.fromEntries(methods.map((method) => [method, runtimeServiceDefinition[method]]));
}
