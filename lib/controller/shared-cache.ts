// Shared informer caches, one per (collection, selector) per process, as controller-runtime's
// cache is shared by every controller of a manager: two controllers watching Runs hold one copy
// and one watch, not two. An informer starts the first time a controller waits for it, and a
// controller starts reconciling only once every informer it reads has listed, so a reconcile never
// sees a half-filled cache.
import type { KubeClient } from '../kube-client.ts';
import { createInformer, type Informer } from '../informer.ts';

export interface CacheSelector {
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * A named reduction of each object before it is cached (createInformer's transform): informers
   * with different transforms are different caches, so the name is part of the cache's key.
   */
  transform?: { name: string; apply: (obj: never) => unknown };
}

interface Entry {
  informer: Informer<unknown>;
  synced?: Promise<void>;
}

export class SharedCache {
  private readonly client: KubeClient;
  private readonly entries = new Map<string, Entry>();
  private readonly byInformer = new Map<Informer<unknown>, Entry>();

  constructor(client: KubeClient) {
    this.client = client;
  }

  /** The one informer for this collection path and selector (not started until waited for). */
  informer<T>(path: string, selector: CacheSelector = {}): Informer<T> {
    const key = `${path}?l=${selector.labelSelector ?? ''}&f=${selector.fieldSelector ?? ''}&t=${selector.transform?.name ?? ''}`;
    let entry = this.entries.get(key);
    if (!entry) {
      const informer = createInformer<{ metadata?: unknown }>({
        client: this.client,
        path,
        labelSelector: selector.labelSelector,
        fieldSelector: selector.fieldSelector,
        transform: selector.transform?.apply,
      });
      entry = { informer: informer as Informer<unknown> };
      this.entries.set(key, entry);
      this.byInformer.set(entry.informer, entry);
    }
    return entry.informer as Informer<T>;
  }

  /** Starts the informers that have not started yet and resolves once all of them have synced. */
  async waitForSync(informers: ReadonlyArray<Informer<unknown>>): Promise<void> {
    await Promise.all(
      informers.map((informer) => {
        const entry = this.byInformer.get(informer);
        if (!entry) throw new Error('waitForSync: informer not from this cache');
        entry.synced ??= informer.start();
        return entry.synced;
      }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all([...this.entries.values()].filter((e) => e.synced).map((e) => e.informer.stop()));
  }
}
