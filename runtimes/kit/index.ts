// The kit a TypeScript Runtime Server builds on: give it a CommandResolver, get the whole
// executor.v1.Runtime contract. See docs/custom-runtime.md.

export { BoundedOutput, DEFAULT_OUTPUT_LIMIT_BYTES, truncationMarker } from './bounded-output.ts';
export {
  type CommandResolver,
  type CommandSpec,
  DEFAULT_KRT_DIR,
  Execution,
  NO_EXIT_CODE,
  WorkloadEnv,
} from './execution.ts';
export {
  environHas,
  executionDirs,
  PASSED_SERVER_ENV,
  passEnvNames,
  type SweepOptions,
  type SweepResult,
  sweepMarked,
} from './isolation.ts';
export { jsonLogger, type LogFields, type Logger, LogLevel, silentLogger } from './log.ts';
export {
  DEFAULT_REPLAY_LIMIT_BYTES,
  DEFAULT_REPLAY_TOTAL_BYTES,
  monotonicMicros,
  OutputReplay,
  ReplayBudget,
} from './output-replay.ts';
export { type ServeOptions, ServerEnv, serveRuntime } from './serve.ts';
export {
  type RuntimeDefinition,
  RuntimeServer,
  type RuntimeServerOptions,
  type ShutdownOptions,
  startRuntimeServer,
} from './server.ts';
export { isInside, RefusedError, resolveEntrypoint, resolveExecutable } from './workspace.ts';
