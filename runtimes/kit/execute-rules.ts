// The rules of Execute that make a server work under both runtimeds: ours (Forget before a retry,
// no entrypoint for args-only Runs) and the original one (re-Execute of a finished id for a retry,
// `entrypoint: "script"` for args-only Runs). Pure, so that they are unit-tested on their own.

import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { type ExecuteRequest, type ExecutionState, isFinishedState } from '../../lib/runtime-proto.ts';

/**
 * What Execute does with an id, given the state of the execution the server retains for it:
 * - `start`: unknown (never seen, or Forgotten): a new execution.
 * - `duplicate`: PENDING or RUNNING: the same attempt delivered again; answer the id, start nothing.
 * - `rerun`: SUCCEEDED or FAILED and not Forgotten: a new attempt (the proto carries no attempt
 *   number; the original runtimed retries by re-Executing the id). The finished state is replaced.
 */
export type ExecuteDecision = 'start' | 'duplicate' | 'rerun';

export function executeDecision(existing: ExecutionState | undefined): ExecuteDecision {
  if (existing === undefined) return 'start';
  return isFinishedState(existing) ? 'rerun' : 'duplicate';
}

/** The entrypoint the original runtimed sends for every Run, args-only ones included. */
export const ORIGINAL_DEFAULT_ENTRYPOINT = 'script';

/**
 * An args-only Run from the original runtimed: entrypoint exactly `script`, nothing at all named
 * `script` in working_dir (no file, directory or symlink), and args or a handler to run instead.
 * Such a request runs as if it had no entrypoint; any other missing entrypoint still fails.
 */
export function withoutMissingDefaultEntrypoint(
  request: ExecuteRequest,
  exists: (path: string) => boolean = pathExists,
): ExecuteRequest {
  if (request.entrypoint !== ORIGINAL_DEFAULT_ENTRYPOINT) return request;
  if (request.args.length === 0 && request.handler.trim() === '') return request;
  if (exists(join(request.workingDir, ORIGINAL_DEFAULT_ENTRYPOINT))) return request;
  return { ...request, entrypoint: '' };
}

function pathExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (err) {
    // Anything but "no such entry" (EACCES, ENOTDIR…) counts as present: the resolver reports it.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}
