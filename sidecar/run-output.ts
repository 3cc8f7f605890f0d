// What runtimed does with a Run's stdout and stderr: it subscribes to the Runtime Server's Output
// stream right after Execute and writes every chunk to the Run's log (log-store.ts), which the
// log server reads live and after completion. Against a server without Output (UNIMPLEMENTED) the
// bounded final Status output becomes the log. Either way the chunks are also copied, bounded, as
// JSON lines to runtimed's stdout: the container log is the fallback when the pod is gone.
//
// Nothing here is on the Run's critical path: runtimed never waits for the log before it writes
// the terminal status.

import type { Run } from '../lib/api.ts';
import { errorMessage, type Logger } from '../lib/log.ts';
import { type RuntimeServerClient, RuntimeServerError } from '../lib/runtime-client.ts';
import type { StatusResponse } from '../lib/runtime-proto.ts';
import type { LogStore, LogStream, RunLogWriter } from './log-store.ts';
import { formatMicros } from './log-time.ts';

export const ContainerLogLimits = {
  /** Output bytes per Run copied to runtimed's stdout; a final line says when more was left out. */
  perRunBytes: 1024 * 1024,
  /** Raw bytes per JSON line: its base64 stays under the 16 KiB at which container runtimes split lines. */
  lineBytes: 8 * 1024,
} as const;

/** Once the execution finished, how long its Output stream may take to deliver the rest. */
export const OUTPUT_END_GRACE_MS = 30_000;

/** A Runtime Server's marker at the end of a bounded Status output, e.g. the kit's truncationMarker. */
const STATUS_TRUNCATION_MARKER = /\[[^\]\n]*truncated[^\]\n]*\]\n?$/;

export interface RunOutputsOptions {
  server: RuntimeServerClient;
  store: LogStore;
  log: Logger;
  /** Where container-log lines go. Default: runtimed's stdout. */
  write?: (text: string) => void;
  endGraceMs?: number;
  containerLogBytes?: number;
}

/** The output capture of every Run runtimed handles, keyed by Run UID. */
export class RunOutputs {
  private readonly o: RunOutputsOptions;
  private readonly captures = new Map<string, Capture>();

  constructor(options: RunOutputsOptions) {
    this.o = options;
  }

  /** Starts the Run's log (replacing an earlier attempt's), so followers find it from the claim on. */
  begin(run: Run): void {
    const uid = run.metadata.uid!;
    this.captures.get(uid)?.discard();
    this.captures.delete(uid);
    try {
      this.captures.set(uid, new Capture(this.o, run, this.o.store.create(uid)));
    } catch (err) {
      // The Run still runs; only its log (and the container-log copy) is missing.
      this.o.log.warn('cannot start the run log', { runUID: uid, error: errorMessage(err) });
    }
  }

  /** The claim was lost: the Run is not ours, and neither is a log of it. */
  discard(uid: string): void {
    this.captures.get(uid)?.discard();
    this.captures.delete(uid);
  }

  /** Execute was accepted (or a running execution adopted): stream its output into the log. */
  capture(uid: string): void {
    this.captures.get(uid)?.stream();
  }

  /** The execution finished with this final status. */
  executionFinished(uid: string, status: StatusResponse): void {
    this.captures.get(uid)?.executionFinished(status);
  }

  /** runtimed is done with the Run; the log closes when its output stream ends (or now). */
  end(uid: string): void {
    const capture = this.captures.get(uid);
    if (capture === undefined) return;
    this.captures.delete(uid);
    capture.end();
  }
}

type Mode = 'idle' | 'streaming' | 'fallback' | 'closed';

class Capture {
  private readonly o: RunOutputsOptions;
  private readonly uid: string;
  private readonly writer: RunLogWriter;
  private readonly fields: { run?: string; namespace?: string; runUID: string };
  private readonly aborter = new AbortController();
  private readonly write: (text: string) => void;
  private readonly containerLimit: number;
  private mode: Mode = 'idle';
  private finalStatus: StatusResponse | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private containerBytes = 0;
  private containerTruncated = false;

