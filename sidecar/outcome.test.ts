import assert from 'node:assert/strict';
import type { StatusResponse } from '../lib/runtime-proto.ts';
import { outcomeOf, waitFailedOutcome } from './outcome.ts';

const st = (o: Partial<StatusResponse>): StatusResponse => ({
  id: 'u',
  state: 'EXECUTION_STATE_SUCCEEDED',
  exitCode: 0,
  stdout: '',
  stderr: '',
  errorMessage: '',
  ...o,
});

describe('runtimed outcomeOf', () => {
  it('succeeds with parsed outputs', () => {
    assert.deepEqual(outcomeOf(st({}), 'result=ok\n'), {
      phase: 'Succeeded',
      reason: 'Completed',
      message: 'completed',
      exitCode: 0,
      outputs: { result: 'ok' },
    });
  });
  it('fails a successful execution whose outputs are over the bounds', () => {
    const o = outcomeOf(st({}), `k=${'v'.repeat(9000)}`);
    assert.equal(o.phase, 'Failed');
    assert.equal(o.reason, 'OutputsTooLarge');
  });
  it('reports the exit code and the end of stderr on failure', () => {
    const o = outcomeOf(
      st({ state: 'EXECUTION_STATE_FAILED', exitCode: 3, stderr: 'boom\n', errorMessage: 'exit code 3' }),
      '',
    );
    assert.equal(o.phase, 'Failed');
    assert.equal(o.reason, 'Failed');
    assert.equal(o.message, 'exit code 3: boom');
    assert.equal(o.exitCode, 3);
  });
  it('maps the wire timeout and cancelled failures to their phases', () => {
    const t = outcomeOf(st({ state: 'EXECUTION_STATE_FAILED', exitCode: -1, errorMessage: 'timeout' }), '', {
      timeoutSeconds: 2,
    });
    assert.deepEqual([t.phase, t.reason, t.message], ['Timeout', 'Timeout', 'timed out after 2s']);
    const c = outcomeOf(st({ state: 'EXECUTION_STATE_FAILED', exitCode: -1, errorMessage: 'cancelled' }), '');
    assert.deepEqual([c.phase, c.reason], ['Cancelled', 'Cancelled']);
  });
  it('reports a runtime error that has no exit code', () => {
    const o = outcomeOf(
      st({ state: 'EXECUTION_STATE_FAILED', exitCode: -1, errorMessage: 'entrypoint not found' }),
      '',
    );
    assert.deepEqual([o.phase, o.reason, o.message], ['Failed', 'RuntimeError', 'entrypoint not found']);
  });
});

describe('waitFailedOutcome', () => {
  it('a lost execution after our own Cancel is Cancelled, otherwise ExecutionLost; other errors RuntimeError', () => {
    assert.deepEqual([waitFailedOutcome(true, true, '').phase, waitFailedOutcome(true, true, '').reason], ['Cancelled', 'Cancelled']);
    assert.deepEqual([waitFailedOutcome(true, false, '').phase, waitFailedOutcome(true, false, '').reason], ['Failed', 'ExecutionLost']);
    assert.deepEqual(waitFailedOutcome(false, true, 'boom'), {
      phase: 'Failed',
      reason: 'RuntimeError',
      message: 'waiting for the execution failed: boom',
    });
  });
});
