// Run logs on the workspace volume: one file per Run UID (<dir>/<uid>.log, format in
// log-record.ts) holding the Run's stdout and stderr exactly as written, with timestamps.
// Bounded per Run and in total (the oldest finished logs are evicted first); kept after the Run
// finishes, and across runtimed restarts, until evicted. Readers follow a log being written
// through an in-process event, never by polling.

import { EventEmitter, once } from 'node:events';
import { type FileHandle, mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage, type Logger, logger as rootLogger } from '../lib/log.ts';
import {
  END_RECORD_BYTES,
  endRecord,
  LOG_MAGIC,
  type LogStream,
  RECORD_HEADER_BYTES,
  RecordKind,
  readRecords,
  recordHeader,
  streamOfKind,
} from './log-record.ts';

export type { LogStream } from './log-record.ts';

export const LOG_DIR_NAME = 'logs';

export const LogLimits = {
  /** One Run's log file, records included; the head is kept, the rest dropped (truncated). */
  perRunBytes: 64 * 1024 * 1024,
  /** All log files together; finished logs are evicted oldest first to stay within it. */
  totalBytes: 512 * 1024 * 1024,
  /**
   * A non-following read of a log whose execution already finished waits this long for the
   * output stream's last bytes, so that `logs` right after completion is complete.
   */
  settleMs: 5000,
} as const;

export type StreamSelector = LogStream | 'all';

export interface ReadOptions {
  stream?: StreamSelector;
  /** Keep reading as the log grows, until it is finished (or signal aborts). */
  follow?: boolean;
  /** Only the last N lines of the selected stream(s) (counted at the start of the read). */
  tailLines?: number;
  /** Only chunks stamped at or after this instant (µs since the epoch). */
  sinceMicros?: number;
  signal?: AbortSignal;
}

export type LogEvent =
  | { type: 'chunk'; stream: LogStream; unixMicros: number; data: Buffer }
  /** The log is finished; truncated when bytes were dropped or the output is incomplete. */
  | { type: 'end'; truncated: boolean };

export interface LogStoreOptions {
  dir: string;
  perRunBytes?: number;
  totalBytes?: number;
  settleMs?: number;
  logger?: Logger;
}

/** Kubernetes UIDs are UUIDs; anything usable as a plain file name without dots is accepted. */
const UID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const LOG_SUFFIX = '.log';
const NEWLINE = 0x0a;

export function isValidRunUID(uid: string): boolean {
  return UID_PATTERN.test(uid);
}

/** What the store knows about one log file. */
class RunLog {
  readonly uid: string;
  readonly file: string;
  /** Bytes of complete records on disk: readers never read past it. */
  size = 0;
  /** Bytes accepted (on disk or queued): what the bounds count. */
  reserved = 0;
  /** A writer may still append. */
  writing = true;
  /** The execution finished: the rest of its output is on its way. */
  settling = false;
  /** Set while a writer owns the file. */
  writer: RunLogWriter | undefined;
  /** Emits 'change' whenever size, writing or settling changes. */
  readonly events = new EventEmitter();

  constructor(uid: string, file: string) {
    this.uid = uid;
    this.file = file;
    this.events.setMaxListeners(0);
  }

  changed(): void {
    this.events.emit('change');
  }
}

export class LogStore {
  readonly dir: string;
  readonly perRunBytes: number;
  readonly totalBytes: number;
  private readonly settleMs: number;
  private readonly log: Logger;
  private readonly logs = new Map<string, RunLog>();
  /** UIDs of finished logs, oldest first: the eviction order. */
  private readonly finished = new Set<string>();
  /** Per UID, the removal of a replaced log, which a new file of the same name must wait for. */
  private readonly removals = new Map<string, Promise<void>>();
  private used = 0;

  /** A store on dir (created if missing), with the logs a previous runtimed left there. */
  static async open(options: LogStoreOptions): Promise<LogStore> {
    const store = new LogStore(options);
    await store.load();
    return store;
  }

  private constructor(options: LogStoreOptions) {
    this.dir = options.dir;
    this.perRunBytes = options.perRunBytes ?? LogLimits.perRunBytes;
    this.totalBytes = options.totalBytes ?? LogLimits.totalBytes;
    this.settleMs = options.settleMs ?? LogLimits.settleMs;
    this.log = options.logger ?? rootLogger.child({ component: 'log-store' });
    if (this.perRunBytes < LOG_MAGIC.length + RECORD_HEADER_BYTES + END_RECORD_BYTES + 1) {
      throw new RangeError('perRunBytes is too small for a single record');
    }
  }

  /** Bytes of all logs, on disk or queued. */
  get usedBytes(): number {
    return this.used;
  }

