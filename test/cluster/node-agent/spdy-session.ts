// The server side of a SPDY/3.1 session, as much as Kubernetes' streaming protocols use
// (github.com/moby/spdystream): the client opens streams with SYN_STREAM, the server accepts each
// with an empty SYN_REPLY, both send DATA (FIN half-closes), RST_STREAM aborts, PING is echoed,
// GOAWAY ends the session. spdystream does no flow control, so neither does this.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { SPDY_HEADER_DICTIONARY } from './spdy-dictionary.ts';

const VERSION = 3;
const FrameType = {
  SynStream: 1,
  SynReply: 2,
  RstStream: 3,
  Settings: 4,
  Ping: 6,
  GoAway: 7,
  Headers: 8,
  WindowUpdate: 9,
} as const;
const FLAG_FIN = 0x01;
const RST_CANCEL = 5;
/** DATA frames carry at most 2^24-1 bytes; smaller frames keep latency low. */
const MAX_DATA_FRAME = 64 * 1024;

export type SpdyHeaders = Map<string, string[]>;

export interface SpdyStreamEvents {
  data: [Buffer];
  end: [];
  reset: [];
}

export class SpdyStream extends EventEmitter<SpdyStreamEvents> {
  readonly id: number;
  readonly headers: SpdyHeaders;
  private readonly session: SpdySession;
  localEnded = false;
  remoteEnded = false;
  reset = false;

  constructor(session: SpdySession, id: number, headers: SpdyHeaders) {
    super();
    this.session = session;
    this.id = id;
    this.headers = headers;
  }

  header(name: string): string | undefined {
    return this.headers.get(name)?.[0];
  }

  /** Returns false when the connection's buffer is full; wait for the session's 'drain'. */
  write(data: Buffer): boolean {
    if (this.localEnded || this.reset) return true;
    let ok = true;
    for (let off = 0; off < data.length; off += MAX_DATA_FRAME) {
      ok = this.session.writeData(this.id, data.subarray(off, off + MAX_DATA_FRAME), false);
    }
    return ok;
  }

  end(): void {
    if (this.localEnded || this.reset) return;
    this.localEnded = true;
    this.session.writeData(this.id, Buffer.alloc(0), true);
    this.session.forgetIfClosed(this);
  }

  abort(): void {
    if (this.reset) return;
    this.reset = true;
    this.session.writeRst(this.id, RST_CANCEL);
    this.session.forgetIfClosed(this);
  }
}

export interface SpdySessionEvents {
  stream: [SpdyStream];
  drain: [];
  close: [];
}

/** Runs zlib over one header block and returns what it produced (sync-flushed). */
function zlibStep(z: zlib.Inflate | zlib.Deflate, input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onData = (c: Buffer) => chunks.push(c);
    z.on('data', onData);
    z.once('error', reject);
    z.write(input);
    z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      z.off('data', onData);
      z.off('error', reject);
      resolve(Buffer.concat(chunks));
    });
  });
}

export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  parts.push(u32(headers.size));
  for (const [name, values] of headers) {
    const n = Buffer.from(name.toLowerCase());
    const v = Buffer.from(values.join('\0'));
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  const headers: SpdyHeaders = new Map();
  let off = 0;
  const count = block.readUInt32BE(off);
  off += 4;
  for (let i = 0; i < count; i++) {
    const nl = block.readUInt32BE(off);
    const name = block.toString('utf8', off + 4, off + 4 + nl).toLowerCase();
    off += 4 + nl;
    const vl = block.readUInt32BE(off);
    const value = block.toString('utf8', off + 4, off + 4 + vl);
    off += 4 + vl;
    headers.set(name, value.split('\0'));
  }
  return headers;
}

