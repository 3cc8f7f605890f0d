import assert from 'node:assert/strict';
import { objectPath } from '../../lib/kube-client.ts';
import { parseInstallRecord, recordConfigMap } from './record.ts';
import { platformManifests, renderPlatform, renderRuntimes } from './render.ts';
import { defaultRuntimesValues, platformValues, runtimesValues } from './values.ts';
import pkg from '../../package.json' with { type: 'json' };

type EnvVar = { name: string; value?: string };

const options = { namespace: 'kruntimes-system', capabilities: { serviceMonitor: false }, includeNamespace: true };

describe('install rendering', () => {
  it('renders manifests/platform unchanged for the default values', () => {
    assert.deepEqual(renderPlatform(platformValues(pkg.version, {}), options), platformManifests());
  });
  it('puts the values into the Deployments', () => {
    const objects = renderPlatform(
      platformValues(pkg.version, { controller: { replicas: 2, image: 'r/op:2' }, logLevel: 'debug', nodeSelector: { d: 'ssd' } }),
      { ...options, namespace: 'other', includeNamespace: false },
    );
    assert.ok(!objects.some((o) => o.kind === 'Namespace'));
    const c = objects.find((o) => o.metadata.name === 'kruntimes-controller' && o.kind === 'Deployment') as never as {
      metadata: { namespace: string };
      spec: {
        replicas: number;
        template: { spec: { nodeSelector: unknown; containers: Array<{ image: string; env: EnvVar[] }> } };
      };
    };
    assert.equal(c.metadata.namespace, 'other');
    assert.equal(c.spec.replicas, 2);
    assert.equal(c.spec.template.spec.containers[0].image, 'r/op:2');
    assert.deepEqual(c.spec.template.spec.nodeSelector, { d: 'ssd' });
    assert.equal(c.spec.template.spec.containers[0].env.find((e) => e.name === 'KRT_LOG_LEVEL')?.value, 'debug');
    const binding = objects.find((o) => o.kind === 'ClusterRoleBinding') as never as { subjects: Array<{ namespace: string }> };
    assert.equal(binding.subjects[0].namespace, 'other');
  });
  it('ships the policy that confines runtimed, cluster-wide and the same in any namespace', () => {
    const objects = renderPlatform(platformValues(pkg.version, {}), { ...options, namespace: 'other' });
    const policy = objects.filter((o) => o.apiVersion === 'admissionregistration.k8s.io/v1');
    assert.deepEqual(policy.map((o) => [o.kind, o.metadata.name, o.metadata.namespace]), [
      ['ValidatingAdmissionPolicy', 'kruntimes-runtimed-own-runs', undefined],
      ['ValidatingAdmissionPolicyBinding', 'kruntimes-runtimed-own-runs', undefined],
    ]);
    assert.deepEqual(policy.map(objectPath), [
      '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/kruntimes-runtimed-own-runs',
      '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/kruntimes-runtimed-own-runs',
    ]);
  });
  it('renders a ServiceMonitor only when enabled and served', () => {
    const on = platformValues(pkg.version, { metrics: { serviceMonitor: { enabled: true } } });
    assert.ok(!renderPlatform(on, options).some((o) => o.kind === 'ServiceMonitor'));
    assert.ok(renderPlatform(on, { ...options, capabilities: { serviceMonitor: true } }).some((o) => o.kind === 'ServiceMonitor'));
  });
  it('renders the enabled built-in Runtimes', () => {
    const objects = renderRuntimes(runtimesValues(pkg.version, { python: { enabled: false }, bash: { capacity: 8 } }), 'team-a');
    assert.deepEqual(objects.map((o) => `${o.metadata.namespace}/${o.metadata.name}`), ['team-a/bash']);
    assert.deepEqual((objects[0].spec as { capacity: unknown }).capacity, { resources: { runs: 8 } });
  });
  it('round-trips the install record through its ConfigMap', () => {
    const record = {
      version: '0.1.0',
      platformValues: platformValues('0.1.0', {}),
      runtimesValues: defaultRuntimesValues('0.1.0'),
      runtimesNamespaces: ['a', 'b'],
      installedAt: '2026-01-01T00:00:00.000Z',
    };
    const cm = recordConfigMap(record) as never as { data: Record<string, string>; metadata: { labels: Record<string, string> } };
    assert.equal(cm.metadata.labels['app.kubernetes.io/managed-by'], 'kubectl-krt');
    assert.equal(cm.data['runtimes-namespaces'], '["a","b"]');
    assert.deepEqual(parseInstallRecord(cm.data), record);
    assert.throws(() => parseInstallRecord({ ...cm.data, 'runtimes-namespaces': 'x' }), /damaged: data.runtimes-namespaces/);
  });
});
