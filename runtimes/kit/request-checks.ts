// What Execute refuses with INVALID_ARGUMENT before it accepts anything: fields no execution could
// be started with, whatever the runtime. Content a runtime cannot run (a relative or missing
// working_dir, an entrypoint outside it) is accepted and ends FAILED with the reason instead, as
// the contract says (docs/custom-runtime.md). Pure, so that it is unit-tested on its own and by
// the fast-check properties in grpc-bad-input.test.ts.
import type { ExecuteRequest } from '../../lib/runtime-proto.ts';

/**
 * The longest id, in UTF-8 bytes. The id names the execution's directory (exec-<id>), which must
 * fit a file name (255 bytes); a Run UID is 36.
 */
export const MAX_EXECUTION_ID_BYTES = 200;

/** Why Execute refuses the request, or undefined when it may go ahead. */
export function executeRequestProblem(request: Pick<ExecuteRequest, 'id' | 'env'>): string | undefined {
  if (request.id === '') return 'id is required';
  if (Buffer.byteLength(request.id) > MAX_EXECUTION_ID_BYTES) {
    return `id must be at most ${MAX_EXECUTION_ID_BYTES} bytes, not ${Buffer.byteLength(request.id)}`;
  }
  if (request.id.includes('\0')) return 'id must not contain a NUL character';
  for (const [name, value] of Object.entries(request.env ?? {})) {
    // The process environment is NAME=value strings ended by NUL: such a name or value would
    // become another variable, or make the start fail.
    if (name === '' || name.includes('=') || name.includes('\0')) {
      return `env name ${JSON.stringify(name.slice(0, 100))} must be non-empty without "=" or NUL`;
    }
    if (value.includes('\0')) return `env ${JSON.stringify(name.slice(0, 100))} must not contain a NUL character`;
  }
  return undefined;
}
