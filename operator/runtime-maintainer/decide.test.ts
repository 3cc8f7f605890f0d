import assert from 'node:assert/strict';
import { Finalizer, type Run } from '../../lib/api.ts';
import { canRetire, cleanupStore, decideRun } from './decide.ts';

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

describe('cleanupStore', () => {
  const s3 = { s3: { bucket: 'b', credentialsSecretRef: { name: 'c' } } };
  const fs = { filesystem: { claimName: 'pvc' } };
  const refs = [{ name: 'a', key: 'k', size: 1, digest: 'd' }];
  const run = (snapshot?: object, artifactRefs: object[] = refs) =>
    ({ metadata: { name: 'r' }, spec: { runtime: 'rt' }, status: { artifactRefs, ...(snapshot ? { artifactStore: snapshot } : {}) } }) as never;
  it('uses the Run\'s snapshot when it has one, whatever the Runtime has now', () => {
    assert.deepEqual(cleanupStore(run(fs), s3), { store: fs, from: 'snapshot' });
  });
  it('falls back to the Runtime\'s store for a Run from before snapshots', () => {
    assert.deepEqual(cleanupStore(run(), s3), { store: s3, from: 'runtime' });
  });
  it('has nothing to clean without either, or when an upload stored nothing (no snapshot, no refs)', () => {
    assert.equal(cleanupStore(run(), undefined), undefined);
    assert.equal(cleanupStore(run(undefined, []), s3), undefined);
  });
});
