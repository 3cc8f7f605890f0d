// Informers, as client-go's reflector runs them: list a collection, then watch it from the list's
// resourceVersion; when the apiserver ends a watch (its timeoutSeconds) watch again from the last
// version seen; when that version is gone (410) list again; after any other failure wait (1 s,
// doubling to 30 s) and watch again. start() resolves once the first list is in the cache.
// Handlers run in event order; one that throws is logged and the others still run.
// An optional transform reduces each listed or watched object before the cache keeps it (as
// controller-runtime's cache TransformFunc does): a controller that holds thousands of objects
// keeps only the fields it reads. This replaces client-node's ListWatch and Watch, which need its
// KubeConfig and with it the package's whole generated API (lib/cluster-access.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import { InformerStore, type KubeObject, type StoreEvent, type StoreEventType } from './informer-store.ts';
import { isGone, type KubeClient } from './kube-client.ts';
import { errorMessage, logger } from './log.ts';

export interface InformerOptions {
  client: KubeClient;
  /** Collection path, e.g. Paths.runs() for all namespaces. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * What the cache keeps of each object (pure; must keep metadata name, namespace, uid and
   * resourceVersion). Handlers and get/list see the transformed objects.
   */
  transform?: (obj: never) => unknown;
}

export interface Informer<T> {
  on(event: StoreEventType, handler: (obj: T) => void): void;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): readonly T[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** How long the apiserver keeps one watch open: 5–10 minutes, spread as client-go spreads it. */
export function watchTimeoutSeconds(random = Math.random): number {
  return Math.floor(300 * (1 + random()));
}

/** The wait before watching again after `failures` failures in a row: 1 s doubling to 30 s. */
export function rewatchDelayMs(failures: number): number {
  return failures <= 0 ? 0 : Math.min(1000 * 2 ** (failures - 1), 30_000);
}

export function createInformer<T extends KubeObject>(options: InformerOptions): Informer<T> {
  const { client, path, labelSelector, fieldSelector } = options;
  const transform = (options.transform ?? ((o: T) => o)) as (obj: T) => T;
  const log = logger.child({ informer: path, labelSelector, fieldSelector });
  const store = new InformerStore<T>();
  const handlers: Record<StoreEventType, Array<(obj: T) => void>> = { add: [], update: [], delete: [] };
  let resourceVersion = '';
  let running: { abort: AbortController; loop: Promise<void>; synced: Promise<void> } | undefined;

  const emit = (event: StoreEvent<T> | undefined) => {
    if (!event) return;
    for (const handler of handlers[event.type]) {
      try {
        handler(event.object);
      } catch (err) {
        log.error('informer handler failed', { event: event.type, error: errorMessage(err) });
      }
    }
  };

  const list = async (signal: AbortSignal) => {
    const listed = await client.get<{ items: T[]; metadata: { resourceVersion: string } }>(path, {
      query: { labelSelector, fieldSelector },
      signal,
    });
    for (const event of store.replace(listed.items.map(transform))) emit(event);
    resourceVersion = listed.metadata.resourceVersion;
  };

  /** Watches from resourceVersion until the watch ends; true when it delivered any event. */
  const watch = async (signal: AbortSignal) => {
    let delivered = false;
    const timeoutSeconds = watchTimeoutSeconds();
    await client.watch<T>(
      path,
      { resourceVersion, allowWatchBookmarks: true, timeoutSeconds, labelSelector, fieldSelector },
      (event) => {
        delivered = true;
        if (event.type === 'DELETED') emit(store.delete(transform(event.object)));
        else if (event.type !== 'BOOKMARK') emit(store.addOrUpdate(transform(event.object)));
        resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion;
      },
      // A connection that went silent (the apiserver gone without a FIN) fails a minute after the
      // apiserver would have ended the watch.
      { signal, idleTimeoutMs: (timeoutSeconds + 60) * 1000 },
    );
    return delivered;
  };

  const run = async (abort: AbortController, onSynced: () => void) => {
    let failures = 0;
    // Started again after a stop: the cache and its version are still current enough to watch from.
    if (resourceVersion) onSynced();
    while (!abort.signal.aborted) {
      try {
        if (!resourceVersion) {
          await list(abort.signal);
          failures = 0;
          onSynced();
        }
        // A watch the apiserver ends with nothing in it (shutting down, say) counts as a failure,
        // so an empty watch cannot spin.
        failures = (await watch(abort.signal)) ? 0 : failures + 1;
      } catch (err) {
        if (abort.signal.aborted) return;
        if (isGone(err)) {
          log.info('resource version too old; listing again', { resourceVersion });
          resourceVersion = '';
          continue;
        }
        failures++;
        log.warn(resourceVersion ? 'watch failed; watching again' : 'list failed; listing again', {
          error: errorMessage(err),
          retryInMs: rewatchDelayMs(failures),
        });
      }
      await sleep(rewatchDelayMs(failures), undefined, { signal: abort.signal }).catch(() => {});
    }
  };

  return {
    on: (event, handler) => void handlers[event].push(handler),
    get: (name, namespace) => store.get(name, namespace),
    list: (namespace) => store.list(namespace),
    start() {
      if (!running) {
        const abort = new AbortController();
        let onSynced!: () => void;
        const synced = new Promise<void>((resolve) => (onSynced = resolve));
        // Stopped before the first list came back: nothing waits for it any more.
        abort.signal.addEventListener('abort', () => onSynced(), { once: true });
        running = { abort, synced, loop: run(abort, onSynced) };
      }
      return running.synced;
    },
    async stop() {
      const stopping = running;
      running = undefined;
      if (!stopping) return;
      stopping.abort.abort();
      await stopping.loop;
    },
  };
}