  has(uid: string): boolean {
    return this.logs.has(uid);
  }

  /** Starts the log of a Run, replacing an earlier one of the same UID (a new attempt). */
  create(uid: string): RunLogWriter {
    if (!isValidRunUID(uid)) throw new Error(`invalid Run UID "${uid}"`);
    const previous = this.logs.get(uid);
    // Its writer (if still at work) lets go of the file before the file is unlinked.
    if (previous?.writer !== undefined) void previous.writer.discard();
    else if (previous !== undefined) this.remove(previous);
    const log = new RunLog(uid, path.join(this.dir, `${uid}${LOG_SUFFIX}`));
    this.logs.set(uid, log);
    // The magic and the end record are accounted up front, so closing always fits.
    const fixed = LOG_MAGIC.length + END_RECORD_BYTES;
    log.reserved = fixed;
    this.used += fixed;
    log.writer = new RunLogWriter(this, log, this.removals.get(uid));
    return log.writer;
  }

  /** The log's events as options select them; undefined when there is no log for uid. */
  read(uid: string, options: ReadOptions = {}): AsyncGenerator<LogEvent> | undefined {
    const log = this.logs.get(uid);
    return log === undefined ? undefined : readLog(log, options, this.settleMs);
  }

  /** How many readers are waiting for the log of uid to grow (followers, settling readers). */
  waitingReaders(uid: string): number {
    return this.logs.get(uid)?.events.listenerCount('change') ?? 0;
  }

  /** Resolves once every log has stopped being written, or after timeoutMs. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const log of this.logs.values()) {
      while (log.writing && Date.now() < deadline) {
        const left = Math.max(0, deadline - Date.now());
        await once(log.events, 'change', { signal: AbortSignal.timeout(left) }).catch(() => {});
      }
    }
  }

  /** For a writer: room for `bytes` more in log, evicting finished logs for it if needed. */
  reserve(log: RunLog, bytes: number): boolean {
    if (log.reserved + bytes > this.perRunBytes) return false;
    for (const uid of this.finished) {
      if (this.used + bytes <= this.totalBytes) break;
      const victim = this.logs.get(uid);
      if (victim !== undefined) {
        this.log.info('run log evicted', { runUID: uid, bytes: victim.reserved, usedBytes: this.used });
        this.remove(victim);
      }
    }
    if (this.used + bytes > this.totalBytes) return false;
    log.reserved += bytes;
    this.used += bytes;
    return true;
  }

  /** For a writer: the largest payload that still fits one record into log's per-Run bound. */
  roomFor(log: RunLog): number {
    return this.perRunBytes - log.reserved - RECORD_HEADER_BYTES;
  }

  /** For a writer: the log is complete (or abandoned) and may now be evicted. */
  markFinished(log: RunLog): void {
    log.writing = false;
    log.writer = undefined;
    if (this.logs.get(log.uid) === log) this.finished.add(log.uid);
    log.changed();
  }

  /** Forgets log and deletes its file once its writer let go of it; resolves when deleted. */
  remove(log: RunLog, writerDone: Promise<void> = Promise.resolve()): Promise<void> {
    if (this.logs.get(log.uid) !== log) return this.removals.get(log.uid) ?? Promise.resolve();
    this.logs.delete(log.uid);
    this.finished.delete(log.uid);
    this.used -= log.reserved;
    log.writing = false;
    log.writer = undefined;
    log.changed();
    const removal = writerDone
      .then(() => unlink(log.file))
      .catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT')
          this.log.warn('run log removal failed', { runUID: log.uid, error: err.message });
      });
    this.removals.set(log.uid, removal);
    void removal.then(() => {
      if (this.removals.get(log.uid) === removal) this.removals.delete(log.uid);
    });
    return removal;
  }

  /** A writer's file could not be written: what was written stays readable, marked incomplete. */
  writeFailed(log: RunLog, err: unknown): void {
    this.log.warn('run log write failed', { runUID: log.uid, error: errorMessage(err) });
  }

  private async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const found: Array<{ uid: string; size: number; mtimeMs: number }> = [];
    for (const name of await readdir(this.dir)) {
      const uid = name.slice(0, -LOG_SUFFIX.length);
      if (!name.endsWith(LOG_SUFFIX) || !isValidRunUID(uid)) continue;
      try {
        const { size, mtimeMs } = await stat(path.join(this.dir, name));
        found.push({ uid, size, mtimeMs });
      } catch {
        // removed meanwhile
      }
    }
    found.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const { uid, size } of found) {
      const log = new RunLog(uid, path.join(this.dir, `${uid}${LOG_SUFFIX}`));
      log.size = size;
      log.reserved = size;
      log.writing = false;
      this.logs.set(uid, log);
      this.finished.add(uid);
      this.used += size;
    }
    for (const uid of this.finished) {
      if (this.used <= this.totalBytes) break;
      this.remove(this.logs.get(uid)!);
    }
    if (found.length > 0) this.log.info('run logs found', { count: this.logs.size, usedBytes: this.used });
  }
}

