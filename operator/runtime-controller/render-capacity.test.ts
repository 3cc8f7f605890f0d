// The Runtime Pods carry their Runtime's capacity: one kruntimes.io/capacity.<name> annotation per
// resource, from spec.capacity.resources only (the scheduler reads them back, lib/resources.ts).
import assert from 'node:assert/strict';
import type { Runtime } from '../../lib/api.ts';
import { renderDeployment } from './render.ts';

const config = {
  runtimedImage: 'kruntimes-runtimed:0.1.0',
  platformNamespace: 'kruntimes-system',
  maintainerImage: 'kruntimes-operator:0.1.0',
};
const runtime = (capacity: Runtime['spec']['capacity'], annotations: Record<string, string> = {}): Runtime => ({
  metadata: { name: 'gpu', namespace: 'team', uid: 'rt-uid', generation: 1 },
  spec: {
    capacity,
    template: {
      metadata: { annotations },
      spec: { containers: [{ name: 'runtime', image: 'kruntimes-bash-runtime:latest' }] },
    },
  },
});
const podAnnotations = (rt: Runtime) =>
  (renderDeployment(rt, config, 'sa', true) as { spec: { template: { metadata: { annotations: object } } } }).spec
    .template.metadata.annotations;

describe('Runtime rendering: capacity annotations', () => {
  it('projects every capacity resource onto the pods', () => {
    assert.deepEqual(podAnnotations(runtime({ resources: { runs: 4, gpu: 1, 'licence.seat': '2' } })), {
      'kruntimes.io/capacity.runs': '4',
      'kruntimes.io/capacity.gpu': '1',
      'kruntimes.io/capacity.licence.seat': '2',
    });
  });
  it('defaults runs to 1 and keeps the template annotations, but not stray capacity ones', () => {
    const rt = runtime({ resources: { gpu: 1 } }, { team: 'a', 'kruntimes.io/capacity.tpu': '8' });
    assert.deepEqual(podAnnotations(rt), {
      team: 'a',
      'kruntimes.io/capacity.runs': '1',
      'kruntimes.io/capacity.gpu': '1',
    });
    assert.deepEqual(podAnnotations(runtime(undefined)), { 'kruntimes.io/capacity.runs': '1' });
  });
});
