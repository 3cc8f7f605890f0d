// Where a Run's output goes on this side: both streams to stdout (kubectl logs), or stdout and
// stderr to their own (run --follow, like docker run); with --timestamps every line starts with
// the timestamp of the chunk it begins in.
import type { LogChunk } from './chunk.ts';

export interface Sink {
  write(data: Buffer | string): unknown;
}

const NEWLINE = 0x0a;

export class LogWriter {
  private readonly stdout: Sink;
  private readonly stderr: Sink;
  private readonly split: boolean;
  private readonly timestamps: boolean;
  /** Per destination: is the next byte the start of a line? */
  private readonly atLineStart = new Map<Sink, boolean>();
  /** Bytes written, per stream of the Run. */
  readonly bytes = { stdout: 0, stderr: 0 };

  constructor(options: { stdout: Sink; stderr: Sink; split: boolean; timestamps: boolean }) {
    this.stdout = options.stdout;
    this.stderr = options.stderr;
    this.split = options.split;
    this.timestamps = options.timestamps;
  }

  write(chunk: LogChunk): void {
    this.bytes[chunk.stream] += chunk.data.length;
    const sink = this.split && chunk.stream === 'stderr' ? this.stderr : this.stdout;
    if (!this.timestamps) {
      sink.write(chunk.data);
      return;
    }
    const data = chunk.data;
    const prefix = Buffer.from(`${chunk.ts} `);
    const parts: Buffer[] = [];
    let pos = 0;
    while (pos < data.length) {
      if (this.atLineStart.get(sink) ?? true) {
        parts.push(prefix);
        this.atLineStart.set(sink, false);
      }
      const nl = data.indexOf(NEWLINE, pos);
      const end = nl < 0 ? data.length : nl + 1;
      parts.push(data.subarray(pos, end));
      if (nl >= 0) this.atLineStart.set(sink, true);
      pos = end;
    }
    sink.write(Buffer.concat(parts));
  }

  /** Ends an unterminated last line when timestamps are shown, so prompts do not run into it. */
  finishLines(): void {
    if (!this.timestamps) return;
    for (const [sink, atStart] of this.atLineStart) if (!atStart) sink.write('\n');
    this.atLineStart.clear();
  }
}
