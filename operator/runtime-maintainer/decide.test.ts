import assert from 'node:assert/strict';
import { Finalizer, type Run } from '../../lib/api.ts';
import { canRetire, decideRun } from './decide.ts';

const run = (o: { runtime?: string; deleted?: boolean; finalizer?: boolean } = {}): Run => ({
  metadata: {
    name: 'r',
    namespace: 'ns',
    uid: 'u',
    ...(o.deleted ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    ...(o.finalizer === false ? {} : { finalizers: ['other', Finalizer.ArtifactCleanup] }),
  },
  spec: { runtime: o.runtime ?? 'py' },
});

describe('runtime maintainer decisions', () => {
  it('cleans up only deleted Runs of its Runtime that hold the finalizer', () => {
    assert.equal(decideRun(run({ deleted: true }), 'py'), 'cleanup');
    assert.equal(decideRun(run(), 'py'), 'none');
    assert.equal(decideRun(run({ deleted: true, finalizer: false }), 'py'), 'none');
    assert.equal(decideRun(run({ deleted: true, runtime: 'bash' }), 'py'), 'none');
  });

  it('retires only when the Runtime is gone or has no store, and no Run of it holds the finalizer', () => {
    assert.equal(canRetire({ runtimeHasStore: true, runs: [], runtimeName: 'py' }), false);
    assert.equal(canRetire({ runtimeHasStore: false, runs: [run()], runtimeName: 'py' }), false);
    assert.equal(canRetire({ runtimeHasStore: false, runs: [run({ runtime: 'bash' })], runtimeName: 'py' }), true);
    assert.equal(canRetire({ runtimeHasStore: false, runs: [run({ finalizer: false })], runtimeName: 'py' }), true);
  });
});
