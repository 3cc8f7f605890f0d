// Informers: client-node's ListWatch (list, then watch from the list's resourceVersion) with the
// list done through our KubeClient, restart after errors, and a promise that resolves once synced.
// An optional transform reduces each listed or watched object before the cache keeps it (as
// controller-runtime's cache TransformFunc does): a controller that holds thousands of objects
// keeps only the fields it reads.
import { ListWatch, Watch } from '@kubernetes/client-node';
import type { KubeClient } from './kube-client.ts';
import { logger } from './log.ts';

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
  on(event: 'add' | 'update' | 'delete', handler: (obj: T) => void): void;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): readonly T[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- objects are typed by the caller
type KubeObject = { metadata?: any };

export function createInformer<T extends KubeObject>(options: InformerOptions): Informer<T> {
  const { client, path, labelSelector, fieldSelector } = options;
  const transform = options.transform as ((obj: T) => T) | undefined;
  const log = logger.child({ informer: path, labelSelector, fieldSelector });
  const listFn = async () => {
    const list = await client.get<{ items: T[]; metadata: { resourceVersion: string } }>(path, {
      query: { labelSelector, fieldSelector },
    });
    if (transform) list.items = list.items.map(transform);
    return list as never;
  };
  const watch = new Watch(client.kubeConfig);
  // The ListWatch reads watched objects only through this callback: transform them on the way in.
  // A BOOKMARK or ERROR carries no object to keep.
  const transformingWatch = transform
    ? ({
        watch: (...[watchPath, query, callback, done]: Parameters<Watch['watch']>) =>
          watch.watch(
            watchPath,
            query,
            (phase: string, obj: T, raw: unknown) =>
              callback(phase, phase === 'BOOKMARK' || phase === 'ERROR' ? obj : transform(obj), raw),
            done,
          ),
      } as Watch)
    : watch;
  const lw = new ListWatch<T & { metadata: object }>(
    path,
    transformingWatch,
    listFn,
    false,
    labelSelector,
    fieldSelector,
  );
  let stopped = false;
  lw.on('error', (err: unknown) => {
    if (stopped) return;
    log.warn('watch failed; restarting', { error: String((err as Error)?.message ?? err) });
    setTimeout(() => {
      if (!stopped) lw.start().catch(() => {});
    }, 1000).unref();
  });
  return {
    on: (event, handler) => lw.on(event, handler as (o: T & { metadata: object }) => void),
    get: (name, namespace) => lw.get(name, namespace),
    list: (namespace) => lw.list(namespace),
    async start() {
      stopped = false;
      await lw.start();
    },
    async stop() {
      stopped = true;
      await lw.stop();
    },
  };
}