/**
 * Appends a Run's output to its log. Appends never wait: buffers are queued and written in
 * batches (one writev per batch), and followers are told after each batch is on disk.
 */
export class RunLogWriter {
  private readonly store: LogStore;
  private readonly runLog: RunLog;
  private readonly file: Promise<FileHandle>;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  /** The chain of batch writes; the last link is the close. */
  private writes: Promise<void>;
  private flushScheduled = false;
  private state: 'open' | 'closing' | 'discarded' = 'open';
  private truncated = false;
  private failed = false;

  constructor(store: LogStore, log: RunLog, previousRemoval: Promise<void> | undefined) {
    this.store = store;
    this.runLog = log;
    // A replaced log of the same UID is unlinked first, so the new file is not deleted by it.
    this.file = (previousRemoval ?? Promise.resolve()).then(() => open(log.file, 'w', 0o600));
    this.writes = this.file.then(
      () => {},
      (err: unknown) => this.fail(err),
    );
    // Queued without a flush of its own: it goes out with the first record (one write fewer).
    this.queue.push(LOG_MAGIC);
    this.queuedBytes = LOG_MAGIC.length;
  }

  get uid(): string {
    return this.runLog.uid;
  }

  /** Whether bytes were dropped so far (bounds or a write error). */
  get isTruncated(): boolean {
    return this.truncated;
  }

  append(stream: LogStream, data: Buffer, unixMicros: number): void {
    if (this.state !== 'open' || this.truncated || data.length === 0) return;
    let payload = data;
    const room = this.store.roomFor(this.runLog);
    if (payload.length > room) {
      // The per-Run bound: keep the head that fits, then nothing more (no holes in the middle).
      payload = payload.subarray(0, Math.max(room, 0));
      this.truncated = true;
    }
    if (payload.length === 0 || !this.store.reserve(this.runLog, RECORD_HEADER_BYTES + payload.length)) {
      this.truncated = true;
      return;
    }
    this.enqueue(
      recordHeader(stream === 'stdout' ? RecordKind.Stdout : RecordKind.Stderr, unixMicros, payload.length),
    );
    this.enqueue(payload);
  }

  /** The execution is over: readers that do not follow wait a little for the rest of the output. */
  executionFinished(): void {
    if (this.runLog.settling) return;
    this.runLog.settling = true;
    this.runLog.changed();
  }

  /**
   * Ends the log with its end record; `truncated` adds to what the writer already knows (bytes
   * dropped upstream, or an output stream that broke off). Resolves when the file is closed.
   */
  close(options: { truncated?: boolean } = {}): Promise<void> {
    if (this.state !== 'open') return this.writes;
    if (options.truncated) this.truncated = true;
    this.enqueue(endRecord(Date.now() * 1000, this.truncated || this.failed));
    this.state = 'closing';
    this.writes = this.writes.then(() => this.finish());
    return this.writes;
  }

  /** Drops the log and its file (the Run was not ours to run after all). */
  discard(): Promise<void> {
    if (this.state === 'discarded') return this.store.remove(this.runLog);
    this.state = 'discarded';
    this.queue = [];
    this.queuedBytes = 0;
    this.writes = this.writes.then(() => this.closeFile());
    return this.store.remove(this.runLog, this.writes);
  }

  /** Resolves once everything appended so far is on disk (and visible to readers). */
  flushed(): Promise<void> {
    return this.writes;
  }

  private enqueue(buffer: Buffer): void {
    if (this.failed) return;
    this.queue.push(buffer);
    this.queuedBytes += buffer.length;
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.writes = this.writes.then(() => this.flush());
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    if (this.failed || this.queue.length === 0 || this.state === 'discarded') return;
    const batch = this.queue;
    const bytes = this.queuedBytes;
    this.queue = [];
    this.queuedBytes = 0;
    try {
      await writeFully(await this.file, batch, bytes);
    } catch (err) {
      this.fail(err);
      return;
    }
    this.runLog.size += bytes;
    this.runLog.changed();
  }

  private async finish(): Promise<void> {
    await this.closeFile();
    this.store.markFinished(this.runLog);
  }

  private async closeFile(): Promise<void> {
    try {
      await (await this.file).close();
    } catch {
      // never opened, or already closed: nothing to release
    }
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.truncated = true;
    this.queue = [];
    this.queuedBytes = 0;
    this.store.writeFailed(this.runLog, err);
  }
}

