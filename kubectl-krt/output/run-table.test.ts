import assert from 'node:assert/strict';
import { Chalk } from 'chalk';
import type { Run } from '../../lib/api.ts';
import { renderOutputs, renderRunTable, runDuration, runResultLine } from './run-table.ts';

const plain = new Chalk({ level: 0 });
const now = Date.parse('2026-01-01T00:10:00Z');

const finished: Run = {
  metadata: { name: 'hello-x2', namespace: 'dev', creationTimestamp: '2026-01-01T00:09:00Z' },
  spec: { runtime: 'bash' },
  status: {
    phase: 'Failed',
    reason: 'Failed',
    message: 'exit code 3: about\nto fail',
    attempt: 1,
    exitCode: 3,
    assignedPod: 'runtime-bash-1',
    startTime: '2026-01-01T00:09:01.000000Z',
    completionTime: '2026-01-01T00:09:02.250000Z',
    outputs: { result: 'ok', count: '2' },
  },
};
const pending: Run = {
  metadata: { name: 'waiting', namespace: 'other', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { runtime: 'python' },
};

describe('run tables', () => {
  it('prints NAME PHASE RUNTIME DURATION AGE, treating no status as Pending', () => {
    assert.equal(
      renderRunTable([finished, pending], plain, { wide: false, namespaces: false, now }),
      'NAME       PHASE     RUNTIME   DURATION   AGE\n' +
        'hello-x2   Failed    bash      1.25s      60s\n' +
        'waiting    Pending   python               10m\n',
    );
  });
  it('adds a NAMESPACE column with -A and the details with -o wide', () => {
    const out = renderRunTable([finished], plain, { wide: true, namespaces: true, now });
    assert.equal(
      out.split('\n')[0],
      'NAMESPACE   NAME       PHASE    RUNTIME   DURATION   AGE   ATTEMPT   EXIT   POD              REASON   MESSAGE',
    );
    assert.match(
      out.split('\n')[1],
      /^dev {9}hello-x2 .* 1 {9}3 {6}runtime-bash-1 {3}Failed {3}exit code 3: about to fail$/,
    );
  });
  it('counts a running Run up to now', () => {
    const running: Run = { ...pending, status: { phase: 'Running', startTime: '2026-01-01T00:09:58Z' } };
    assert.equal(runDuration(running, now), 2000);
  });
});

describe('run results', () => {
  it('says how a Run ended and why', () => {
    assert.equal(
      runResultLine(finished, plain),
      'Run hello-x2 Failed in 1.25s (exit code 3, pod runtime-bash-1): exit code 3: about to fail\n',
    );
    const ok: Run = {
      ...finished,
      status: { ...finished.status, phase: 'Succeeded', exitCode: 0, message: 'done' },
    };
    assert.equal(
      runResultLine(ok, plain),
      'Run hello-x2 Succeeded in 1.25s (exit code 0, pod runtime-bash-1)\n',
    );
  });
  it('lists outputs as KEY=VALUE lines', () => {
    assert.equal(renderOutputs(finished), 'Outputs:\n  result=ok\n  count=2\n');
    assert.equal(renderOutputs(pending), '');
  });
});
