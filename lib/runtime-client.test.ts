import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { GrpcCode, RuntimeServerClient, RuntimeServerError } from './runtime-client.ts';
import {
  type ExecuteRequest,
  ExecutionState,
  type IdRequest,
  ORIGINAL_RUNTIME_METHODS,
  type OutputChunkMessage,
  OutputStream,
  RuntimeMethod,
  runtimeServiceDefinition,
  runtimeServiceSubset,
  type StatusResponse,
} from './runtime-proto.ts';

type Handler = (
  call: grpc.ServerUnaryCall<IdRequest, unknown>,
  callback: grpc.sendUnaryData<unknown>,
) => void;
type StreamHandler = (call: grpc.ServerWritableStream<IdRequest, OutputChunkMessage>) => void;
type Handlers = Partial<Record<Exclude<RuntimeMethod, 'Output'>, Handler>> & { Output?: StreamHandler };

/** A scripted Runtime Server: each test supplies the handlers it needs. */
async function fakeServer(
  handlers: Handlers,
  options: { withWait?: boolean } = {},
): Promise<{ address: string; close: () => void }> {
  const server = new grpc.Server();
  const service =
    options.withWait === false ? runtimeServiceSubset(ORIGINAL_RUNTIME_METHODS) : runtimeServiceDefinition;
  const unimplemented: Handler = (_call, callback) =>
    callback({ code: grpc.status.UNIMPLEMENTED, details: 'fake' });
  const unimplementedStream: StreamHandler = (call) =>
    call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'fake' });
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of Object.keys(service)) {
    implementation[method] =
      method === RuntimeMethod.Output
        ? (handlers.Output ?? unimplementedStream)
        : (handlers[method as Exclude<RuntimeMethod, 'Output'>] ?? unimplemented);
  }
  server.addService(service, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  return { address: `127.0.0.1:${port}`, close: () => server.forceShutdown() };
}

function status(id: string, state: StatusResponse['state'], stdout = ''): StatusResponse {
  return { id, state, exitCode: 0, stdout, stderr: '', errorMessage: '' };
}

