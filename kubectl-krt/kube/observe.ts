// Following one object as it changes: read it, then watch it (field selector on its name) and
// hand every new version to the caller until the caller says it has seen enough. Runs and
// Workflows are followed the same way (observe-run.ts, observe-workflow.ts).
import { setTimeout as delay } from 'node:timers/promises';
import { CliError } from '../errors.ts';
import type { Connection } from './connection.ts';
import { WatchExpiredError, watchOnce } from './watch.ts';

/** Consecutive failed watch requests before giving up (the apiserver went away). */
const MAX_WATCH_FAILURES = 5;

export interface ObservedKind<T> {
  /** For messages: `Run`, `Workflow`. */
  kind: string;
  /** The collection path to watch in a namespace. */
  listPath: (namespace: string) => string;
  /** Reads the object, throwing a CliError that says so when it does not exist. */
  get: (conn: Connection, namespace: string, name: string) => Promise<T>;
}

/**
 * Calls onObject with the object now and after every change, until onObject returns true;
 * resolves with that version. Rejects if the object is deleted first. `current` is a version the
 * caller has just had from the apiserver (a create's or a patch's answer): the watch starts from
 * it, saving a read.
 */
export async function observeObject<T extends { metadata: { resourceVersion?: string } }>(
  conn: Connection,
  what: ObservedKind<T>,
  namespace: string,
  name: string,
  onObject: (object: T) => boolean,
  signal?: AbortSignal,
  current?: T,
): Promise<T> {
  let object = current ?? (await what.get(conn, namespace, name));
  if (onObject(object)) return object;
  let resourceVersion = object.metadata.resourceVersion ?? '0';
  let failures = 0;
  let done = false;
  let deleted = false;
  while (!done && !signal?.aborted) {
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      resourceVersion = await watchOnce<T>(
        conn,
        what.listPath(namespace),
        { fieldSelector: `metadata.name=${name}`, resourceVersion },
        (event) => {
          if (done) return;
          object = event.object;
          // A deleted object may still be what the caller waited for (a TTL of 0s deletes it on completion).
          const satisfied = onObject(object);
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
        object = await what.get(conn, namespace, name);
        resourceVersion = object.metadata.resourceVersion ?? '0';
        if (onObject(object)) done = true;
        continue;
      }
      if (err instanceof CliError || ++failures >= MAX_WATCH_FAILURES) throw err;
      // A dropped connection: reconnect after a moment rather than spinning.
      await delay(500 * failures, undefined, { signal }).catch(() => {});
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }
  if (deleted) throw new CliError(`${what.kind} "${name}" was deleted in namespace ${namespace} before it finished`);
  return object;
}
