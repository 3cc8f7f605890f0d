import assert from 'node:assert/strict';
import { type ExecuteRequest, ExecutionState } from '../../lib/runtime-proto.ts';
import { executeDecision, withoutMissingDefaultEntrypoint } from './execute-rules.ts';

function request(overrides: Partial<ExecuteRequest>): ExecuteRequest {
  return {
    id: 'uid',
    args: [],
    env: {},
    timeoutSeconds: 0,
    workingDir: '/ws',
    entrypoint: '',
    handler: '',
    ...overrides,
  };
}

describe('kit Execute rules', () => {
  it('starts unknown ids, ignores unfinished ones, reruns finished ones', () => {
    assert.equal(executeDecision(undefined), 'start');
    assert.equal(executeDecision(ExecutionState.Pending), 'duplicate');
    assert.equal(executeDecision(ExecutionState.Running), 'duplicate');
    assert.equal(executeDecision(ExecutionState.Succeeded), 'rerun');
    assert.equal(executeDecision(ExecutionState.Failed), 'rerun');
  });

  it('drops a missing "script" entrypoint when there are args or a handler', () => {
    const none = () => false;
    const args = request({ entrypoint: 'script', args: ['echo hi'] });
    assert.equal(withoutMissingDefaultEntrypoint(args, none).entrypoint, '');
    assert.deepEqual(withoutMissingDefaultEntrypoint(args, none).args, ['echo hi']);
    const handler = request({ entrypoint: 'script', handler: 'mod:main' });
    assert.equal(withoutMissingDefaultEntrypoint(handler, none).entrypoint, '');
  });

  it('keeps the entrypoint when script exists, nothing else would run, or the name differs', () => {
    const seen: string[] = [];
    const exists = (path: string) => {
      seen.push(path);
      return true;
    };
    const args = request({ entrypoint: 'script', args: ['x'] });
    assert.equal(withoutMissingDefaultEntrypoint(args, exists).entrypoint, 'script');
    assert.deepEqual(seen, ['/ws/script']);
    const none = () => false;
    assert.equal(withoutMissingDefaultEntrypoint(request({ entrypoint: 'script' }), none).entrypoint, 'script');
    const other = request({ entrypoint: 'main.sh', args: ['x'] });
    assert.equal(withoutMissingDefaultEntrypoint(other, none).entrypoint, 'main.sh');
  });
});
