// The securityContexts of the pods the Runtime controller renders: runtimed restricted and as its own
// uid, its private volumes, the pod defaults under the template's own values, spec.runtimed, and
// the maintainer pod with the chart's maintainer settings.
import assert from 'node:assert/strict';
import type { Runtime } from '../../lib/api.ts';
import { emptyPodSettings, MAINTAINER_POD_ENV, parsePodSettings, RUNTIMED_UID } from '../../lib/pod-security.ts';
import { restrictedViolations } from '../../test/support/pod-security-check.ts';
import { renderRuntimeObjects } from './render.ts';

const config = { runtimedImage: 'kruntimes-runtimed:0.1.0', platformNamespace: 'kruntimes-system', maintainerImage: 'kruntimes-operator:0.1.0' };
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test inspects manifests
type Obj = Record<string, any>;
const runtime = (podSpec: Obj = {}, over: Partial<Runtime['spec']> = {}): Runtime => ({
  metadata: { name: 'bash', namespace: 'team', uid: 'rt-uid', generation: 1 },
  spec: {
    template: {
      metadata: { labels: { runtime: 'bash' } },
      spec: { containers: [{ name: 'runtime', image: 'kruntimes-bash-runtime:0.1.0' }], ...podSpec },
    },
    ...over,
  },
});
const deployment = (objs: Obj[], component = 'runtime'): Obj =>
  objs.find((o) => o.kind === 'Deployment' && o.metadata.labels['app.kubernetes.io/component'] === component)!;
const runtimedOf = (d: Obj): Obj => d.spec.template.spec.containers.find((c: Obj) => c.name === 'runtimed');
const builtinTemplate = {
  securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
  containers: [
    {
      name: 'runtime',
      image: 'kruntimes-bash-runtime:0.1.0',
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true },
      volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
    },
  ],
  volumes: [{ name: 'tmp', emptyDir: {} }],
};

