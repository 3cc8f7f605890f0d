import assert from 'node:assert/strict';
import { Annotation, type Run, type Runtime, type Workflow } from '../../lib/api.ts';
import type { BackupContents } from './archive.ts';
import { forBackup, forCreate, referencedSecrets, restoredRunStatus } from './objects.ts';
import { type ClusterState, describeStep, planRestore } from './restore-plan.ts';

const runtime = (name: string, spec: Partial<Runtime['spec']> = {}): Runtime => ({
  apiVersion: 'kruntimes.io/v1alpha1',
  kind: 'Runtime',
  metadata: { name, namespace: 'a', uid: `uid-${name}` },
  spec: { template: { spec: { containers: [{ name: 'runtime', image: 'x' }] } }, ...spec },
});
const run = (name: string, rt: string, extra: Partial<Run> = {}): Run => ({
  apiVersion: 'kruntimes.io/v1alpha1',
  kind: 'Run',
  metadata: { name, namespace: 'a', uid: `uid-${name}`, creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { runtime: rt },
  status: { phase: 'Succeeded', outputs: { k: 'v' }, completionTime: '2026-01-01T00:00:01.000000Z' },
  ...extra,
});
const empty = (over: Partial<ClusterState> = {}): ClusterState => ({
  namespaces: new Set(),
  secrets: new Set(),
  persistentVolumeClaims: new Set(),
  runtimes: new Map(),
  workflows: new Map(),
  runs: new Map(),
  installRecord: false,
  ...over,
});
const backup = (over: Partial<BackupContents>): BackupContents => ({ runtimes: [], runs: [], workflows: [], ...over });
const lines = (b: BackupContents, c: ClusterState) => planRestore(b, c).map(describeStep);

describe('restore plan', () => {
  it("follows the guide's order: namespaces, Secrets, install record, Runtimes, Workflows, Runs", () => {
    const s3 = { bucket: 'b', credentialsSecretRef: { name: 's3' } };
    const b = backup({
      runtimes: [runtime('bash', { artifactStore: { s3 } })],
      runs: [run('r1', 'bash')],
      workflows: [{ metadata: { name: 'w', namespace: 'a', uid: 'wu' }, spec: { tasks: [{ name: 't', run: { runtime: 'bash' } }] } }],
      secrets: [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's3', namespace: 'a' } }],
      installRecord: { version: '0.1.0' },
    });
    assert.deepEqual(lines(b, empty()), [
      'Namespace a: create',
      'Secret a/s3: create',
      'InstallRecord kruntimes-system/kruntimes-install: skip (this platform was not installed with kubectl krt install; the recorded values stay in the archive (install-record.json))',
      'Runtime a/bash: create',
      'Workflow a/w: create',
      'Run a/r1: create',
    ]);
  });

  it('skips Runs whose Runtime or artifact store is missing and says why', () => {
    const b = backup({
      runtimes: [runtime('s3rt', { artifactStore: { s3: { bucket: 'b', credentialsSecretRef: { name: 'creds' } } } }), runtime('fs', { artifactStore: { filesystem: { claimName: 'pvc' } } })],
      runs: [run('gone', 'nope'), run('needs-secret', 's3rt'), run('needs-pvc', 'fs'), run('deleting', 'fs', { metadata: { name: 'deleting', namespace: 'a', deletionTimestamp: '2026-01-01T00:00:00Z' } })],
    });
    assert.deepEqual(lines(b, empty({ namespaces: new Set(['a']) })).slice(1), [
      'Runtime a/fs: create',
      'Runtime a/s3rt: create (its Pods need Secret creds, not in the cluster (back up with --include-secrets, or create them))',
      'Run a/deleting: skip (it was being deleted when the backup was taken)',
      'Run a/gone: skip (its Runtime nope is neither in the cluster nor in the backup)',
      "Run a/needs-pvc: skip (its artifact store's PersistentVolumeClaim pvc is missing (restore the PVC first))",
      "Run a/needs-secret: skip (its artifact store's Secret creds is missing (restore it first, or back up with --include-secrets))",
    ]);
    // With the dependencies present, all of them come back (but the one being deleted).
    const ready = empty({ namespaces: new Set(['a']), secrets: new Set(['a/creds']), persistentVolumeClaims: new Set(['a/pvc']) });
    assert.deepEqual(
      planRestore(b, ready).filter((s) => s.kind === 'Run').map((s) => `${s.name}:${s.action}`),
      ['deleting:skip', 'gone:skip', 'needs-pvc:create', 'needs-secret:create'],
    );
  });

  it("uses the Run's artifact store snapshot over its Runtime's", () => {
    const r = run('r', 'bash');
    r.status!.artifactStore = { s3: { bucket: 'old', credentialsSecretRef: { name: 'old-creds' } } };
    assert.match(lines(backup({ runtimes: [runtime('bash')], runs: [r] }), empty()).at(-1)!, /Secret old-creds is missing/);
  });

  it('is idempotent: what exists is left alone, a changed Runtime updated, a cut-short restore resumed', () => {
    const b = backup({ runtimes: [runtime('bash'), runtime('py')], runs: [run('done', 'bash'), run('half', 'bash')], secrets: [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'a' } }] });
    const changed = runtime('py', { replicas: 3 });
    const half = run('half', 'bash', { metadata: { name: 'half', namespace: 'a', annotations: { [Annotation.Restoring]: 'true' } } });
    const c = empty({
      namespaces: new Set(['a']),
      secrets: new Set(['a/s']),
      runtimes: new Map([['a/bash', runtime('bash')], ['a/py', changed]]),
      runs: new Map([['a/done', run('done', 'bash')], ['a/half', half]]),
    });
    assert.deepEqual(lines(b, c), [
      'Namespace a: unchanged',
      "Secret a/s: unchanged (exists; the cluster's copy is kept)",
      'Runtime a/bash: unchanged',
      'Runtime a/py: update',
      'Run a/done: unchanged (exists; left as it is)',
      'Run a/half: resume (a previous restore created it; giving its status back)',
    ]);
  });

  it('skips a Workflow whose task Runtime is missing, and the Runs it owns', () => {
    const wf: Workflow = { metadata: { name: 'w', namespace: 'a', uid: 'wu' }, spec: { tasks: [{ name: 't', run: { runtime: 'nope' } }] } };
    const child = run('w-t', 'bash', { metadata: { name: 'w-t', namespace: 'a', ownerReferences: [{ apiVersion: 'kruntimes.io/v1alpha1', kind: 'Workflow', name: 'w', uid: 'wu' }] } });
    assert.deepEqual(lines(backup({ runtimes: [runtime('bash')], workflows: [wf], runs: [child] }), empty({ namespaces: new Set(['a']) })).slice(2), [
      'Workflow a/w: skip (the Runtime of a task, nope is neither in the cluster nor in the backup)',
      'Run a/w-t: skip (its Workflow w is not restored)',
    ]);
  });

  const owned = (name: string, wfUid: string, extra: Partial<Run['metadata']> = {}) =>
    run(name, 'bash', {
      metadata: {
        name,
        namespace: 'a',
        uid: `uid-${name}`,
        ownerReferences: [{ apiVersion: 'kruntimes.io/v1alpha1', kind: 'Workflow', name: 'w', uid: wfUid, controller: true }],
        ...extra,
      },
    });
  const workflow: Workflow = {
    metadata: { name: 'w', namespace: 'a', uid: 'wu' },
    spec: { tasks: [{ name: 'x', run: { runtime: 'bash' } }, { name: 'y', run: { runtime: 'bash' } }] },
  };

  it("keeps a Workflow restoring until the child Runs it owns have their status; other Runs don't count", () => {
    const b = backup({
      runtimes: [runtime('bash')],
      workflows: [workflow],
      runs: [owned('w-y', 'wu'), owned('w-x', 'wu'), owned('w-gone', 'wu', { deletionTimestamp: '2026-01-01T00:00:00Z' }), run('other', 'bash')],
    });
    const steps = planRestore(b, empty({ namespaces: new Set(['a']) }));
    const wf = steps.find((s) => s.kind === 'Workflow')!;
    assert.deepEqual(wf.childRuns, ['w-x', 'w-y']);
    assert.equal(wf.heldBy, undefined, 'a Run that was being deleted never comes back and holds nothing');
    assert.deepEqual(
      steps.filter((s) => s.kind === 'Run').map((s) => [s.name, s.action, s.workflow]),
      [['other', 'create', undefined], ['w-gone', 'skip', undefined], ['w-x', 'create', 'w'], ['w-y', 'create', 'w']],
    );
    assert.equal(describeStep(wf), 'Workflow a/w: create (restoring until its 2 child Runs have their status back)');
  });

  it('resumes a cut-short Workflow restore: only the child Runs still to restore are waited for', () => {
    const restoring = { ...workflow, metadata: { ...workflow.metadata, uid: 'new', annotations: { [Annotation.Restoring]: 'true' } } };
    const b = backup({ runtimes: [runtime('bash')], workflows: [workflow], runs: [owned('w-x', 'wu'), owned('w-y', 'wu')] });
    const c = empty({
      namespaces: new Set(['a']),
      runtimes: new Map([['a/bash', runtime('bash')]]),
      workflows: new Map([['a/w', restoring]]),
      runs: new Map([['a/w-x', owned('w-x', 'new')]]),
    });
    const steps = planRestore(b, c);
    assert.deepEqual(steps.find((s) => s.kind === 'Workflow')?.childRuns, ['w-y']);
    assert.deepEqual(lines(b, c).slice(-3), [
      'Workflow a/w: resume (a previous restore created it; giving its status back; restoring until its 1 child Run has its status back)',
      'Run a/w-x: unchanged (exists; left as it is)',
      'Run a/w-y: create',
    ]);
    // A Workflow that exists and is not restoring waits for nothing.
    const live = empty({ ...c, workflows: new Map([['a/w', { ...workflow, metadata: { ...workflow.metadata, uid: 'new' } }]]) });
    assert.equal(planRestore(b, live).find((s) => s.kind === 'Workflow')?.childRuns, undefined);
  });

  it('holds a Workflow restoring while the plan skips a child Run that a later restore can bring back', () => {
    const s3 = runtime('bash', { artifactStore: { s3: { bucket: 'b', credentialsSecretRef: { name: 'creds' } } } });
    const b = backup({ runtimes: [s3], workflows: [workflow], runs: [owned('w-x', 'wu')] });
    const steps = planRestore(b, empty({ namespaces: new Set(['a']) }));
    const wf = steps.find((s) => s.kind === 'Workflow')!;
    assert.deepEqual([wf.childRuns, wf.heldBy], [undefined, ['w-x']]);
    assert.deepEqual(steps.slice(-2).map(describeStep), [
      'Workflow a/w: create (stays restoring, left alone by the controller, until its child Run w-x is restored)',
      "Run a/w-x: skip (its artifact store's Secret creds is missing (restore it first, or back up with --include-secrets); its Workflow w stays restoring until it is restored)",
    ]);
  });
});

