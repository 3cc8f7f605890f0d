// The Run log API on runtimed's HTTP port (19092), reached by `kubectl krt logs` through the
// kubelet's port-forward:
//
//   GET /v1/runs/{runUID}/log?stream=stdout|stderr|all&follow=true|false&tailLines=N
//                             &sinceTime=RFC3339&format=raw|ndjson
//
// raw (default): the selected bytes in time order, exactly as written (application/octet-stream).
// ndjson: {"ts","stream","data":"<base64>"} per chunk, then {"end":true,"truncated":bool} once the
// output is complete (application/x-ndjson). follow=true streams until the Run's output ends.
// Errors are JSON {"message"}: 400 for a bad parameter, 404 for an unknown Run.

import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorMessage, type Logger, logger as rootLogger } from '../lib/log.ts';
import type { LogEvent, LogStore, ReadOptions, StreamSelector } from './log-store.ts';
import { requestUrl } from './http-server.ts';
import { formatMicros, parseRfc3339Micros } from './log-time.ts';

export const LOG_ROUTE = /^\/v1\/runs\/([^/]+)\/log$/;

export const LogFormat = {
  Raw: 'raw',
  Ndjson: 'ndjson',
} as const;
export type LogFormat = (typeof LogFormat)[keyof typeof LogFormat];

export const LogContentType = {
  [LogFormat.Raw]: 'application/octet-stream',
  [LogFormat.Ndjson]: 'application/x-ndjson',
} as const;

const STREAMS: readonly StreamSelector[] = ['stdout', 'stderr', 'all'];

export interface LogServerOptions {
  store: LogStore;
  /** Named in the 404 message, so a user knows which pod was asked. */
  podName: string;
  logger?: Logger;
}

/** A request handler for runtimed's HTTP server: answers log routes and returns true, else false. */
export function logRoutes(options: LogServerOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const log = options.logger ?? rootLogger.child({ component: 'log-server' });
  return (req, res) => {
    const url = requestUrl(req);
    const match = url && LOG_ROUTE.exec(url.pathname);
    if (!url || !match) return false;
    serveLog(options, match[1], url.searchParams, req, res).catch((err: unknown) => {
      log.warn('log request failed', { url: req.url, error: errorMessage(err) });
      if (!res.headersSent) sendJson(res, 500, { message: `reading the log failed: ${errorMessage(err)}` });
      else res.destroy();
    });
    return true;
  };
}

interface LogQuery extends ReadOptions {
  format: LogFormat;
}

async function serveLog(
  options: LogServerOptions,
  encodedUID: string,
  params: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  let uid: string;
  try {
    uid = decodeURIComponent(encodedUID);
  } catch {
    sendJson(res, 400, { message: `malformed Run UID "${encodedUID}"` });
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    sendJson(res, 405, { message: `method ${req.method} is not allowed; use GET` });
    return;
  }
  const query = parseQuery(params);
  if (typeof query === 'string') {
    sendJson(res, 400, { message: query });
    return;
  }
  // Stop reading (and following) as soon as the client goes away.
  const disconnected = new AbortController();
  res.once('close', () => disconnected.abort());
  const events = options.store.read(uid, { ...query, signal: disconnected.signal });
  if (events === undefined) {
    sendJson(res, 404, { message: `no log for run ${uid} on pod ${options.podName}` });
    return;
  }
  res.writeHead(200, {
    'Content-Type': LogContentType[query.format],
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  if (req.method === 'HEAD') {
    await events.return(undefined);
    res.end();
    return;
  }
  // A follower learns at once that the log exists, before the first byte of output.
  res.flushHeaders();
  const render = query.format === LogFormat.Ndjson ? ndjsonLine : rawBytes;
  for await (const event of events) {
    if (disconnected.signal.aborted) break;
    const bytes = render(event);
    if (bytes === undefined) continue;
    if (!res.write(bytes)) {
      await once(res, 'drain', { signal: disconnected.signal }).catch(() => {});
      if (disconnected.signal.aborted) break;
    }
  }
  if (!disconnected.signal.aborted) res.end();
}

/** The query as read options, or the message of a 400 answer. */
function parseQuery(params: URLSearchParams): LogQuery | string {
  const query: LogQuery = { format: LogFormat.Raw };
  const stream = params.get('stream');
  if (stream !== null) {
    if (!STREAMS.includes(stream as StreamSelector)) return `stream must be one of ${STREAMS.join(', ')}`;
    query.stream = stream as StreamSelector;
  }
  const follow = params.get('follow');
  if (follow !== null) {
    if (follow !== 'true' && follow !== 'false') return 'follow must be true or false';
    query.follow = follow === 'true';
  }
  const tailLines = params.get('tailLines');
  if (tailLines !== null) {
    if (!/^\d{1,15}$/.test(tailLines)) return 'tailLines must be a non-negative integer';
    query.tailLines = Number(tailLines);
  }
  const sinceTime = params.get('sinceTime');
  if (sinceTime !== null) {
    const micros = parseRfc3339Micros(sinceTime);
    if (micros === undefined) return 'sinceTime must be an RFC 3339 time, e.g. 2025-01-02T03:04:05Z';
    query.sinceMicros = micros;
  }
  const format = params.get('format');
  if (format !== null) {
    if (format !== LogFormat.Raw && format !== LogFormat.Ndjson) return 'format must be raw or ndjson';
    query.format = format;
  }
  return query;
}

function rawBytes(event: LogEvent): Buffer | undefined {
  return event.type === 'chunk' ? event.data : undefined;
}

function ndjsonLine(event: LogEvent): string {
  const line =
    event.type === 'chunk'
      ? { ts: formatMicros(event.unixMicros), stream: event.stream, data: event.data.toString('base64') }
      : { end: true, truncated: event.truncated };
  return `${JSON.stringify(line)}\n`;
}

function sendJson(res: ServerResponse, status: number, body: { message: string }): void {
  res
    .writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
    .end(JSON.stringify(body));
}
