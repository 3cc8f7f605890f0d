// Informers: client-node's ListWatch (list, then watch from the list's resourceVersion) with the
// list done through our KubeClient, restart after errors, and a promise that resolves once synced.
import { ListWatch, Watch } from '@kubernetes/client-node';
import type { KubeClient } from './kube-client.ts';
import { logger } from './log.ts';

export interface InformerOptions {
  client: KubeClient;
  /** Collection path, e.g. Paths.runs() for all namespaces. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
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
  const log = logger.child({ informer: path, labelSelector, fieldSelector });
  const listFn = () =>
    client.get<{ items: T[]; metadata: { resourceVersion: string } }>(path, {
      query: { labelSelector, fieldSelector },
    }) as never;
  const lw = new ListWatch<T & { metadata: object }>(
    path,
    new Watch(client.kubeConfig),
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
