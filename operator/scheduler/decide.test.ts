import assert from 'node:assert/strict';
import { Annotation, type Run } from '../../lib/api.ts';
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
  capacity: 2,
  inUse: 0,
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
      input({ pending: [run('a'), run('b'), run('c')], pods: [pod('p1', { inUse: 1 }), pod('p2')] }),
    );
    assert.deepEqual(summary(actions), ['a->p2', 'b->p1', 'c->p2']);
  });
  it('never exceeds capacity and explains the wait', () => {
    const actions = decide(
      input({
        pending: [run('a'), run('b')],
        pods: [pod('p1', { capacity: 1 }), pod('p2', { capacity: 1, inUse: 1 })],
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
});
