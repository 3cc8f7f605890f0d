// The built-in bash runtime: `bash <entrypoint> args...`, or without an entrypoint the args are one
// command line, `bash -c "<args joined by spaces>"` (as ssh does with its arguments).

import { RefusedError, type RuntimeDefinition, resolveEntrypoint, resolveExecutable } from '../kit/index.ts';

export const BASH_ENV = 'KRUNTIME_BASH';

export interface BashRuntimeOptions {
  /** Interpreter name or path. Default $KRUNTIME_BASH, else `bash` from the server's PATH. */
  bash?: string;
}

export function bashRuntime(options: BashRuntimeOptions = {}): RuntimeDefinition {
  const wanted = options.bash ?? (process.env[BASH_ENV] || 'bash');
  // Resolved once: a Run's own PATH must not decide which interpreter runs it.
  const bash = resolveExecutable(wanted);
  const missing = `bash interpreter "${wanted}" not found`;
  return {
    name: 'bash',
    health: () =>
      bash === undefined ? { healthy: false, message: missing } : { healthy: true, message: 'ok' },
    command: (request) => {
      if (bash === undefined) throw new RefusedError(missing);
      // The handler field has no meaning for bash and is ignored.
      if (request.entrypoint !== '') {
        return {
          file: bash,
          args: [resolveEntrypoint(request.workingDir, request.entrypoint), ...request.args],
        };
      }
      if (request.args.length === 0) throw new RefusedError('nothing to run: no entrypoint and no args');
      return { file: bash, args: ['-c', request.args.join(' ')] };
    },
  };
}
