// The client of runtimed's log API (sidecar/log-server.ts), reached on port 19092 of the Runtime
// Pod through port-forwarding:
//
//   GET /v1/runs/{runUID}/log?stream=stdout|stderr|all&follow=…&tailLines=N&sinceTime=RFC3339&format=ndjson
//
// We always ask for ndjson: one {"ts","stream","data":base64} object per chunk, so the bytes are
// exact, the streams can be told apart and timestamped, and a last {"end":true,"truncated":…} line
// says whether the output is complete. follow=true streams until the execution's output ends.
import http from 'node:http';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import type { Duplex } from 'node:stream';
import { isOutputStream, type LogChunk, type StreamSelection } from './chunk.ts';

export interface RunLogQuery {
  runUID: string;
  stream: StreamSelection;
  follow: boolean;
  tailLines?: number;
  sinceTime?: string;
}

/** runtimed answered 404: this pod has no log for that Run. */
export class NoRunLogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoRunLogError';
  }
}

/** runtimed answered something else than the log (not the API we know, an internal error). */
export class RuntimedLogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuntimedLogError';
  }
}

export interface LogEnd {
  /** The server sent its end line: the output is complete as far as runtimed kept it. */
  complete: boolean;
  /** runtimed's on-disk bound dropped bytes of this output. */
  truncated: boolean;
}

export function runLogPath(query: RunLogQuery): string {
  const q = new URLSearchParams({ stream: query.stream, follow: String(query.follow), format: 'ndjson' });
  if (query.tailLines !== undefined) q.set('tailLines', String(query.tailLines));
  if (query.sinceTime !== undefined) q.set('sinceTime', query.sinceTime);
  return `/v1/runs/${encodeURIComponent(query.runUID)}/log?${q}`;
}

interface NdjsonLine {
  ts?: unknown;
  stream?: unknown;
  data?: unknown;
  end?: unknown;
  truncated?: unknown;
}

/** One ndjson line: a chunk, the end marker, or undefined for a line we do not understand. */
export function parseLogLine(line: string): LogChunk | { end: true; truncated: boolean } | undefined {
  let o: NdjsonLine;
  try {
    o = JSON.parse(line) as NdjsonLine;
  } catch {
    return undefined;
  }
  if (o === null || typeof o !== 'object') return undefined;
  if (o.end === true) return { end: true, truncated: o.truncated === true };
  if (!isOutputStream(o.stream) || typeof o.data !== 'string') return undefined;
  return { ts: typeof o.ts === 'string' ? o.ts : '', stream: o.stream, data: Buffer.from(o.data, 'base64') };
}

/**
 * Fetches a Run's log over `socket` (a port-forward stream, or any connection to runtimed's HTTP
 * port) and calls onChunk for each chunk in order. Resolves when the response ends.
 */
export function fetchRunLog(
  socket: Duplex,
  query: RunLogQuery,
  onChunk: (chunk: LogChunk) => void,
  signal?: AbortSignal,
): Promise<LogEnd> {
  return new Promise<LogEnd>((resolve, reject) => {
    const req = http.request({
      method: 'GET',
      path: runLogPath(query),
      headers: { host: 'runtimed', accept: 'application/x-ndjson' },
      createConnection: () => socket as unknown as Socket,
      signal,
    });
    req.on('error', reject);
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => {
          let message = body.trim();
          try {
            message = (JSON.parse(body) as { message?: string }).message ?? message;
          } catch {
            // not JSON
          }
          reject(
            res.statusCode === 404
              ? new NoRunLogError(message || 'no log for this Run')
              : new RuntimedLogError(
                  `runtimed answered HTTP ${res.statusCode}${message ? `: ${message}` : ''}`,
                ),
          );
        });
        return;
      }
      const end: LogEnd = { complete: false, truncated: false };
      const lines = createInterface({ input: res, crlfDelay: Number.POSITIVE_INFINITY });
      lines.on('line', (line) => {
        if (!line) return;
        const parsed = parseLogLine(line);
        if (parsed === undefined) return;
        if ('end' in parsed) {
          end.complete = true;
          end.truncated = parsed.truncated;
        } else onChunk(parsed);
      });
      // 'close' on readline fires once the response body has been fully read (or aborted).
      lines.on('close', () => (res.errored ? reject(res.errored) : resolve(end)));
      // readline re-emits the response's errors (a broken connection, an abort) on itself.
      lines.on('error', reject);
      res.on('error', reject);
    });
    req.end();
  });
}
