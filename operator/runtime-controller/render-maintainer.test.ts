import assert from 'node:assert/strict';
import { type ArtifactStoreSpec, Component, Finalizer, Label, type Run, type Runtime, RUNTIME_CONTAINER, RUNTIMED_CONTAINER } from '../../lib/api.ts';
import { ARTIFACT_MOUNT, CREDENTIALS_MOUNT, RETAINED_CLAIMS_MOUNT, StoreEnv } from '../../lib/artifact-store/open-store.ts';
import { renderRuntimeObjects } from './render.ts';
import { maintainerName, namesOtherStore, retainedStores } from './render-maintainer.ts';

const config = {
  runtimedImage: 'kruntimes-runtimed:0.1.0',
  platformNamespace: 'kruntimes-system',
  maintainerImage: 'kruntimes-operator:0.1.0',
};
const runtime = (artifactStore?: Runtime['spec']['artifactStore']): Runtime => ({
  metadata: { name: 'py', namespace: 'team', uid: 'rt-uid' },
  spec: {
    template: { spec: { containers: [{ name: 'runtime', image: 'kruntimes-python-runtime:latest' }] } },
    artifactStore,
  },
});
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test inspects manifests
type Obj = Record<string, any>;
const podSpec = (objs: Obj[], component: string) =>
  objs.find((o) => o.kind === 'Deployment' && o.metadata.labels[Label.Component] === component)?.spec.template.spec;
const container = (spec: Obj, name: string) => spec.containers.find((c: Obj) => c.name === name);

describe('artifact store rendering', () => {
  it('renders no maintainer and no store env without a store', () => {
    const objs = renderRuntimeObjects(runtime(), config);
    assert.equal(podSpec(objs, Component.RuntimeMaintainer), undefined);
    const runtimed = container(podSpec(objs, 'runtime'), RUNTIMED_CONTAINER);
    assert.equal(runtimed.env.some((e: Obj) => e.name === StoreEnv.Spec), false);
  });

  it('mounts a filesystem store into runtimed and the maintainer only', () => {
    const store = { filesystem: { claimName: 'artifacts', subPath: 'runs' } };
    const objs = renderRuntimeObjects(runtime(store), config);
    const pod = podSpec(objs, 'runtime');
    assert.deepEqual(
      pod.volumes.find((v: Obj) => v.name === 'kruntimes-artifacts'),
      { name: 'kruntimes-artifacts', persistentVolumeClaim: { claimName: 'artifacts' } },
    );
    assert.deepEqual(container(pod, RUNTIMED_CONTAINER).volumeMounts.at(-1), {
      name: 'kruntimes-artifacts',
      mountPath: ARTIFACT_MOUNT,
    });
    assert.equal(
      container(pod, RUNTIME_CONTAINER).volumeMounts.some((m: Obj) => m.name === 'kruntimes-artifacts'),
      false,
    );
    assert.equal(container(pod, RUNTIME_CONTAINER).env.some((e: Obj) => e.name === StoreEnv.Spec), false);
    const m = podSpec(objs, Component.RuntimeMaintainer);
    assert.deepEqual(m.containers[0].args, ['maintainer']);
    assert.equal(m.containers[0].image, 'kruntimes-operator:0.1.0');
    assert.deepEqual(m.containers[0].volumeMounts, [{ name: 'kruntimes-artifacts', mountPath: ARTIFACT_MOUNT }]);
    assert.equal(m.containers[0].env.find((e: Obj) => e.name === StoreEnv.Spec).value, JSON.stringify(store));
  });

  it('passes S3 credentials from the Secret to runtimed and the maintainer only', () => {
    const store = { s3: { bucket: 'b', endpoint: 'http://s3:9000', credentialsSecretRef: { name: 's3-creds' } } };
    const objs = renderRuntimeObjects(runtime(store), config);
    const pod = podSpec(objs, 'runtime');
    const ref = (spec: Obj, c: string) =>
      container(spec, c).env.find((e: Obj) => e.name === StoreEnv.AccessKeyId)?.valueFrom.secretKeyRef;
    assert.deepEqual(ref(pod, RUNTIMED_CONTAINER), { name: 's3-creds', key: 'AWS_ACCESS_KEY_ID' });
    assert.equal(ref(pod, RUNTIME_CONTAINER), undefined);
    // The maintainer reads them from the Secret mounted as an optional volume instead, so a Secret
    // that is gone does not keep it from starting (the Run says why its cleanup waits).
    const m = podSpec(objs, Component.RuntimeMaintainer);
    assert.equal(ref(m, 'maintainer'), undefined);
    const vol = m.volumes.find((v: Obj) => v.secret);
    assert.deepEqual(vol.secret, { secretName: 's3-creds', optional: true });
    assert.deepEqual(container(m, 'maintainer').volumeMounts, [
      { name: vol.name, mountPath: `${CREDENTIALS_MOUNT}/s3-creds`, readOnly: true },
    ]);
    assert.deepEqual(JSON.parse(container(m, 'maintainer').env.find((e: Obj) => e.name === StoreEnv.Mounts).value), {
      claims: {},
      secrets: { 's3-creds': `${CREDENTIALS_MOUNT}/s3-creds` },
    });
    assert.equal(pod.volumes.some((v: Obj) => v.name === 'kruntimes-artifacts'), false);
  });

  it('never lets the Runtime own the maintainer, so it outlives the Runtime', () => {
    const objs = renderRuntimeObjects(runtime({ filesystem: { claimName: 'a' } }), config);
    const maintainer = objs.filter((o) => o.metadata.labels[Label.Component] === Component.RuntimeMaintainer);
    assert.deepEqual(
      maintainer.map((o) => `${o.kind}/${o.metadata.name}`),
      ['Deployment', 'ServiceAccount', 'Role', 'RoleBinding'].map((k) => `${k}/${maintainerName('py')}`),
    );
    for (const o of maintainer) assert.equal(o.metadata.ownerReferences, undefined, o.kind);
    const role = maintainer.find((o) => o.kind === 'Role')!;
    assert.deepEqual(role.rules.at(-1), {
      apiGroups: ['apps'],
      resources: ['deployments'],
      resourceNames: [maintainerName('py')],
      verbs: ['get', 'delete'],
    });
  });
});

