// Serves one Output call: the replay from its first chunk, then new chunks as they arrive, then
// OK once the output ended. Each call has its own cursor and respects the client's flow control
// (a slow reader holds the server back, not its memory: the chunks are the replay's anyway).

import type * as grpc from '@grpc/grpc-js';
import { type IdRequest, type OutputChunkMessage, OutputStream } from '../../lib/runtime-proto.ts';
import { monotonicMicros, type OutputReplay } from './output-replay.ts';

export function streamOutput(
  replay: OutputReplay,
  call: grpc.ServerWritableStream<IdRequest, OutputChunkMessage>,
): void {
  // Taken once: release() replaces the array, and this call finishes what it started.
  const { chunks } = replay;
  const missedByRelease = replay.released ? replay.releasedBytes : 0;
  let cursor = 0;
  let blocked = false;
  let done = false;

  const pump = (): void => {
    if (done || blocked) return;
    while (cursor < chunks.length) {
      const { stream, data, unixMicros } = chunks[cursor++];
      if (!call.write({ stream, data, unixMicros })) {
        blocked = true;
        call.once('drain', () => {
          blocked = false;
          pump();
        });
        return;
      }
    }
    if (!replay.ended) return;
    done = true;
    unsubscribe();
    const droppedBytes = replay.droppedBytes + missedByRelease;
    if (droppedBytes > 0) {
      call.write({
        stream: OutputStream.Unspecified,
        data: Buffer.alloc(0),
        unixMicros: monotonicMicros(),
        droppedBytes,
      });
    }
    call.end();
  };

  const unsubscribe = replay.onChange(pump);
  call.once('cancelled', () => {
    done = true;
    unsubscribe();
  });
  pump();
}