describe('backup and restore objects', () => {
  it('backs up everything but managedFields and resourceVersion', () => {
    const r = run('r', 'bash');
    const live = { ...r, metadata: { ...r.metadata, resourceVersion: '7', managedFields: [{}] } };
    assert.deepEqual(forBackup(live), r);
  });

  it('creates without server fields, keeps the original creation time, relinks or drops owners', () => {
    const r = run('r', 'bash', {
      metadata: {
        name: 'r',
        namespace: 'a',
        uid: 'old',
        resourceVersion: '9',
        generation: 2,
        creationTimestamp: '2026-01-01T00:00:00Z',
        labels: { l: 'v' },
        finalizers: ['kruntimes.io/artifact-cleanup'],
        ownerReferences: [
          { apiVersion: 'kruntimes.io/v1alpha1', kind: 'Workflow', name: 'w', uid: 'w-old' },
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'c', uid: 'c-old' },
        ],
      },
    });
    assert.deepEqual(forCreate(r, { ownerUids: new Map([['w-old', 'w-new']]), restoring: true }), {
      apiVersion: 'kruntimes.io/v1alpha1',
      kind: 'Run',
      metadata: {
        name: 'r',
        namespace: 'a',
        labels: { l: 'v' },
        annotations: { [Annotation.OriginalCreationTimestamp]: '2026-01-01T00:00:00Z', [Annotation.Restoring]: 'true' },
        finalizers: ['kruntimes.io/artifact-cleanup'],
        ownerReferences: [{ apiVersion: 'kruntimes.io/v1alpha1', kind: 'Workflow', name: 'w', uid: 'w-new' }],
      },
      spec: { runtime: 'bash' },
    });
    const again = forCreate({ ...r, metadata: { ...r.metadata, creationTimestamp: '2027-01-01T00:00:00Z', annotations: { [Annotation.OriginalCreationTimestamp]: '2026-01-01T00:00:00Z' } } }, { restoring: false });
    assert.deepEqual(again.metadata.annotations, { [Annotation.OriginalCreationTimestamp]: '2026-01-01T00:00:00Z' });
  });

  it('gives finished and waiting Runs their status; an interrupted attempt goes back to Pending', () => {
    const done = run('d', 'bash');
    assert.deepEqual(restoredRunStatus(done), done.status);
    const pending = run('p', 'bash', { status: { phase: 'Pending', reason: 'NoReadyPod', message: 'm' } });
    assert.deepEqual(restoredRunStatus(pending), pending.status);
    const running = run('x', 'bash', {
      status: { phase: 'Running', assignedPod: 'pod-1', assignedPodUID: 'pu', attempt: 1, startTime: 't', scheduledTime: 't', conditions: [] },
    });
    assert.deepEqual(restoredRunStatus(running), {
      phase: 'Pending',
      attempt: 1,
      message: "restored from a backup taken while it was Running on pod pod-1; that attempt's outcome was lost, so it runs again",
    });
  });

  it('finds every Secret a Runtime references', () => {
    const rt = runtime('x', {
      artifactStore: { s3: { bucket: 'b', credentialsSecretRef: { name: 'creds' } } },
      template: {
        spec: {
          imagePullSecrets: [{ name: 'pull' }],
          initContainers: [{ name: 'i', envFrom: [{ secretRef: { name: 'init-env' } }] }],
          containers: [{ name: 'runtime', env: [{ name: 'T', valueFrom: { secretKeyRef: { name: 'token', key: 'k' } } }] }],
          volumes: [{ name: 'v', secret: { secretName: 'vol' } }, { name: 'p', projected: { sources: [{ secret: { name: 'proj' } }] } }],
        },
      },
    });
    assert.deepEqual(referencedSecrets(rt), ['creds', 'init-env', 'proj', 'pull', 'token', 'vol']);
  });
});
