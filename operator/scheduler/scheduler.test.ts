// The scheduler on the controller frame against in-memory informers (with its cache transform)
// and a fake API that answers status patches like the apiserver: resourceVersion precondition,
// a new version on success.
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { Annotation, Label, PodConditionType, Reason, type Run, RunPhase, type Runtime } from '../../lib/api.ts';
import { SharedCache } from '../../lib/controller/shared-cache.ts';
import type { Informer } from '../../lib/informer.ts';
import { type KubeClient, KubeApiError } from '../../lib/kube-client.ts';
import { Scheduler } from './scheduler.ts';
import { fixtureRun } from '../../test/support/run-fixture.ts';

const run = fixtureRun;

type Obj = { metadata?: { name?: string; namespace?: string; uid?: string } };
/** An informer over a map, with emit() standing in for the watch. */
class MemoryInformer<T extends Obj> implements Informer<T> {
  readonly objects = new Map<string, T>();
  private readonly handlers: Record<string, Array<(o: T) => void>> = { add: [], update: [], delete: [] };
  private readonly transform: (o: T) => T;
  constructor(transform?: (o: never) => unknown) {
    this.transform = (transform as ((o: T) => T) | undefined) ?? ((o) => o);
  }
  on(event: 'add' | 'update' | 'delete', handler: (o: T) => void) {
    this.handlers[event].push(handler);
  }
  get(name: string, namespace?: string) {
    return this.objects.get(`${namespace}/${name}`);
  }
  list(namespace?: string) {
    return [...this.objects.values()].filter((o) => namespace === undefined || o.metadata?.namespace === namespace);
  }
  async start() {}
  async stop() {}
  emit(event: 'add' | 'update' | 'delete', raw: T) {
    const o = this.transform(structuredClone(raw));
    const key = `${o.metadata?.namespace}/${o.metadata?.name}`;
    if (event === 'delete') this.objects.delete(key);
    else this.objects.set(key, o);
    for (const h of this.handlers[event]) h(o);
  }
}

class MemoryCache extends SharedCache {
  readonly informers = new Map<string, MemoryInformer<Obj>>();
  constructor() {
    super({} as KubeClient);
  }
  override informer<T>(path: string, selector: { transform?: { apply: (o: never) => unknown } } = {}): Informer<T> {
    let i = this.informers.get(path);
    if (!i) this.informers.set(path, (i = new MemoryInformer(selector.transform?.apply)));
    return i as unknown as Informer<T>;
  }
  override async waitForSync(): Promise<void> {}
  of<T extends Obj>(part: string): MemoryInformer<T> {
    const found = [...this.informers].find(([p]) => p.endsWith(part));
    return found![1] as unknown as MemoryInformer<T>;
  }
}

/** Status patches as the apiserver takes them: 409 unless the resourceVersion matches. */
class FakeApi {
  readonly stored = new Map<string, Run>();
  readonly patches: Array<{ name: string; phase?: string; reason?: string; rv?: string }> = [];
  conflictOnce = new Set<string>();
  put(r: Run) {
    this.stored.set(r.metadata.name!, structuredClone(r));
  }
  client(): KubeClient {
    return {
      mergePatch: async (path: string, body: { metadata: { resourceVersion?: string }; status: Run['status'] }) => {
        const name = path.split('/').at(-2)!;
        const cur = this.stored.get(name);
        if (!cur) throw new KubeApiError({ code: 404, reason: 'NotFound', message: name });
        this.patches.push({ name, phase: body.status?.phase, reason: body.status?.reason, rv: body.metadata.resourceVersion });
        if (this.conflictOnce.delete(name) || body.metadata.resourceVersion !== cur.metadata.resourceVersion)
          throw new KubeApiError({ code: 409, reason: 'Conflict', message: name });
        const next: Run = {
          ...cur,
          metadata: { ...cur.metadata, resourceVersion: String(Number(cur.metadata.resourceVersion) + 1) },
          status: { ...cur.status, ...body.status },
        };
        this.stored.set(name, next);
        return structuredClone(next);
      },
    } as unknown as KubeClient;
  }
}

const readyPod = (name: string, runs: number): V1Pod => ({
  metadata: {
    name,
    namespace: 'ns',
    uid: `uid-${name}`,
    labels: { [Label.Runtime]: 'bash' },
    annotations: { [Annotation.CapacityRuns]: String(runs) },
  },
  status: {
    phase: 'Running',
    conditions: [
      { type: 'Ready', status: 'True' },
      { type: PodConditionType.RuntimedReady, status: 'True', lastProbeTime: new Date() as never },
    ],
  },
});
const runtime: Runtime = {
  metadata: { name: 'bash', namespace: 'ns', uid: 'rt' },
  spec: { capacity: { resources: { runs: 2 } } },
} as Runtime;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A scheduler with one pod; it explains a wait at once unless told otherwise. */
async function started(api: FakeApi, podSlots = 1, explainAfterMs = 0) {
  const cache = new MemoryCache();
  const scheduler = new Scheduler({ client: api.client(), cache, registry: new Registry(), explainAfterMs });
  cache.of<V1Pod>('/pods').emit('add', readyPod('p1', podSlots));
  cache.of<Runtime>('/runtimes').emit('add', runtime);
  await scheduler.start();
  const runs = cache.of<Run>('/runs');
  const create = (r: Run) => {
    api.put(r);
    runs.emit('add', r);
  };
  return { scheduler, runs, create };
}

