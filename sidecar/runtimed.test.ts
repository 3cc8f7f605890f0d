// runtimed's loop on the controller frame against an in-memory Run store (merge patches with a
// resourceVersion precondition, as the apiserver checks them) and a scripted Runtime Server:
// which status writes one Run costs, and that the claim window, cancel and a Run taken away keep
// the behaviour the e2e suites check.
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { type Run, RunPhase } from '../lib/api.ts';
import { ClaimWindow } from '../lib/claim-window.ts';
import { SharedCache } from '../lib/controller/shared-cache.ts';
import type { Informer } from '../lib/informer.ts';
import { KubeApiError, type KubeClient } from '../lib/kube-client.ts';
import type { RuntimeServerClient } from '../lib/runtime-client.ts';
import { ExecutionState, FailureMessage, type StatusResponse } from '../lib/runtime-proto.ts';
import type { RunArtifacts } from './artifacts/run-artifacts.ts';
import type { LogStore } from './log-store.ts';
import { Runtimed } from './runtimed.ts';

const POD = 'pod-a';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The Runs of one namespace as an apiserver keeps them, with a field-selected informer over them. */
class RunStore {
  readonly runs = new Map<string, Run>();
  readonly writes: Array<{ name: string; phase?: string }> = [];
  private rv = 1;
  private readonly handlers: Record<string, Array<(r: Run) => void>> = { add: [], update: [], delete: [] };

  readonly informer: Informer<Run> = {
    on: (event, handler) => void this.handlers[event].push(handler),
    get: (name) => {
      const r = this.runs.get(name);
      return r && this.mine(r) ? structuredClone(r) : undefined;
    },
    list: () => [...this.runs.values()].filter((r) => this.mine(r)).map((r) => structuredClone(r)),
    start: async () => {},
    stop: async () => {},
  };

  private mine(r: Run): boolean {
    return r.status?.assignedPod === POD;
  }

  put(run: Run): void {
    const before = this.runs.get(run.metadata.name!);
    run.metadata.resourceVersion = String(++this.rv);
    this.runs.set(run.metadata.name!, run);
    const was = before !== undefined && this.mine(before);
    const is = this.mine(run);
    if (is) for (const h of this.handlers[was ? 'update' : 'add']) h(structuredClone(run));
    else if (was) for (const h of this.handlers.delete) h(structuredClone(before));
  }

  /** A status merge patch with the resourceVersion precondition (null removes a field). */
  patchStatus(name: string, body: { metadata: { resourceVersion?: string }; status: Record<string, unknown> }): Run {
    const current = this.runs.get(name);
    if (!current) throw new KubeApiError({ code: 404, reason: 'NotFound', message: 'not found' });
    if (body.metadata.resourceVersion !== current.metadata.resourceVersion)
      throw new KubeApiError({ code: 409, reason: 'Conflict', message: 'conflict' });
    const status: Record<string, unknown> = { ...current.status };
    for (const [k, v] of Object.entries(body.status)) {
      if (v === null) delete status[k];
      else if (v !== undefined) status[k] = v;
    }
    const next = { ...structuredClone(current), status } as Run;
    this.writes.push({ name, phase: status.phase as string });
    this.put(next);
    return structuredClone(next);
  }

  client(): KubeClient {
    return {
      mergePatch: async (p: string, body: never) => this.patchStatus(p.split('/').at(-2)!, body),
      get: async (p: string) => {
        const r = this.runs.get(p.split('/').at(-1)!);
        if (!r) throw new KubeApiError({ code: 404, reason: 'NotFound', message: 'not found' });
        return structuredClone(r);
      },
      create: async () => ({}),
    } as unknown as KubeClient;
  }
}

/** A Runtime Server whose executions end when the test says so. */
class FakeServer {
  readonly executed: string[] = [];
  readonly cancelled: string[] = [];
  private readonly ends = new Map<string, (s: StatusResponse) => void>();
  private readonly results = new Map<string, Promise<StatusResponse>>();

  finish(id: string, state: ExecutionState = ExecutionState.Succeeded, errorMessage = ''): void {
    this.ends.get(id)?.({ id, state, exitCode: state === ExecutionState.Succeeded ? 0 : -1, stdout: '', stderr: '', errorMessage });
  }

  client(): RuntimeServerClient {
    return {
      execute: async (req: { id: string }) => {
        this.executed.push(req.id);
        this.results.set(req.id, new Promise((resolve) => this.ends.set(req.id, resolve)));
        return { id: req.id };
      },
      waitFor: (id: string) => this.results.get(id)!,
      status: async () => {
        throw Object.assign(new Error('NOT_FOUND'), { isNotFound: true });
      },
      cancel: async (id: string) => {
        this.cancelled.push(id);
        this.finish(id, ExecutionState.Failed, FailureMessage.Cancelled);
      },
      forget: async () => {},
      output: () => ({ cancel() {}, [Symbol.asyncIterator]: async function* () {} }),
    } as unknown as RuntimeServerClient;
  }
}

