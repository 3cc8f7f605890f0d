import assert from 'node:assert/strict';
import { Chalk } from 'chalk';
import type { Workflow, WorkflowStatus } from '../../lib/api.ts';
import {
  changeLine,
  fitLine,
  LiveRegion,
  plainView,
  renderTaskLines,
  type TaskState,
  taskChanges,
  taskStates,
} from './view.ts';

const plain = new Chalk({ level: 0 });
const NOW = Date.parse('2026-06-01T12:00:10Z');
const at = (s: number) => new Date(Date.parse('2026-06-01T12:00:00Z') + s * 1000).toISOString();

const workflow = (status: WorkflowStatus = {}): Workflow => ({
  metadata: { name: 'etl', namespace: 'dev' },
  spec: {
    tasks: [
      { name: 'extract', run: { runtime: 'bash', args: ['x'] } },
      { name: 'load', dependsOn: ['extract'], run: { runtime: 'bash', args: ['x'] } },
    ],
    finally: [{ name: 'notify', run: { runtime: 'bash', args: ['x'] } }],
  },
  status,
});

describe('workflow follow view: change detection', () => {
  it('reports on the first look only the tasks that are not plainly Pending', () => {
    assert.deepEqual(taskChanges(undefined, taskStates(workflow())), []);
    const first = taskStates(
      workflow({ tasks: { extract: { phase: 'Running', attempt: 1 }, load: { phase: 'Pending', reason: 'RuntimeNotFound' } } }),
    );
    assert.deepEqual(
      taskChanges(undefined, first).map((c) => c.task),
      ['extract', 'load'],
    );
  });
  it('reports a new phase or attempt, and a new reason only while Pending', () => {
    const before: TaskState[] = [
      { task: 'extract', phase: 'Running', attempt: 1, reason: 'Claimed' },
      { task: 'load', phase: 'Pending' },
    ];
    assert.deepEqual(
      taskChanges(before, [
        { task: 'extract', phase: 'Running', attempt: 1, reason: 'SomethingElse' },
        { task: 'load', phase: 'Pending' },
      ]),
      [],
    );
    assert.deepEqual(
      taskChanges(before, [
        { task: 'extract', phase: 'Running', attempt: 2 },
        { task: 'load', phase: 'Pending', reason: 'AtCapacity' },
      ]).map((c) => `${c.task} ${c.attempt ?? ''} ${c.reason ?? ''}`),
      ['extract 2 ', 'load  AtCapacity'],
    );
  });
  it('words each change as one plain line', () => {
    assert.equal(changeLine({ task: 'a', phase: 'Running', attempt: 1, reason: 'Claimed' }), 'task a Running');
    assert.equal(changeLine({ task: 'a', phase: 'Running', attempt: 2 }), 'task a Running (attempt 2)');
    assert.equal(
      changeLine({ task: 'b', phase: 'Skipped', reason: 'UpstreamFailed', message: 'a\nfailed' }),
      'task b Skipped: UpstreamFailed: a failed',
    );
    assert.equal(changeLine({ task: 'c', phase: 'Failed', attempt: 1, message: 'exit code 1' }), 'task c Failed: exit code 1');
  });
  it('the plain view notes each change once', () => {
    const lines: string[] = [];
    const view = plainView((l) => lines.push(l));
    view.update(workflow());
    view.update(workflow({ tasks: { extract: { phase: 'Running', attempt: 1 } } }));
    view.update(workflow({ tasks: { extract: { phase: 'Running', attempt: 1 } } }));
    view.update(
      workflow({
        tasks: {
          extract: { phase: 'Failed', attempt: 1, reason: 'Failed', message: 'exit code 3' },
          load: { phase: 'Skipped', reason: 'UpstreamFailed' },
          notify: { phase: 'Running', attempt: 1 },
        },
      }),
    );
    view.stop();
    assert.deepEqual(lines, [
      'task extract Running',
      'task extract Failed: Failed: exit code 3',
      'task load Skipped: UpstreamFailed',
      'task notify Running',
    ]);
  });
});

describe('workflow follow view: the terminal block', () => {
  it('shows a heading and one aligned line per task, finally tasks marked', () => {
    const lines = renderTaskLines(
      workflow({
        phase: 'Running',
        startTime: at(0),
        tasks: {
          extract: { phase: 'Succeeded', attempt: 1, startTime: at(1), completionTime: at(3) },
          load: { phase: 'Running', attempt: 2, startTime: at(4) },
        },
      }),
      plain,
      NOW,
    );
    assert.deepEqual(lines, [
      'Workflow etl   Running   1/3 tasks   10s',
      '  ✓ extract            Succeeded   2s',
      '  ▶ load               Running     6s   attempt 2',
      '  ○ notify (finally)   Pending',
    ]);
  });
  it('cuts lines to the terminal width', () => {
    assert.equal(fitLine('abcdef', 10), 'abcdef');
    assert.equal(fitLine('\x1b[31mabcdefghijkl\x1b[39m', 8), 'abcdef…');
    assert.equal(fitLine('abcdef', undefined), 'abcdef');
  });
  it('redraws in place and writes output above the block', () => {
    let screen = '';
    const region = new LiveRegion({ write: (d) => (screen += d.toString()) });
    region.above(() => (screen += 'before\n'));
    region.draw(['a', 'b']);
    region.above(() => (screen += 'out\n'));
    region.draw(['a2', 'b2', 'c2']);
    assert.equal(
      screen,
      'before\n' + 'a\nb\n' + '\x1b[2A\r\x1b[J' + 'out\n' + 'a\nb\n' + '\x1b[2A\r\x1b[J' + 'a2\nb2\nc2\n',
    );
  });
});
