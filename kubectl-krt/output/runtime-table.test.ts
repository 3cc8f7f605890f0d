import assert from 'node:assert/strict';
import { Chalk } from 'chalk';
import type { Run, RunPhase, Runtime } from '../../lib/api.ts';
import { describeRuntime, heartbeat, type PodInfo, renderRuntimeTable, slotsByPod } from './runtime-table.ts';

const plain = new Chalk({ level: 0 });
const now = Date.parse('2026-01-01T00:10:00Z');

const runtime: Runtime = {
  metadata: { name: 'bash', namespace: 'dev', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: {
    replicas: 2,
    capacity: { resources: { runs: 4 } },
    template: { spec: { containers: [{ name: 'runtime', image: 'kruntimes-bash-runtime:latest' }] } },
  },
  status: { readyReplicas: 2, conditions: [{ type: 'Ready', status: 'True', reason: 'PodsReady' }] },
};

function pod(name: string, probe: string, ready = true): PodInfo {
  return {
    metadata: {
      name,
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { runtime: 'bash' },
      annotations: { 'kruntimes.io/capacity.runs': '4' },
    },
    status: {
      conditions: [
        { type: 'Ready', status: ready ? 'True' : 'False' },
        { type: 'kruntimes.io/RuntimedReady', status: 'True', lastProbeTime: probe },
      ],
    },
  };
}

const run = (podName: string, phase: RunPhase): Run => ({
  metadata: { name: `r-${podName}-${phase}` },
  spec: { runtime: 'bash' },
  status: { phase, assignedPod: podName },
});

const pods = [pod('runtime-bash-a', '2026-01-01T00:09:57Z'), pod('runtime-bash-b', '2026-01-01T00:09:30Z')];
const runs = [
  run('runtime-bash-a', 'Running'),
  run('runtime-bash-a', 'Scheduled'),
  run('runtime-bash-b', 'Running'),
  run('runtime-bash-b', 'Succeeded'),
];

describe('runtime tables', () => {
  it('lists readiness, capacity and slots in use', () => {
    assert.equal(
      renderRuntimeTable([{ runtime, pods, runs }], { wide: true, namespaces: false, now }),
      'NAME   READY   CAPACITY   IN-USE   AGE   IMAGE\n' +
        'bash   2/2     4/pod      3/8      10m   kruntimes-bash-runtime:latest\n',
    );
  });
  it('counts slots per pod from Scheduled and Running Runs only', () => {
    assert.deepEqual(
      [...slotsByPod(runs)],
      [
        ['runtime-bash-a', 2],
        ['runtime-bash-b', 1],
      ],
    );
  });
  it('shows each pod with its heartbeat age', () => {
    assert.equal(heartbeat(pods[0], now), 'True, 3s ago');
    assert.equal(heartbeat(pods[1], now), 'True, 30s ago, stale');
    const text = describeRuntime({ runtime, pods, runs }, plain, now);
    assert.match(text, /^Replicas: +2 ready of 2$/m);
    assert.match(text, /^Capacity: +4 Runs per pod$/m);
    const gpu = { ...runtime, spec: { ...runtime.spec, capacity: { resources: { runs: 4, gpu: 1, 'licence.seat': '2' } } } };
    assert.match(describeRuntime({ runtime: gpu, pods, runs }, plain, now), /^Capacity: +4 Runs, gpu 1, licence\.seat 2 per pod$/m);
    assert.match(renderRuntimeTable([{ runtime: gpu, pods, runs }], { wide: false, namespaces: false, now }), /^bash +2\/2 +4\/pod,gpu=1,licence\.seat=2 +3\/8 /m);
    assert.match(text, /^ {2}runtime-bash-a +True +True, 3s ago +2\/4 +10m$/m);
    assert.match(text, /^ {2}runtime-bash-b +True +True, 30s ago, stale +1\/4 +10m$/m);
  });
});
