import assert from 'node:assert/strict';
import { ArtifactCleanupCondition, type ArtifactStoreSpec, Finalizer, type Run } from '../../lib/api.ts';
import { blockedCondition, canRetire, cleanupSecret, cleanupStore, decideRun, planCleanup, unmountedClaimPlan } from './decide.ts';

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

describe('planCleanup: which store, PVC and credentials a deleted Run\'s cleanup uses', () => {
  const refs = [{ name: 'a', key: 'k', size: 1, digest: 'd' }];
  const run = (snapshot?: ArtifactStoreSpec): Run => ({
    metadata: { name: 'r', namespace: 'ns', uid: 'u' },
    spec: { runtime: 'rt' },
    status: { artifactRefs: refs, ...(snapshot ? { artifactStore: snapshot } : {}) },
  });
  const s3 = (secret: string): ArtifactStoreSpec => ({ s3: { bucket: 'b', credentialsSecretRef: { name: secret } } });
  const env = {
    configured: s3('s3-new'),
    mount: '/mnt/current',
    mounts: {
      claims: { old: '/claims/old' },
      secrets: { 's3-new': '/creds/s3-new', 's3-old': '/creds/s3-old' },
    },
  };
  const R = ArtifactCleanupCondition.Reason;

  it('uses the Secret the snapshot names, not the Runtime\'s current one', () => {
    assert.equal(cleanupSecret(s3('s3-old'), s3('s3-new')), 's3-old');
    assert.deepEqual(planCleanup(run(s3('s3-old')), env), {
      action: 'delete',
      store: s3('s3-old'),
      from: 'snapshot',
      secret: { name: 's3-old', dir: '/creds/s3-old' },
    });
  });

  it('falls back to the Runtime\'s Secret when the snapshot names none, and to its store without a snapshot', () => {
    const bare = { s3: { bucket: 'b' } } as ArtifactStoreSpec;
    assert.equal(cleanupSecret(bare, s3('s3-new')), 's3-new');
    assert.equal(cleanupSecret(bare, undefined), undefined);
    assert.deepEqual(planCleanup(run(bare), env), { action: 'delete', store: bare, from: 'snapshot', secret: { name: 's3-new', dir: '/creds/s3-new' } });
    assert.deepEqual(planCleanup(run(), env), { action: 'delete', store: s3('s3-new'), from: 'runtime', secret: { name: 's3-new', dir: '/creds/s3-new' } });
  });

  it('waits for a Secret the maintainer has not mounted yet; the Runtime\'s own may come from env', () => {
    const plan = planCleanup(run(s3('s3-other')), env);
    assert.equal(plan.action, 'blocked');
    assert.equal(plan.action === 'blocked' && plan.reason, R.SecretNotMounted);
    const legacy = { configured: s3('s3-new'), mount: '/mnt/current' };
    assert.deepEqual(planCleanup(run(s3('s3-new')), legacy), { action: 'delete', store: s3('s3-new'), from: 'snapshot', secret: { name: 's3-new', dir: undefined } });
  });

  it('deletes on the Runtime\'s PVC or a retained one it has mounted, and says so when the PVC is not mounted', () => {
    const fsEnv = { ...env, configured: { filesystem: { claimName: 'new' } } };
    const on = (claimName: string) => ({ filesystem: { claimName } });
    assert.deepEqual(planCleanup(run(on('new')), fsEnv), { action: 'delete', store: on('new'), from: 'snapshot' });
    assert.deepEqual(planCleanup(run(on('old')), fsEnv), { action: 'delete', store: on('old'), from: 'snapshot' });
    const plan = planCleanup(run(on('gone')), fsEnv);
    assert.equal(plan.action === 'blocked' && plan.reason, R.ClaimNotMounted);
    assert.match(plan.action === 'blocked' ? plan.message : '', /PersistentVolumeClaim gone/);
  });

  it('releases a Run whose unmounted PVC no longer exists, and waits while it exists or is being deleted', () => {
    assert.deepEqual(unmountedClaimPlan('gone', undefined), { action: 'release' });
    const deleting = unmountedClaimPlan('old', { metadata: { deletionTimestamp: '2026-01-01T00:00:00Z' } });
    assert.equal(deleting.action === 'blocked' && deleting.reason, R.ClaimNotMounted);
    assert.match(deleting.action === 'blocked' ? deleting.message : '', /PersistentVolumeClaim old is being deleted/);
    const there = unmountedClaimPlan('old', { metadata: {} });
    assert.match(there.action === 'blocked' ? there.message : '', /does not have PersistentVolumeClaim old mounted/);
  });

  it('releases a Run that stored nothing', () => {
    assert.deepEqual(planCleanup({ ...run(), status: {} }, env), { action: 'release' });
  });

  it('writes the blocked condition only when its reason or message changes', () => {
    const c = blockedCondition(run(), R.SecretNotFound, 'm')!;
    assert.deepEqual(c, { type: ArtifactCleanupCondition.Type, status: 'False', reason: R.SecretNotFound, message: 'm' });
    const held = { ...run(), status: { conditions: [{ ...c, lastTransitionTime: '2026-01-01T00:00:00Z' }] } };
    assert.equal(blockedCondition(held, R.SecretNotFound, 'm'), undefined);
    assert.equal(blockedCondition(held, R.StoreError, 'm')?.reason, R.StoreError);
  });
});
