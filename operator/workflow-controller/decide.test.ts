import assert from 'node:assert/strict';
import {
  Label,
  type Run,
  type RunPhase,
  type Workflow,
  type WorkflowSpec,
  type WorkflowTask,
} from '../../lib/api.ts';
import { type ChildRun, decideWorkflow, type WorkflowDecision } from './decide.ts';

const NOW = new Date('2026-12-03T10:00:00.000Z');
const t = (name: string, dependsOn?: string[], args?: string[]): WorkflowTask => ({
  name,
  ...(dependsOn ? { dependsOn } : {}),
  run: { runtime: 'bash', args: args ?? ['true'] },
});
const wf = (spec: Partial<WorkflowSpec>, status?: Workflow['status']): Workflow => ({
  metadata: { name: 'wf', namespace: 'ns', uid: 'wf-uid', generation: 1 },
  spec: { tasks: [], ...spec },
  ...(status ? { status } : {}),
});
const run = (task: string, phase?: RunPhase, extra: Partial<NonNullable<Run['status']>> = {}, cancelRequested = false): ChildRun => ({
  kind: 'own',
  run: {
    metadata: { name: `wf-${task}`, namespace: 'ns', uid: `u-${task}` },
    spec: { runtime: 'bash', ...(cancelRequested ? { cancelRequested } : {}) },
    ...(phase ? { status: { phase, completionTime: '2026-12-03T09:59:59.000000Z', ...extra } } : {}),
  },
});
const runsOf = (...entries: Array<[string, ChildRun]>) => new Map(entries);
const created = (d: WorkflowDecision) => d.create.map((c) => c.task);
/** Feeds a decision's status back, as the next reconcile would see it. */
const after = (w: Workflow, d: WorkflowDecision): Workflow => ({ ...w, status: d.status ?? w.status });

