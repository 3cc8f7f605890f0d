// The on-disk format of a Run log: an 8-byte magic, then records appended in arrival order.
//
//   record = kind (u8) | unixMicros (i64, big-endian) | length (u32, big-endian) | payload
//   kind 1 = stdout bytes, 2 = stderr bytes, 3 = end (payload: one flags byte, bit 0 = truncated)
//
// The payload of a data record is exactly what the process wrote, so the log is binary-safe. A
// file without an end record was not finished (runtimed stopped while writing it).

import type { FileHandle } from 'node:fs/promises';

export const LOG_MAGIC = Buffer.from('KRTLOG1\n', 'latin1');
export const RECORD_HEADER_BYTES = 13;
export const END_RECORD_BYTES = RECORD_HEADER_BYTES + 1;

export const RecordKind = {
  Stdout: 1,
  Stderr: 2,
  End: 3,
} as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

const END_FLAG_TRUNCATED = 0x01;
/** Reads are done in blocks of this size; a larger record is read whole. */
const READ_BLOCK_BYTES = 1024 * 1024;

export type LogStream = 'stdout' | 'stderr';

export type LogRecord =
  | { kind: typeof RecordKind.Stdout | typeof RecordKind.Stderr; unixMicros: number; data: Buffer }
  | { kind: typeof RecordKind.End; unixMicros: number; truncated: boolean };

export function streamOfKind(kind: typeof RecordKind.Stdout | typeof RecordKind.Stderr): LogStream {
  return kind === RecordKind.Stdout ? 'stdout' : 'stderr';
}

export function recordHeader(kind: RecordKind, unixMicros: number, length: number): Buffer {
  const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
  header.writeUInt8(kind, 0);
  header.writeBigInt64BE(BigInt(unixMicros), 1);
  header.writeUInt32BE(length, 9);
  return header;
}

export function endRecord(unixMicros: number, truncated: boolean): Buffer {
  return Buffer.concat([
    recordHeader(RecordKind.End, unixMicros, 1),
    Buffer.of(truncated ? END_FLAG_TRUNCATED : 0),
  ]);
}

export class CorruptLogError extends Error {
  override readonly name = 'CorruptLogError';
}

/**
 * Reads the records between two file offsets (both at record boundaries). Blocks are never
 * reused, so a yielded record's data stays valid for as long as the caller keeps it.
 */
export async function* readRecords(file: FileHandle, from: number, to: number): AsyncGenerator<LogRecord> {
  let block = Buffer.alloc(0);
  /** File offset of block[0]; the next unread byte is at blockStart + offset. */
  let blockStart = from;
  let offset = 0;

  /** Makes at least `need` unread bytes available, reading ahead a block at a time. */
  const ensure = async (need: number): Promise<void> => {
    if (block.length - offset >= need) return;
    const unread = block.subarray(offset);
    const readAt = blockStart + block.length;
    const want = Math.min(Math.max(READ_BLOCK_BYTES, need - unread.length), to - readAt);
    if (unread.length + want < need) throw new CorruptLogError(`record cut short at offset ${readAt}`);
    const next = Buffer.allocUnsafe(unread.length + want);
    unread.copy(next, 0);
    const { bytesRead } = await file.read(next, unread.length, want, readAt);
    if (bytesRead !== want) throw new CorruptLogError(`short read at offset ${readAt}`);
    blockStart = readAt - unread.length;
    block = next;
    offset = 0;
  };

  while (blockStart + offset < to) {
    await ensure(RECORD_HEADER_BYTES);
    const kind = block.readUInt8(offset);
    const unixMicros = Number(block.readBigInt64BE(offset + 1));
    const length = block.readUInt32BE(offset + 9);
    if (kind !== RecordKind.Stdout && kind !== RecordKind.Stderr && kind !== RecordKind.End) {
      throw new CorruptLogError(`unknown record kind ${kind} at offset ${blockStart + offset}`);
    }
    await ensure(RECORD_HEADER_BYTES + length);
    const payload = block.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + length);
    offset += RECORD_HEADER_BYTES + length;
    if (kind === RecordKind.End) {
      yield { kind, unixMicros, truncated: (payload[0] & END_FLAG_TRUNCATED) !== 0 };
    } else {
      yield { kind, unixMicros, data: payload };
    }
  }
}
