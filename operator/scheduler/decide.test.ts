import assert from 'node:assert/strict';
import { Annotation, type Run } from '../../lib/api.ts';
import { runtimeCapacity } from '../../lib/resources.ts';
import { decide, nextRetryMs, type PodView, type SchedulingInput } from './decide.ts';

const NOW = 1_000_000;
const run = (name: string, extra: Partial<Run['spec']> = {}, status?: Run['status']): Run => ({
  metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: '1' },
  spec: { runtime: 'bash', ...extra },
  status,
});
const pod = (name: string, over: Partial<PodView> = {}): PodView => ({
  name,
  uid: `uid-${name}`,
  ready: true,
  heartbeatMs: NOW - 1000,
  terminating: false,
  capacity: { runs: 2 },
  inUse: {},
  ...over,
});
const input = (over: Partial<SchedulingInput>): SchedulingInput => ({
  namespace: 'ns',
  runtime: 'bash',
  runtimeExists: true,
  pending: [],
  pods: [],
  nowMs: NOW,
  ...over,
});
const summary = (actions: ReturnType<typeof decide>) =>
  actions.map((a) =>
    a.type === 'assign'
      ? `${a.run.metadata.name}->${a.pod.name}`
      : `${a.run.metadata.name}:${a.type}${a.type === 'wait' ? `:${a.reason}` : ''}`,
  );