describe('stores the maintainer keeps mounted for Runs of earlier configurations', () => {
  const fsRuntime = runtime({ filesystem: { claimName: 'new', subPath: 'runs' } });
  const s3Runtime = runtime({ s3: { bucket: 'b', credentialsSecretRef: { name: 's3-new' } } });
  type RunOptions = { finalizer?: boolean; runtime?: string; namespace?: string };
  const run = (snapshot: ArtifactStoreSpec | undefined, o: RunOptions = {}): Run => ({
    metadata: {
      name: 'r',
      namespace: o.namespace ?? 'team',
      ...(o.finalizer === false ? {} : { finalizers: [Finalizer.ArtifactCleanup] }),
    },
    spec: { runtime: o.runtime ?? 'py' },
    status: { artifactStore: snapshot },
  });

  it('retains the PVCs and Secrets that snapshots of Runs holding the finalizer name and the Runtime does not', () => {
    const runs = [
      run({ filesystem: { claimName: 'old' } }),
      run({ filesystem: { claimName: 'old', subPath: 'x' } }),
      run({ filesystem: { claimName: 'older' } }),
      run({ filesystem: { claimName: 'new' } }),
      run({ filesystem: { claimName: 'cleaned' } }, { finalizer: false }),
      run({ filesystem: { claimName: 'other-runtime' } }, { runtime: 'bash' }),
      run({ filesystem: { claimName: 'other-namespace' } }, { namespace: 'elsewhere' }),
      run({ s3: { bucket: 'b', credentialsSecretRef: { name: 's3-old' } } }),
    ];
    assert.deepEqual(retainedStores(fsRuntime, runs), { claims: ['old', 'older'], secrets: ['s3-old'] });
    assert.deepEqual(retainedStores(s3Runtime, runs), { claims: ['new', 'old', 'older'], secrets: ['s3-old'] });
    assert.deepEqual(
      retainedStores(s3Runtime, [run({ s3: { bucket: 'b', credentialsSecretRef: { name: 's3-new' } } })]),
      { claims: [], secrets: [] },
    );
  });

  it('enqueues the Runtime only for Runs whose snapshot names a store it does not use', () => {
    assert.equal(namesOtherStore(run({ filesystem: { claimName: 'new' } }), fsRuntime), false);
    assert.equal(namesOtherStore(run({ filesystem: { claimName: 'old' } }), fsRuntime), true);
    assert.equal(namesOtherStore(run({ filesystem: { claimName: 'new' } }), s3Runtime), true);
    assert.equal(namesOtherStore(run({ s3: { bucket: 'b', credentialsSecretRef: { name: 's3-new' } } }), s3Runtime), false);
    assert.equal(namesOtherStore(run({ s3: { bucket: 'b', credentialsSecretRef: { name: 's3-old' } } }), s3Runtime), true);
    assert.equal(namesOtherStore({ ...run(undefined), status: {} }, fsRuntime), false);
  });

  it('mounts each retained PVC and every credentials Secret, listed in the maintainer\'s env', () => {
    const objs = renderRuntimeObjects(fsRuntime, config, { claims: ['old'], secrets: ['s3-old'] });
    const m = podSpec(objs, Component.RuntimeMaintainer);
    const c = container(m, 'maintainer');
    const claim = m.volumes.find((v: Obj) => v.persistentVolumeClaim?.claimName === 'old');
    const secret = m.volumes.find((v: Obj) => v.secret?.secretName === 's3-old');
    assert.match(claim.name, /^store-claim-[0-9a-f]{12}$/);
    assert.deepEqual(secret.secret, { secretName: 's3-old', optional: true });
    assert.deepEqual(c.volumeMounts, [
      { name: 'kruntimes-artifacts', mountPath: ARTIFACT_MOUNT },
      { name: claim.name, mountPath: `${RETAINED_CLAIMS_MOUNT}/old` },
      { name: secret.name, mountPath: `${CREDENTIALS_MOUNT}/s3-old`, readOnly: true },
    ]);
    assert.deepEqual(JSON.parse(c.env.find((e: Obj) => e.name === StoreEnv.Mounts).value), {
      claims: { old: `${RETAINED_CLAIMS_MOUNT}/old` },
      secrets: { 's3-old': `${CREDENTIALS_MOUNT}/s3-old` },
    });
    // runtimed never gets them: only the maintainer deletes from earlier stores.
    const pod = podSpec(objs, 'runtime');
    assert.equal(pod.volumes.some((v: Obj) => v.persistentVolumeClaim?.claimName === 'old' || v.secret), false);
    // Nothing retained, nothing extra (and no env to restart the maintainer for).
    const plain = container(podSpec(renderRuntimeObjects(fsRuntime, config), Component.RuntimeMaintainer), 'maintainer');
    assert.equal(plain.env.some((e: Obj) => e.name === StoreEnv.Mounts), false);
  });

  it('lets the maintainer write the Run\'s ArtifactCleanup condition', () => {
    const role = renderRuntimeObjects(fsRuntime, config).find(
      (o) => o.kind === 'Role' && o.metadata.labels[Label.Component] === Component.RuntimeMaintainer,
    )!;
    assert.ok(role.rules.some((r: Obj) => r.resources.includes('runs/status') && r.verbs.includes('patch')));
  });
});
