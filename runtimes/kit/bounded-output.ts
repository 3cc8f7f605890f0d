// Retains the head of a stream up to a byte limit and counts what it drops. The proto carries
// stdout/stderr as `string` (UTF-8 on the wire), so text() decodes as UTF-8: invalid byte
// sequences become U+FFFD, and a truncated head is cut at a character boundary.

export const DEFAULT_OUTPUT_LIMIT_BYTES = 1024 * 1024;

/** Room kept free for the truncation marker so that the rendered text stays within the limit. */
const MARKER_RESERVE_BYTES = 96;

export function truncationMarker(droppedBytes: number): string {
  return `\n[kruntimes: output truncated, ${droppedBytes} bytes dropped]\n`;
}

export class BoundedOutput {
  readonly limitBytes: number;
  private readonly chunks: Buffer[] = [];
  private keptBytes = 0;
  private droppedBytes = 0;
  /** text() is asked for on every Status/List; decode once per change. */
  private cached: string | undefined = '';

  constructor(options: { limitBytes?: number } = {}) {
    this.limitBytes = options.limitBytes ?? DEFAULT_OUTPUT_LIMIT_BYTES;
    if (this.limitBytes <= MARKER_RESERVE_BYTES) {
      throw new RangeError(`output limit must exceed ${MARKER_RESERVE_BYTES} bytes`);
    }
  }

  /** Every byte seen, kept or dropped. */
  get totalBytes(): number {
    return this.keptBytes + this.droppedBytes;
  }

  get truncated(): boolean {
    return this.droppedBytes > 0;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const room = this.limitBytes - this.keptBytes;
    if (chunk.length <= room) {
      this.chunks.push(chunk);
      this.keptBytes += chunk.length;
    } else {
      if (room > 0) this.chunks.push(chunk.subarray(0, room));
      this.keptBytes += Math.max(room, 0);
      this.droppedBytes += chunk.length - Math.max(room, 0);
    }
    this.cached = undefined;
  }

  text(): string {
    if (this.cached !== undefined) return this.cached;
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.keptBytes);
    if (this.droppedBytes === 0) {
      this.cached = all.toString('utf8');
    } else {
      const head = all.subarray(0, utf8Boundary(all, this.limitBytes - MARKER_RESERVE_BYTES));
      this.cached = head.toString('utf8') + truncationMarker(this.totalBytes - head.length);
    }
    return this.cached;
  }
}

/** The largest cut ≤ at that does not split a UTF-8 sequence (looks back at most 3 bytes). */
function utf8Boundary(buf: Buffer, at: number): number {
  let cut = Math.min(at, buf.length);
  for (let i = 0; i < 3 && cut > 0 && cut < buf.length && (buf[cut] & 0xc0) === 0x80; i++) cut--;
  return cut;
}
