import assert from 'node:assert/strict';
import { WorkflowPhase } from '../lib/api.ts';
import { ExitCode, exitCodeForPhase, exitCodeForWorkflowPhase } from './exit-codes.ts';

describe('exit codes', () => {
  it('map a Workflow phase to the code of the Run phase of the same name', () => {
    for (const phase of [WorkflowPhase.Succeeded, WorkflowPhase.Failed, WorkflowPhase.Cancelled]) {
      assert.equal(exitCodeForWorkflowPhase(phase), exitCodeForPhase(phase), phase);
    }
    assert.equal(exitCodeForWorkflowPhase('Succeeded'), ExitCode.Ok);
    assert.equal(exitCodeForWorkflowPhase('Failed'), 1);
    assert.equal(exitCodeForWorkflowPhase('Cancelled'), 4);
  });
  it('give no outcome code for a Workflow that has not ended', () => {
    assert.equal(exitCodeForWorkflowPhase(WorkflowPhase.Running), ExitCode.Error);
    assert.equal(exitCodeForWorkflowPhase(undefined), ExitCode.Error);
  });
});
