import assert from 'node:assert/strict';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { fieldRefValue, formatMap, resourceFieldValue } from './downward-api.ts';
import type { EnvContext } from './env.ts';
import { EnvConfigError, expand, expandArgs, resolveEnv } from './env.ts';
import { divideQuantity, parseQuantity } from './quantity.ts';

const pod: V1Pod = {
  metadata: {
    name: 'p1',
    namespace: 'ns1',
    uid: 'u-1',
    labels: { app: 'web', tier: 'a"b' },
    annotations: { note: 'hello' },
  },
  spec: {
    nodeName: 'krt-node-0',
    serviceAccountName: 'sa1',
    containers: [
      { name: 'c', resources: { limits: { cpu: '500m', memory: '64Mi' }, requests: { cpu: '250m' } } },
    ],
  },
};
const addr = { podIP: '10.244.0.7', hostIP: '127.0.0.1' };
const allocatable = { cpu: '2', memory: '8Gi', 'ephemeral-storage': '50Gi' };

function ctx(over: Partial<EnvContext> = {}): EnvContext {
  return {
    pod,
    ...addr,
    allocatable,
    objects: {
      configMaps: new Map([['cm', { A: '1', B: '2', 'bad=key': 'x' }]]),
      secrets: new Map([['sec', { TOKEN: 's3cret' }]]),
    },
    ...over,
  };
}

describe('node agent: env and downward API', () => {
  it('expands $(VAR) like Kubernetes', () => {
    const m = (n: string) => ({ A: 'x', B: 'y' })[n];
    assert.equal(expand('$(A)-$(B)', m), 'x-y');
    assert.equal(expand('$(C)', m), '$(C)');
    assert.equal(expand('$$(A)', m), '$(A)');
    assert.equal(expand('a$b$', m), 'a$b$');
    assert.equal(expand('$(A', m), '$(A');
  });

  it('resolves fieldRef paths', () => {
    assert.equal(fieldRefValue(pod, 'metadata.name', addr), 'p1');
    assert.equal(fieldRefValue(pod, 'metadata.namespace', addr), 'ns1');
    assert.equal(fieldRefValue(pod, 'metadata.uid', addr), 'u-1');
    assert.equal(fieldRefValue(pod, "metadata.labels['app']", addr), 'web');
    assert.equal(fieldRefValue(pod, "metadata.annotations['note']", addr), 'hello');
    assert.equal(fieldRefValue(pod, 'spec.nodeName', addr), 'krt-node-0');
    assert.equal(fieldRefValue(pod, 'spec.serviceAccountName', addr), 'sa1');
    assert.equal(fieldRefValue(pod, 'status.podIP', addr), '10.244.0.7');
    assert.equal(fieldRefValue(pod, 'status.hostIP', addr), '127.0.0.1');
    assert.throws(() => fieldRefValue(pod, 'metadata.labels', addr));
    assert.equal(fieldRefValue(pod, 'metadata.labels', addr, true), 'app="web"\ntier="a\\"b"');
    assert.equal(formatMap(undefined), '');
  });

  it('resolves resourceFieldRef with divisor and node allocatable fallback', () => {
    const c = pod.spec!.containers[0];
    assert.equal(resourceFieldValue(c, 'limits.cpu', undefined, allocatable), '1');
    assert.equal(resourceFieldValue(c, 'limits.cpu', '1m', allocatable), '500');
    assert.equal(resourceFieldValue(c, 'requests.cpu', '100m', allocatable), '3');
    assert.equal(resourceFieldValue(c, 'limits.memory', '1Mi', allocatable), '64');
    assert.equal(resourceFieldValue(c, 'limits.ephemeral-storage', '1Gi', allocatable), '50');
    assert.equal(resourceFieldValue({ name: 'x' }, 'limits.cpu', undefined, allocatable), '2');
    assert.equal(parseQuantity('1.5Gi'), 1.5 * 2 ** 30);
    assert.equal(parseQuantity('2e3'), 2000);
    assert.equal(divideQuantity('100m', '1m'), '100');
    assert.throws(() => parseQuantity('12x'));
  });

  it('resolves envFrom, env, valueFrom and expansion in order', () => {
    const c: V1Container = {
      name: 'c',
      envFrom: [{ configMapRef: { name: 'cm' } }, { prefix: 'S_', secretRef: { name: 'sec' } }],
      env: [
        { name: 'A', value: 'override' },
        { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'URL', value: 'http://$(POD):$(B)/$(MISSING)' },
        { name: 'K', valueFrom: { configMapKeyRef: { name: 'cm', key: 'B' } } },
        { name: 'T', valueFrom: { secretKeyRef: { name: 'sec', key: 'TOKEN' } } },
        { name: 'OPT', valueFrom: { secretKeyRef: { name: 'nope', key: 'x', optional: true } } },
        { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
      ],
    };
    const env = resolveEnv(c, ctx());
    assert.equal(env.A, 'override');
    assert.equal(env.B, '2');
    assert.equal(env['bad=key'], undefined);
    assert.equal(env.S_TOKEN, 's3cret');
    assert.equal(env.URL, 'http://p1:2/$(MISSING)');
    assert.equal(env.K, '2');
    assert.equal(env.T, 's3cret');
    assert.equal('OPT' in env, false);
    assert.equal(env.MEM, '8192');
    assert.equal(env.KUBERNETES_SERVICE_HOST, '10.244.0.1');
    assert.equal(env.KUBERNETES_SERVICE_PORT, '6443');
    assert.deepEqual(expandArgs(['echo', '$(POD)'], env), ['echo', 'p1']);
  });

  it('fails on missing non-optional references', () => {
    const missingMap: V1Container = { name: 'c', envFrom: [{ configMapRef: { name: 'nope' } }] };
    assert.throws(() => resolveEnv(missingMap, ctx()), EnvConfigError);
    const missingKey: V1Container = {
      name: 'c',
      env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cm', key: 'Z' } } }],
    };
    assert.throws(() => resolveEnv(missingKey, ctx()), /couldn't find key Z in ConfigMap ns1\/cm/);
  });
});
