import assert from 'node:assert/strict';
import type { Runtime } from '../../lib/api.ts';
import { applyFailedStatus, decideRuntime, indexObserved, objectId } from './decide.ts';
import { renderRuntimeObjects } from './render.ts';

const config = {
  runtimedImage: 'kruntimes-runtimed:0.1.0',
  platformNamespace: 'kruntimes-system',
  maintainerImage: 'kruntimes-operator:0.1.0',
};
const runtime = (over: Partial<Runtime['spec']> = {}): Runtime => ({
  metadata: { name: 'bash', namespace: 'team', uid: 'rt-uid', generation: 1 },
  spec: {
    replicas: 2,
    capacity: { resources: { runs: 4 } },
    template: {
      metadata: { labels: { runtime: 'bash', team: 'a' } },
      spec: {
        containers: [
          { name: 'runtime', image: 'kruntimes-bash-runtime:latest', ports: [{ containerPort: 19091 }] },
        ],
      },
    },
    ...over,
  },
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test inspects manifests
const byKind = (objs: any[], kind: string) => objs.find((o) => o.kind === kind);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test edits manifests
const asObserved = (objs: any[]) => new Map(objs.map((o) => [objectId(o), structuredClone(o)]));
const kinds = (objs: Array<{ kind?: string }>) => objs.map((o) => o.kind);

describe('Runtime rendering', () => {
  it('renders SA, Role, RoleBinding, NetworkPolicy and the Deployment, all owned by the Runtime', () => {
    const objs = renderRuntimeObjects(runtime(), config);
    assert.deepEqual(
      objs.map((o) => o.kind),
      ['ServiceAccount', 'Role', 'RoleBinding', 'NetworkPolicy', 'Deployment'],
    );
    for (const o of objs) {
      assert.equal(o.metadata.namespace, 'team');
      assert.deepEqual(o.metadata.ownerReferences[0], {
        apiVersion: 'kruntimes.io/v1alpha1',
        kind: 'Runtime',
        name: 'bash',
        uid: 'rt-uid',
        controller: true,
        blockOwnerDeletion: true,
      });
    }
  });
  it('injects runtimed, the workspace volume, labels and the capacity annotation', () => {
    const dep = byKind(renderRuntimeObjects(runtime(), config), 'Deployment');
    assert.equal(dep.metadata.name, 'runtime-bash');
    assert.equal(dep.spec.replicas, 2);
    const tpl = dep.spec.template;
    assert.equal(tpl.metadata.labels.runtime, 'bash');
    assert.equal(tpl.metadata.labels.team, 'a');
    assert.equal(tpl.metadata.annotations['kruntimes.io/capacity.runs'], '4');
    const [rt, rd] = tpl.spec.containers;
    assert.equal(rt.name, 'runtime');
    assert.equal(rd.name, 'runtimed');
    assert.equal(rd.image, 'kruntimes-runtimed:0.1.0');
    assert.deepEqual(rt.volumeMounts, [{ name: 'kruntimes-workspace', mountPath: '/workspace' }]);
    assert.ok(rd.volumeMounts.some((m: { mountPath: string }) => m.mountPath === '/workspace'));
    assert.ok(
      rd.env.some(
        (e: { name: string; value?: string }) =>
          e.name === 'KRUNTIME_SERVER_ADDR' && e.value === '127.0.0.1:19091',
      ),
    );
    assert.equal(tpl.spec.serviceAccountName, 'runtime-bash');
    // Only runtimed gets API credentials.
    assert.equal(tpl.spec.automountServiceAccountToken, false);
    assert.ok(
      rd.volumeMounts.some(
        (m: { mountPath: string }) => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount',
      ),
    );
    assert.ok(
      !rt.volumeMounts.some((m: { mountPath: string }) => m.mountPath.startsWith('/var/run/secrets')),
    );
  });
  it('uses spec.daemonImage and a user serviceAccountName (binding runtimed rights to it)', () => {
    const rt = runtime({ daemonImage: 'my/runtimed:1' });
    rt.spec.template.spec.serviceAccountName = 'workload';
    const objs = renderRuntimeObjects(rt, config);
    assert.equal(byKind(objs, 'ServiceAccount'), undefined);
    assert.deepEqual(byKind(objs, 'RoleBinding').subjects, [
      { kind: 'ServiceAccount', name: 'workload', namespace: 'team' },
    ]);
    const dep = byKind(objs, 'Deployment');
    assert.equal(dep.spec.template.spec.serviceAccountName, 'workload');
    assert.equal(dep.spec.template.spec.containers[1].image, 'my/runtimed:1');
  });
  it('mounts spec.git.caBundleRef into runtimed only and points GIT_SSL_CAINFO at it', () => {
    const dep = byKind(renderRuntimeObjects(runtime({ git: { caBundleRef: { name: 'corp-ca', key: 'bundle.pem' } } }), config), 'Deployment');
    const [server, runtimed] = dep.spec.template.spec.containers;
    assert.deepEqual(
      dep.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'kruntimes-git-ca'),
      { name: 'kruntimes-git-ca', configMap: { name: 'corp-ca', items: [{ key: 'bundle.pem', path: 'ca.crt' }] } },
    );
    assert.deepEqual(
      runtimed.volumeMounts.find((m: { name: string }) => m.name === 'kruntimes-git-ca'),
      { name: 'kruntimes-git-ca', mountPath: '/etc/kruntimes/git-ca', readOnly: true },
    );
    assert.deepEqual(
      runtimed.env.find((e: { name: string }) => e.name === 'GIT_SSL_CAINFO'),
      { name: 'GIT_SSL_CAINFO', value: '/etc/kruntimes/git-ca/ca.crt' },
    );
    assert.equal(server.volumeMounts.some((m: { name: string }) => m.name === 'kruntimes-git-ca'), false);
    const plain = byKind(renderRuntimeObjects(runtime(), config), 'Deployment');
    assert.equal(plain.spec.template.spec.containers[1].env.some((e: { name: string }) => e.name === 'GIT_SSL_CAINFO'), false);
  });
  it('grants runtimed exactly what it needs', () => {
    const role = byKind(renderRuntimeObjects(runtime(), config), 'Role');
    assert.deepEqual(
      role.rules.map((r: { resources: string[]; verbs: string[] }) => `${r.resources}:${r.verbs}`),
      [
        'runs:get,list,watch,patch',
        'runs/status:get,patch,update',
        'pods:get',
        'pods/status:patch',
        'events:create,patch',
      ],
    );
  });
  it("denies ingress except the platform namespace on runtimed's port", () => {
    const np = byKind(renderRuntimeObjects(runtime(), config), 'NetworkPolicy');
    assert.deepEqual(np.spec.podSelector, { matchLabels: { runtime: 'bash' } });
    assert.deepEqual(np.spec.ingress[0].ports, [{ protocol: 'TCP', port: 19092 }]);
  });
  it("dials the runtime container's declared port", () => {
    const rt = runtime();
    rt.spec.template.spec.containers[0].ports = [{ containerPort: 50051 }];
    const dep = byKind(renderRuntimeObjects(rt, config), 'Deployment');
    const env = dep.spec.template.spec.containers[1].env.find(
      (e: { name: string }) => e.name === 'KRUNTIME_SERVER_ADDR',
    );
    assert.equal(env.value, '127.0.0.1:50051');
    assert.deepEqual(dep.spec.template.spec.containers[0].env, [{ name: 'KRUNTIME_PORT', value: '50051' }]);
  });
});

describe('Runtime controller decide', () => {
  it('applies when the Deployment is missing, then not again once the hash matches', () => {
    const first = decideRuntime({ runtime: runtime(), config, now: 't' });
    assert.equal(first.apply.length, 5);
    assert.equal(first.status?.conditions?.[0].reason, 'Creating');
    const observed = asObserved(first.apply);
    observed.get('Deployment/runtime-bash')!.status = { replicas: 2, readyReplicas: 2 };
    const again = decideRuntime({ runtime: runtime(), observed, config, now: 't' });
    assert.deepEqual(again.apply, []);
    assert.equal(again.status?.readyReplicas, 2);
    assert.deepEqual(
      [again.status?.conditions?.[0].status, again.status?.conditions?.[0].message],
      ['True', '2/2 Runtime Pods ready'],
    );
  });
  it('puts back a deleted or edited object, and only that one', () => {
    const observed = asObserved(decideRuntime({ runtime: runtime(), config }).apply);
    observed.delete('NetworkPolicy/runtime-bash');
    assert.deepEqual(kinds(decideRuntime({ runtime: runtime(), observed, config }).apply), ['NetworkPolicy']);

    const edited = asObserved(decideRuntime({ runtime: runtime(), config }).apply);
    edited.get('Role/runtime-bash-runtimed')!.rules.push({ apiGroups: [''], resources: ['secrets'], verbs: ['get'] });
    edited.get('NetworkPolicy/runtime-bash')!.spec.ingress = [{}];
    assert.deepEqual(kinds(decideRuntime({ runtime: runtime(), observed: edited, config }).apply), ['Role', 'NetworkPolicy']);

    const relabelled = asObserved(decideRuntime({ runtime: runtime(), config }).apply);
    relabelled.get('ServiceAccount/runtime-bash')!.metadata.labels.runtime = 'other';
    assert.deepEqual(kinds(decideRuntime({ runtime: runtime(), observed: relabelled, config }).apply), ['ServiceAccount']);
  });
  it('indexes cached lists by their kind (list items carry none) and by the runtime label', () => {
    const applied = decideRuntime({ runtime: runtime(), config }).apply;
    const lists = ['ServiceAccount', 'Role', 'RoleBinding', 'NetworkPolicy', 'Deployment'].map((kind) => {
      const items = applied.filter((o) => o.kind === kind).map(({ kind: _k, ...rest }) => structuredClone(rest));
      items.push({ metadata: { name: 'other', labels: { runtime: 'python' } } });
      return [kind, items] as const;
    });
    const observed = indexObserved(lists, 'bash');
    assert.equal(observed.size, 5);
    const dep = observed.get('Deployment/runtime-bash')!;
    dep.status = { replicas: 2, readyReplicas: 2 };
    const d = decideRuntime({ runtime: runtime(), observed, config });
    assert.deepEqual(d.apply, []);
    assert.equal(d.status?.conditions?.[0].status, 'True');
  });
  it('shows why the Deployment cannot create pods (quota, a missing ServiceAccount) on Ready', () => {
    const observed = asObserved(decideRuntime({ runtime: runtime(), config }).apply);
    observed.get('Deployment/runtime-bash')!.status = {
      replicas: 0,
      conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'pods "x" is forbidden: exceeded quota: q' }],
    };
    const ready = decideRuntime({ runtime: runtime(), observed, config }).status?.conditions?.[0];
    assert.deepEqual([ready?.status, ready?.reason, ready?.message], [
      'False',
      'FailedCreate',
      'Deployment runtime-bash cannot create pods: pods "x" is forbidden: exceeded quota: q',
    ]);
  });
  it('an object the apiserver refuses makes Ready False with its reason and message, once', () => {
    const status = applyFailedStatus({
      runtime: runtime(),
      object: { kind: 'Deployment', metadata: { name: 'runtime-bash' } },
      reason: 'Invalid',
      message: 'Deployment.apps "runtime-bash" is invalid: spec.template.spec.containers[0].image: Required value',
      now: 't',
    });
    assert.deepEqual(status?.conditions?.map((c) => [c.type, c.status, c.reason, c.message]), [
      [
        'Ready',
        'False',
        'Invalid',
        'the Runtime controller cannot apply Deployment/runtime-bash: Deployment.apps "runtime-bash" is invalid: spec.template.spec.containers[0].image: Required value',
      ],
    ]);
    const rt = runtime();
    rt.status = status;
    assert.equal(
      applyFailedStatus({ runtime: rt, object: { kind: 'Deployment', metadata: { name: 'runtime-bash' } }, reason: 'Invalid', message: status!.conditions![0].message!.replace(/^.*?: /, '') }),
      undefined,
    );
    const odd = applyFailedStatus({ runtime: runtime(), object: { kind: 'Role', metadata: { name: 'r' } }, reason: '403', message: 'no' });
    assert.equal(odd?.conditions?.[0].reason, 'ApplyFailed', 'a reason the CRD pattern would refuse is replaced');
  });
  it('ignores what the apiserver adds (defaults, status, managed fields)', () => {
    const observed = asObserved(decideRuntime({ runtime: runtime(), config }).apply);
    const dep = observed.get('Deployment/runtime-bash')!;
    dep.metadata.uid = 'u';
    dep.metadata.managedFields = [{}];
    dep.spec.progressDeadlineSeconds = 600;
    dep.spec.template.spec.containers[0].imagePullPolicy = 'IfNotPresent';
    dep.status = { replicas: 2 };
    assert.deepEqual(decideRuntime({ runtime: runtime(), observed, config }).apply, []);
  });
  it('applies everything again when the Runtime changes', () => {
    const observed = asObserved(decideRuntime({ runtime: runtime(), config }).apply);
    assert.deepEqual(kinds(decideRuntime({ runtime: runtime({ replicas: 3 }), observed, config }).apply), ['Deployment']);
  });
  it('writes no status when nothing changed', () => {
    const first = decideRuntime({ runtime: runtime(), config, now: 't' });
    const rt = runtime();
    rt.status = first.status;
    assert.equal(decideRuntime({ runtime: rt, config, now: 't2' }).status, undefined);
  });
});
