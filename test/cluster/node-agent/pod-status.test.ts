import assert from 'node:assert/strict';
import type { V1ContainerState } from '@kubernetes/client-node';
import type { ContainerSnapshot, PodSnapshot } from './pod-status.ts';
import { ConditionClock, podConditions, podPhase } from './pod-status.ts';
import type { ContainerKind } from './restart-policy.ts';

const running: V1ContainerState = { running: { startedAt: new Date(0) } };
const exited = (exitCode: number): V1ContainerState => ({ terminated: { exitCode } });
const waiting = (reason: string): V1ContainerState => ({ waiting: { reason } });

function c(
  name: string,
  state: V1ContainerState,
  opts: {
    ready?: boolean;
    started?: boolean;
    kind?: ContainerKind;
    last?: V1ContainerState;
  } = {},
): ContainerSnapshot {
  return {
    kind: opts.kind ?? 'regular',
    status: {
      name,
      image: 'i',
      imageID: '',
      restartCount: 0,
      ready: opts.ready ?? false,
      started: opts.started ?? !!state.running,
      state,
      lastState: opts.last,
    },
  };
}

function pod(
  containers: ContainerSnapshot[],
  init: ContainerSnapshot[] = [],
  over: Partial<PodSnapshot> = {},
): PodSnapshot {
  return {
    restartPolicy: 'Always',
    init,
    containers,
    sandboxReady: true,
    readinessGates: [],
    currentConditions: [],
    ...over,
  };
}

const cond = (s: PodSnapshot, type: string) => podConditions(s, podPhase(s)).find((x) => x.type === type);

describe('node agent: pod phase and conditions', () => {
  it('is Pending while a container waits for its image or init containers run', () => {
    assert.equal(podPhase(pod([c('a', waiting('ErrImagePull'))])), 'Pending');
    assert.equal(
      podPhase(pod([c('a', waiting('PodInitializing'))], [c('i', running, { kind: 'init' })])),
      'Pending',
    );
  });

  it('is Running while a container runs or waits to restart after a crash', () => {
    assert.equal(podPhase(pod([c('a', running), c('b', exited(0))])), 'Running');
    assert.equal(podPhase(pod([c('a', waiting('CrashLoopBackOff'), { last: exited(1) })])), 'Running');
  });

  it('ends Succeeded or Failed when nothing will run again', () => {
    assert.equal(
      podPhase(pod([c('a', exited(0)), c('b', exited(0))], [], { restartPolicy: 'Never' })),
      'Succeeded',
    );
    assert.equal(
      podPhase(pod([c('a', exited(0)), c('b', exited(2))], [], { restartPolicy: 'Never' })),
      'Failed',
    );
    assert.equal(podPhase(pod([c('a', waiting('x'))], [c('i', exited(1), { kind: 'init' })])), 'Failed');
    assert.equal(
      podPhase(
        pod([c('a', waiting('x'))], [c('i', waiting('CrashLoopBackOff'), { kind: 'init', last: exited(1) })]),
      ),
      'Pending',
    );
  });

  it('treats a started sidecar as initialized', () => {
    const s = pod([c('a', running, { ready: true })], [c('side', running, { kind: 'sidecar', ready: true })]);
    assert.equal(podPhase(s), 'Running');
    assert.equal(cond(s, 'Initialized')?.status, 'True');
    assert.equal(cond(s, 'Ready')?.status, 'True');
  });

  it('reports unready containers by name', () => {
    const s = pod([c('a', running, { ready: true }), c('b', running)]);
    assert.deepEqual(cond(s, 'ContainersReady'), {
      type: 'ContainersReady',
      status: 'False',
      reason: 'ContainersNotReady',
      message: 'containers with unready status: [b]',
    });
    assert.equal(cond(s, 'Ready')?.status, 'False');
    assert.equal(cond(s, 'PodReadyToStartContainers')?.status, 'True');
  });

  it('honours readiness gates', () => {
    const gates = [{ conditionType: 'example.com/gate' }];
    const s = pod([c('a', running, { ready: true })], [], { readinessGates: gates });
    assert.equal(cond(s, 'Ready')?.reason, 'ReadinessGatesNotReady');
    const ok = pod([c('a', running, { ready: true })], [], {
      readinessGates: gates,
      currentConditions: [{ type: 'example.com/gate', status: 'True' }],
    });
    assert.equal(cond(ok, 'Ready')?.status, 'True');
  });

  it('marks completed pods not ready with reason PodCompleted', () => {
    const s = pod([c('a', exited(0))], [], { restartPolicy: 'Never' });
    assert.equal(cond(s, 'Ready')?.reason, 'PodCompleted');
  });

  it('keeps lastTransitionTime until the status changes', () => {
    const clock = new ConditionClock();
    const t1 = new Date(1000);
    const t2 = new Date(2000);
    assert.equal(clock.stamp([{ type: 'Ready', status: 'False' }], t1)[0].lastTransitionTime, t1);
    assert.equal(clock.stamp([{ type: 'Ready', status: 'False' }], t2)[0].lastTransitionTime, t1);
    assert.equal(clock.stamp([{ type: 'Ready', status: 'True' }], t2)[0].lastTransitionTime, t2);
  });
});
