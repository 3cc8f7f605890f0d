import assert from 'node:assert/strict';
import type { LogChunk } from './chunk.ts';
import { LogWriter, type Sink } from './writer.ts';

class Collect implements Sink {
  parts: Buffer[] = [];
  write(data: Buffer | string) {
    this.parts.push(Buffer.from(data));
  }
  get text() {
    return Buffer.concat(this.parts).toString();
  }
}

const c = (stream: 'stdout' | 'stderr', data: string, ts = 'T1'): LogChunk => ({
  ts,
  stream,
  data: Buffer.from(data),
});

describe('LogWriter', () => {
  it('merges both streams into stdout byte for byte, like kubectl logs', () => {
    const out = new Collect();
    const err = new Collect();
    const w = new LogWriter({ stdout: out, stderr: err, split: false, timestamps: false });
    w.write(c('stdout', 'a\n'));
    w.write(c('stderr', 'b\n'));
    w.write({ ts: '', stream: 'stdout', data: Buffer.from([0xff, 0x00]) });
    assert.deepEqual(Buffer.concat(out.parts), Buffer.from([0x61, 0x0a, 0x62, 0x0a, 0xff, 0x00]));
    assert.equal(err.text, '');
    assert.deepEqual(w.bytes, { stdout: 4, stderr: 2 });
  });
  it('splits stdout and stderr like docker run', () => {
    const out = new Collect();
    const err = new Collect();
    const w = new LogWriter({ stdout: out, stderr: err, split: true, timestamps: false });
    w.write(c('stdout', 'out\n'));
    w.write(c('stderr', 'err\n'));
    assert.equal(out.text, 'out\n');
    assert.equal(err.text, 'err\n');
  });
  it('prefixes each line with the timestamp of the chunk it starts in', () => {
    const out = new Collect();
    const w = new LogWriter({ stdout: out, stderr: out, split: false, timestamps: true });
    w.write(c('stdout', 'one\ntw', 'T1'));
    w.write(c('stdout', 'o\nthree\n', 'T2'));
    w.write(c('stdout', 'four', 'T3'));
    w.finishLines();
    assert.equal(out.text, 'T1 one\nT1 two\nT2 three\nT3 four\n');
  });
});
