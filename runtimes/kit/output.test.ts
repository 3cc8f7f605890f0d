import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GrpcCode, type OutputData, RuntimeServerError } from '../../lib/runtime-client.ts';
import { ExecutionState } from '../../lib/runtime-proto.ts';
import type { CommandResolver } from './execution.ts';
import { startTestRuntime, type TestRuntime } from './testing.ts';
import { resolveExecutable } from './workspace.ts';

const BASH = resolveExecutable('bash')!;
const script: CommandResolver = (request) => ({ file: BASH, args: ['-c', request.args.join(' ')] });

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function collect(source: AsyncIterable<OutputData>): Promise<OutputData[]> {
  const chunks: OutputData[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return chunks;
}

function bytesOf(chunks: OutputData[], stream: 'stdout' | 'stderr'): Buffer {
  return Buffer.concat(chunks.filter((chunk) => chunk.stream === stream).map((chunk) => chunk.data));
}

async function rejectsWithCode(promise: Promise<unknown>, code: GrpcCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof RuntimeServerError, String(err));
    assert.equal(err.code, code, err.message);
    return true;
  });
}

describe('kit Output extension', () => {
  let rt: TestRuntime;
  beforeEach(async () => {
    rt = await startTestRuntime({ command: script });
  });
  afterEach(() => rt.close());

  it('streams chunks live, before the process ends', async () => {
    const started = Date.now();
    const id = await rt.start({ args: ['echo first; sleep 1; echo second'] });
    const seen: Array<{ text: string; atMs: number; state: string }> = [];
    for await (const chunk of rt.client.output(id)) {
      const { state } = await rt.client.status(id);
      seen.push({ text: chunk.data.toString(), atMs: Date.now() - started, state });
    }
    assert.deepEqual(
      seen.map((s) => s.text),
      ['first\n', 'second\n'],
    );
    assert.equal(seen[0].state, ExecutionState.Running);
    assert.ok(seen[0].atMs < 800, `first chunk after ${seen[0].atMs} ms`);
    assert.ok(seen[1].atMs >= 1000, `second chunk after ${seen[1].atMs} ms`);
    assert.equal((await rt.client.status(id)).state, ExecutionState.Succeeded);
  });

  it('replays the whole output after the execution finished, streams apart, in time order', async () => {
    const status = await rt.run({ args: ['echo out1; echo err1 >&2; sleep 0.05; echo out2; echo err2 >&2'] });
    const output = rt.client.output(status.id);
    const chunks = await collect(output);
    assert.equal(bytesOf(chunks, 'stdout').toString(), 'out1\nout2\n');
    assert.equal(bytesOf(chunks, 'stderr').toString(), 'err1\nerr2\n');
    assert.equal(output.droppedBytes, 0);
    const micros = chunks.map((chunk) => chunk.unixMicros);
    assert.deepEqual(
      micros,
      [...micros].sort((a, b) => a - b),
    );
    assert.ok(Math.abs(chunks[0].ts.getTime() - Date.now()) < 5000);
    assert.equal(chunks[0].ts.getTime(), Math.floor(chunks[0].unixMicros / 1000));
  });

  it('carries more than 1 MiB of binary output byte for byte, while Status stays truncated', async () => {
    const status = await rt.run({ args: ['head -c 1500000 /dev/urandom | tee written.bin'] });
    assert.equal(status.state, ExecutionState.Succeeded);
    const written = readFileSync(join(rt.workDir, 'written.bin'));
    assert.equal(written.length, 1_500_000);
    const streamed = bytesOf(await collect(rt.client.output(status.id)), 'stdout');
    assert.equal(streamed.length, written.length);
    assert.equal(sha256(streamed), sha256(written));
    // Status is unchanged: the bounded UTF-8 head with its marker.
    assert.match(status.stdout, /\[kruntimes: output truncated, \d+ bytes dropped\]\n$/);
  });

  it('gives every subscriber the same bytes', async () => {
    const id = await rt.start({ args: ['for i in $(seq 1 200); do echo line $i; done'] });
    const [a, b] = await Promise.all([collect(rt.client.output(id)), collect(rt.client.output(id))]);
    assert.equal(bytesOf(a, 'stdout').toString(), bytesOf(b, 'stdout').toString());
    assert.equal(bytesOf(a, 'stdout').toString().split('\n').length, 201);
  });

  it('ends at once for an execution that could not start', async () => {
    const status = await rt.run({ args: ['true'], workingDir: join(rt.workDir, 'missing') });
    assert.equal(status.state, ExecutionState.Failed);
    assert.deepEqual(await collect(rt.client.output(status.id)), []);
  });

  it('answers NOT_FOUND for an unknown id', async () => {
    await rejectsWithCode(collect(rt.client.output('nope')), GrpcCode.NOT_FOUND);
    assert.ok(rt.client.usesOutput);
  });

  it('releases the replay on Forget', async () => {
    const status = await rt.run({ args: ['head -c 100000 /dev/zero'] });
    assert.equal(rt.server.replayBytes, 100_000);
    await rt.client.forget(status.id);
    assert.equal(rt.server.replayBytes, 0);
    await rejectsWithCode(collect(rt.client.output(status.id)), GrpcCode.NOT_FOUND);
  });

  it('stops streaming when the subscriber aborts', async () => {
    const id = await rt.start({ args: ['echo one; sleep 5; echo two'] });
    const controller = new AbortController();
    const received: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of rt.client.output(id, { signal: controller.signal })) {
          received.push(chunk.data.toString());
          controller.abort(new Error('enough'));
        }
      })(),
      /enough/,
    );
    assert.deepEqual(received, ['one\n']);
    await rt.client.cancel(id);
  });

  it('answers UNIMPLEMENTED when not served, and the client remembers', async () => {
    const legacy = await startTestRuntime({ command: script, serveOutput: false });
    try {
      const status = await legacy.run({ args: ['echo hi'] });
      await rejectsWithCode(collect(legacy.client.output(status.id)), GrpcCode.UNIMPLEMENTED);
      assert.equal(legacy.client.usesOutput, false);
      await rejectsWithCode(collect(legacy.client.output(status.id)), GrpcCode.UNIMPLEMENTED);
      assert.equal(status.stdout, 'hi\n');
    } finally {
      await legacy.close();
    }
  });

  describe('bounds', () => {
    it('keeps the head up to the per-execution bound and reports what it dropped', async () => {
      const bounded = await startTestRuntime({ command: script, outputReplayLimitBytes: 1000 });
      try {
        const status = await bounded.run({
          args: ['for i in 1 2 3; do head -c 600 /dev/zero; sleep 0.05; done'],
        });
        const output = bounded.client.output(status.id);
        const streamed = bytesOf(await collect(output), 'stdout');
        assert.equal(streamed.length, 600);
        assert.equal(output.droppedBytes, 1200);
      } finally {
        await bounded.close();
      }
    });

    it('frees finished executions first when the total bound is reached', async () => {
      const bounded = await startTestRuntime({ command: script, outputReplayTotalBytes: 150_000 });
      try {
        const first = await bounded.run({ args: ['head -c 100000 /dev/zero'] });
        const second = await bounded.run({ args: ['head -c 100000 /dev/zero'] });
        assert.equal(bounded.server.replayBytes, 100_000);
        const gone = bounded.client.output(first.id);
        assert.deepEqual(await collect(gone), []);
        assert.equal(gone.droppedBytes, 100_000);
        const kept = bounded.client.output(second.id);
        assert.equal(bytesOf(await collect(kept), 'stdout').length, 100_000);
        assert.equal(kept.droppedBytes, 0);
      } finally {
        await bounded.close();
      }
    });
  });
});