  constructor(options: RunOutputsOptions, run: Run, writer: RunLogWriter) {
    this.o = options;
    this.uid = run.metadata.uid!;
    this.writer = writer;
    this.fields = { run: run.metadata.name, namespace: run.metadata.namespace, runUID: this.uid };
    this.write = options.write ?? ((text) => process.stdout.write(text));
    this.containerLimit = options.containerLogBytes ?? ContainerLogLimits.perRunBytes;
  }

  stream(): void {
    if (this.mode !== 'idle') return;
    this.mode = 'streaming';
    void this.pump();
  }

  executionFinished(status: StatusResponse): void {
    this.finalStatus = status;
    this.writer.executionFinished();
    if (this.mode === 'streaming') this.armGrace();
    else this.storeStatus();
  }

  end(): void {
    if (this.mode === 'streaming') {
      this.armGrace();
    } else {
      // Without a stream, a log still open here got no final status: unknown output after a
      // server without Output, or none at all when nothing ran (an empty, complete log).
      this.close(this.mode === 'fallback');
    }
  }

  discard(): void {
    this.mode = 'closed';
    clearTimeout(this.graceTimer);
    this.aborter.abort();
    void this.writer.discard();
  }

  private async pump(): Promise<void> {
    const output = this.o.server.output(this.uid, { signal: this.aborter.signal });
    try {
      for await (const chunk of output) this.chunk(chunk.stream, chunk.data, chunk.unixMicros);
      this.close(output.droppedBytes > 0);
    } catch (err) {
      if (this.mode === 'closed') return;
      if (err instanceof RuntimeServerError && err.isUnimplemented) {
        this.mode = 'fallback';
        if (this.finalStatus !== undefined) this.storeStatus();
        return;
      }
      this.o.log.warn('run output stream broke off; the log is incomplete', {
        runUID: this.uid,
        error: errorMessage(err),
      });
      this.close(true);
    }
  }

  /** The stream should end with the execution; one that hangs on is cut off after a grace. */
  private armGrace(): void {
    if (this.graceTimer !== undefined) return;
    this.graceTimer = setTimeout(
      () => this.aborter.abort(new Error('the output stream did not end after the execution finished')),
      this.o.endGraceMs ?? OUTPUT_END_GRACE_MS,
    );
    this.graceTimer.unref();
  }

  /** A server without Output: its bounded, UTF-8 Status output is all there is. */
  private storeStatus(): void {
    const status = this.finalStatus;
    if (status === undefined || this.mode === 'closed') return;
    const now = Date.now() * 1000;
    this.chunk('stdout', Buffer.from(status.stdout), now);
    this.chunk('stderr', Buffer.from(status.stderr), now + 1);
    this.close(STATUS_TRUNCATION_MARKER.test(status.stdout) || STATUS_TRUNCATION_MARKER.test(status.stderr));
  }

  private chunk(stream: LogStream, data: Buffer, unixMicros: number): void {
    if (this.mode === 'closed' || data.length === 0) return;
    this.writer.append(stream, data, unixMicros);
    this.copyToContainerLog(stream, data, unixMicros);
  }

  private close(truncated: boolean): void {
    if (this.mode === 'closed') return;
    this.mode = 'closed';
    clearTimeout(this.graceTimer);
    void this.writer.close({ truncated });
  }

  private copyToContainerLog(stream: LogStream, data: Buffer, unixMicros: number): void {
    if (this.containerTruncated) return;
    const ts = formatMicros(unixMicros);
    const kept = data.subarray(0, this.containerLimit - this.containerBytes);
    let text = '';
    for (let at = 0; at < kept.length; at += ContainerLogLimits.lineBytes) {
      const piece = kept.subarray(at, at + ContainerLogLimits.lineBytes).toString('base64');
      text += `${JSON.stringify({ ts, msg: 'run output', ...this.fields, stream, data: piece })}\n`;
    }
    this.containerBytes += kept.length;
    if (kept.length < data.length) {
      this.containerTruncated = true;
      const limitBytes = this.containerLimit;
      text += `${JSON.stringify({ ts, msg: 'run output truncated', ...this.fields, limitBytes })}\n`;
    }
    this.write(text);
  }
}
