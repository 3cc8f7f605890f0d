// The pod settings `kubectl krt install` renders like the charts: restricted securityContexts by
// default, and the values every chart user expects (pull secrets, priority class, annotations,
// securityContexts, the maintainer's settings, runtimed's through the built-in Runtimes).
import assert from 'node:assert/strict';
import { restrictedViolations } from '../../test/support/pod-security-check.ts';
import { renderPlatform, renderRuntimes } from './render.ts';
import { platformValues, runtimesValues } from './values.ts';
import pkg from '../../package.json' with { type: 'json' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test inspects manifests
type Obj = Record<string, any>;
const options = { namespace: 'kruntimes-system', capabilities: { serviceMonitor: false }, includeNamespace: true };
const deployments = (objects: Obj[]) => objects.filter((o) => o.kind === 'Deployment');
const env = (d: Obj, name: string) => d.spec.template.spec.containers[0].env.find((e: Obj) => e.name === name)?.value;

describe('install rendering: pod security and pod settings', () => {
  it('renders the platform namespace enforcing "restricted" and Deployments that pass it', () => {
    const objects = renderPlatform(platformValues(pkg.version, {}), options) as Obj[];
    const ns = objects.find((o) => o.kind === 'Namespace')!;
    assert.equal(ns.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
    const ds = deployments(objects);
    assert.deepEqual(ds.map((d) => d.metadata.name).sort(), ['kruntimes-controller', 'kruntimes-scheduler']);
    for (const d of ds) {
      assert.deepEqual(restrictedViolations(d.spec.template.spec), [], d.metadata.name);
      assert.equal(d.spec.template.spec.securityContext.runAsUser, 1000);
      assert.equal(d.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem, true);
    }
    const controller = ds.find((d) => d.metadata.name === 'kruntimes-controller')!;
    assert.equal(
      env(controller, 'KRT_MAINTAINER_POD'),
      '{"affinity":{},"imagePullSecrets":[],"nodeSelector":{},"podAnnotations":{},"podSecurityContext":{},"priorityClassName":"","resources":{},"securityContext":{},"tolerations":[]}',
    );
    assert.equal(env(ds.find((d) => d.metadata.name === 'kruntimes-scheduler')!, 'KRT_MAINTAINER_POD'), undefined);
  });

  it('puts pull secrets, priority class, annotations and securityContext values into both Deployments', () => {
    const values = platformValues(pkg.version, {
      imagePullSecrets: [{ name: 'regcred' }],
      priorityClassName: 'system-cluster-critical',
      podAnnotations: { 'example.com/team': 'platform' },
      podSecurityContext: { runAsUser: 2000, runAsGroup: 2000 },
      securityContext: { readOnlyRootFilesystem: false },
      tolerations: [{ key: 'dedicated', operator: 'Exists' }],
      maintainer: { priorityClassName: 'low', resources: { requests: { cpu: '10m' } }, podSecurityContext: { runAsUser: 3000 } },
    });
    for (const d of deployments(renderPlatform(values, options) as Obj[])) {
      const pod = d.spec.template.spec;
      assert.deepEqual(pod.imagePullSecrets, [{ name: 'regcred' }]);
      assert.equal(pod.priorityClassName, 'system-cluster-critical');
      assert.deepEqual(d.spec.template.metadata.annotations, { 'example.com/team': 'platform' });
      // Merged like Helm merges values: the restricted defaults stay where not overridden.
      assert.deepEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 2000, runAsGroup: 2000, seccompProfile: { type: 'RuntimeDefault' } });
      assert.deepEqual(pod.containers[0].securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: false });
      assert.deepEqual(pod.tolerations, [{ key: 'dedicated', operator: 'Exists' }]);
      if (d.metadata.name === 'kruntimes-controller') {
        assert.deepEqual(JSON.parse(env(d, 'KRT_MAINTAINER_POD')), {
          affinity: {},
          imagePullSecrets: [],
          nodeSelector: {},
          podAnnotations: {},
          podSecurityContext: { runAsUser: 3000 },
          priorityClassName: 'low',
          resources: { requests: { cpu: '10m' } },
          securityContext: {},
          tolerations: [],
        });
      }
    }
    // null removes a default, as in Helm; an empty map keeps the defaults (merge).
    const off = platformValues(pkg.version, { securityContext: { readOnlyRootFilesystem: null } });
    for (const d of deployments(renderPlatform(off, options) as Obj[])) {
      assert.deepEqual(d.spec.template.spec.containers[0].securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    }
  });

  it('renders built-in Runtimes that pass "restricted", with a writable /tmp, pod values and spec.runtimed', () => {
    const [bash] = renderRuntimes(runtimesValues(pkg.version, { python: { enabled: false } }), 'team') as Obj[];
    const tpl = bash.spec.template;
    assert.deepEqual(restrictedViolations(tpl.spec), []);
    assert.equal(bash.spec.runtimed, undefined);
    assert.deepEqual(tpl.spec.volumes, [{ name: 'tmp', emptyDir: {} }]);
    assert.deepEqual(tpl.spec.containers[0].volumeMounts, [{ name: 'tmp', mountPath: '/tmp' }]);
    assert.equal(tpl.spec.containers[0].securityContext.readOnlyRootFilesystem, true);
    assert.equal(tpl.spec.securityContext.runAsUser, 1000);

    const [custom] = renderRuntimes(
      runtimesValues(pkg.version, {
        python: { enabled: false },
        runtimed: { resources: { requests: { cpu: '20m' } }, securityContext: { runAsUser: 70000 } },
        priorityClassName: 'batch',
        podAnnotations: { 'example.com/a': 'b' },
        imagePullSecrets: [{ name: 'regcred' }],
      }),
      'team',
    ) as Obj[];
    assert.deepEqual(custom.spec.runtimed, { resources: { requests: { cpu: '20m' } }, securityContext: { runAsUser: 70000 } });
    assert.equal(custom.spec.template.spec.priorityClassName, 'batch');
    assert.deepEqual(custom.spec.template.spec.imagePullSecrets, [{ name: 'regcred' }]);
    assert.deepEqual(custom.spec.template.metadata, { labels: { runtime: 'bash' }, annotations: { 'example.com/a': 'b' } });
  });

  it('refuses malformed pod values, naming the key', () => {
    assert.throws(() => platformValues(pkg.version, { imagePullSecrets: ['regcred'] }), /value imagePullSecrets: expected a list of \{name: SECRET\}/);
    assert.throws(() => platformValues(pkg.version, { priorityClassName: 3 }), /value priorityClassName: expected a string/);
    assert.throws(() => platformValues(pkg.version, { podAnnotations: { a: 1 } }), /value podAnnotations.a: expected a string/);
    assert.throws(() => platformValues(pkg.version, { maintainer: { nodeselector: {} } }), /value maintainer.nodeselector: unknown key; known keys of maintainer: resources, /);
    assert.throws(() => platformValues(pkg.version, { maintainer: { tolerations: 'x' } }), /value maintainer.tolerations: expected a list of tolerations/);
    assert.throws(() => runtimesValues(pkg.version, { runtimed: { image: 'x:1' } }), /value runtimed.image: unknown key; known keys of runtimed: resources, securityContext/);
    assert.throws(() => runtimesValues(pkg.version, { securityContext: 'x' }), /value runtimes.securityContext: expected a map, got "x"/);
  });
});
