import assert from 'node:assert/strict';
import type { CriRecord, LogQuery } from './cri-log.ts';
import {
  FileLineReader,
  formatRecord,
  LineSplitter,
  LogRenderer,
  MAX_RECORD_BYTES,
  parseLogQuery,
  parseRecord,
  parseTimeNs,
  rfc3339Nano,
  TailBuffer,
} from './cri-log.ts';

const T = '2026-01-02T03:04:05.123456789Z';
const q = (over: Partial<LogQuery> = {}): LogQuery => ({
  follow: false,
  previous: false,
  timestamps: false,
  ...over,
});
const rec = (
  content: string,
  time = T,
  partial = false,
  stream: 'stdout' | 'stderr' = 'stdout',
): CriRecord => ({
  time,
  stream,
  partial,
  content: Buffer.from(content),
});
const render = (records: CriRecord[], query: LogQuery) => {
  const r = new LogRenderer(query);
  return Buffer.concat(records.map((x) => r.render(x) ?? Buffer.alloc(0))).toString();
};

describe('node agent: CRI logs', () => {
  it('formats RFC3339 with nanoseconds and parses it back', () => {
    const ns = 1767323045123456789n;
    assert.equal(rfc3339Nano(ns), '2026-01-02T03:04:05.123456789Z');
    assert.equal(parseTimeNs(rfc3339Nano(ns)), ns);
    assert.equal(parseTimeNs('2026-01-02T03:04:05Z'), 1767323045000000000n);
    assert.equal(parseTimeNs('2026-01-02T04:04:05.5+01:00'), 1767323045500000000n);
    assert.equal(parseTimeNs('nope'), undefined);
  });

  it('round-trips records, keeping raw bytes', () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x20, 0x41, 0xc3]);
    const r: CriRecord = { time: T, stream: 'stderr', partial: true, content: bytes };
    const line = formatRecord(r);
    assert.equal(line.subarray(0, T.length + 9).toString(), `${T} stderr P`);
    const back = parseRecord(line.subarray(0, line.length - 1));
    assert.deepEqual(back, r);
    assert.deepEqual(parseRecord(Buffer.from(`${T} stdout F`))?.content, Buffer.alloc(0));
    assert.equal(parseRecord(Buffer.from('garbage')), undefined);
  });

  it('splits output into lines and long lines into partial records', () => {
    const s = new LineSplitter('stdout');
    assert.deepEqual(
      s.push(Buffer.from('a\nbc'), T).map((r) => [r.content.toString(), r.partial]),
      [['a', false]],
    );
    assert.deepEqual(
      s.push(Buffer.from('d\n\n'), T).map((r) => [r.content.toString(), r.partial]),
      [
        ['bcd', false],
        ['', false],
      ],
    );
    const big = Buffer.alloc(MAX_RECORD_BYTES * 2 + 10, 0x78);
    const recs = [...s.push(big, T), ...s.push(Buffer.from('\n'), T)];
    assert.deepEqual(
      recs.map((r) => [r.content.length, r.partial]),
      [
        [MAX_RECORD_BYTES, true],
        [MAX_RECORD_BYTES, true],
        [10, false],
      ],
    );
    s.push(Buffer.from('tail'), T);
    assert.deepEqual(
      s.end(T).map((r) => [r.content.toString(), r.partial]),
      [['tail', true]],
    );
    assert.deepEqual(s.end(T), []);
  });

  it('reads file lines across chunk boundaries', () => {
    const file = Buffer.concat([formatRecord(rec('one')), formatRecord(rec('two', T, false, 'stderr'))]);
    const reader = new FileLineReader();
    const out = [
      ...reader.push(file.subarray(0, 7)),
      ...reader.push(file.subarray(7, 50)),
      ...reader.push(file.subarray(50)),
    ];
    assert.deepEqual(
      out.map((r) => [r.stream, r.content.toString()]),
      [
        ['stdout', 'one'],
        ['stderr', 'two'],
      ],
    );
  });

  it('renders with timestamps once per logical line, joins partials, limits bytes', () => {
    const records = [rec('ab', T, true), rec('cd'), rec('e')];
    assert.equal(render(records, q()), 'abcd\ne\n');
    assert.equal(render(records, q({ timestamps: true })), `${T} abcd\n${T} e\n`);
    assert.equal(render(records, q({ limitBytes: 3 })), 'abc');
    assert.equal(render([rec('x', T, false, 'stderr'), rec('y')], q({ stream: 'stdout' })), 'y\n');
  });

  it('filters by since', () => {
    const t1 = '2026-01-02T03:04:05.000000000Z';
    const t2 = '2026-01-02T03:04:07.000000000Z';
    const sinceNs = parseTimeNs('2026-01-02T03:04:06Z');
    assert.equal(render([rec('old', t1), rec('new', t2)], q({ sinceNs })), 'new\n');
  });

  it('keeps the last N logical lines', () => {
    const tb = new TailBuffer(2);
    for (const r of [rec('1'), rec('2a', T, true), rec('2b'), rec('3'), rec('4a', T, true), rec('4b')])
      tb.push(r);
    assert.equal(render(tb.records(), q()), '3\n4a4b\n');
    const zero = new TailBuffer(0);
    zero.push(rec('x'));
    assert.deepEqual(zero.records(), []);
  });

  it('parses the query like the kubelet', () => {
    const now = Date.parse('2026-01-02T03:04:05Z');
    const p = parseLogQuery(
      new URLSearchParams('follow=true&tailLines=5&timestamps=true&sinceSeconds=10'),
      now,
    );
    assert.equal(p.follow, true);
    assert.equal(p.tailLines, 5);
    assert.equal(p.timestamps, true);
    assert.equal(p.sinceNs, BigInt(now - 10_000) * 1_000_000n);
    assert.equal(parseLogQuery(new URLSearchParams('tail=all')).tailLines, undefined);
    assert.equal(parseLogQuery(new URLSearchParams('tail=3')).tailLines, 3);
    assert.equal(parseLogQuery(new URLSearchParams('previous=true&limitBytes=9')).limitBytes, 9);
    assert.equal(
      parseLogQuery(new URLSearchParams('sinceTime=2026-01-02T03:04:05Z')).sinceNs,
      BigInt(now) * 1_000_000n,
    );
    assert.throws(() => parseLogQuery(new URLSearchParams('tailLines=x')));
  });
});