describe('Workflow decision', () => {
  const diamond = { tasks: [t('a'), t('b', ['a'], ['$(tasks.a.outputs.n)']), t('c', ['a']), t('d', ['b', 'c'])] };

  it('starts the roots first, as owned and labelled Runs, and says Running', () => {
    const d = decideWorkflow({ workflow: wf(diamond), runs: new Map(), now: NOW });
    assert.deepEqual(created(d), ['a']);
    const r = d.create[0].run;
    assert.equal(r.metadata.name, 'wf-a');
    assert.deepEqual(r.metadata.labels, { [Label.Workflow]: 'wf', [Label.WorkflowTask]: 'a' });
    assert.deepEqual(r.metadata.ownerReferences, [
      { apiVersion: 'kruntimes.io/v1alpha1', kind: 'Workflow', name: 'wf', uid: 'wf-uid', controller: true, blockOwnerDeletion: true },
    ]);
    assert.equal(d.status?.phase, 'Running');
    assert.deepEqual(d.status?.tasks?.a, { runName: 'wf-a', phase: 'Pending' });
    assert.deepEqual(d.status?.tasks?.d, { phase: 'Pending' });
    assert.equal(d.status?.startTime, '2026-12-03T10:00:00.000000Z');
    assert.deepEqual(d.events.map((e) => e.reason), ['TaskStarted']);
  });

  it('never creates a task twice: a Run the cache holds is adopted, a recorded one is not recreated', () => {
    const w = wf(diamond, { tasks: { a: { runName: 'wf-a', phase: 'Pending' } } });
    assert.deepEqual(created(decideWorkflow({ workflow: w, runs: runsOf(['a', run('a', 'Running')]), now: NOW })), []);
    // The controller died after creating the Run, before writing status: adopt it.
    const d = decideWorkflow({ workflow: wf(diamond), runs: runsOf(['a', run('a', 'Running')]), now: NOW });
    assert.deepEqual(created(d), []);
    assert.equal(d.status?.tasks?.a.phase, 'Running');
  });

  it('starts a task once all its dependencies succeeded, with their outputs filled in, in parallel', () => {
    const runs = runsOf(['a', run('a', 'Succeeded', { outputs: { n: '42' } })]);
    const d = decideWorkflow({ workflow: wf(diamond), runs, now: NOW });
    assert.deepEqual(created(d), ['b', 'c']);
    assert.deepEqual(d.create[0].run.spec.args, ['42']);
    assert.equal(d.create[0].readyAtMs, Date.parse('2026-12-03T09:59:59Z'));
    runs.set('b', run('b', 'Succeeded'));
    assert.deepEqual(created(decideWorkflow({ workflow: wf(diamond), runs, now: NOW })), ['c']);
    runs.set('c', run('c', 'Running'));
    assert.deepEqual(created(decideWorkflow({ workflow: wf(diamond), runs, now: NOW })), []);
    runs.set('c', run('c', 'Succeeded'));
    assert.deepEqual(created(decideWorkflow({ workflow: wf(diamond), runs, now: NOW })), ['d']);
  });

  it('succeeds when every task succeeded, resolving spec.outputs', () => {
    const w = wf({ ...diamond, outputs: { answer: 'n=$(tasks.a.outputs.n)' } });
    const runs = runsOf(
      ['a', run('a', 'Succeeded', { outputs: { n: '42' } })],
      ['b', run('b', 'Succeeded')],
      ['c', run('c', 'Succeeded')],
      ['d', run('d', 'Succeeded')],
    );
    const d = decideWorkflow({ workflow: w, runs, now: NOW });
    assert.equal(d.status?.phase, 'Succeeded');
    assert.equal(d.status?.reason, 'Succeeded');
    assert.deepEqual(d.status?.outputs, { answer: 'n=42' });
    assert.equal(d.status?.completionTime, '2026-12-03T10:00:00.000000Z');
    assert.deepEqual(d.status?.conditions?.map((c) => [c.type, c.status, c.reason]), [
      ['Validated', 'True', 'Valid'],
      ['Completed', 'True', 'Succeeded'],
    ]);
    // And nothing more happens once finished.
    const again = decideWorkflow({ workflow: after(w, d), runs, now: NOW });
    assert.deepEqual(again, { create: [], cancel: [], events: [] });
  });

  it('skips everything downstream of a failed task while an independent branch completes', () => {
    const spec = { tasks: [t('a'), t('b', ['a']), t('c', ['b']), t('x')] };
    const runs = runsOf(['a', run('a', 'Failed', { reason: 'Failed', message: 'exit code 3' })], ['x', run('x', 'Running')]);
    const d = decideWorkflow({ workflow: wf(spec), runs, now: NOW });
    assert.deepEqual(created(d), []);
    assert.deepEqual(
      [d.status?.tasks?.b.phase, d.status?.tasks?.b.reason, d.status?.tasks?.b.message],
      ['Skipped', 'UpstreamFailed', 'task a ended Failed'],
    );
    assert.deepEqual([d.status?.tasks?.c.phase, d.status?.tasks?.c.message], ['Skipped', 'task b ended Skipped']);
    assert.equal(d.status?.phase, 'Running');
    assert.deepEqual(d.cancel, [], 'without failFast the independent branch goes on');
    runs.set('x', run('x', 'Succeeded'));
    const end = decideWorkflow({ workflow: after(wf(spec), d), runs, now: NOW });
    assert.deepEqual([end.status?.phase, end.status?.reason, end.status?.message], ['Failed', 'TaskFailed', 'task a ended Failed: exit code 3']);
  });

  it('fail-fast cancels running siblings, skips what has not started, and still runs finally', () => {
    const spec = { failFast: true, tasks: [t('a'), t('b'), t('c', ['b']), t('d')], finally: [t('f', undefined, ['$(tasks.a.phase)'])] };
    const runs = runsOf(['a', run('a', 'Failed')], ['b', run('b', 'Running')], ['d', run('d', 'Pending')]);
    const d = decideWorkflow({ workflow: wf(spec), runs, now: NOW });
    assert.deepEqual(d.cancel.sort(), ['wf-b', 'wf-d']);
    assert.deepEqual(created(d), []);
    assert.equal(d.status?.tasks?.c.reason, 'FailFast');
    runs.set('b', run('b', 'Cancelled'));
    runs.set('d', run('d', 'Cancelled'));
    const fin = decideWorkflow({ workflow: after(wf(spec), d), runs, now: NOW });
    assert.deepEqual(created(fin), ['f']);
    assert.deepEqual(fin.create[0].run.spec.args, ['Failed']);
  });

  it('cancel reaches every active child, starts nothing new (finally neither) and ends Cancelled', () => {
    const spec = { cancelRequested: true, tasks: [t('a'), t('b'), t('c', ['a'])], finally: [t('f')] };
    const runs = runsOf(['a', run('a', 'Running')], ['b', run('b', 'Pending')]);
    const d = decideWorkflow({ workflow: wf(spec, { phase: 'Running', tasks: {} }), runs, now: NOW });
    assert.deepEqual(d.cancel.sort(), ['wf-a', 'wf-b']);
    assert.deepEqual(created(d), []);
    assert.equal(d.status?.phase, 'Running');
    // Already requested: not again.
    runs.set('a', run('a', 'Running', {}, true));
    assert.deepEqual(decideWorkflow({ workflow: wf(spec), runs, now: NOW }).cancel, ['wf-b']);
    runs.set('a', run('a', 'Cancelled'));
    runs.set('b', run('b', 'Cancelled'));
    const end = decideWorkflow({ workflow: after(wf(spec), d), runs, now: NOW });
    assert.deepEqual([end.status?.phase, end.status?.reason], ['Cancelled', 'Cancelled']);
    assert.deepEqual([end.status?.tasks?.c.phase, end.status?.tasks?.c.reason], ['Skipped', 'WorkflowCancelled']);
    assert.deepEqual([end.status?.tasks?.f.phase, end.status?.tasks?.f.reason], ['Skipped', 'WorkflowCancelled']);
  });

  it('finally tasks run after every task ended, whatever the outcome, and their failure fails the Workflow', () => {
    const spec = { tasks: [t('a'), t('b')], finally: [t('f1'), t('f2', ['f1'])] };
    const runs = runsOf(['a', run('a', 'Succeeded')], ['b', run('b', 'Running')]);
    assert.deepEqual(created(decideWorkflow({ workflow: wf(spec), runs, now: NOW })), []);
    runs.set('b', run('b', 'Timeout'));
    assert.deepEqual(created(decideWorkflow({ workflow: wf(spec), runs, now: NOW })), ['f1']);
    runs.set('b', run('b', 'Succeeded'));
    runs.set('f1', run('f1', 'Failed'));
    const d = decideWorkflow({ workflow: wf(spec), runs, now: NOW });
    assert.equal(d.status?.tasks?.f2.phase, 'Skipped');
    assert.deepEqual([d.status?.phase, d.status?.message], ['Failed', 'task f1 ended Failed']);
  });

  it('fails a task whose upstream did not write an output it references, and skips its dependents', () => {
    const spec = { tasks: [t('a'), t('b', ['a'], ['$(tasks.a.outputs.sha)']), t('c', ['b'])] };
    const d = decideWorkflow({ workflow: wf(spec), runs: runsOf(['a', run('a', 'Succeeded', { outputs: {} })]), now: NOW });
    assert.deepEqual(created(d), []);
    assert.deepEqual(
      [d.status?.tasks?.b.phase, d.status?.tasks?.b.reason, d.status?.tasks?.b.message],
      ['Failed', 'OutputMissing', 'run.args[0]: task a did not write output sha'],
    );
    assert.equal(d.status?.tasks?.c.phase, 'Skipped');
    assert.deepEqual([d.status?.phase, d.status?.reason], ['Failed', 'TaskFailed']);
  });

  it('fails the Workflow when spec.outputs names an output nobody wrote', () => {
    const d = decideWorkflow({
      workflow: wf({ tasks: [t('a')], outputs: { x: '$(tasks.a.outputs.x)' } }),
      runs: runsOf(['a', run('a', 'Succeeded')]),
      now: NOW,
    });
    assert.deepEqual([d.status?.phase, d.status?.reason, d.status?.message], ['Failed', 'OutputMissing', 'spec.outputs.x: task a did not write output x']);
  });

  it('refuses an invalid spec before creating any Run, naming the cycle', () => {
    const d = decideWorkflow({ workflow: wf({ tasks: [t('a', ['c']), t('b', ['a']), t('c', ['b'])] }), runs: new Map(), now: NOW });
    assert.deepEqual(created(d), []);
    assert.deepEqual([d.status?.phase, d.status?.reason], ['Failed', 'InvalidSpec']);
    assert.equal(d.status?.message, 'invalid Workflow: spec.tasks have a dependency cycle: a -> c -> b -> a');
    assert.deepEqual(d.status?.conditions?.map((c) => [c.type, c.status]), [['Validated', 'False'], ['Completed', 'True']]);
    assert.deepEqual(d.events.map((e) => [e.type, e.reason]), [['Warning', 'InvalidSpec']]);
  });

  it('mirrors the child Run into a small task summary and notes ends as Events', () => {
    const long = 'x'.repeat(5000);
    const w = wf({ tasks: [t('a')] }, { phase: 'Running', tasks: { a: { runName: 'wf-a', phase: 'Running' } } });
    const d = decideWorkflow({
      workflow: w,
      runs: runsOf(['a', run('a', 'Failed', { attempt: 2, reason: 'Failed', message: long, startTime: 's' })]),
      now: NOW,
    });
    const a = d.status!.tasks!.a;
    assert.deepEqual([a.phase, a.attempt, a.reason, a.startTime], ['Failed', 2, 'Failed', 's']);
    assert.ok(Buffer.byteLength(a.message!) <= 256);
    assert.ok(d.events.some((e) => e.reason === 'TaskFailed' && e.type === 'Warning'));
  });

  it('a child Run deleted before it finished fails its task; a foreign Run of the name fails it too', () => {
    const w = wf({ tasks: [t('a'), t('b')] }, { phase: 'Running', tasks: { a: { runName: 'wf-a', phase: 'Running' } } });
    const foreign: ChildRun = { kind: 'foreign', run: { metadata: { name: 'wf-b', namespace: 'ns' }, spec: { runtime: 'bash' } } };
    const d = decideWorkflow({ workflow: w, runs: runsOf(['b', foreign]), now: NOW });
    assert.deepEqual([d.status?.tasks?.a.phase, d.status?.tasks?.a.reason], ['Failed', 'RunDeleted']);
    assert.deepEqual([d.status?.tasks?.b.phase, d.status?.tasks?.b.reason], ['Failed', 'RunNameConflict']);
    assert.deepEqual(created(d), []);
  });

  it('waits for the Runs of a previous Workflow of the same name to be garbage-collected', () => {
    const old: ChildRun = {
      kind: 'foreign',
      run: {
        metadata: { name: 'wf-a', namespace: 'ns', ownerReferences: [{ apiVersion: 'kruntimes.io/v1alpha1', kind: 'Workflow', name: 'wf', uid: 'old', controller: true }] },
        spec: { runtime: 'bash' },
      },
    };
    const d = decideWorkflow({ workflow: wf({ tasks: [t('a')] }), runs: runsOf(['a', old]), now: NOW });
    assert.deepEqual(created(d), []);
    assert.equal(d.requeueAfterMs, 1000);
    assert.equal(d.status?.phase, 'Pending');
  });

  it('writes no status when nothing changed, whatever the key order the apiserver returns', () => {
    const w = wf(diamond);
    const runs = runsOf(['a', run('a', 'Running')]);
    const first = decideWorkflow({ workflow: w, runs, now: NOW });
    const reordered = JSON.parse(JSON.stringify(first.status, (_k, v) =>
      v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
    ));
    const later = new Date(NOW.getTime() + 5000);
    assert.equal(decideWorkflow({ workflow: { ...w, status: reordered }, runs, now: later }).status, undefined);
  });

  it('lets every status change but the Workflow\'s end wait for the next write', () => {
    const w = wf({ tasks: [t('a'), t('b', ['a'])] });
    const start = decideWorkflow({ workflow: w, runs: new Map(), now: NOW });
    assert.equal(start.progressOnly, true, 'a started task can wait for the next write');
    const running = decideWorkflow({ workflow: after(w, start), runs: runsOf(['a', run('a', 'Running')]), now: NOW });
    assert.equal(running.progressOnly, true);
    const next = decideWorkflow({ workflow: after(w, start), runs: runsOf(['a', run('a', 'Succeeded')]), now: NOW });
    assert.deepEqual([next.progressOnly, created(next)], [true, ['b']], 'the next task starts whether or not status is written');
    const end = decideWorkflow({ workflow: w, runs: runsOf(['a', run('a', 'Succeeded')], ['b', run('b', 'Failed')]), now: NOW });
    assert.equal(end.progressOnly, false, 'the end is written at once');
  });

  it('ttlSecondsAfterFinished: looks again at the deadline, then deletes', () => {
    const done = wf({ tasks: [t('a')], ttlSecondsAfterFinished: 60 }, { phase: 'Succeeded', completionTime: '2026-12-03T09:59:30.000000Z' });
    assert.equal(decideWorkflow({ workflow: done, runs: new Map(), now: NOW }).requeueAfterMs, 30_000);
    assert.equal(decideWorkflow({ workflow: done, runs: new Map(), now: new Date(NOW.getTime() + 30_000) }).delete, true);
  });

  it('a 64-task Workflow keeps a small status', () => {
    const name = (i: number) => `task-${String(i).padStart(2, '0')}`;
    const tasks = Array.from({ length: 64 }, (_, i) => t(name(i), i ? [name(i - 1)] : undefined));
    const runs = new Map(tasks.map((task) => [task.name, run(task.name, 'Failed', { message: 'm'.repeat(2000), reason: 'Failed', attempt: 3, startTime: '2026-12-03T09:59:58.000000Z' })]));
    const d = decideWorkflow({ workflow: wf({ tasks }), runs, now: NOW });
    const bytes = Buffer.byteLength(JSON.stringify(d.status));
    assert.ok(bytes < 40 * 1024, `status is ${bytes} bytes`);
  });
});