describe('RuntimeServerClient', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  async function connect(
    handlers: Handlers,
    options: { withWait?: boolean; waitChunkMs?: number } = {},
  ): Promise<RuntimeServerClient> {
    const server = await fakeServer(handlers, options);
    const client = new RuntimeServerClient({ address: server.address, waitChunkMs: options.waitChunkMs });
    cleanups.push(() => client.close(), server.close);
    return client;
  }

  it('sends Execute with proto3 defaults for what the caller leaves out', async () => {
    let received: ExecuteRequest | undefined;
    const client = await connect({
      Execute: (call, callback) => {
        received = call.request as unknown as ExecuteRequest;
        callback(null, { id: call.request.id });
      },
    });
    assert.deepEqual(await client.execute({ id: 'r1', args: ['echo', 'hi'] }), { id: 'r1' });
    assert.deepEqual(received, {
      id: 'r1',
      args: ['echo', 'hi'],
      env: {},
      timeoutSeconds: 0,
      workingDir: '',
      entrypoint: '',
      handler: '',
    });
  });

  it('returns typed results of Status, List, Health, Cancel and Forget', async () => {
    const calls: string[] = [];
    const client = await connect({
      Status: (call, callback) => callback(null, status(call.request.id, ExecutionState.Running, 'so far')),
      List: (_call, callback) => callback(null, { entries: [status('a', ExecutionState.Succeeded)] }),
      Health: (_call, callback) => callback(null, { healthy: false, message: 'busy' }),
      Cancel: (call, callback) => {
        calls.push(`cancel ${call.request.id}`);
        callback(null, {});
      },
      Forget: (call, callback) => {
        calls.push(`forget ${call.request.id}`);
        callback(null, {});
      },
    });
    assert.deepEqual(await client.status('x'), status('x', ExecutionState.Running, 'so far'));
    assert.deepEqual(await client.list(), [status('a', ExecutionState.Succeeded)]);
    assert.deepEqual(await client.health(), { healthy: false, message: 'busy' });
    await client.cancel('c');
    await client.forget('f');
    assert.deepEqual(calls, ['cancel c', 'forget f']);
  });

  it('throws RuntimeServerError carrying the gRPC code; NOT_FOUND means execution lost', async () => {
    const client = await connect({
      Status: (call, callback) => callback({ code: grpc.status.NOT_FOUND, details: `no ${call.request.id}` }),
    });
    await assert.rejects(client.status('gone'), (err: unknown) => {
      assert.ok(err instanceof RuntimeServerError);
      assert.equal(err.code, GrpcCode.NOT_FOUND);
      assert.ok(err.isNotFound);
      assert.equal(err.method, 'Status');
      assert.equal(err.details, 'no gone');
      assert.equal(err.message, 'Status: NOT_FOUND: no gone');
      return true;
    });
  });

  it('reports UNAVAILABLE when nothing listens', async () => {
    const client = new RuntimeServerClient({ address: '127.0.0.1:1' });
    cleanups.push(() => client.close());
    await assert.rejects(
      client.health(),
      (err: unknown) => err instanceof RuntimeServerError && err.isUnavailable,
    );
  });

  describe('waitFor', () => {
    it('uses Wait and asks again when the server answers before the execution finished', async () => {
      let waits = 0;
      const client = await connect({
        Wait: (call, callback) => {
          waits++;
          const state = waits < 3 ? ExecutionState.Running : ExecutionState.Succeeded;
          callback(null, status(call.request.id, state, 'done'));
        },
      });
      assert.deepEqual(await client.waitFor('w'), status('w', ExecutionState.Succeeded, 'done'));
      assert.equal(waits, 3);
      assert.ok(client.usesWait);
    });

    it('re-issues Wait after each chunk deadline until the execution finishes', async () => {
      const finishAt = Date.now() + 250;
      let waits = 0;
      const client = await connect(
        {
          Wait: (call, callback) => {
            waits++;
            // Hang (the chunk deadline ends the call) until the execution is finished.
            if (Date.now() >= finishAt) callback(null, status(call.request.id, ExecutionState.Failed));
          },
        },
        { waitChunkMs: 100 },
      );
      assert.equal((await client.waitFor('w')).state, ExecutionState.Failed);
      assert.ok(waits >= 3, `${waits} Wait calls`);
    });

    it('falls back to polling Status, growing the interval, once Wait is UNIMPLEMENTED', async () => {
      const polls: number[] = [];
      const client = await connect(
        {
          Status: (call, callback) => {
            polls.push(Date.now());
            const state = polls.length < 5 ? ExecutionState.Running : ExecutionState.Succeeded;
            callback(null, status(call.request.id, state));
          },
        },
        { withWait: false },
      );
      assert.equal((await client.waitFor('p')).state, ExecutionState.Succeeded);
      assert.equal(client.usesWait, false);
      const gaps = polls.slice(1).map((at, i) => at - polls[i]);
      assert.ok(gaps[0] >= 45 && gaps[0] < 150, `first gap ${gaps[0]} ms`);
      assert.ok(gaps[3] > gaps[0], `gaps grow: ${gaps.join(',')}`);
      polls.length = 0;
      assert.equal((await client.waitFor('p')).state, ExecutionState.Succeeded);
      assert.equal(polls.length, 5, 'the second waitFor polls straight away');
    });

    it('rejects with DEADLINE_EXCEEDED at the deadline, relative or absolute', async () => {
      const client = await connect({ Wait: () => {} });
      const started = Date.now();
      await assert.rejects(client.waitFor('slow', { timeoutMs: 200 }), (err: unknown) =>
        RuntimeServerError.hasCode(err, GrpcCode.DEADLINE_EXCEEDED),
      );
      const took = Date.now() - started;
      assert.ok(took >= 190 && took < 1000, `took ${took} ms`);
      await assert.rejects(client.waitFor('slow', { deadlineMs: Date.now() + 100 }), (err: unknown) =>
        RuntimeServerError.hasCode(err, GrpcCode.DEADLINE_EXCEEDED),
      );
    });

    it('stops at once when aborted, cancelling the Wait call', async () => {
      let cancelled = false;
      const client = await connect({
        Wait: (call) => {
          call.on('cancelled', () => {
            cancelled = true;
          });
        },
      });
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('runtimed shutting down')), 50);
      await assert.rejects(client.waitFor('a', { signal: controller.signal }), /runtimed shutting down/);
      for (let i = 0; i < 50 && !cancelled; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.ok(cancelled, 'the server saw the call cancelled');
    });

    it('passes NOT_FOUND from Wait through', async () => {
      const client = await connect({
        Wait: (_call, callback) => callback({ code: grpc.status.NOT_FOUND, details: 'lost' }),
      });
      await assert.rejects(
        client.waitFor('lost'),
        (err: unknown) => err instanceof RuntimeServerError && err.isNotFound,
      );
    });
  });

  describe('output', () => {
    it('yields the chunks as stdout/stderr bytes with timestamps, and the dropped count at the end', async () => {
      const client = await connect({
        Output: (call) => {
          assert.equal(call.request.id, 'o');
          call.write({
            stream: OutputStream.Stdout,
            data: Buffer.from('out'),
            unixMicros: 1_700_000_000_000_123,
          });
          call.write({
            stream: OutputStream.Stderr,
            data: Buffer.from([0xff]),
            unixMicros: 1_700_000_000_001_000,
          });
          call.write({
            stream: OutputStream.Unspecified,
            data: Buffer.alloc(0),
            unixMicros: 0,
            droppedBytes: 42,
          });
          call.end();
        },
      });
      const output = client.output('o');
      const chunks = [];
      for await (const chunk of output) chunks.push(chunk);
      assert.deepEqual(chunks, [
        {
          stream: 'stdout',
          data: Buffer.from('out'),
          ts: new Date(1_700_000_000_000),
          unixMicros: 1_700_000_000_000_123,
        },
        {
          stream: 'stderr',
          data: Buffer.from([0xff]),
          ts: new Date(1_700_000_000_001),
          unixMicros: 1_700_000_000_001_000,
        },
      ]);
      assert.equal(output.droppedBytes, 42);
      assert.ok(client.usesOutput);
    });

    it('throws NOT_FOUND from the server as RuntimeServerError', async () => {
      const client = await connect({
        Output: (call) => call.emit('error', { code: grpc.status.NOT_FOUND, details: 'no such execution' }),
      });
      await assert.rejects(
        async () => {
          for await (const _ of client.output('gone'));
        },
        (err: unknown) => err instanceof RuntimeServerError && err.isNotFound && err.method === 'Output',
      );
      assert.ok(client.usesOutput);
    });

    it('remembers UNIMPLEMENTED and does not ask again', async () => {
      let calls = 0;
      const client = await connect({
        Output: (call) => {
          calls++;
          call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'old server' });
        },
      });
      for (let i = 0; i < 2; i++) {
        await assert.rejects(
          async () => {
            for await (const _ of client.output('x'));
          },
          (err: unknown) => err instanceof RuntimeServerError && err.isUnimplemented,
        );
      }
      assert.equal(calls, 1);
      assert.equal(client.usesOutput, false);
    });

    it('cancels the call when the consumer stops early', async () => {
      let cancelled = false;
      const client = await connect({
        Output: (call) => {
          call.on('cancelled', () => {
            cancelled = true;
          });
          call.write({ stream: OutputStream.Stdout, data: Buffer.from('one'), unixMicros: 1 });
        },
      });
      for await (const chunk of client.output('x')) {
        assert.equal(chunk.data.toString(), 'one');
        break;
      }
      for (let i = 0; i < 50 && !cancelled; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.ok(cancelled, 'the server saw the call cancelled');
    });
  });

  it('adds about a millisecond per call on one channel', async () => {
    const client = await connect({
      Status: (call, callback) => callback(null, status(call.request.id, ExecutionState.Running)),
    });
    await client.status('warm-up');
    const times: number[] = [];
    for (let i = 0; i < 300; i++) {
      const started = performance.now();
      await client.status('s');
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    const median = times[times.length >> 1];
    assert.ok(median < 5, `median Status round trip ${median.toFixed(3)} ms`);
  });
});
