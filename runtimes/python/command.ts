// The built-in python runtime: `python3 -u <entrypoint> args...`; without an entrypoint the args
// are one program, `python3 -u -c "<args joined by spaces>"`; with a handler (`function` from the
// entrypoint, or `module:function` importable from working_dir) that function is called with args.

import { execFileSync } from 'node:child_process';
import { RefusedError, type RuntimeDefinition, resolveEntrypoint, resolveExecutable } from '../kit/index.ts';
import { HANDLER_BOOTSTRAP } from './handler-bootstrap.ts';

export const PYTHON_ENV = 'KRUNTIME_PYTHON';

const IDENTIFIER = '[A-Za-z_][A-Za-z0-9_]*';
const HANDLER_PATTERN = new RegExp(`^(?:${IDENTIFIER}(?:\\.${IDENTIFIER})*:)?${IDENTIFIER}$`);

export interface PythonRuntimeOptions {
  /** Interpreter name or path. Default $KRUNTIME_PYTHON, else `python3` from the server's PATH. */
  python?: string;
}

export function pythonRuntime(options: PythonRuntimeOptions = {}): RuntimeDefinition {
  const wanted = options.python ?? (process.env[PYTHON_ENV] || 'python3');
  // Resolved once: a Run's own PATH must not decide which interpreter runs it.
  const python = realInterpreter(resolveExecutable(wanted));
  const missing = `python interpreter "${wanted}" not found`;
  return {
    name: 'python',
    health: () =>
      python === undefined ? { healthy: false, message: missing } : { healthy: true, message: 'ok' },
    command: (request) => {
      if (python === undefined) throw new RefusedError(missing);
      const entrypoint =
        request.entrypoint === '' ? '' : resolveEntrypoint(request.workingDir, request.entrypoint);
      const handler = request.handler.trim();
      if (handler !== '') {
        if (!HANDLER_PATTERN.test(handler)) {
          throw new RefusedError(`handler "${handler}" must be "function" or "module:function"`);
        }
        if (!handler.includes(':') && entrypoint === '') {
          throw new RefusedError(`handler "${handler}" names no module, so it needs an entrypoint`);
        }
        return { file: python, args: ['-u', '-c', HANDLER_BOOTSTRAP, entrypoint, handler, ...request.args] };
      }
      if (entrypoint !== '') return { file: python, args: ['-u', entrypoint, ...request.args] };
      if (request.args.length === 0) throw new RefusedError('nothing to run: no entrypoint and no args');
      return { file: python, args: ['-u', '-c', request.args.join(' ')] };
    },
  };
}

/**
 * The interpreter binary behind a launcher (pyenv and asdf shims are shell scripts that cost
 * ~100 ms per start). Asked once at startup; a venv's python stays the venv's python.
 */
function realInterpreter(python: string | undefined): string | undefined {
  if (python === undefined) return undefined;
  try {
    const executable = execFileSync(python, ['-c', 'import sys; print(sys.executable)'], {
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return executable === '' ? python : executable;
  } catch {
    // Not runnable now; keep the path so executions report why.
    return python;
  }
}
