import assert from 'node:assert/strict';
import { LinePrefixer, MAX_PENDING_BYTES, taskPrefixes } from './prefix.ts';

function sink(): { write: (d: Buffer | string) => void; text: () => string; writes: () => number } {
  const chunks: string[] = [];
  return { write: (d) => chunks.push(d.toString()), text: () => chunks.join(''), writes: () => chunks.length };
}

describe('LinePrefixer', () => {
  it('prefixes every line and passes only whole lines on', () => {
    const out = sink();
    const p = new LinePrefixer(out, 'a | ');
    p.write('one\ntw');
    assert.equal(out.text(), 'a | one\n');
    p.write(Buffer.from('o\nthree\nfo'));
    assert.equal(out.text(), 'a | one\na | two\na | three\n');
    p.flush();
    assert.equal(out.text(), 'a | one\na | two\na | three\na | fo\n');
    p.flush();
    assert.equal(out.writes(), 3, 'one write per chunk with whole lines, nothing for an empty flush');
  });
  it('keeps two writers on separate lines', () => {
    const out = sink();
    const a = new LinePrefixer(out, 'a | ');
    const b = new LinePrefixer(out, 'b | ');
    a.write('half');
    b.write('whole\n');
    a.write(' line\n');
    assert.equal(out.text(), 'b | whole\na | half line\n');
  });
  it('passes a very long line on in pieces', () => {
    const out = sink();
    const p = new LinePrefixer(out, '> ');
    p.write('x'.repeat(MAX_PENDING_BYTES));
    assert.equal(out.text(), `> ${'x'.repeat(MAX_PENDING_BYTES)}\n`);
  });
  it('pads task names to the longest', () => {
    assert.deepEqual([...taskPrefixes(['a', 'build'])], [
      ['a', 'a     | '],
      ['build', 'build | '],
    ]);
  });
});
