import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import zlib from 'node:zlib';
import { SPDY_HEADER_DICTIONARY } from './spdy-dictionary.ts';
import type { SpdyStream } from './spdy-session.ts';
import { decodeHeaderBlock, encodeHeaderBlock, SpdySession } from './spdy-session.ts';

function adler32(b: Buffer): number {
  let a = 1;
  let s = 0;
  for (const x of b) {
    a = (a + x) % 65521;
    s = (s + a) % 65521;
  }
  return ((s << 16) | a) >>> 0;
}

/** A client-side SYN_STREAM with its header block compressed by the client's own zlib stream. */
function synStream(deflate: zlib.Deflate, id: number, headers: Record<string, string>): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const onData = (c: Buffer) => chunks.push(c);
    deflate.on('data', onData);
    deflate.write(encodeHeaderBlock(new Map(Object.entries(headers).map(([k, v]) => [k, [v]]))));
    deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      deflate.off('data', onData);
      const block = Buffer.concat(chunks);
      const h = Buffer.alloc(18);
      h.writeUInt32BE(0x80030001, 0);
      h.writeUInt32BE(10 + block.length, 4);
      h.writeUInt32BE(id, 8);
      resolve(Buffer.concat([h, block]));
    });
  });
}

function dataFrame(id: number, data: string, fin = false): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(id, 0);
  h.writeUInt32BE(((fin ? 1 : 0) << 24) | data.length, 4);
  return Buffer.concat([h, Buffer.from(data)]);
}

describe('node agent: SPDY/3.1 session', () => {
  it('uses the SPDY/3 header dictionary', () => {
    assert.equal(SPDY_HEADER_DICTIONARY.length, 1423);
    assert.equal(adler32(SPDY_HEADER_DICTIONARY), 0xe3c6a7c2);
  });

  it('round-trips header blocks', () => {
    const h = new Map([
      ['streamtype', ['data']],
      ['port', ['8080']],
      ['x', ['a', 'b']],
    ]);
    assert.deepEqual(decodeHeaderBlock(encodeHeaderBlock(h)), h);
  });

  it('accepts streams, replies, passes data both ways and echoes pings', async () => {
    const socket = new PassThrough();
    const written: Buffer[] = [];
    // The session reads what the client sends on `socket` and writes its frames to `wire`.
    const duplex = Object.assign(socket, {
      write: (b: Buffer) => {
        written.push(b);
        return true;
      },
    });
    const session = new SpdySession(duplex, Buffer.alloc(0));
    const streams: SpdyStream[] = [];
    session.on('stream', (s) => streams.push(s));
    const clientDeflate = zlib.createDeflate({ dictionary: SPDY_HEADER_DICTIONARY });
    socket.emit(
      'data',
      await synStream(clientDeflate, 1, { streamtype: 'error', port: '80', requestid: '0' }),
    );
    socket.emit(
      'data',
      await synStream(clientDeflate, 3, { streamtype: 'data', port: '80', requestid: '0' }),
    );
    const received: string[] = [];
    // Header blocks inflate on zlib's thread pool: on a loaded machine that takes longer than any fixed pause.
    await until(() => streams.length === 2);
    assert.deepEqual(
      streams.map((s) => [s.id, s.header('streamtype'), s.header('requestid')]),
      [
        [1, 'error', '0'],
        [3, 'data', '0'],
      ],
    );
    streams[1].on('data', (d) => received.push(d.toString()));
    let ended = false;
    streams[1].on('end', () => {
      ended = true;
    });
    const ping = Buffer.from([0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 7]);
    socket.emit('data', Buffer.concat([dataFrame(3, 'hello'), dataFrame(3, '', true), ping]));
    await until(() => ended && written.filter((b) => b[0] & 0x80).length === 3);
    assert.deepEqual(received, ['hello']);
    assert.equal(ended, true);
    // Two SYN_REPLYs (type 2) and the echoed ping.
    const types = written.filter((b) => b[0] & 0x80).map((b) => b.readUInt16BE(2));
    assert.deepEqual(types, [2, 2, 6]);
    // The first reply's header block starts the zlib stream: a fresh inflater with the dictionary reads it.
    const firstReply = written.find((b) => b[0] & 0x80)!;
    const block = zlib.inflateSync(firstReply.subarray(12), {
      dictionary: SPDY_HEADER_DICTIONARY,
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    });
    assert.equal(decodeHeaderBlock(block).size, 0);
    streams[1].write(Buffer.from('world'));
    const last = written.at(-1)!;
    assert.equal(last.readUInt32BE(0), 3);
    assert.equal(last.subarray(8).toString(), 'world');
    session.close();
  });
});

/** Polls every 5 ms until check() holds (mocha's timeout bounds it). */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
}
