import assert from 'node:assert/strict';
import type { Run, RunStatus } from '../../lib/api.ts';
import { explainRun } from './explain.ts';

function run(status: RunStatus | undefined, spec: Partial<Run['spec']> = {}): Run {
  return {
    metadata: { name: 'job', namespace: 'team' },
    spec: { runtime: 'bash', args: ['x'], ...spec },
    status,
  };
}

describe('explainRun', () => {
  it('says which Runtime is missing and how to fix it', () => {
    const text = explainRun(
      run({ phase: 'Pending', reason: 'RuntimeNotFound', message: 'Runtime "bash" not found' }),
    );
    assert.match(text!, /no Runtime named "bash" in namespace team: create it .* or create the Run again/);
  });
  it('explains waiting for a pod or a slot', () => {
    assert.match(
      explainRun(
        run({ phase: 'Pending', reason: 'NoReadyPod', message: 'Runtime "bash" has no Runtime Pods yet' }),
      )!,
      /no Runtime Pod that can take work yet \(Runtime "bash" has no Runtime Pods yet\): check its pods with kubectl krt runtime get bash -n team/,
    );
    assert.match(
      explainRun(run({ phase: 'Pending', reason: 'AtCapacity', message: 'all 2 ready …' }))!,
      /starts when a slot frees.*kubectl scale runtime bash -n team --replicas N/,
    );
    assert.match(
      explainRun(run({ phase: 'Pending', reason: 'RetryBackoff', attempt: 2 }))!,
      /Attempt 2 failed/,
    );
    assert.match(explainRun(run(undefined))!, /No scheduler has looked at this Run yet/);
  });
  it('points a Scheduled Run at runtimed', () => {
    assert.match(
      explainRun(run({ phase: 'Scheduled', assignedPod: 'p1' }))!,
      /kubectl logs p1 -n team -c runtimed/,
    );
  });
  it('says nothing for a Run that runs or succeeded', () => {
    assert.equal(explainRun(run({ phase: 'Running' })), undefined);
    assert.equal(explainRun(run({ phase: 'Succeeded' })), undefined);
  });
  it('explains failures with the exit code, attempts and what to do', () => {
    assert.match(
      explainRun(run({ phase: 'Failed', reason: 'Failed', exitCode: 3, attempt: 2 }))!,
      /exited with code 3 after 2 attempts; .*kubectl krt logs job -n team/,
    );
    assert.match(
      explainRun(
        run({ phase: 'Failed', reason: 'OutputsTooLarge', message: 'output big exceeds 8192 bytes' }),
      )!,
      /64 keys, 128-byte keys, 8KiB values, 64KiB in total\) \(output big exceeds 8192 bytes\): write large results/,
    );
    assert.match(
      explainRun(run({ phase: 'Failed', reason: 'PodGone', assignedPod: 'p9' }))!,
      /p9 was deleted/,
    );
  });
  it('says what to change when a request can never be met', () => {
    assert.match(
      explainRun(run({ phase: 'Failed', reason: 'Unschedulable', message: 'Insufficient gpu: …' }))!,
      /could ever hold what this Run requests \(Insufficient gpu: …\): lower spec\.resources\.requests .*not retried/,
    );
  });
  it('names the timeout that elapsed', () => {
    assert.match(explainRun(run({ phase: 'Timeout' }, { timeoutSeconds: 90 }))!, /timeout of 1m30s/);
  });
});
