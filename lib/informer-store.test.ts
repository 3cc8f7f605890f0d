import assert from 'node:assert/strict';
import { InformerStore } from './informer-store.ts';

const obj = (name: string, resourceVersion: string, namespace = 'ns') => ({ metadata: { name, namespace, resourceVersion } });

describe('InformerStore', () => {
  it('adds a new object, updates a new version of it and ignores the version it holds', () => {
    const store = new InformerStore<ReturnType<typeof obj>>();
    assert.deepEqual(store.addOrUpdate(obj('a', '1')), { type: 'add', object: obj('a', '1') });
    assert.equal(store.addOrUpdate(obj('a', '1')), undefined);
    assert.deepEqual(store.addOrUpdate(obj('a', '2')), { type: 'update', object: obj('a', '2') });
    assert.deepEqual(store.get('a', 'ns'), obj('a', '2'));
    assert.equal(store.get('a', 'other'), undefined);
  });
  it('keeps objects by namespace; cluster-scoped ones under no namespace', () => {
    const store = new InformerStore<{ metadata: { name: string; namespace?: string; resourceVersion: string } }>();
    store.addOrUpdate(obj('a', '1', 'x'));
    store.addOrUpdate(obj('a', '2', 'y'));
    store.addOrUpdate({ metadata: { name: 'node-1', resourceVersion: '3' } });
    assert.deepEqual(store.list('x'), [obj('a', '1', 'x')]);
    assert.equal(store.list().length, 3);
    assert.equal(store.get('node-1')?.metadata.resourceVersion, '3');
    assert.deepEqual(store.list('none'), []);
  });
  it('deletes what it holds only', () => {
    const store = new InformerStore<ReturnType<typeof obj>>();
    store.addOrUpdate(obj('a', '1'));
    assert.deepEqual(store.delete(obj('a', '5')), { type: 'delete', object: obj('a', '5') });
    assert.equal(store.delete(obj('a', '5')), undefined);
    assert.deepEqual(store.list(), []);
  });
  it('on a relist deletes what is gone (as last held), then adds and updates what changed', () => {
    const store = new InformerStore<ReturnType<typeof obj>>();
    store.replace([obj('a', '1'), obj('b', '1'), obj('c', '1', 'other')]);
    const events = store.replace([obj('a', '1'), obj('b', '2'), obj('d', '3')]);
    assert.deepEqual(
      events.map((e) => [e.type, e.object.metadata.namespace, e.object.metadata.name, e.object.metadata.resourceVersion]),
      [
        ['delete', 'other', 'c', '1'],
        ['update', 'ns', 'b', '2'],
        ['add', 'ns', 'd', '3'],
      ],
    );
    assert.deepEqual(store.list().map((o) => o.metadata.name).sort(), ['a', 'b', 'd']);
  });
});
