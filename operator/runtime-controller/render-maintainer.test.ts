import assert from 'node:assert/strict';
import { Component, Label, type Runtime, RUNTIME_CONTAINER, RUNTIMED_CONTAINER } from '../../lib/api.ts';
import { ARTIFACT_MOUNT, StoreEnv } from '../../lib/artifact-store/open-store.ts';
import { renderRuntimeObjects } from './render.ts';
import { maintainerName } from './render-maintainer.ts';

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
    assert.deepEqual(ref(podSpec(objs, Component.RuntimeMaintainer), 'maintainer'), {
      name: 's3-creds',
      key: 'AWS_ACCESS_KEY_ID',
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
