import assert from 'node:assert/strict';
import { boundMessage, tail } from './message.ts';

describe('boundMessage', () => {
  it('keeps short messages unchanged', () => {
    assert.equal(boundMessage('exit code 3'), 'exit code 3');
  });
  it('cuts long messages to the byte bound with an ellipsis, never inside a UTF-8 sequence', () => {
    const m = boundMessage('é'.repeat(2000));
    assert.ok(Buffer.byteLength(m) <= 1024);
    assert.ok(m.endsWith('…'));
    assert.ok(!m.includes('\uFFFD'));
    assert.equal(Buffer.from(m).toString(), m);
  });
});

describe('tail', () => {
  it('returns the end of a text, starting at a line boundary', () => {
    const t = tail(`${'x'.repeat(100)}\nline two\nline three\n`, 30);
    assert.equal(t, '…line two\nline three');
  });
  it('returns short text trimmed', () => {
    assert.equal(tail('boom\n', 100), 'boom');
  });
});
