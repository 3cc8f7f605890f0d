// Following one Run as it changes: read it, then watch it and hand every new version to the
// caller until the caller says it has seen enough (the loop itself is observe.ts).
import type { Run } from '../../lib/api.ts';
import { isNotFound, Paths } from '../../lib/kube-client.ts';
import { CliError } from '../errors.ts';
import type { Connection } from './connection.ts';
import { observeObject } from './observe.ts';

export class RunNotFoundError extends CliError {
  constructor(namespace: string, name: string) {
    super(
      `Run "${name}" not found in namespace ${namespace}: list the Runs there with kubectl krt list -n ${namespace}`,
    );
    this.name = 'RunNotFoundError';
  }
}

export async function getRun(conn: Connection, namespace: string, name: string): Promise<Run> {
  try {
    return await conn.client.get<Run>(Paths.run(namespace, name));
  } catch (err) {
    if (isNotFound(err)) throw new RunNotFoundError(namespace, name);
    throw err;
  }
}

/**
 * Calls onRun with the Run now and after every change, until onRun returns true; resolves with
 * that version. Rejects if the Run is deleted first. `current`: a version just had from the
 * apiserver, to start from instead of reading the Run again.
 */
export function observeRun(
  conn: Connection,
  namespace: string,
  name: string,
  onRun: (run: Run) => boolean,
  signal?: AbortSignal,
  current?: Run,
): Promise<Run> {
  return observeObject(conn, { kind: 'Run', listPath: Paths.runs, get: getRun }, namespace, name, onRun, signal, current);
}
