import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { KubeClient } from '../kube-client.ts';
import type { Informer } from '../informer.ts';
import { Controller, objectKey, splitKey } from './controller.ts';
import { SharedCache } from './shared-cache.ts';
import { StatusConflictError } from './status-writer.ts';

type Obj = { metadata: { namespace: string; name: string } };

/** An in-memory informer: the frame only needs its event registration, list and start. */
function memoryInformer(listed: Obj[] = []): Informer<Obj> & { emit(event: 'add' | 'update' | 'delete', o: Obj): void } {
  const handlers: Record<string, Array<(o: Obj) => void>> = { add: [], update: [], delete: [] };
  return {
    on: (event, handler) => void handlers[event].push(handler),
    get: () => undefined,
    list: () => listed,
    start: async () => {},
    stop: async () => {},
    emit: (event, o) => handlers[event].forEach((h) => h(o)),
  };
}

/** A SharedCache whose informers are the memory ones handed in. */
function cacheOf(...informers: Array<Informer<Obj>>): SharedCache {
  const cache = new SharedCache({} as KubeClient);
  const synced = new Set(informers);
  cache.waitForSync = async (list) => {
    for (const i of list) assert.ok(synced.has(i as Informer<Obj>));
  };
  return cache;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const obj = (name: string, namespace = 'ns'): Obj => ({ metadata: { name, namespace } });

describe('Controller frame', () => {
  it('splits and joins keys', () => {
    assert.equal(objectKey(obj('a')), 'ns/a');
    assert.deepEqual(splitKey('ns/a/b'), { namespace: 'ns', name: 'a/b' });
  });

  it('holds events until started, then reconciles each key once', async () => {
    const informer = memoryInformer();
    const seen: string[] = [];
    const c = new Controller({
      name: 't1',
      cache: cacheOf(informer),
      registry: new Registry(),
      reconcile: async (key) => void seen.push(key),
    }).watch(informer, objectKey);
    informer.emit('add', obj('a'));
    informer.emit('update', obj('a'));
    informer.emit('add', obj('b'));
    assert.deepEqual(seen, []);
    await c.start();
    await sleep(10);
    assert.deepEqual(seen.sort(), ['ns/a', 'ns/b']);
    informer.emit('delete', obj('a'));
    await sleep(10);
    assert.deepEqual(seen, ['ns/a', 'ns/b', 'ns/a']);
    await c.stop();
  });

  it('reconciles what a shared informer listed before the controller registered', async () => {
    const informer = memoryInformer([obj('early')]);
    const seen: string[] = [];
    const c = new Controller({
      name: 't0',
      cache: cacheOf(informer),
      registry: new Registry(),
      reconcile: async (key) => void seen.push(key),
    }).watch(informer, objectKey);
    await c.start();
    await sleep(10);
    assert.deepEqual(seen, ['ns/early']);
    await c.stop();
  });

  it('maps owned objects to their owner and ignores unmapped ones', async () => {
    const owners = memoryInformer();
    const owned = memoryInformer();
    const seen: string[] = [];
    const c = new Controller({
      name: 't2',
      cache: cacheOf(owners, owned),
      registry: new Registry(),
      reconcile: async (key) => void seen.push(key),
    })
      .watch(owners, objectKey)
      .watch(owned, (o) => (o.metadata.name.startsWith('x-') ? `ns/${o.metadata.name.slice(2)}` : undefined));
    await c.start();
    owned.emit('delete', obj('x-owner'));
    owned.emit('add', obj('unrelated'));
    await sleep(10);
    assert.deepEqual(seen, ['ns/owner']);
  });

  it('retries errors and conflicts with backoff, honours requeueAfter, and counts results', async () => {
    const registry = new Registry();
    const informer = memoryInformer();
    let calls = 0;
    const c = new Controller({
      name: 't3',
      cache: cacheOf(informer),
      registry,
      baseDelayMs: 5,
      reconcile: async () => {
        calls++;
        if (calls === 1) throw new Error('boom');
        if (calls === 2) throw new StatusConflictError('ns/a');
        if (calls === 3) return { requeueAfterMs: 20 };
        return undefined;
      },
    }).watch(informer, objectKey);
    await c.start();
    informer.emit('add', obj('a'));
    await sleep(80);
    assert.equal(calls, 4);
    const text = await registry.metrics();
    assert.match(text, /kruntimes_controller_reconcile_total\{controller="t3",result="error"\} 2/);
    assert.match(text, /kruntimes_controller_reconcile_total\{controller="t3",result="requeue_after"\} 1/);
    assert.match(text, /kruntimes_controller_reconcile_total\{controller="t3",result="success"\} 1/);
    assert.match(text, /kruntimes_controller_reconcile_errors_total\{controller="t3"\} 2/);
    assert.match(text, /kruntimes_controller_queue_depth\{controller="t3"\} 0/);
    await c.stop();
  });
});
