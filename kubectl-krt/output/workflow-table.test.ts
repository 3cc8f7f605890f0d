import assert from 'node:assert/strict';
import { Chalk } from 'chalk';
import type { Workflow, WorkflowStatus } from '../../lib/api.ts';
import { describeWorkflow } from './describe-workflow.ts';
import {
  renderTaskTable,
  renderWorkflowOutputs,
  renderWorkflowTable,
  taskProgress,
  workflowResultLine,
} from './workflow-table.ts';

const plain = new Chalk({ level: 0 });
const NOW = Date.parse('2026-06-01T12:01:00Z');
const at = (s: number) => new Date(Date.parse('2026-06-01T12:00:00Z') + s * 1000).toISOString();

const workflow = (status?: WorkflowStatus, name = 'etl'): Workflow => ({
  metadata: { name, namespace: 'dev', uid: 'u-1', creationTimestamp: at(0) },
  spec: {
    params: [
      { name: 'date', value: '2026-01-02', description: 'the day' },
      { name: 'region', default: 'eu' },
    ],
    tasks: [
      { name: 'extract', run: { runtime: 'bash', args: ['x'] } },
      { name: 'load', dependsOn: ['extract'], run: { runtime: 'bash', args: ['x'] } },
    ],
    finally: [{ name: 'notify', run: { runtime: 'bash', args: ['x'] } }],
    outputs: { rows: '$(tasks.load.outputs.rows)' },
    failFast: true,
  },
  status,
});

const failed: WorkflowStatus = {
  phase: 'Failed',
  reason: 'TaskFailed',
  message: 'task extract failed',
  startTime: at(1),
  completionTime: at(13),
  tasks: {
    extract: {
      runName: 'etl-extract',
      phase: 'Failed',
      reason: 'Failed',
      message: 'exit code 3',
      attempt: 2,
      startTime: at(2),
      completionTime: at(5),
    },
    load: { phase: 'Skipped', reason: 'UpstreamFailed', message: 'extract did not succeed' },
    notify: { runName: 'etl-notify', phase: 'Succeeded', attempt: 1, startTime: at(6), completionTime: at(7) },
  },
};

describe('workflow tables', () => {
  it('counts tasks done (ended or Skipped) of all, finally included', () => {
    assert.equal(taskProgress(workflow()), '0/3');
    assert.equal(taskProgress(workflow(failed)), '3/3');
    assert.equal(taskProgress(workflow({ tasks: { extract: { phase: 'Running' }, load: { phase: 'Skipped' } } })), '1/3');
  });
  it('lists Workflows: NAME PHASE TASKS DURATION AGE, wide adds REASON MESSAGE', () => {
    const rows = [workflow(failed), workflow({ phase: 'Running', startTime: at(50) }, 'etl-2')];
    assert.equal(
      renderWorkflowTable(rows, plain, { wide: false, namespaces: false, now: NOW }),
      'NAME    PHASE     TASKS   DURATION   AGE\n' + 'etl     Failed    3/3     12s        60s\n' + 'etl-2   Running   0/3     10s        60s\n',
    );
    const wide = renderWorkflowTable(rows.slice(0, 1), plain, { wide: true, namespaces: true, now: NOW });
    assert.equal(
      wide,
      'NAMESPACE   NAME   PHASE    TASKS   DURATION   AGE   REASON       MESSAGE\n' +
        'dev         etl    Failed   3/3     12s        60s   TaskFailed   task extract failed\n',
    );
  });
  it('shows each task with its Run, attempt, duration, reason and message', () => {
    assert.equal(
      renderTaskTable(workflow(failed), plain, NOW),
      [
        'TASK               PHASE       RUN           ATTEMPT   DURATION   REASON           MESSAGE',
        'extract            Failed      etl-extract   2         3s         Failed           exit code 3',
        'load               Skipped                                        UpstreamFailed   extract did not succeed',
        'notify (finally)   Succeeded   etl-notify    1         1s',
        '',
      ].join('\n'),
    );
  });
  it('sums a finished Workflow up in one line, and its outputs', () => {
    assert.equal(
      workflowResultLine(workflow(failed), plain),
      'Workflow etl Failed in 12s (1 of 3 tasks succeeded): TaskFailed: task extract failed\n',
    );
    const ok = workflow({ phase: 'Succeeded', reason: 'Succeeded', outputs: { rows: '42' }, tasks: {} });
    assert.equal(workflowResultLine(ok, plain), 'Workflow etl Succeeded (0 of 3 tasks succeeded)\n');
    assert.equal(renderWorkflowOutputs(ok), 'Outputs:\n  rows=42\n');
    assert.equal(renderWorkflowOutputs(workflow(failed)), '');
  });
});

describe('describeWorkflow', () => {
  it('shows the spec in short, params, task Runs, outputs, conditions and events', () => {
    const text = describeWorkflow(
      workflow({
        ...failed,
        conditions: [{ type: 'Validated', status: 'True', reason: 'Valid', lastTransitionTime: at(1) }],
      }),
      [{ type: 'Normal', reason: 'TaskStarted', message: 'created Run etl-extract', lastTimestamp: at(2), source: { component: 'workflow-controller' } }],
      plain,
      NOW,
    );
    assert.match(text, /^Name: +etl$/m);
    assert.match(text, /^Phase: +Failed$/m);
    assert.match(text, /^Reason: +TaskFailed$/m);
    assert.match(text, /^Tasks Done: +3\/3$/m);
    assert.match(text, /^Duration: +12s$/m);
    assert.match(text, /^ {2}Tasks: +extract, load \(after extract\)$/m);
    assert.match(text, /^ {2}Finally: +notify$/m);
    assert.match(text, /^ {2}Fail Fast: +true/m);
    assert.match(text, /^Params:\n {2}NAME +VALUE +DEFAULT +DESCRIPTION\n {2}date +2026-01-02 +the day\n {2}region +eu +eu\n/m);
    assert.match(text, /^Task Runs:\n {2}TASK .*\n {2}extract +Failed +etl-extract +2 +3s +Failed +exit code 3$/m);
    assert.match(text, /^Outputs:\n {2}NAME +VALUE +FROM\n {2}rows +\$\(tasks\.load\.outputs\.rows\)$/m);
    assert.match(text, /^Conditions:\n {2}TYPE .*\n {2}Validated +True +Valid/m);
    assert.match(text, /^Events:\n {2}TYPE .*\n {2}Normal +TaskStarted +58s +workflow-controller +created Run etl-extract$/m);
  });
});
