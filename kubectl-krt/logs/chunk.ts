// A piece of a Run's output as runtimed records it: when it was written, on which stream, the bytes.

export const OutputStream = {
  Stdout: 'stdout',
  Stderr: 'stderr',
} as const;
export type OutputStream = (typeof OutputStream)[keyof typeof OutputStream];

/** Which streams to show: one of them, or both (`all`, the log API's word). */
export type StreamSelection = OutputStream | 'all';

export interface LogChunk {
  /** RFC 3339 timestamp of the chunk. */
  ts: string;
  stream: OutputStream;
  data: Buffer;
}

export function isOutputStream(value: unknown): value is OutputStream {
  return value === OutputStream.Stdout || value === OutputStream.Stderr;
}
