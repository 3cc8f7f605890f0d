// The fallback when runtimed cannot be asked: runtimed's own container log, which carries each
// Run's output as JSON lines {"msg":"run output","runUID":…,"stream":…} with either `data` (base64
// of a chunk) or `line` (one text line without its newline, an older format), and a
// {"msg":"run output truncated","limitBytes":N} line where runtimed stopped copying.
import { isOutputStream, type LogChunk, type StreamSelection } from './chunk.ts';

export const ContainerLogMsg = {
  /** A chunk of a Run's output. */
  Output: 'run output',
  /** runtimed stopped copying this Run's output to its container log at its bound. */
  Truncated: 'run output truncated',
} as const;

interface RuntimedLogLine {
  msg?: unknown;
  limitBytes?: unknown;
  runUID?: unknown;
  stream?: unknown;
  ts?: unknown;
  data?: unknown;
  line?: unknown;
}

/** What a line of runtimed's container log says about one Run. */
export type ContainerLogEntry = { chunk: LogChunk } | { truncatedAt: number };

/** The Run's chunk (or truncation notice) in one line of runtimed's container log; undefined for other lines. */
export function parseContainerLogLine(line: string, runUID: string): ContainerLogEntry | undefined {
  // Cheap test first: the container log holds every Run's output and runtimed's own messages.
  if (!line.includes(runUID)) return undefined;
  let o: RuntimedLogLine;
  try {
    o = JSON.parse(line) as RuntimedLogLine;
  } catch {
    return undefined;
  }
  if (o === null || typeof o !== 'object' || o.runUID !== runUID) return undefined;
  if (o.msg === ContainerLogMsg.Truncated) {
    return { truncatedAt: typeof o.limitBytes === 'number' ? o.limitBytes : 0 };
  }
  if (o.msg !== ContainerLogMsg.Output || !isOutputStream(o.stream)) return undefined;
  const ts = typeof o.ts === 'string' ? o.ts : '';
  if (typeof o.data === 'string')
    return { chunk: { ts, stream: o.stream, data: Buffer.from(o.data, 'base64') } };
  if (typeof o.line === 'string') {
    return { chunk: { ts, stream: o.stream, data: Buffer.from(`${o.line}\n`, 'utf8') } };
  }
  return undefined;
}

export interface ChunkFilter {
  stream: StreamSelection;
  /** Keep chunks written at or after this time. */
  sinceTime?: string;
  /** Keep only the last N lines (counted over the selected streams together). */
  tailLines?: number;
}

/** Applies --stream, --since and --tail to chunks, as runtimed's API does on its side. */
export function filterChunks(chunks: readonly LogChunk[], filter: ChunkFilter): LogChunk[] {
  const since = filter.sinceTime ? Date.parse(filter.sinceTime) : undefined;
  let kept = chunks.filter(
    (c) =>
      (filter.stream === 'all' || c.stream === filter.stream) &&
      (since === undefined || !c.ts || Date.parse(c.ts) >= since),
  );
  if (filter.tailLines !== undefined) kept = tailChunks(kept, filter.tailLines);
  return kept;
}

/** The chunks holding the last `lines` lines; the first kept chunk may start mid-chunk. */
export function tailChunks(chunks: readonly LogChunk[], lines: number): LogChunk[] {
  if (lines <= 0) return [];
  let newlines = 0;
  for (let i = chunks.length - 1; i >= 0; i--) {
    const data = chunks[i].data;
    // A final line without a newline still counts as a line; skip the newline that ends the output.
    let end = data.length;
    if (i === chunks.length - 1 && data[end - 1] === 0x0a) end--;
    for (let j = end - 1; j >= 0; j--) {
      if (data[j] !== 0x0a) continue;
      newlines++;
      if (newlines === lines) {
        return [{ ...chunks[i], data: data.subarray(j + 1) }, ...chunks.slice(i + 1)].filter(
          (c) => c.data.length > 0,
        );
      }
    }
  }
  return [...chunks];
}
