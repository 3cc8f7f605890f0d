// What an informer holds: the objects of one collection by namespace and name, and what each list
// or watch event changes in it, returned as the events its handlers get. Pure, so the informer's
// bookkeeping is tested without an apiserver: an object with the resourceVersion already held
// changes nothing (a relist or a re-sent event is not an update), and a relist deletes what is no
// longer listed.

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- objects are typed by the caller
export type KubeObject = { metadata?: any };

export const StoreEventType = { Add: 'add', Update: 'update', Delete: 'delete' } as const;
export type StoreEventType = (typeof StoreEventType)[keyof typeof StoreEventType];

export interface StoreEvent<T> {
  type: StoreEventType;
  object: T;
}

export class InformerStore<T extends KubeObject> {
  private readonly byNamespace = new Map<string, Map<string, T>>();

  get(name: string, namespace?: string): T | undefined {
    return this.byNamespace.get(namespace ?? '')?.get(name);
  }

  /** Every object, or a namespace's. */
  list(namespace?: string): T[] {
    if (namespace) return [...(this.byNamespace.get(namespace)?.values() ?? [])];
    return [...this.byNamespace.values()].flatMap((objects) => [...objects.values()]);
  }

  /** An ADDED or MODIFIED object: an add, an update, or nothing when this version is held. */
  addOrUpdate(obj: T): StoreEvent<T> | undefined {
    const namespace = obj.metadata?.namespace ?? '';
    const name = obj.metadata?.name ?? '';
    let objects = this.byNamespace.get(namespace);
    if (!objects) this.byNamespace.set(namespace, (objects = new Map()));
    const held = objects.get(name);
    const version = obj.metadata?.resourceVersion;
    if (held && version !== undefined && held.metadata?.resourceVersion === version) return undefined;
    objects.set(name, obj);
    return { type: held ? StoreEventType.Update : StoreEventType.Add, object: obj };
  }

  /** A DELETED object (the event carries its last state): a delete when it was held. */
  delete(obj: T): StoreEvent<T> | undefined {
    const namespace = obj.metadata?.namespace ?? '';
    const objects = this.byNamespace.get(namespace);
    if (!objects?.delete(obj.metadata?.name ?? '')) return undefined;
    if (objects.size === 0) this.byNamespace.delete(namespace);
    return { type: StoreEventType.Delete, object: obj };
  }

  /** A fresh list: deletes for what it no longer has (as last held), then adds and updates. */
  replace(items: readonly T[]): StoreEvent<T>[] {
    const listed = new Set(items.map((o) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`));
    const events: StoreEvent<T>[] = [];
    for (const obj of this.list()) {
      if (listed.has(`${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`)) continue;
      const deleted = this.delete(obj);
      if (deleted) events.push(deleted);
    }
    for (const obj of items) {
      const event = this.addOrUpdate(obj);
      if (event) events.push(event);
    }
    return events;
  }
}
