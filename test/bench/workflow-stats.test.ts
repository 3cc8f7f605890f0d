// The workflow benchmark's arithmetic on hand-made timestamps, and its two Workflows checked
// against the rules the apiserver and the Workflow controller apply to a Workflow spec.
import assert from 'node:assert/strict';
import { validateWorkflowSpec } from '../../lib/validation.ts';
import { checkWorkflow } from '../../lib/workflow-expressions.ts';
import { chainWorkflow, expectedOutput, fanOutWorkflow, SHAPE_TASKS, WorkflowShape } from './workflow-shapes.ts';
import {
  type ChildTimes,
  criticalPath,
  dependencyEdges,
  edgeOverheadsMs,
  parseCreatedAt,
  parseMicros,
  percentile,
  percentiles,
  readyToCreatedMs,
  topologicalOrder,
  workflowReport,
} from './workflow-stats.ts';

const T0 = Date.parse('2026-12-01T10:00:00Z') * 1000;
/** A child Run created at `c`, started at `s`, completed at `e` ms after T0. */
const child = (c: number, s: number, e: number): ChildTimes => ({
  createdUs: T0 + c * 1000,
  startUs: T0 + s * 1000,
  completionUs: T0 + e * 1000,
});

describe('workflow benchmark statistics', () => {
  it('reads microsecond timestamps and the created-at annotation', () => {
    assert.equal(parseMicros('2026-12-01T10:00:00.123456Z'), T0 + 123_456);
    assert.equal(parseMicros('2026-12-01T10:00:00Z'), T0);
    assert.equal(parseMicros('2026-12-01T10:00:00.5Z'), T0 + 500_000);
    assert.equal(parseMicros('2026-12-01T10:00:00.123456789Z'), T0 + 123_456, 'nanoseconds are cut to µs');
    assert.equal(parseMicros('2026-12-01T11:00:00.000001+01:00'), T0 + 1);
    assert.throws(() => parseMicros('yesterday'), /not an RFC 3339 timestamp/);
    assert.equal(parseCreatedAt(String(T0 + 42)), T0 + 42);
    assert.equal(parseCreatedAt('2026-12-01T10:00:00.000042Z'), T0 + 42);
  });

  it('takes nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1
    assert.deepEqual([percentile(xs, 50), percentile(xs, 95), percentile(xs, 99), percentile(xs, 100)], [50, 95, 99, 100]);
    assert.equal(percentile([7], 99), 7);
    assert.deepEqual(percentiles([1.04, 2, 3]), { count: 3, p50: 2, p95: 3, p99: 3, max: 3 });
    assert.throws(() => percentile([], 50), /empty/);
  });

  // a → b, a → c, (b, c) → d
  const diamond = [
    { name: 'a' },
    { name: 'b', dependsOn: ['a'] },
    { name: 'c', dependsOn: ['a'] },
    { name: 'd', dependsOn: ['b', 'c'] },
  ];
  const times = new Map([
    ['a', child(0, 5, 10)],
    ['b', child(12, 15, 20)],
    ['c', child(13, 16, 40)],
    ['d', child(43, 45, 50)],
  ]);

  it('measures each edge from the upstream completion to the downstream creation', () => {
    assert.deepEqual(dependencyEdges(diamond).map((e) => `${e.upstream}->${e.downstream}`), ['a->b', 'a->c', 'b->d', 'c->d']);
    assert.deepEqual(edgeOverheadsMs(diamond, times).map((e) => e.ms), [2, 3, 23, 3]);
    // Only the last upstream to finish made d ready.
    assert.deepEqual(readyToCreatedMs(diamond, times), [
      { task: 'b', ms: 2 },
      { task: 'c', ms: 3 },
      { task: 'd', ms: 3 },
    ]);
    assert.throws(() => edgeOverheadsMs(diamond, new Map([['a', times.get('a')!]])), /task b has no child Run/);
  });

  it('finds the critical path by task durations', () => {
    assert.deepEqual(topologicalOrder([...diamond].reverse()), ['a', 'b', 'c', 'd']);
    assert.throws(() => topologicalOrder([{ name: 'x', dependsOn: ['y'] }, { name: 'y', dependsOn: ['x'] }]), /cycle/);
    const durations = new Map([['a', 5], ['b', 5], ['c', 24], ['d', 5]]);
    assert.deepEqual(criticalPath(diamond, durations), { ms: 34, tasks: ['a', 'c', 'd'] });
    assert.deepEqual(criticalPath([], new Map()), { ms: 0, tasks: [] });
  });

  it('reports wall time against the sum of task durations and the critical path', () => {
    const report = workflowReport({ tasks: diamond, children: times, createdUs: T0 - 4000, completionUs: T0 + 51_000 });
    assert.deepEqual(report, {
      tasks: 4,
      edges: 4,
      wallMs: 55,
      sumOfTaskMs: 39,
      criticalPathMs: 34,
      criticalPathTasks: 3,
      overheadOnCriticalPathMs: 21,
      edgeOverheadMs: { count: 4, p50: 3, p95: 23, p99: 23, max: 23 },
      readyToCreatedMs: { count: 3, p50: 3, p95: 3, p99: 3, max: 3 },
    });
  });
});

describe('workflow benchmark Workflows', () => {
  it('a 20-task chain, each task reading the previous one’s output', () => {
    const wf = chainWorkflow('chain-x', 'bench');
    const tasks = wf.spec.tasks;
    assert.equal(tasks.length, SHAPE_TASKS.chain);
    assert.deepEqual([...validateWorkflowSpec(wf.spec), ...checkWorkflow(wf.spec)], []);
    assert.equal(dependencyEdges(tasks).length, 19);
    assert.deepEqual(tasks[0].run.env, { N: '$(params.start)' });
    assert.deepEqual(tasks[5].dependsOn, ['t04']);
    assert.deepEqual(tasks[5].run.env, { N: '$(tasks.t04.outputs.n)' });
    assert.deepEqual(wf.spec.outputs, { n: '$(tasks.t19.outputs.n)' });
    assert.equal(expectedOutput(WorkflowShape.Chain, tasks.length, 1000), '1020');
  });

  it('a 50-task fan-out/fan-in: root, 48 in parallel, join', () => {
    const wf = fanOutWorkflow('fan-x', 'bench');
    const tasks = wf.spec.tasks;
    assert.equal(tasks.length, SHAPE_TASKS['fan-out-fan-in']);
    assert.deepEqual([...validateWorkflowSpec(wf.spec), ...checkWorkflow(wf.spec)], []);
    assert.equal(dependencyEdges(tasks).length, 96);
    assert.equal(tasks.filter((t) => t.dependsOn?.[0] === 'root').length, 48);
    assert.equal(tasks.at(-1)!.dependsOn!.length, 48);
    assert.equal(expectedOutput(WorkflowShape.FanOutFanIn, tasks.length, 0), '1');
  });
});
