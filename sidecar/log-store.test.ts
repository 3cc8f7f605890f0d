import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../lib/log.ts';
import { END_RECORD_BYTES, LOG_MAGIC, RECORD_HEADER_BYTES, RecordKind, recordHeader } from './log-record.ts';
import { type LogEvent, LogStore, type LogStoreOptions, type ReadOptions } from './log-store.ts';

const quiet = createLogger({}, () => {});
const T0 = 1_700_000_000_000_000;

interface Collected {
  text: string;
  chunks: Array<Extract<LogEvent, { type: 'chunk' }>>;
  end: { truncated: boolean } | undefined;
}

async function collect(events: AsyncIterable<LogEvent> | undefined): Promise<Collected> {
  assert.ok(events, 'the log exists');
  const result: Collected = { text: '', chunks: [], end: undefined };
  for await (const event of events) {
    if (event.type === 'end') result.end = { truncated: event.truncated };
    else result.chunks.push(event);
  }
  result.text = Buffer.concat(result.chunks.map((chunk) => chunk.data)).toString();
  return result;
}

describe('LogStore', () => {
  let dir: string;
  const stores: LogStore[] = [];
  const openStore = async (options: Partial<LogStoreOptions> = {}) => {
    const store = await LogStore.open({ dir, logger: quiet, ...options });
    stores.push(store);
    return store;
  };
  const read = (store: LogStore, uid: string, options?: ReadOptions) => collect(store.read(uid, options));

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krt-logs-'));
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.drain(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the documented record format', async () => {
    const store = await openStore();
    const writer = store.create('uid-1');
    writer.append('stdout', Buffer.from('hi\n'), T0);
    writer.append('stderr', Buffer.from([0xff, 0x00]), T0 + 7);
    await writer.close();
    const file = readFileSync(path.join(dir, 'uid-1.log'));
    const expected = Buffer.concat([
      Buffer.from('KRTLOG1\n'),
      Buffer.from([1, ...bigEndian64(T0), 0, 0, 0, 3]),
      Buffer.from('hi\n'),
      Buffer.from([2, ...bigEndian64(T0 + 7), 0, 0, 0, 2, 0xff, 0x00]),
    ]);
    assert.deepEqual(file.subarray(0, expected.length), expected);
    // The end record: kind 3, a timestamp, length 1, flags 0 (not truncated).
    const end = file.subarray(expected.length);
    assert.equal(end.length, END_RECORD_BYTES);
    assert.equal(end[0], RecordKind.End);
    assert.deepEqual([...end.subarray(9)], [0, 0, 0, 1, 0]);
  });

  it('reads the streams back in time order, exactly, with their timestamps', async () => {
    const store = await openStore();
    const writer = store.create('uid-1');
    writer.append('stdout', Buffer.from('out1\n'), T0);
    writer.append('stderr', Buffer.from('err1\n'), T0 + 1);
    writer.append('stdout', Buffer.from('out2\n'), T0 + 2);
    await writer.close();
    const all = await read(store, 'uid-1');
    assert.equal(all.text, 'out1\nerr1\nout2\n');
    assert.deepEqual(
      all.chunks.map((chunk) => [chunk.stream, chunk.unixMicros]),
      [
        ['stdout', T0],
        ['stderr', T0 + 1],
        ['stdout', T0 + 2],
      ],
    );
    assert.deepEqual(all.end, { truncated: false });
    assert.equal((await read(store, 'uid-1', { stream: 'stdout' })).text, 'out1\nout2\n');
    assert.equal((await read(store, 'uid-1', { stream: 'stderr' })).text, 'err1\n');
    assert.equal(store.read('unknown'), undefined);
  });

  it('keeps more than 1 MiB of binary output byte for byte', async () => {
    const store = await openStore();
    const writer = store.create('uid-1');
    const written: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const chunk = randomBytes(65_536);
      written.push(chunk);
      writer.append('stdout', chunk, T0 + i);
    }
    await writer.close();
    const back = await read(store, 'uid-1');
    assert.ok(Buffer.concat(back.chunks.map((chunk) => chunk.data)).equals(Buffer.concat(written)));
  });

  describe('tailLines and sinceTime', () => {
    let store: LogStore;
    beforeEach(async () => {
      store = await openStore();
      const writer = store.create('uid-1');
      writer.append('stdout', Buffer.from('a1\na2\na'), T0);
      writer.append('stderr', Buffer.from('e1\n'), T0 + 10);
      writer.append('stdout', Buffer.from('3\na4\n'), T0 + 20);
      writer.append('stdout', Buffer.from('a5'), T0 + 30);
      await writer.close();
    });

    it('gives the last N lines of the selected stream, a final line without newline included', async () => {
      assert.equal((await read(store, 'uid-1', { stream: 'stdout', tailLines: 2 })).text, 'a4\na5');
      assert.equal((await read(store, 'uid-1', { stream: 'stdout', tailLines: 3 })).text, 'a3\na4\na5');
      assert.equal(
        (await read(store, 'uid-1', { stream: 'stdout', tailLines: 99 })).text,
        'a1\na2\na3\na4\na5',
      );
      assert.equal((await read(store, 'uid-1', { stream: 'stderr', tailLines: 1 })).text, 'e1\n');
      // Across streams the lines are those of the bytes in time order, as raw output shows them.
      assert.equal((await read(store, 'uid-1', { tailLines: 4 })).text, 'ae1\n3\na4\na5');
      const none = await read(store, 'uid-1', { tailLines: 0 });
      assert.equal(none.text, '');
      assert.deepEqual(none.end, { truncated: false });
    });

    it('gives the chunks at or after sinceTime, combined with tailLines', async () => {
      assert.equal((await read(store, 'uid-1', { sinceMicros: T0 + 10 })).text, 'e1\n3\na4\na5');
      assert.equal(
        (await read(store, 'uid-1', { stream: 'stdout', sinceMicros: T0 + 11 })).text,
        '3\na4\na5',
      );
      assert.equal((await read(store, 'uid-1', { sinceMicros: T0 + 11, tailLines: 1 })).text, 'a5');
      assert.equal((await read(store, 'uid-1', { sinceMicros: T0 + 31 })).text, '');
    });
  });

  describe('followers', () => {
    it('receive chunks appended later, then the end', async () => {
      const store = await openStore();
      const writer = store.create('uid-1');
      writer.append('stdout', Buffer.from('one\n'), T0);
      const events = store.read('uid-1', { follow: true })!;
      const first = await events.next();
      assert.equal(first.done, false);
      assert.equal((first.value as { data: Buffer }).data.toString(), 'one\n');
      const later = collect(events);
      await new Promise((resolve) => setTimeout(resolve, 30));
      writer.append('stdout', Buffer.from('two\n'), T0 + 1);
      await new Promise((resolve) => setTimeout(resolve, 30));
      writer.append('stderr', Buffer.from('three\n'), T0 + 2);
      void writer.close();
      const rest = await later;
      assert.equal(rest.text, 'two\nthree\n');
      assert.deepEqual(rest.end, { truncated: false });
    });

    it('follow from the tail: the last lines, then only new output', async () => {
      const store = await openStore();
      const writer = store.create('uid-1');
      writer.append('stdout', Buffer.from('l1\nl2\nl3\n'), T0);
      await writer.flushed();
      const following = read(store, 'uid-1', { follow: true, tailLines: 1 });
      await new Promise((resolve) => setTimeout(resolve, 30));
      writer.append('stdout', Buffer.from('l4\n'), T0 + 1);
      void writer.close();
      assert.equal((await following).text, 'l3\nl4\n');
    });

    it('stop when aborted', async () => {
      const store = await openStore();
      const writer = store.create('uid-1');
      writer.append('stdout', Buffer.from('x'), T0);
      const controller = new AbortController();
      const following = read(store, 'uid-1', { follow: true, signal: controller.signal });
      setTimeout(() => controller.abort(), 30);
      const result = await following;
      assert.equal(result.text, 'x');
      assert.equal(result.end, undefined);
      await writer.close();
    });

    it('a reader that does not follow gets what is there now, without an end', async () => {
      const store = await openStore();
      const writer = store.create('uid-1');
      writer.append('stdout', Buffer.from('so far'), T0);
      await writer.flushed();
      const now = await read(store, 'uid-1');
      assert.equal(now.text, 'so far');
      assert.equal(now.end, undefined);
      await writer.close();
    });

    it('once the execution finished, a reader that does not follow waits for the end', async () => {
      const store = await openStore({ settleMs: 2000 });
      const writer = store.create('uid-1');
      writer.append('stdout', Buffer.from('head '), T0);
      writer.executionFinished();
      const reading = read(store, 'uid-1');
      setTimeout(() => {
        writer.append('stdout', Buffer.from('tail'), T0 + 1);
        void writer.close();
      }, 50);
      const result = await reading;
      assert.equal(result.text, 'head tail');
      assert.deepEqual(result.end, { truncated: false });
    });
  });

  describe('bounds', () => {
    it('keeps the head of a Run up to its bound and marks the log truncated', async () => {
      const perRunBytes = LOG_MAGIC.length + END_RECORD_BYTES + 2 * RECORD_HEADER_BYTES + 150;
      const store = await openStore({ perRunBytes });
      const writer = store.create('uid-1');
      writer.append('stdout', Buffer.alloc(100, 'a'), T0);
      writer.append('stdout', Buffer.alloc(100, 'b'), T0 + 1);
      writer.append('stdout', Buffer.from('c'), T0 + 2);
      assert.ok(writer.isTruncated);
      await writer.close();
      const result = await read(store, 'uid-1');
      assert.equal(result.text, 'a'.repeat(100) + 'b'.repeat(50));
      assert.deepEqual(result.end, { truncated: true });
      assert.ok(readFileSync(path.join(dir, 'uid-1.log')).length <= perRunBytes);
    });

    it('records truncation reported by the writer of the log', async () => {
      const store = await openStore();
      const writer = store.create('uid-1');
      await writer.close({ truncated: true });
      assert.deepEqual((await read(store, 'uid-1')).end, { truncated: true });
    });

    it('evicts the oldest finished logs first to stay within the total', async () => {
      const fixed = LOG_MAGIC.length + END_RECORD_BYTES + RECORD_HEADER_BYTES;
      const store = await openStore({ totalBytes: 3 * (fixed + 1000) + 10 });
      for (const uid of ['old', 'middle']) {
        const writer = store.create(uid);
        writer.append('stdout', Buffer.alloc(1000), T0);
        await writer.close();
      }
      const running = store.create('running');
      running.append('stdout', Buffer.alloc(1000), T0);
      const next = store.create('next');
      next.append('stdout', Buffer.alloc(1000), T0);
      assert.equal(store.has('old'), false);
      assert.equal(store.has('middle'), true);
      assert.equal(store.has('running'), true);
      assert.ok(store.usedBytes <= store.totalBytes);
      await Promise.all([running.close(), next.close()]);
      assert.equal(existsSync(path.join(dir, 'old.log')), false);
      assert.equal((await read(store, 'next')).text.length, 1000);
    });

    it('truncates a running log when only running logs fill the total', async () => {
      const fixed = LOG_MAGIC.length + END_RECORD_BYTES + RECORD_HEADER_BYTES;
      const store = await openStore({ totalBytes: 2 * fixed + 1500 });
      const a = store.create('a');
      const b = store.create('b');
      a.append('stdout', Buffer.alloc(1000), T0);
      b.append('stdout', Buffer.alloc(1000), T0);
      assert.equal(b.isTruncated, true);
      await Promise.all([a.close(), b.close()]);
      assert.deepEqual((await read(store, 'b')).end, { truncated: true });
      assert.deepEqual((await read(store, 'a')).end, { truncated: false });
    });
  });

  describe('lifetime', () => {
    it('finds the logs of a previous runtimed; one cut off without an end is read as truncated', async () => {
      const first = await openStore();
      const done = first.create('done');
      done.append('stdout', Buffer.from('complete'), T0);
      await done.close();
      writeFileSync(
        path.join(dir, 'cut.log'),
        Buffer.concat([LOG_MAGIC, recordHeader(RecordKind.Stdout, T0, 4), Buffer.from('part')]),
      );
      writeFileSync(path.join(dir, 'not-a-log.txt'), 'ignored');
      const second = await openStore();
      const complete = await read(second, 'done');
      assert.equal(complete.text, 'complete');
      assert.deepEqual(complete.end, { truncated: false });
      assert.equal(second.has('not-a-log'), false);
      const cut = await read(second, 'cut');
      assert.equal(cut.text, 'part');
      assert.deepEqual(cut.end, { truncated: true });
    });

    it('a new attempt replaces the log of an earlier one, even while it is written', async () => {
      const store = await openStore();
      const earlier = store.create('uid-1');
      earlier.append('stdout', Buffer.from('attempt 1'), T0);
      const later = store.create('uid-1');
      earlier.append('stdout', Buffer.from(' more'), T0 + 1);
      later.append('stdout', Buffer.from('attempt 2'), T0 + 2);
      await Promise.all([earlier.close(), later.close()]);
      const result = await read(store, 'uid-1');
      assert.equal(result.text, 'attempt 2');
      assert.deepEqual(result.end, { truncated: false });
    });

    it('discard removes the log and its file', async () => {
      const store = await openStore();
      const writer = store.create('uid-1');
      writer.append('stdout', Buffer.from('x'), T0);
      await writer.discard();
      assert.equal(store.has('uid-1'), false);
      assert.equal(existsSync(path.join(dir, 'uid-1.log')), false);
      assert.equal(store.usedBytes, 0);
    });

    it('refuses a UID that is not a plain file name', async () => {
      const store = await openStore();
      assert.throws(() => store.create('../escape'), /invalid Run UID/);
      assert.throws(() => store.create('a.b'), /invalid Run UID/);
    });
  });
});

function bigEndian64(value: number): number[] {
  const buffer = Buffer.alloc(8);
  buffer.writeBigInt64BE(BigInt(value));
  return [...buffer];
}
