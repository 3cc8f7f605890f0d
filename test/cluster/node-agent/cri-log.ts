// Container logs in the CRI file format (`<RFC3339Nano> stdout|stderr F|P <bytes>\n`), the format
// kubelets read. Content stays raw bytes end to end: no decoding, so invalid UTF-8 survives, and
// long lines are cut into partial (P) records of at most MAX_RECORD_BYTES.

export type LogStream = 'stdout' | 'stderr';

export interface CriRecord {
  /** RFC3339 with 9 fractional digits, UTC. */
  time: string;
  stream: LogStream;
  /** P: the line continues in the next record of the same stream. */
  partial: boolean;
  content: Buffer;
}

export const MAX_RECORD_BYTES = 16 * 1024;
const NL = 0x0a;

const hrBase = process.hrtime.bigint();
const epochBaseNs = BigInt(Date.now()) * 1_000_000n;

/** Wall-clock time in nanoseconds, monotonic within this process. */
export function nowNs(): bigint {
  return epochBaseNs + (process.hrtime.bigint() - hrBase);
}

export function rfc3339Nano(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${frac}Z`;
}

/** Parses RFC3339 (any fractional precision, Z or offset) to epoch nanoseconds. */
export function parseTimeNs(s: string): bigint | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) return undefined;
  const secMs = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(secMs)) return undefined;
  return BigInt(secMs) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

export function formatRecord(r: CriRecord): Buffer {
  const head = Buffer.from(`${r.time} ${r.stream} ${r.partial ? 'P' : 'F'} `, 'latin1');
  return Buffer.concat([head, r.content, Buffer.from([NL])]);
}

/** Parses one file line (without its newline). */
export function parseRecord(line: Buffer): CriRecord | undefined {
  const s1 = line.indexOf(0x20);
  const s2 = s1 < 0 ? -1 : line.indexOf(0x20, s1 + 1);
  if (s2 < 0) return undefined;
  const time = line.toString('latin1', 0, s1);
  const stream = line.toString('latin1', s1 + 1, s2);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const tag = line[s2 + 1];
  // The tag is `F` or `P`, possibly with more `:`-separated tags; content follows one space.
  const s3 = line.indexOf(0x20, s2 + 1);
  const tagEnd = s3 < 0 ? line.length : s3;
  if (tag !== 0x46 && tag !== 0x50) return undefined;
  return {
    time,
    stream,
    partial: tag === 0x50,
    content: s3 < 0 ? Buffer.alloc(0) : line.subarray(tagEnd + 1),
  };
}

/** Turns a stream's output chunks into CRI records: one per line, long lines split into P records. */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly stream: LogStream;

  constructor(stream: LogStream) {
    this.stream = stream;
  }

  push(chunk: Buffer, time: string): CriRecord[] {
    const out: CriRecord[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NL, start);
      if (nl < 0) break;
      this.append(chunk.subarray(start, nl), time, out);
      out.push({ time, stream: this.stream, partial: false, content: this.take() });
      start = nl + 1;
    }
    if (start < chunk.length) this.append(chunk.subarray(start), time, out);
    return out;
  }

  /** At end of stream an unterminated line is kept partial: no newline is invented. */
  end(time: string): CriRecord[] {
    return this.pendingBytes > 0 ? [{ time, stream: this.stream, partial: true, content: this.take() }] : [];
  }

  private append(piece: Buffer, time: string, out: CriRecord[]): void {
    while (this.pendingBytes + piece.length > MAX_RECORD_BYTES) {
      const room = MAX_RECORD_BYTES - this.pendingBytes;
      this.pending.push(piece.subarray(0, room));
      this.pendingBytes += room;
      out.push({ time, stream: this.stream, partial: true, content: this.take() });
      piece = piece.subarray(room);
    }
    if (piece.length > 0) {
      // Copy: the chunk's memory may be reused by the stream after we return.
      this.pending.push(Buffer.from(piece));
      this.pendingBytes += piece.length;
    }
  }

  private take(): Buffer {
    const b = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    return b;
  }
}

/** Splits a log file's bytes into its lines, across chunk boundaries. */
export class FileLineReader {
  private carry: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): CriRecord[] {
    const data = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const out: CriRecord[] = [];
    let start = 0;
    for (;;) {
      const nl = data.indexOf(NL, start);
      if (nl < 0) break;
      const rec = parseRecord(data.subarray(start, nl));
      if (rec) out.push(rec);
      start = nl + 1;
    }
    this.carry = Buffer.from(data.subarray(start));
    return out;
  }
}

export interface LogQuery {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  sinceNs?: bigint;
  limitBytes?: number;
  stream?: LogStream;
}

/** Reads the kubelet's containerLogs query parameters (also the legacy `tail`). */
export function parseLogQuery(q: URLSearchParams, nowMs = Date.now()): LogQuery {
  const bool = (k: string) => q.get(k) === 'true' || q.get(k) === '1';
  const int = (k: string) => {
    const v = q.get(k);
    if (v === null || v === '') return undefined;
    const n = Number.parseInt(v, 10);
    if (!Number.isFinite(n) || n < 0) throw new Error(`invalid ${k} ${JSON.stringify(v)}`);
    return n;
  };
  const tail = q.get('tail');
  const tailLines = int('tailLines') ?? (tail && tail !== 'all' ? int('tail') : undefined);
  let sinceNs: bigint | undefined;
  const sinceSeconds = int('sinceSeconds');
  if (sinceSeconds !== undefined) sinceNs = BigInt(nowMs - sinceSeconds * 1000) * 1_000_000n;
  const sinceTime = q.get('sinceTime');
  if (sinceTime) {
    sinceNs = parseTimeNs(sinceTime);
    if (sinceNs === undefined) throw new Error(`invalid sinceTime ${JSON.stringify(sinceTime)}`);
  }
  const stream = q.get('stream')?.toLowerCase();
  return {
    follow: bool('follow'),
    previous: bool('previous'),
    timestamps: bool('timestamps'),
    tailLines,
    sinceNs,
    limitBytes: int('limitBytes') || undefined,
    stream: stream === 'stdout' || stream === 'stderr' ? stream : undefined,
  };
}

/**
 * Keeps the last N logical lines (a line = its P records plus the closing F record) of the records
 * it is given; per stream, since the two streams interleave.
 */
export class TailBuffer {
  private readonly lines: CriRecord[][] = [];
  private readonly open = new Map<LogStream, CriRecord[]>();
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  push(r: CriRecord): void {
    let line = this.open.get(r.stream);
    if (!line) {
      line = [];
      this.open.set(r.stream, line);
      this.lines.push(line);
      // The oldest lines can go once more than max are complete or started.
      if (this.lines.length > this.max) this.lines.shift();
    }
    line.push(r);
    if (!r.partial) this.open.delete(r.stream);
  }

  records(): CriRecord[] {
    return this.max === 0 ? [] : this.lines.flat();
  }
}

/** Renders records for a client: stream/since filter, optional timestamps, byte limit. */
export class LogRenderer {
  private written = 0;
  private readonly atLineStart = new Map<LogStream, boolean>();
  private readonly q: LogQuery;

  constructor(q: LogQuery) {
    this.q = q;
  }

  get done(): boolean {
    return this.q.limitBytes !== undefined && this.written >= this.q.limitBytes;
  }

  /** Output bytes for the record, or undefined when it is filtered out. */
  render(r: CriRecord): Buffer | undefined {
    if (this.done) return undefined;
    if (this.q.stream && r.stream !== this.q.stream) return undefined;
    if (this.q.sinceNs !== undefined) {
      const t = parseTimeNs(r.time);
      if (t !== undefined && t < this.q.sinceNs) return undefined;
    }
    const parts: Buffer[] = [];
    if (this.q.timestamps && this.atLineStart.get(r.stream) !== false) parts.push(Buffer.from(`${r.time} `));
    parts.push(r.content);
    if (!r.partial) parts.push(Buffer.from([NL]));
    this.atLineStart.set(r.stream, !r.partial);
    let out = Buffer.concat(parts);
    if (this.q.limitBytes !== undefined && this.written + out.length > this.q.limitBytes) {
      out = out.subarray(0, this.q.limitBytes - this.written);
    }
    this.written += out.length;
    return out;
  }
}
