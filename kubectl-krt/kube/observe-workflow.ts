// Reading and following one Workflow (kubectl krt workflow …): the same watch loop as for Runs.
import type { Workflow } from '../../lib/api.ts';
import { isNotFound, Paths } from '../../lib/kube-client.ts';
import { CliError } from '../errors.ts';
import type { Connection } from './connection.ts';
import { observeObject } from './observe.ts';

export class WorkflowNotFoundError extends CliError {
  constructor(namespace: string, name: string) {
    super(
      `Workflow "${name}" not found in namespace ${namespace}: list the Workflows there with kubectl krt workflow list -n ${namespace}`,
    );
    this.name = 'WorkflowNotFoundError';
  }
}

export async function getWorkflow(conn: Connection, namespace: string, name: string): Promise<Workflow> {
  try {
    return await conn.client.get<Workflow>(Paths.workflow(namespace, name));
  } catch (err) {
    if (isNotFound(err)) throw new WorkflowNotFoundError(namespace, name);
    throw err;
  }
}

/**
 * Calls onWorkflow with the Workflow now and after every change, until it returns true; resolves
 * with that version. Rejects if the Workflow is deleted first.
 */
export function observeWorkflow(
  conn: Connection,
  namespace: string,
  name: string,
  onWorkflow: (workflow: Workflow) => boolean,
  signal?: AbortSignal,
): Promise<Workflow> {
  return observeObject(
    conn,
    { kind: 'Workflow', listPath: Paths.workflows, get: getWorkflow },
    namespace,
    name,
    onWorkflow,
    signal,
  );
}
