import assert from 'node:assert/strict';
import type { LogChunk } from './chunk.ts';
import { filterChunks, parseContainerLogLine, tailChunks } from './container-log.ts';

const runOutputFromLogLine = (line: string, uid: string) => {
  const entry = parseContainerLogLine(line, uid);
  return entry && 'chunk' in entry ? entry.chunk : undefined;
};

const UID = '6f1c2a9e-0000-4000-8000-000000000001';

function chunk(stream: 'stdout' | 'stderr', text: string, ts = '2026-01-01T00:00:00.000000Z'): LogChunk {
  return { ts, stream, data: Buffer.from(text) };
}
const text = (chunks: LogChunk[]) => Buffer.concat(chunks.map((c) => c.data)).toString();

describe('runOutputFromLogLine', () => {
  it('reads the current line format, restoring the newline', () => {
    const line = JSON.stringify({
      ts: 't1',
      msg: 'run output',
      runUID: UID,
      stream: 'stdout',
      line: 'hello',
    });
    assert.deepEqual(runOutputFromLogLine(line, UID), {
      ts: 't1',
      stream: 'stdout',
      data: Buffer.from('hello\n'),
    });
  });
  it('reads base64 data chunks byte for byte', () => {
    const bytes = Buffer.from([0xff, 0x00, 0x0a, 0xc3]);
    const line = JSON.stringify({
      msg: 'run output',
      runUID: UID,
      stream: 'stderr',
      data: bytes.toString('base64'),
    });
    assert.deepEqual(runOutputFromLogLine(line, UID)?.data, bytes);
    assert.equal(runOutputFromLogLine(line, UID)?.stream, 'stderr');
  });
  it('reports where runtimed stopped copying the output', () => {
    const line = JSON.stringify({ msg: 'run output truncated', runUID: UID, limitBytes: 1048576 });
    assert.deepEqual(parseContainerLogLine(line, UID), { truncatedAt: 1048576 });
  });
  it('skips other Runs, other messages and non-JSON lines', () => {
    assert.equal(
      runOutputFromLogLine(
        JSON.stringify({ msg: 'run output', runUID: 'other', stream: 'stdout', line: UID }),
        UID,
      ),
      undefined,
    );
    assert.equal(runOutputFromLogLine(JSON.stringify({ msg: 'run finished', runUID: UID }), UID), undefined);
    assert.equal(runOutputFromLogLine(`not json ${UID}`, UID), undefined);
    assert.equal(
      runOutputFromLogLine(
        JSON.stringify({ msg: 'run output', runUID: UID, stream: 'stdin', line: 'x' }),
        UID,
      ),
      undefined,
    );
  });
});

describe('tailChunks and filterChunks', () => {
  const chunks = [chunk('stdout', 'one\ntwo\n'), chunk('stderr', 'three\n'), chunk('stdout', 'four\nfive')];
  it('keeps the last N lines across chunks', () => {
    assert.equal(text(tailChunks(chunks, 2)), 'four\nfive');
    assert.equal(text(tailChunks(chunks, 3)), 'three\nfour\nfive');
    assert.equal(text(tailChunks(chunks, 4)), 'two\nthree\nfour\nfive');
    assert.equal(text(tailChunks(chunks, 10)), 'one\ntwo\nthree\nfour\nfive');
    assert.deepEqual(tailChunks(chunks, 0), []);
  });
  it('does not count the newline that ends the output as a line', () => {
    assert.equal(text(tailChunks([chunk('stdout', 'a\nb\nc\n')], 1)), 'c\n');
  });
  it('selects a stream and a start time', () => {
    assert.equal(text(filterChunks(chunks, { stream: 'stderr' })), 'three\n');
    const timed = [
      chunk('stdout', 'old\n', '2026-01-01T00:00:00.000000Z'),
      chunk('stdout', 'new\n', '2026-01-01T00:05:00.000000Z'),
    ];
    assert.equal(text(filterChunks(timed, { stream: 'all', sinceTime: '2026-01-01T00:01:00Z' })), 'new\n');
    assert.equal(text(filterChunks(chunks, { stream: 'stdout', tailLines: 1 })), 'five');
  });
});