export class SpdySession extends EventEmitter<SpdySessionEvents> {
  private readonly socket: Duplex;
  private buffer: Buffer = Buffer.alloc(0);
  private readonly streams = new Map<number, SpdyStream>();
  private readonly inflate = zlib.createInflate({ dictionary: SPDY_HEADER_DICTIONARY });
  private readonly deflate = zlib.createDeflate({ dictionary: SPDY_HEADER_DICTIONARY });
  /** Frames are handled one after another: header blocks share one zlib stream per direction. */
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(socket: Duplex, head: Buffer) {
    super();
    this.socket = socket;
    socket.on('data', (d: Buffer) => this.receive(d));
    socket.on('drain', () => this.emit('drain'));
    socket.on('close', () => this.close());
    socket.on('error', () => this.close());
    if (head.length > 0) this.receive(head);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) s.emit('reset');
    this.streams.clear();
    this.inflate.close();
    this.deflate.close();
    this.socket.destroy();
    this.emit('close');
  }

  private receive(data: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, data]) : data;
    while (this.buffer.length >= 8) {
      const length = this.buffer.readUInt32BE(4) & 0xffffff;
      if (this.buffer.length < 8 + length) break;
      const frame = this.buffer.subarray(0, 8 + length);
      this.buffer = this.buffer.subarray(8 + length);
      this.chain = this.chain.then(() => this.handle(frame)).catch(() => this.close());
    }
  }

  private async handle(frame: Buffer): Promise<void> {
    if (this.closed) return;
    const word = frame.readUInt32BE(0);
    const flags = frame[4];
    const payload = frame.subarray(8);
    if ((word & 0x80000000) === 0) return this.onData(word & 0x7fffffff, flags, payload);
    const type = word & 0xffff;
    switch (type) {
      case FrameType.SynStream: {
        const id = payload.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaderBlock(await zlibStep(this.inflate, payload.subarray(10)));
        const stream = new SpdyStream(this, id, headers);
        this.streams.set(id, stream);
        await this.reply(id);
        this.emit('stream', stream);
        if (flags & FLAG_FIN) this.remoteEnd(stream);
        return;
      }
      case FrameType.Headers:
      case FrameType.SynReply:
        // Keep the shared decompressor in step even though these headers are not used.
        await zlibStep(this.inflate, payload.subarray(4));
        return;
      case FrameType.RstStream: {
        const stream = this.streams.get(payload.readUInt32BE(0) & 0x7fffffff);
        if (stream) {
          stream.reset = true;
          this.streams.delete(stream.id);
          stream.emit('reset');
        }
        return;
      }
      case FrameType.Ping:
        this.socket.write(frame);
        return;
      case FrameType.GoAway:
        this.close();
        return;
      default:
        // SETTINGS, WINDOW_UPDATE: nothing to do without flow control.
        return;
    }
  }

  private onData(id: number, flags: number, payload: Buffer): void {
    const stream = this.streams.get(id);
    if (!stream) return;
    if (payload.length > 0) stream.emit('data', Buffer.from(payload));
    if (flags & FLAG_FIN) this.remoteEnd(stream);
  }

  private remoteEnd(stream: SpdyStream): void {
    if (stream.remoteEnded) return;
    stream.remoteEnded = true;
    stream.emit('end');
    this.forgetIfClosed(stream);
  }

  forgetIfClosed(stream: SpdyStream): void {
    if (stream.reset || (stream.localEnded && stream.remoteEnded)) this.streams.delete(stream.id);
  }

  private controlHeader(type: number, flags: number, length: number): Buffer {
    const h = Buffer.alloc(8);
    h.writeUInt32BE((0x80000000 | (VERSION << 16) | type) >>> 0, 0);
    h.writeUInt32BE(((flags << 24) | length) >>> 0, 4);
    return h;
  }

  private async reply(id: number): Promise<void> {
    const block = await zlibStep(this.deflate, encodeHeaderBlock(new Map()));
    const body = Buffer.alloc(4);
    body.writeUInt32BE(id);
    this.socket.write(
      Buffer.concat([this.controlHeader(FrameType.SynReply, 0, 4 + block.length), body, block]),
    );
  }

  writeData(id: number, data: Buffer, fin: boolean): boolean {
    if (this.closed) return true;
    const h = Buffer.alloc(8);
    h.writeUInt32BE(id & 0x7fffffff, 0);
    h.writeUInt32BE((((fin ? FLAG_FIN : 0) << 24) | data.length) >>> 0, 4);
    return this.socket.write(data.length ? Buffer.concat([h, data]) : h);
  }

  writeRst(id: number, status: number): void {
    if (this.closed) return;
    const body = Buffer.alloc(8);
    body.writeUInt32BE(id & 0x7fffffff, 0);
    body.writeUInt32BE(status, 4);
    this.socket.write(Buffer.concat([this.controlHeader(FrameType.RstStream, 0, 8), body]));
  }
}