/** writev until every byte is written (a regular file may take less than asked, e.g. near ENOSPC). */
async function writeFully(file: FileHandle, buffers: Buffer[], bytes: number): Promise<void> {
  let pending = buffers;
  let remaining = bytes;
  while (remaining > 0) {
    const { bytesWritten } = await file.writev(pending);
    if (bytesWritten === 0) throw new Error('no progress writing the log');
    remaining -= bytesWritten;
    if (remaining > 0) pending = [Buffer.concat(pending).subarray(bytesWritten)];
  }
}

async function* readLog(log: RunLog, options: ReadOptions, settleMs: number): AsyncGenerator<LogEvent> {
  const {
    stream = 'all',
    follow = false,
    tailLines,
    sinceMicros = Number.NEGATIVE_INFINITY,
    signal,
  } = options;
  const selects = (kind: RecordKind) =>
    kind !== RecordKind.End && (stream === 'all' || streamOfKind(kind) === stream);
  let file: FileHandle | undefined;
  let position = LOG_MAGIC.length;
  let settleDeadline: number | undefined;
  try {
    // The tail is taken of what exists when the read starts; everything after it is new.
    const snapshotEnd = Math.max(log.size, position);
    let skipNewlines = 0;
    let skipAll = false;
    if (tailLines !== undefined) {
      if (log.size > position) {
        file = await openForReading(log);
        if (file === undefined) {
          yield { type: 'end', truncated: true };
          return;
        }
        let newlines = 0;
        let last: number | undefined;
        for await (const record of readRecords(file, position, snapshotEnd)) {
          if (!selects(record.kind) || record.kind === RecordKind.End || record.unixMicros < sinceMicros)
            continue;
          newlines += countNewlines(record.data);
          if (record.data.length > 0) last = record.data[record.data.length - 1];
        }
        const lines = newlines + (last !== undefined && last !== NEWLINE ? 1 : 0);
        skipNewlines = Math.max(0, lines - tailLines);
      }
      skipAll = tailLines === 0;
    }

    for (;;) {
      const end = log.size;
      if (end > position) {
        file ??= await openForReading(log);
        if (file === undefined) {
          yield { type: 'end', truncated: true };
          return;
        }
        // The first batch stops at the snapshot, where skipping for the tail ends.
        const until = skipAll || skipNewlines > 0 ? Math.min(end, snapshotEnd) : end;
        for await (const record of readRecords(file, position, until)) {
          if (record.kind === RecordKind.End) {
            yield { type: 'end', truncated: record.truncated };
            return;
          }
          if (!selects(record.kind) || record.unixMicros < sinceMicros) continue;
          let data = record.data;
          if (skipAll) continue;
          if (skipNewlines > 0) {
            const cut = afterNthNewline(data, skipNewlines);
            skipNewlines -= Math.min(skipNewlines, countNewlines(data.subarray(0, cut)));
            data = data.subarray(cut);
          }
          if (data.length > 0) {
            yield { type: 'chunk', stream: streamOfKind(record.kind), unixMicros: record.unixMicros, data };
          }
        }
        position = until;
        if (position >= snapshotEnd) {
          skipAll = false;
          skipNewlines = 0;
        }
        continue;
      }
      if (!log.writing) {
        // Finished without an end record: runtimed stopped while writing it, or the write failed.
        yield { type: 'end', truncated: true };
        return;
      }
      let waitSignal = signal;
      if (!follow) {
        if (!log.settling) return;
        settleDeadline ??= Date.now() + settleMs;
        const left = settleDeadline - Date.now();
        if (left <= 0) return;
        const timeout = AbortSignal.timeout(left);
        waitSignal = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
      }
      try {
        // Checked and subscribed in the same tick: no change can slip in between.
        await once(log.events, 'change', { signal: waitSignal });
      } catch {
        if (signal?.aborted) return;
        // The settle timeout: read what came, then give up without an end.
      }
    }
  } finally {
    await file?.close();
  }
}

async function openForReading(log: RunLog): Promise<FileHandle | undefined> {
  try {
    return await open(log.file, 'r');
  } catch (err) {
    // Evicted between the check and the open.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function countNewlines(data: Buffer): number {
  let count = 0;
  for (let at = data.indexOf(NEWLINE); at !== -1; at = data.indexOf(NEWLINE, at + 1)) count++;
  return count;
}

/** The index just after the n-th newline of data, or data.length when it has fewer. */
function afterNthNewline(data: Buffer, n: number): number {
  let at = -1;
  for (let seen = 0; seen < n; seen++) {
    at = data.indexOf(NEWLINE, at + 1);
    if (at === -1) return data.length;
  }
  return at + 1;
}
