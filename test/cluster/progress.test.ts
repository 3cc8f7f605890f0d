// Progress of `cluster up`: which renderer for which terminal, elapsed times as text, and the
// output tail kept for a failed step's error.
import assert from 'node:assert/strict';
import { formatElapsed, OutputTail, ProgressMode, progressMode, runTasks, StepError } from './progress.ts';

describe('local cluster progress', () => {
  it('is live on a terminal, lines in CI or a pipe, quiet unless asked for', () => {
    assert.equal(progressMode(true, true, {}), ProgressMode.live);
    assert.equal(progressMode(true, true, { CI: 'true' }), ProgressMode.lines);
    assert.equal(progressMode(true, true, { TERM: 'dumb' }), ProgressMode.lines);
    assert.equal(progressMode(true, false, {}), ProgressMode.lines);
    assert.equal(progressMode(false, true, {}), ProgressMode.quiet);
  });

  it('formats elapsed time in seconds, then minutes', () => {
    assert.equal(formatElapsed(870), '0.9s');
    assert.equal(formatElapsed(59_940), '59.9s');
    assert.equal(formatElapsed(75_000), '1m15s');
    assert.equal(formatElapsed(3_725_000), '62m05s');
  });

  it('keeps the last lines of chunked output, counting them', () => {
    const t = new OutputTail(3);
    assert.deepEqual(t.push('go: downloading a\ngo: down'), ['go: downloading a']);
    assert.deepEqual(t.push('loading b\r\n\nc\nd\ne'), ['go: downloading b', 'c', 'd']);
    assert.equal(t.count, 4);
    assert.equal(t.text(), 'go: downloading b\nc\nd\ne');
  });

  it('rejects with a failed step in full: its one-line message and the tail of its output', async () => {
    await assert.rejects(
      runTasks(ProgressMode.quiet, [{ title: 'etcd', task: () => Promise.reject(new StepError('etcd failed (exit 1)', 'a\nb')) }], {}),
      { message: 'etcd failed (exit 1); its last lines:\na\nb' },
    );
  });
});
