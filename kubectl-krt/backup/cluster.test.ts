// The cluster side of restore against a fake apiserver: retries while the apiserver is busy, and
// the order of writes that keeps a restored Workflow's finished tasks finished.
import assert from 'node:assert/strict';
import { Annotation, type Run, type Runtime, type Workflow } from '../../lib/api.ts';
import { KubeApiError, type KubeClient, Paths } from '../../lib/kube-client.ts';
import type { BackupContents } from './archive.ts';
import { Restorer, retryWhileBusy } from './cluster.ts';
import { type ClusterState, planRestore } from './restore-plan.ts';

function client(answers: Array<number | 'ok'>): { client: KubeClient; calls: () => number } {
  let calls = 0;
  const c = {
    async request() {
      const a = answers[calls++];
      if (a === 'ok') return { ok: true };
      throw new KubeApiError({ code: a, reason: String(a), message: `HTTP ${a}` });
    },
  } as unknown as KubeClient;
  return { client: c, calls: () => calls };
}

describe('retryWhileBusy', () => {
  it('retries 429 and 503 (storage re-initializing after the CRDs come back) until it answers', async () => {
    const c = client([429, 503, 'ok']);
    retryWhileBusy(c.client, 5000);
    assert.deepEqual(await c.client.request('GET', '/x'), { ok: true });
    assert.equal(c.calls(), 3);
  });
  it('does not retry other errors, and gives up after its time', async () => {
    const c = client([404, 'ok']);
    retryWhileBusy(c.client, 5000);
    await assert.rejects(c.client.request('GET', '/x'), /HTTP 404/);
    assert.equal(c.calls(), 1);
    const busy = client([429, 429, 429, 429, 'ok']);
    retryWhileBusy(busy.client, 300);
    await assert.rejects(busy.client.request('GET', '/x'), /HTTP 429/);
  });
});

describe('Restorer', () => {
  /** A fake apiserver for creates, reads and merge patches, recording each request. */
  function fakeApi() {
    const objects = new Map<string, Record<string, any>>(); // eslint-disable-line @typescript-eslint/no-explicit-any
    const log: string[] = [];
    let rv = 0;
    let uid = 0;
    const short = (path: string) => path.replace(/^\/apis\/kruntimes\.io\/v1alpha1\/namespaces\/a\//, '');
    const c = {
      async create(collection: string, body: { metadata: { name: string; annotations?: Record<string, string> } }) {
        const path = `${collection}/${body.metadata.name}`;
        const obj = structuredClone({ ...body, metadata: { ...body.metadata, uid: `new-${++uid}`, resourceVersion: String(++rv) } });
        objects.set(path, obj);
        log.push(`create ${short(path)}${body.metadata.annotations?.[Annotation.Restoring] ? ' (restoring)' : ''}`);
        return structuredClone(obj);
      },
      async get(path: string) {
        return structuredClone(objects.get(path));
      },
      async mergePatch(
        path: string,
        patch: { metadata?: { resourceVersion?: string; annotations?: Record<string, null> }; status?: object },
      ) {
        const isStatus = path.endsWith('/status');
        const obj = objects.get(path.replace(/\/status$/, ''))!;
        if (patch.metadata?.resourceVersion !== obj.metadata.resourceVersion) throw new KubeApiError({ code: 409, reason: 'Conflict', message: 'conflict' });
        if (isStatus) obj.status = patch.status;
        if (patch.metadata?.annotations) delete obj.metadata.annotations[Annotation.Restoring];
        obj.metadata.resourceVersion = String(++rv);
        log.push(isStatus ? `status ${short(path.replace(/\/status$/, ''))}` : `lift ${short(path)}`);
        return structuredClone(obj);
      },
    } as unknown as KubeClient;
    return { client: c, objects, log };
  }
  const owner = { apiVersion: 'kruntimes.io/v1alpha1', kind: 'Workflow', name: 'w', uid: 'old-wu', controller: true };
  const child = (name: string): Run => ({
    metadata: { name, namespace: 'a', uid: `old-${name}`, ownerReferences: [owner] },
    spec: { runtime: 'bash', args: ['true'] },
    status: { phase: 'Succeeded', completionTime: '2026-01-01T00:00:01.000000Z' },
  });
  const workflow: Workflow = {
    metadata: { name: 'w', namespace: 'a', uid: 'old-wu' },
    spec: { tasks: [{ name: 'x', run: { runtime: 'bash', args: ['true'] } }, { name: 'y', run: { runtime: 'bash', args: ['true'] } }] },
    status: { phase: 'Running', tasks: { x: { runName: 'w-x', phase: 'Succeeded' }, y: { runName: 'w-y', phase: 'Succeeded' } } },
  };
  const runtime: Runtime = { metadata: { name: 'bash', namespace: 'a' }, spec: { template: { spec: { containers: [] } } } };
  const cluster: ClusterState = {
    namespaces: new Set(['a']),
    secrets: new Set(),
    persistentVolumeClaims: new Set(),
    runtimes: new Map([['a/bash', runtime]]),
    workflows: new Map(),
    runs: new Map(),
    installRecord: false,
  };
  async function restore(backup: BackupContents) {
    const api = fakeApi();
    const restorer = new Restorer({ client: api.client, backup, cluster });
    for (const step of planRestore(backup, cluster)) if (step.kind === 'Workflow' || step.kind === 'Run') await restorer.apply(step);
    return api;
  }

  it("lifts a Workflow's restoring annotation only after its child Runs have their status, relinked to its new uid", async () => {
    const api = await restore({ runtimes: [runtime], workflows: [workflow], runs: [child('w-x'), child('w-y')] });
    assert.deepEqual(api.log, [
      'create workflows/w (restoring)',
      'status workflows/w',
      'create runs/w-x (restoring)',
      'status runs/w-x',
      'lift runs/w-x',
      'create runs/w-y (restoring)',
      'status runs/w-y',
      'lift runs/w-y',
      'lift workflows/w',
    ]);
    const wf = api.objects.get(Paths.workflow('a', 'w'))!;
    assert.deepEqual(wf.status, workflow.status);
    for (const name of ['w-x', 'w-y']) {
      const r = api.objects.get(Paths.run('a', name))!;
      assert.deepEqual(r.metadata.ownerReferences, [{ ...owner, uid: wf.metadata.uid }]);
      assert.equal(r.status.phase, 'Succeeded');
    }
  });

  it('lifts a Workflow without child Runs at once, and leaves one whose child Run is skipped restoring', async () => {
    const alone = await restore({ runtimes: [runtime], workflows: [workflow], runs: [] });
    assert.deepEqual(alone.log, ['create workflows/w (restoring)', 'status workflows/w', 'lift workflows/w']);
    const stored = { ...runtime, spec: { ...runtime.spec, artifactStore: { s3: { bucket: 'b', credentialsSecretRef: { name: 'creds' } } } } };
    const held = await restore({ runtimes: [stored], workflows: [workflow], runs: [child('w-x')] });
    assert.deepEqual(held.log, ['create workflows/w (restoring)', 'status workflows/w']);
  });
});