describe('runtimed on the controller frame', function () {
  this.timeout(10_000);
  let store: RunStore;
  let server: FakeServer;
  let runtimed: Runtimed;
  let root: string;

  const assigned = (name: string, over: Partial<Run['spec']> = {}): Run => ({
    metadata: { name, namespace: 'ns', uid: `uid-${name}` },
    spec: { runtime: 'bash', args: ['true'], ...over },
    status: {
      phase: RunPhase.Scheduled,
      assignedPod: POD,
      assignedPodUID: 'pu',
      attempt: 1,
      scheduledTime: new Date().toISOString(),
    },
  });
  const phases = (name: string) => store.writes.filter((w) => w.name === name).map((w) => w.phase);
  const until = async (what: string, test: () => boolean, ms = 3000) => {
    const end = Date.now() + ms;
    while (!test()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(5);
    }
  };

  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'runtimed-test-'));
    store = new RunStore();
    server = new FakeServer();
    const client = store.client();
    const cache = new SharedCache(client);
    cache.waitForSync = async () => {};
    runtimed = new Runtimed({
      client,
      server: server.client(),
      namespace: 'ns',
      podName: POD,
      podUID: 'pu',
      workspaceRoot: root,
      logStore: {
        create: () => {
          throw new Error('no log store in this test');
        },
      } as unknown as LogStore,
      artifacts: {
        store: async (run: Run, _dir: string, outcome: unknown) => ({ run, outcome, status: {} }),
      } as unknown as RunArtifacts,
      watch: { cache, runs: store.informer },
    });
    await runtimed.start();
  });
  afterEach(async () => {
    await runtimed.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('a Run that ends within its claim window costs one status write: terminal, with its startTime', async () => {
    store.put(assigned('quick'));
    await until('executed', () => server.executed.includes('uid-quick'));
    server.finish('uid-quick');
    await until('terminal', () => store.runs.get('quick')?.status?.phase === RunPhase.Succeeded);
    await until('released', () => runtimed.activeCount === 0);
    assert.deepEqual(phases('quick'), [RunPhase.Succeeded]);
    const status = store.runs.get('quick')!.status!;
    assert.ok(status.startTime && status.completionTime && status.startTime <= status.completionTime);
  });

  it('a longer Run is claimed (Running) when its window ends, then ends', async () => {
    store.put(assigned('long'));
    await until('executed', () => server.executed.includes('uid-long'));
    await sleep(ClaimWindow.unclaimedMs / 2);
    assert.deepEqual(phases('long'), []);
    await until('claimed', () => store.runs.get('long')?.status?.phase === RunPhase.Running, ClaimWindow.unclaimedMs * 2);
    server.finish('uid-long');
    await until('terminal', () => store.runs.get('long')?.status?.phase === RunPhase.Succeeded);
    assert.deepEqual(phases('long'), [RunPhase.Running, RunPhase.Succeeded]);
  });

  it('a cancel requested within the window cancels the execution and ends the Run Cancelled in one write', async () => {
    store.put(assigned('cancel'));
    await until('executed', () => server.executed.includes('uid-cancel'));
    const run = structuredClone(store.runs.get('cancel')!);
    run.spec.cancelRequested = true;
    store.put(run);
    await until('terminal', () => store.runs.get('cancel')?.status?.phase === RunPhase.Cancelled);
    assert.deepEqual(server.cancelled, ['uid-cancel']);
    assert.deepEqual(phases('cancel'), [RunPhase.Cancelled]);
  });

  it('a Scheduled Run cancelled before it started ends Cancelled without executing', async () => {
    store.put(assigned('never', { cancelRequested: true }));
    await until('terminal', () => store.runs.get('never')?.status?.phase === RunPhase.Cancelled);
    assert.deepEqual(server.executed, []);
  });

  it('a Run taken away mid-execution (the reaper retried it elsewhere) is cancelled and never written again', async () => {
    store.put(assigned('taken'));
    await until('executed', () => server.executed.includes('uid-taken'));
    const moved = structuredClone(store.runs.get('taken')!);
    moved.status = { phase: RunPhase.Pending, attempt: 1 };
    store.put(moved);
    await until('cancelled', () => server.cancelled.includes('uid-taken'));
    await until('released', () => runtimed.activeCount === 0);
    assert.deepEqual(phases('taken'), []);
    assert.equal(store.runs.get('taken')!.status!.phase, RunPhase.Pending);
  });

  it('on a terminating pod: an unstarted assignment is handed back unspent, a running one claimed at once', async () => {
    store.put(assigned('running'));
    await until('executed', () => server.executed.includes('uid-running'));
    runtimed.stopAccepting();
    store.put(assigned('late'));
    await until('claimed', () => store.runs.get('running')?.status?.phase === RunPhase.Running, 500);
    await until('handed back', () => store.runs.get('late')?.status?.phase === RunPhase.Pending);
    assert.equal(store.runs.get('late')!.status!.attempt, 0);
    assert.ok(!server.executed.includes('uid-late'));
    server.finish('uid-running');
    await until('terminal', () => store.runs.get('running')?.status?.phase === RunPhase.Succeeded);
  });

  it('a failed attempt with attempts left goes back to Pending in one write, with the Running condition saying why', async () => {
    store.put(assigned('retry', { retryPolicy: { maxAttempts: 2 } }));
    await until('executed', () => server.executed.includes('uid-retry'));
    server.finish('uid-retry', ExecutionState.Failed, 'boom');
    await until('pending', () => store.runs.get('retry')?.status?.phase === RunPhase.Pending);
    assert.deepEqual(phases('retry'), [RunPhase.Pending]);
    const running = store.runs.get('retry')!.status!.conditions!.find((c) => c.type === 'Running');
    assert.equal(running?.status, 'False');
  });
});
