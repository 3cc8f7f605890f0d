// Writes one container run's stdout/stderr to its CRI log file and tells followers (kubectl logs
// -f) about new records as they are written.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { CriRecord, LogStream } from './cri-log.ts';
import { FileLineReader, formatRecord, LineSplitter, nowNs, rfc3339Nano } from './cri-log.ts';

export interface ContainerLogWriterEvents {
  records: [CriRecord[]];
  close: [];
}

export class ContainerLogWriter extends EventEmitter<ContainerLogWriterEvents> {
  readonly file: string;
  /** Bytes in the file: everything below this offset was written before any later 'records' event. */
  size: number;
  closed = false;
  private fd: number;
  private readonly splitters = { stdout: new LineSplitter('stdout'), stderr: new LineSplitter('stderr') };

  constructor(file: string) {
    super();
    this.file = file;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.fd = fs.openSync(file, 'a');
    this.size = fs.fstatSync(this.fd).size;
  }

  write(stream: LogStream, chunk: Buffer): void {
    if (this.closed) return;
    this.append(this.splitters[stream].push(chunk, rfc3339Nano(nowNs())));
  }

  /** Flushes unterminated lines and closes the file. */
  close(): void {
    if (this.closed) return;
    const time = rfc3339Nano(nowNs());
    this.append([...this.splitters.stdout.end(time), ...this.splitters.stderr.end(time)]);
    this.closed = true;
    fs.closeSync(this.fd);
    this.emit('close');
  }

  /** The last bytes of the log's content (not the CRI framing), for FallbackToLogsOnError. */
  tailText(maxBytes: number): string {
    try {
      // Framing roughly doubles short lines: read a generous window from the end only.
      const window = Math.min(this.size, maxBytes * 4 + 4096);
      const buf = Buffer.alloc(window);
      const fd = fs.openSync(this.file, 'r');
      try {
        fs.readSync(fd, buf, 0, window, this.size - window);
      } finally {
        fs.closeSync(fd);
      }
      const records = new FileLineReader().push(buf);
      return Buffer.concat(
        records.map((r) => (r.partial ? r.content : Buffer.concat([r.content, Buffer.from('\n')]))),
      )
        .toString('utf8')
        .trimEnd()
        .slice(-maxBytes);
    } catch {
      return '';
    }
  }

  private append(records: CriRecord[]): void {
    if (records.length === 0) return;
    const bytes = Buffer.concat(records.map(formatRecord));
    // Synchronous: `size` and the file content stay in step, which followers rely on.
    fs.writeSync(this.fd, bytes);
    this.size += bytes.length;
    this.emit('records', records);
  }
}
