// Output of several Runs on one terminal (a Workflow's tasks): each line starts with the name of
// the task that wrote it, as docker compose does. Lines are passed on whole, so two tasks writing
// at once never share a line; a line still unfinished when its Run ends is finished by flush().
import type { Sink } from './writer.ts';

const NEWLINE = 0x0a;
/** A line longer than this is passed on in pieces rather than held back without bound. */
export const MAX_PENDING_BYTES = 64 * 1024;

export class LinePrefixer implements Sink {
  private readonly sink: Sink;
  private readonly prefix: Buffer;
  private pending: Buffer = Buffer.alloc(0);

  constructor(sink: Sink, prefix: string) {
    this.sink = sink;
    this.prefix = Buffer.from(prefix);
  }

  write(data: Buffer | string): void {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const parts: Buffer[] = [];
    let pos = 0;
    for (let nl = bytes.indexOf(NEWLINE); nl >= 0; nl = bytes.indexOf(NEWLINE, pos)) {
      parts.push(this.prefix, this.pending, bytes.subarray(pos, nl + 1));
      this.pending = Buffer.alloc(0);
      pos = nl + 1;
    }
    this.pending = Buffer.concat([this.pending, bytes.subarray(pos)]);
    if (this.pending.length >= MAX_PENDING_BYTES) {
      parts.push(this.prefix, this.pending, Buffer.from('\n'));
      this.pending = Buffer.alloc(0);
    }
    if (parts.length > 0) this.sink.write(Buffer.concat(parts));
  }

  /** Ends an unfinished last line, so that the next task's line starts on its own. */
  flush(): void {
    if (this.pending.length === 0) return;
    this.sink.write(Buffer.concat([this.prefix, this.pending, Buffer.from('\n')]));
    this.pending = Buffer.alloc(0);
  }
}

/** `build | `: task names padded to the longest, so that the output lines up. */
export function taskPrefixes(names: readonly string[], style: (text: string) => string = (t) => t): Map<string, string> {
  const width = Math.max(0, ...names.map((n) => n.length));
  return new Map(names.map((n) => [n, `${style(n.padEnd(width))} | `]));
}