describe('scheduler controller', () => {
  it('assigns a new Run at once with the read resourceVersion as precondition', async () => {
    const api = new FakeApi();
    const { scheduler, create } = await started(api);
    const t0 = performance.now();
    create(run('a'));
    while (api.stored.get('a')?.status?.phase !== RunPhase.Scheduled && performance.now() - t0 < 1000) await sleep(1);
    assert.ok(performance.now() - t0 < 50, `scheduled after ${performance.now() - t0} ms`);
    assert.deepEqual(api.patches, [{ name: 'a', phase: RunPhase.Scheduled, reason: Reason.Scheduled, rv: '1' }]);
    assert.equal(api.stored.get('a')!.status!.assignedPod, 'p1');
    await scheduler.stop();
  });
  it('counts its own assignments before the watch shows them, and explains the wait once', async () => {
    const api = new FakeApi();
    const { scheduler, create } = await started(api, 1);
    create(run('a', { created: '2026-12-04T00:00:00Z' }));
    create(run('b', { created: '2026-12-04T00:00:01Z' }));
    await sleep(30);
    // The watch never delivered a's Scheduled version: the slot is still held by the written copy.
    assert.equal(api.stored.get('a')!.status!.phase, RunPhase.Scheduled);
    assert.equal(api.stored.get('b')!.status!.phase, RunPhase.Pending);
    assert.equal(api.stored.get('b')!.status!.reason, Reason.AtCapacity);
    assert.equal(api.patches.filter((p) => p.name === 'b').length, 1, JSON.stringify(api.patches));
    await scheduler.stop();
  });
  it('explains a wait only once the Run has waited explainAfterMs: one assigned sooner gets no such write', async () => {
    const api = new FakeApi();
    const { scheduler, runs, create } = await started(api, 1, 150);
    create(run('a', { created: '2026-12-04T00:00:00Z' }));
    create(run('b', { created: '2026-12-04T00:00:01Z' }));
    create(run('c', { created: '2026-12-04T00:00:02Z' }));
    await sleep(30);
    // a finishes at once: b takes its slot well within the 150 ms; c still waits.
    const a = api.stored.get('a')!;
    const done = { ...a, metadata: { ...a.metadata, resourceVersion: '9' }, status: { ...a.status, phase: RunPhase.Succeeded } };
    api.put(done);
    runs.emit('update', done);
    await sleep(30);
    assert.equal(api.stored.get('b')!.status!.phase, RunPhase.Scheduled);
    assert.equal(api.stored.get('c')!.status?.reason, undefined, 'not explained yet');
    await sleep(250);
    assert.deepEqual(
      api.patches.filter((p) => p.name !== 'a').map((p) => [p.name, p.reason]),
      [
        ['b', Reason.Scheduled],
        ['c', Reason.AtCapacity],
      ],
    );
    await scheduler.stop();
  });
  it('frees the slot when the watch shows the Run finished, and assigns the next', async () => {
    const api = new FakeApi();
    const { scheduler, runs, create } = await started(api, 1);
    create(run('a', { created: '2026-12-04T00:00:00Z' }));
    create(run('b', { created: '2026-12-04T00:00:01Z' }));
    await sleep(30);
    const a = api.stored.get('a')!;
    runs.emit('update', a);
    const done = { ...a, metadata: { ...a.metadata, resourceVersion: '9' }, status: { ...a.status, phase: RunPhase.Succeeded } };
    api.put(done);
    runs.emit('update', done);
    runs.emit('update', api.stored.get('b')!);
    await sleep(30);
    assert.equal(api.stored.get('b')!.status!.phase, RunPhase.Scheduled);
    await scheduler.stop();
  });
  it('retries an assignment that lost a race, from the fresher copy', async () => {
    const api = new FakeApi();
    const { scheduler, create } = await started(api);
    api.conflictOnce.add('a');
    create(run('a'));
    await sleep(100);
    assert.equal(api.stored.get('a')!.status!.phase, RunPhase.Scheduled);
    assert.deepEqual(
      api.patches.map((p) => p.phase),
      [RunPhase.Scheduled, RunPhase.Scheduled],
    );
    await scheduler.stop();
  });
  it('cancels a Run asked to cancel before it was scheduled', async () => {
    const api = new FakeApi();
    const { scheduler, create } = await started(api);
    const r = run('a');
    r.spec.cancelRequested = true;
    create(r);
    await sleep(20);
    assert.equal(api.stored.get('a')!.status!.phase, RunPhase.Cancelled);
    await scheduler.stop();
  });
});
