import assert from 'node:assert/strict';
import type { Workflow } from '../../lib/api.ts';
import { UsageError } from '../errors.ts';
import { taskRows } from '../output/workflow-table.ts';
import { noOutputReason, selectTasks } from './workflow-logs.ts';

const workflow: Workflow = {
  metadata: { name: 'etl', namespace: 'dev' },
  spec: {
    tasks: [
      { name: 'b', run: { runtime: 'bash', args: ['x'] } },
      { name: 'a', dependsOn: ['b'], run: { runtime: 'bash', args: ['x'] } },
    ],
    finally: [{ name: 'z', run: { runtime: 'bash', args: ['x'] } }],
  },
  status: { tasks: { b: { runName: 'etl-b', phase: 'Failed' }, a: { phase: 'Skipped', reason: 'UpstreamFailed' } } },
};

describe('workflow logs', () => {
  it('shows the tasks in task order, all or those named', () => {
    assert.deepEqual(selectTasks(workflow, []).map((r) => r.name), ['b', 'a', 'z']);
    assert.deepEqual(selectTasks(workflow, ['z', 'b']).map((r) => r.name), ['b', 'z']);
    assert.throws(
      () => selectTasks(workflow, ['c']),
      (err: unknown) => err instanceof UsageError && /--task c: Workflow etl has no task "c"; its tasks are b, a, z/.test(err.message),
    );
  });
  it('says why a task without a Run has no output', () => {
    const [b, a, z] = taskRows(workflow);
    assert.equal(noOutputReason(b), undefined);
    assert.equal(noOutputReason(a), 'task a is Skipped (UpstreamFailed) and has no Run, so no output');
    assert.equal(noOutputReason(z), 'task z is Pending and has no Run, so no output');
  });
});
