// An example custom runtime built on the kit: runs JavaScript with Node. docs/custom-runtime.md
// walks through it. `node <entrypoint> args...`, or without an entrypoint `node -e "<args joined>"`.

import {
  RefusedError,
  type RuntimeDefinition,
  resolveEntrypoint,
  resolveExecutable,
} from '../../kit/index.ts';

export function nodeRuntime(options: { node?: string } = {}): RuntimeDefinition {
  const wanted = options.node ?? (process.env.KRUNTIME_NODE || process.execPath);
  const node = resolveExecutable(wanted);
  const missing = `node "${wanted}" not found`;
  return {
    name: 'node',
    health: () =>
      node === undefined ? { healthy: false, message: missing } : { healthy: true, message: 'ok' },
    command: (request) => {
      if (node === undefined) throw new RefusedError(missing);
      if (request.entrypoint !== '') {
        return {
          file: node,
          args: [resolveEntrypoint(request.workingDir, request.entrypoint), ...request.args],
        };
      }
      if (request.args.length === 0) throw new RefusedError('nothing to run: no entrypoint and no args');
      return { file: node, args: ['-e', request.args.join(' ')] };
    },
  };
}
