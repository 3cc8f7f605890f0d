import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import type { Run, RunStatus } from '../lib/api.ts';
import { Context } from './context.ts';
import { progressNotes } from './progress.ts';

function context(): { ctx: Context; err: () => string } {
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (d) => {
    err += d;
  });
  const ctx = new Context({
    prog: 'kubectl krt',
    io: {
      stdout: new PassThrough(),
      stderr,
      stdin: Readable.from([]),
      env: {},
      stdoutIsTTY: false,
      colorLevel: 0,
    },
    args: { input: [], flags: { namespace: 'dev' }, dashArgs: [] },
    signal: new AbortController().signal,
  });
  return { ctx, err: () => err };
}

const run = (status: RunStatus): Run => ({
  metadata: { name: 'r', namespace: 'dev' },
  spec: { runtime: 'bash' },
  status,
});

describe('progressNotes', () => {
  it('explains each waiting reason once and stays quiet for a Run that simply runs', () => {
    const { ctx, err } = context();
    const note = progressNotes(ctx);
    note(run({}));
    note(run({ phase: 'Pending', reason: 'AtCapacity', message: 'all 2 ready … (8/8 Runs)' }));
    note(run({ phase: 'Pending', reason: 'AtCapacity', message: 'all 2 ready … (8/8 Runs), again' }));
    note(run({ phase: 'Scheduled', reason: 'Scheduled' }));
    note(run({ phase: 'Running', reason: 'Claimed' }));
    note(run({ phase: 'Succeeded', reason: 'Completed' }));
    const lines = err().trim().split('\n');
    assert.equal(lines.length, 1, err());
    assert.match(lines[0], /^krt: waiting: No ready Runtime Pod of "bash" has room for this Run.s requests now/);
  });
  it('says when an attempt failed and will be retried', () => {
    const { ctx, err } = context();
    const note = progressNotes(ctx);
    note(run({ phase: 'Pending', reason: 'RetryBackoff', attempt: 1, message: 'exit code 2: boom' }));
    note(run({ phase: 'Pending', reason: 'RetryBackoff', attempt: 1, message: 'exit code 2: boom' }));
    note(run({ phase: 'Running', reason: 'Claimed', attempt: 2 }));
    assert.equal(err(), 'krt: attempt 1 failed (exit code 2: boom); retrying after the backoff\n');
  });
});
