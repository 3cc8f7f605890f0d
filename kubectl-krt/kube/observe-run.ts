// Following one Run as it changes: read it, then watch it (field selector on its name) and hand
// every new version to the caller until the caller says it has seen enough.
import { setTimeout as delay } from 'node:timers/promises';
import type { Run } from '../../lib/api.ts';
import { isNotFound, Paths } from '../../lib/kube-client.ts';
import { CliError } from '../errors.ts';
import type { Connection } from './connection.ts';
import { WatchExpiredError, watchOnce } from './watch.ts';

/** Consecutive failed watch requests before giving up (the apiserver went away). */
const MAX_WATCH_FAILURES = 5;

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
 * that version. Rejects if the Run is deleted first.
 */
export async function observeRun(
  conn: Connection,
  namespace: string,
  name: string,
  onRun: (run: Run) => boolean,
  signal?: AbortSignal,
): Promise<Run> {
  let run = await getRun(conn, namespace, name);
  if (onRun(run)) return run;
  let resourceVersion = run.metadata.resourceVersion ?? '0';
  let failures = 0;
  let done = false;
  let deleted = false;
  while (!done && !signal?.aborted) {
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      resourceVersion = await watchOnce<Run>(
        conn,
        Paths.runs(namespace),
        { fieldSelector: `metadata.name=${name}`, resourceVersion },
        (event) => {
          if (done) return;
          run = event.object;
          // A deleted Run may still be what the caller waited for (--ttl 0s deletes it on completion).
          const satisfied = onRun(run);
          if (satisfied || event.type === 'DELETED') {
            deleted = !satisfied;
            done = true;
            stop.abort();
          }
        },
        stop.signal,
      );
      failures = 0;
    } catch (err) {
      if (err instanceof WatchExpiredError) {
        run = await getRun(conn, namespace, name);
        resourceVersion = run.metadata.resourceVersion ?? '0';
        if (onRun(run)) done = true;
        continue;
      }
      if (err instanceof CliError || ++failures >= MAX_WATCH_FAILURES) throw err;
      // A dropped connection: reconnect after a moment rather than spinning.
      await delay(500 * failures, undefined, { signal }).catch(() => {});
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }
  if (deleted) throw new CliError(`Run "${name}" was deleted in namespace ${namespace} before it finished`);
  return run;
}
