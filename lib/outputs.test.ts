import assert from 'node:assert/strict';
import { Reason } from './api.ts';
import { parseOutputs } from './outputs.ts';

describe('parseOutputs', () => {
  it('parses KEY=VALUE lines, skipping blanks and comments; last duplicate wins', () => {
    const r = parseOutputs('result=ok\n\n# note\ncount=1\nresult=done\nurl=http://x/?a=b\n');
    assert.deepEqual(r, { ok: true, outputs: { count: '1', result: 'done', url: 'http://x/?a=b' } });
  });
  it('accepts an empty file and CRLF line ends', () => {
    assert.deepEqual(parseOutputs(''), { ok: true, outputs: {} });
    assert.deepEqual(parseOutputs('a=1\r\n'), { ok: true, outputs: { a: '1' } });
  });
  it('rejects a line without = as OutputsInvalid', () => {
    const r = parseOutputs('a=1\nnot a pair\n');
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.reason, Reason.OutputsInvalid);
    assert.match(!r.ok ? r.message : '', /line 2/);
  });
  it('rejects an invalid key', () => {
    const r = parseOutputs('1abc=x');
    assert.equal(!r.ok && r.reason, Reason.OutputsInvalid);
  });
  it('bounds key count, key size, value size and total size', () => {
    const many = Array.from({ length: 65 }, (_, i) => `k${i}=v`).join('\n');
    assert.equal((parseOutputs(many) as { reason: string }).reason, Reason.OutputsTooLarge);
    assert.equal((parseOutputs(`${'k'.repeat(129)}=v`) as { reason: string }).reason, Reason.OutputsTooLarge);
    assert.equal(
      (parseOutputs(`k=${'v'.repeat(8193)}`) as { reason: string }).reason,
      Reason.OutputsTooLarge,
    );
    const big = Array.from({ length: 9 }, (_, i) => `k${i}=${'v'.repeat(8000)}`).join('\n');
    assert.match((parseOutputs(big) as { message: string }).message, /total/);
    assert.equal(parseOutputs(`k=${'v'.repeat(8192)}`).ok, true);
  });
});
