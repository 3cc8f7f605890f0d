// The one way controllers on the frame write status: a PUT of the status subresource carrying the
// resourceVersion the decision was made from, so a write based on a stale copy is refused (409)
// and the key is reconciled again from fresher state. The writer remembers what it wrote, so the
// next reconcile of the same object starts from its own write even when the watch has not yet
// delivered it (no self-inflicted conflicts in a burst of events).
import { isConflict, isNotFound, type KubeClient, newerOf } from '../kube-client.ts';

interface StatusObject {
  metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
  status?: unknown;
}

/** The write lost a race with another writer; reconcile again from fresh state. */
export class StatusConflictError extends Error {
  constructor(what: string) {
    super(`status of ${what} changed since it was read`);
    this.name = 'StatusConflictError';
  }
}

export const WriteOutcome = { Written: 'Written', Gone: 'Gone' } as const;

export class StatusWriter<T extends StatusObject> {
  private readonly client: KubeClient;
  private readonly statusPath: (namespace: string, name: string) => string;
  /** The last copy written, by uid; dropped once the cache has caught up with it. */
  private readonly written = new Map<string, T>();

  constructor(client: KubeClient, statusPath: (namespace: string, name: string) => string) {
    this.client = client;
    this.statusPath = statusPath;
  }

  /** The fresher of the cached copy and the last one this writer wrote. */
  latest(cached: T): T {
    const mine = this.written.get(cached.metadata.uid ?? '');
    if (!mine) return cached;
    const fresher = newerOf(cached, mine);
    if (fresher === cached) this.written.delete(cached.metadata.uid ?? '');
    return fresher;
  }

  /**
   * Replaces the status of `object` (as read, resourceVersion included) with `status`. Returns the
   * object as written, or undefined when the object is gone. Throws StatusConflictError on a race.
   */
  async write<S>(object: T, status: S): Promise<T | undefined> {
    return this.send(object, (path) => this.client.replace<T>(path, { ...object, status }));
  }

  /**
   * The same as `write`, as a JSON merge patch of the status carrying the resourceVersion as
   * precondition: for writers whose transitions are patches (lib/run-status.ts's null removes a
   * field), and a smaller request than a PUT of the whole object.
   */
  async mergePatch(object: T, patch: unknown): Promise<T | undefined> {
    const { resourceVersion } = object.metadata;
    return this.send(object, (path) => this.client.mergePatch<T>(path, { metadata: { resourceVersion }, status: patch }));
  }

  /** Sends one status request for `object`: remembers what was written, maps 404 and 409. */
  private async send(object: T, request: (statusPath: string) => Promise<T>): Promise<T | undefined> {
    const { namespace, name } = object.metadata;
    try {
      const written = await request(this.statusPath(namespace!, name!));
      this.written.set(written.metadata.uid ?? '', written);
      return written;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (isConflict(err)) throw new StatusConflictError(`${namespace}/${name}`);
      throw err;
    }
  }

  /** Forgets an object that was deleted. */
  forget(uid: string | undefined): void {
    if (uid) this.written.delete(uid);
  }
}