describe('scheduler decide', () => {
  it('leaves alone Runs that restore created and has not given their status back yet', () => {
    const restoring = run('r', { cancelRequested: true });
    restoring.metadata.annotations = { [Annotation.Restoring]: 'true' };
    assert.deepEqual(summary(decide(input({ pending: [restoring, run('a')], pods: [pod('p1')] }))), ['a->p1']);
    assert.deepEqual(summary(decide(input({ pending: [restoring], runtimeExists: false }))), []);
  });
  it('spreads Runs over the least loaded ready pods', () => {
    const actions = decide(
      input({ pending: [run('a'), run('b'), run('c')], pods: [pod('p1', { inUse: { runs: 1 } }), pod('p2')] }),
    );
    assert.deepEqual(summary(actions), ['a->p2', 'b->p1', 'c->p2']);
  });
  it('never exceeds capacity and explains the wait', () => {
    const actions = decide(
      input({
        pending: [run('a'), run('b')],
        pods: [pod('p1', { capacity: { runs: 1 } }), pod('p2', { capacity: { runs: 1 }, inUse: { runs: 1 } })],
      }),
    );
    assert.deepEqual(summary(actions), ['a->p1', 'b:wait:AtCapacity']);
    const wait = actions[1] as { message: string };
    assert.match(wait.message, /at capacity \(2\/2 Runs\)/);
  });
  it('says when the Runtime does not exist', () => {
    const actions = decide(input({ runtimeExists: false, pending: [run('a')], pods: [pod('p1')] }));
    assert.deepEqual(summary(actions), ['a:wait:RuntimeNotFound']);
    assert.equal((actions[0] as { message: string }).message, 'Runtime "bash" not found in namespace ns');
  });
  it('skips pods that are not Ready, terminating, or have a stale or missing heartbeat', () => {
    const pods = [
      pod('not-ready', { ready: false }),
      pod('terminating', { terminating: true }),
      pod('stale', { heartbeatMs: NOW - 16_000 }),
      pod('no-heartbeat', { heartbeatMs: undefined }),
    ];
    const actions = decide(input({ pending: [run('a')], pods }));
    assert.deepEqual(summary(actions), ['a:wait:NoReadyPod']);
    assert.match(
      (actions[0] as { message: string }).message,
      /4 pods: 1 not Ready, 1 terminating, 2 without a fresh runtimed heartbeat/,
    );
    assert.deepEqual(summary(decide(input({ pending: [run('a')], pods: [...pods, pod('ok')] }))), ['a->ok']);
  });
  it('explains a Runtime without pods', () => {
    const actions = decide(input({ pending: [run('a')] }));
    assert.equal((actions[0] as { message: string }).message, 'Runtime "bash" has no Runtime Pods yet');
  });
  it('does not rewrite an explanation the Run already carries', () => {
    const waiting = run(
      'a',
      {},
      { phase: 'Pending', reason: 'RuntimeNotFound', message: 'Runtime "bash" not found in namespace ns' },
    );
    assert.deepEqual(decide(input({ runtimeExists: false, pending: [waiting] })), []);
  });
  it('cancels a Pending Run whose cancellation was requested', () => {
    const actions = decide(
      input({ pending: [run('a', { cancelRequested: true }), run('b')], pods: [pod('p1')] }),
    );
    assert.deepEqual(summary(actions), ['a:cancel', 'b->p1']);
  });
  it('holds a retried Run until its backoff ends, then assigns it; a cancel during backoff ends it', () => {
    const later = new Date(NOW + 2000).toISOString();
    const backoff = run('b', {}, { phase: 'Pending', reason: 'RetryBackoff', message: 'm', attempt: 1, retryAfter: later });
    const pods = [pod('p1')];
    assert.deepEqual(summary(decide(input({ pending: [backoff], pods }))), []);
    assert.equal(nextRetryMs([backoff], NOW), NOW + 2000);
    assert.deepEqual(summary(decide(input({ pending: [backoff], pods, nowMs: NOW + 2000 }))), ['b->p1']);
    assert.equal(nextRetryMs([backoff], NOW + 2000), undefined);
    const cancelled = run('c', { cancelRequested: true }, { ...backoff.status });
    assert.deepEqual(summary(decide(input({ pending: [cancelled], pods }))), ['c:cancel']);
  });
  describe('resources beyond runs', () => {
    const gpuRun = (name: string, gpu: number, extra: Partial<Run['spec']> = {}) =>
      run(name, { resources: { requests: { gpu } }, ...extra });
    const gpuPod = (name: string, over: Partial<PodView> = {}) =>
      pod(name, { capacity: { runs: 4, gpu: 1 }, ...over });
    const capacity = runtimeCapacity({ capacity: { resources: { runs: 4, gpu: 1 } } });

    it('holds every requested name against the pod: one gpu, one Run at a time; runs stay free', () => {
      const actions = decide(
        input({ runtimeCapacity: capacity, pending: [gpuRun('a', 1), gpuRun('b', 1), run('c')], pods: [gpuPod('p1')] }),
      );
      assert.deepEqual(summary(actions), ['a->p1', 'b:wait:AtCapacity', 'c->p1']);
      assert.equal(
        (actions[1] as { message: string }).message,
        'all 1 ready Runtime Pods of "bash" are at capacity (gpu 1/1 in use); waiting for a free slot',
      );
    });
    it('counts the gpu already held by active Runs and picks the pod that has it free', () => {
      const pods = [gpuPod('p1', { inUse: { runs: 1, gpu: 1 } }), gpuPod('p2', { inUse: { runs: 3 } })];
      assert.deepEqual(summary(decide(input({ runtimeCapacity: capacity, pending: [gpuRun('a', 1)], pods }))), [
        'a->p2',
      ]);
    });
    it('names every short resource, the built-in one as before', () => {
      const pods = [gpuPod('p1', { capacity: { runs: 1, gpu: 1 }, inUse: { runs: 1, gpu: 1 } })];
      const actions = decide(input({ runtimeCapacity: capacity, pending: [gpuRun('a', 1)], pods }));
      assert.match((actions[0] as { message: string }).message, /at capacity \(gpu 1\/1 in use, 1\/1 Runs\)/);
    });
    it('says how much the Run asks for when more than one is needed', () => {
      const cap2 = runtimeCapacity({ capacity: { resources: { runs: 4, gpu: 2 } } });
      const pods = [gpuPod('p1', { capacity: { runs: 4, gpu: 2 }, inUse: { runs: 1, gpu: 1 } })];
      const actions = decide(input({ runtimeCapacity: cap2, pending: [gpuRun('a', 2)], pods }));
      assert.equal(
        (actions[0] as { message: string }).message,
        'all 1 ready Runtime Pods of "bash" are at capacity (gpu 1/2 in use, this Run requests gpu=2); waiting for a free slot',
      );
    });
    it('explains requests that fit on no single pod though each resource is free somewhere', () => {
      const pods = [
        gpuPod('p1', { capacity: { runs: 1, gpu: 1 }, inUse: { runs: 1 } }),
        gpuPod('p2', { capacity: { runs: 1, gpu: 1 }, inUse: { gpu: 1 } }),
      ];
      const actions = decide(input({ runtimeCapacity: capacity, pending: [gpuRun('a', 1)], pods }));
      assert.match((actions[0] as { message: string }).message, /no single pod has room for all of gpu=1, runs=1/);
    });
    it('refuses a request no pod could ever hold: more than a pod has, or a name the Runtime lacks', () => {
      const actions = decide(
        input({
          runtimeCapacity: capacity,
          pending: [gpuRun('big', 2), run('tpu', { resources: { requests: { tpu: 1 } } }), gpuRun('ok', 1)],
          pods: [gpuPod('p1')],
        }),
      );
      assert.deepEqual(summary(actions), ['big:refuse', 'tpu:refuse', 'ok->p1']);
      assert.equal(
        (actions[0] as { message: string }).message,
        'Insufficient gpu: gpu=2 requested, each Runtime Pod of "bash" has gpu 1; no pod of this Runtime can ever run it',
      );
      assert.equal((actions[0] as { reason: string }).reason, 'Unschedulable');
      assert.equal(
        (actions[1] as { message: string }).message,
        'Insufficient tpu: tpu=1 requested, Runtime "bash" has no tpu in spec.capacity.resources; no pod of this Runtime can ever run it',
      );
      // Refused even without a ready pod: no pod would ever help.
      assert.deepEqual(summary(decide(input({ runtimeCapacity: capacity, pending: [gpuRun('big', 2)] }))), [
        'big:refuse',
      ]);
    });
    it('a request of 0 asks for nothing; runs above 1 hold several slots', () => {
      const actions = decide(
        input({
          runtimeCapacity: runtimeCapacity({ capacity: { resources: { runs: 2 } } }),
          pending: [gpuRun('zero', 0), run('heavy', { resources: { requests: { runs: 2 } } })],
          pods: [pod('p1')],
        }),
      );
      assert.deepEqual(summary(actions), ['zero->p1', 'heavy:wait:AtCapacity']);
      assert.match((actions[1] as { message: string }).message, /\(1\/2 Runs, this Run requests runs=2\)/);
    });
  });
});