describe('Runtime Pod security', () => {
  it('runs runtimed restricted, as uid 65532 (not the workload\'s), with its own state and /tmp volumes', () => {
    const d = deployment(renderRuntimeObjects(runtime(), config));
    const rd = runtimedOf(d);
    assert.deepEqual(rd.securityContext, {
      runAsNonRoot: true,
      runAsUser: RUNTIMED_UID,
      runAsGroup: RUNTIMED_UID,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
    });
    assert.ok(rd.env.some((e: Obj) => e.name === 'KRUNTIMED_STATE_DIR' && e.value === '/var/lib/runtimed'));
    assert.ok(rd.env.some((e: Obj) => e.name === 'HOME' && e.value === '/tmp'));
    const mounts = Object.fromEntries(rd.volumeMounts.map((m: Obj) => [m.name, m.mountPath]));
    assert.equal(mounts['kruntimes-runtimed-state'], '/var/lib/runtimed');
    assert.equal(mounts['kruntimes-runtimed-tmp'], '/tmp');
    // The runtime container never sees runtimed's volumes.
    const workload = d.spec.template.spec.containers[0];
    assert.deepEqual(workload.volumeMounts.map((m: Obj) => m.name), ['kruntimes-workspace']);
    const volumes = d.spec.template.spec.volumes.map((v: Obj) => v.name);
    assert.ok(volumes.includes('kruntimes-runtimed-state') && volumes.includes('kruntimes-runtimed-tmp'));
    assert.equal(rd.resources, undefined);
  });

  it('gives the pod the seccomp default and the workspace group, under the template\'s own securityContext', () => {
    const plain = deployment(renderRuntimeObjects(runtime(), config));
    assert.deepEqual(plain.spec.template.spec.securityContext, {
      seccompProfile: { type: 'RuntimeDefault' },
      fsGroup: 1000,
      fsGroupChangePolicy: 'OnRootMismatch',
    });
    const theirs = deployment(
      renderRuntimeObjects(runtime({ securityContext: { fsGroup: 2000, runAsUser: 2000, seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' } } }), config),
    );
    assert.deepEqual(theirs.spec.template.spec.securityContext, {
      seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' },
      fsGroup: 2000,
      fsGroupChangePolicy: 'OnRootMismatch',
      runAsUser: 2000,
    });
    // runtimed keeps its own uid whatever the pod sets.
    assert.equal(runtimedOf(theirs).securityContext.runAsUser, RUNTIMED_UID);
  });

  it('takes runtimed\'s resources and securityContext from spec.runtimed, merged over the default', () => {
    const resources = { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } };
    const d = deployment(
      renderRuntimeObjects(
        runtime({}, { runtimed: { resources, securityContext: { runAsUser: 70000, capabilities: { add: ['NET_BIND_SERVICE'] }, readOnlyRootFilesystem: null } } }),
        config,
      ),
    );
    const rd = runtimedOf(d);
    assert.deepEqual(rd.resources, resources);
    assert.deepEqual(rd.securityContext, {
      runAsNonRoot: true,
      runAsUser: 70000,
      runAsGroup: RUNTIMED_UID,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
    });
  });

  it('renders a built-in Runtime\'s pod that passes the restricted profile; a root custom template does not, and says why', () => {
    const builtin = deployment(renderRuntimeObjects(runtime(builtinTemplate), config));
    assert.deepEqual(restrictedViolations(builtin.spec.template.spec), []);
    assert.deepEqual(restrictedViolations(deployment(renderRuntimeObjects(runtime(), config)).spec.template.spec), [
      'container runtime: allowPrivilegeEscalation != false',
      'container runtime: capabilities.drop lacks ALL',
      'container runtime: runAsNonRoot != true',
    ]);
  });

  it('renders the maintainer restricted, with the chart\'s maintainer settings merged over it', () => {
    const store = { artifactStore: { s3: { bucket: 'b', credentialsSecretRef: { name: 's3' } } } };
    const plain = deployment(renderRuntimeObjects(runtime(builtinTemplate, store), config), 'runtime-maintainer');
    assert.deepEqual(restrictedViolations(plain.spec.template.spec), []);
    assert.deepEqual(plain.spec.template.spec.securityContext, {
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
      fsGroup: 1000,
      fsGroupChangePolicy: 'OnRootMismatch',
    });
    assert.equal(plain.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem, true);
    const maintainerPod = parsePodSettings(
      JSON.stringify({
        resources: { requests: { cpu: '10m' } },
        podSecurityContext: { runAsUser: 4000 },
        securityContext: { readOnlyRootFilesystem: false },
        nodeSelector: { pool: 'system' },
        tolerations: [{ key: 'dedicated', operator: 'Exists' }],
        affinity: { nodeAffinity: {} },
        priorityClassName: 'low',
        podAnnotations: { 'example.com/a': 'b' },
        imagePullSecrets: [{ name: 'regcred' }],
      }),
      MAINTAINER_POD_ENV,
    );
    const d = deployment(renderRuntimeObjects(runtime(builtinTemplate, store), { ...config, maintainerPod }), 'runtime-maintainer');
    const pod = d.spec.template.spec;
    assert.equal(pod.securityContext.runAsUser, 4000);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.containers[0].securityContext.readOnlyRootFilesystem, false);
    assert.deepEqual(pod.containers[0].resources, { requests: { cpu: '10m' } });
    assert.deepEqual(pod.nodeSelector, { pool: 'system' });
    assert.deepEqual(pod.tolerations, [{ key: 'dedicated', operator: 'Exists' }]);
    assert.deepEqual(pod.affinity, { nodeAffinity: {} });
    assert.equal(pod.priorityClassName, 'low');
    assert.deepEqual(pod.imagePullSecrets, [{ name: 'regcred' }]);
    assert.equal(d.spec.template.metadata.annotations['example.com/a'], 'b');
    assert.deepEqual(d.spec.template.metadata.labels, plain.spec.template.metadata.labels);
  });

  it('reads the maintainer settings from the controller\'s env, refusing what it cannot use', () => {
    assert.deepEqual(parsePodSettings(undefined, MAINTAINER_POD_ENV), emptyPodSettings());
    assert.deepEqual(parsePodSettings('{"priorityClassName":"x","tolerations":null}', 'E').priorityClassName, 'x');
    assert.throws(() => parsePodSettings('{', 'E'), /^Error: E: not valid JSON/);
    assert.throws(() => parsePodSettings('[]', 'E'), /E: expected a JSON object/);
    assert.throws(() => parsePodSettings('{"nodeselector":{}}', 'E'), /E: unknown key nodeselector; known keys: resources, /);
    assert.throws(() => parsePodSettings('{"tolerations":{}}', 'E'), /E: tolerations: expected a list/);
    assert.throws(() => parsePodSettings('{"priorityClassName":1}', 'E'), /E: priorityClassName: expected a string/);
  });
});
