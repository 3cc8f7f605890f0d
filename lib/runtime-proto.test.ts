// Wire compatibility with the existing kruntimes Runtime Servers: package, method paths, field
// numbers and types, and bytes encoded by hand from ../shared/reference-facts.md.

import assert from 'node:assert/strict';
import {
  EXTENSION_RUNTIME_METHODS,
  ExecutionState,
  ORIGINAL_RUNTIME_METHODS,
  OutputStream,
  RUNTIME_SERVICE_NAME,
  RuntimeMethod,
  runtimeMethodPath,
  runtimePackageDefinition,
  runtimeServiceDefinition,
  runtimeServiceSubset,
} from './runtime-proto.ts';

interface FieldDescriptor {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}

function fieldsOf(message: string): Record<string, [number, string]> {
  const definition = runtimePackageDefinition[`executor.v1.${message}`] as unknown as {
    type: { field: FieldDescriptor[] };
  };
  assert.ok(definition, `message ${message} exists`);
  return Object.fromEntries(
    definition.type.field.map((field) => {
      const repeated = field.label === 'LABEL_REPEATED' ? 'repeated ' : '';
      const type = field.type === 'TYPE_MESSAGE' || field.type === 'TYPE_ENUM' ? field.typeName : field.type;
      return [snake(field.name), [field.number, `${repeated}${type}`]];
    }),
  );
}

function snake(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

// Minimal protobuf encoder: an oracle independent of protobufjs.
function varint(value: bigint): number[] {
  let v = BigInt.asUintN(64, value);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}
const tag = (field: number, wireType: number) => varint(BigInt((field << 3) | wireType));
const vint = (field: number, value: number) => [...tag(field, 0), ...varint(BigInt(value))];
const bytes = (field: number, content: number[]) => [
  ...tag(field, 2),
  ...varint(BigInt(content.length)),
  ...content,
];
const str = (field: number, value: string) => bytes(field, [...Buffer.from(value)]);

describe('Runtime Server wire contract (executor.v1)', () => {
  it('is service executor.v1.Runtime with the original unary methods, Wait, and streaming Output', () => {
    assert.equal(RUNTIME_SERVICE_NAME, 'executor.v1.Runtime');
    const expected = {
      Execute: ['ExecuteRequest', 'ExecuteResponse'],
      Status: ['StatusRequest', 'StatusResponse'],
      List: ['ListRequest', 'ListResponse'],
      Cancel: ['CancelRequest', 'CancelResponse'],
      Forget: ['ForgetRequest', 'ForgetResponse'],
      Health: ['HealthRequest', 'HealthResponse'],
      Wait: ['WaitRequest', 'StatusResponse'],
      Output: ['OutputRequest', 'OutputChunk'],
    } as const;
    assert.deepEqual(Object.keys(runtimeServiceDefinition).sort(), Object.keys(expected).sort());
    for (const [method, [request, response]] of Object.entries(expected)) {
      const definition = runtimeServiceDefinition[method] as unknown as {
        path: string;
        requestStream: boolean;
        responseStream: boolean;
        requestType: { type: { name: string } };
        responseType: { type: { name: string } };
      };
      assert.equal(definition.path, `/executor.v1.Runtime/${method}`);
      assert.equal(runtimeMethodPath(method as RuntimeMethod), definition.path);
      assert.equal(definition.requestStream, false);
      assert.equal(definition.responseStream, method === RuntimeMethod.Output, method);
      assert.equal(definition.requestType.type.name, request);
      assert.equal(definition.responseType.type.name, response);
    }
    assert.deepEqual(Object.keys(runtimeServiceSubset(ORIGINAL_RUNTIME_METHODS)), [
      'Execute',
      'Status',
      'List',
      'Cancel',
      'Forget',
      'Health',
    ]);
    assert.deepEqual(EXTENSION_RUNTIME_METHODS, ['Wait', 'Output']);
  });

  it('has the field numbers and types of reference-facts', () => {
    assert.deepEqual(fieldsOf('ExecuteRequest'), {
      id: [1, 'TYPE_STRING'],
      args: [2, 'repeated TYPE_STRING'],
      // A map<string,string> is a repeated entry message (its name does not reach the wire).
      env: [3, 'repeated Env'],
      timeout_seconds: [4, 'TYPE_INT64'],
      working_dir: [5, 'TYPE_STRING'],
      entrypoint: [6, 'TYPE_STRING'],
      handler: [7, 'TYPE_STRING'],
    });
    const executeRequest = runtimePackageDefinition['executor.v1.ExecuteRequest'] as unknown as {
      type: { nestedType: Array<{ name: string; field: FieldDescriptor[]; options: { mapEntry: boolean } }> };
    };
    const [envEntry] = executeRequest.type.nestedType;
    assert.equal(envEntry.options.mapEntry, true);
    assert.deepEqual(
      envEntry.field.map((field) => [field.name, field.number, field.type]),
      [
        ['key', 1, 'TYPE_STRING'],
        ['value', 2, 'TYPE_STRING'],
      ],
    );
    assert.deepEqual(fieldsOf('ExecuteResponse'), { id: [1, 'TYPE_STRING'] });
    for (const message of [
      'StatusRequest',
      'CancelRequest',
      'ForgetRequest',
      'WaitRequest',
      'OutputRequest',
    ]) {
      assert.deepEqual(fieldsOf(message), { id: [1, 'TYPE_STRING'] }, message);
    }
    assert.deepEqual(fieldsOf('StatusResponse'), {
      id: [1, 'TYPE_STRING'],
      state: [2, 'ExecutionState'],
      exit_code: [3, 'TYPE_INT32'],
      stdout: [4, 'TYPE_STRING'],
      stderr: [5, 'TYPE_STRING'],
      error_message: [6, 'TYPE_STRING'],
    });
    assert.deepEqual(fieldsOf('ListResponse'), { entries: [1, 'repeated StatusResponse'] });
    for (const message of ['ListRequest', 'CancelResponse', 'ForgetResponse', 'HealthRequest']) {
      assert.deepEqual(fieldsOf(message), {}, message);
    }
    assert.deepEqual(fieldsOf('HealthResponse'), { healthy: [1, 'TYPE_BOOL'], message: [2, 'TYPE_STRING'] });
    assert.deepEqual(fieldsOf('OutputChunk'), {
      stream: [1, 'Stream'],
      data: [2, 'TYPE_BYTES'],
      unix_micros: [3, 'TYPE_INT64'],
      dropped_bytes: [4, 'TYPE_INT64'],
    });
  });

  it('has the ExecutionState numbers and our string constants for them', () => {
    const definition = runtimePackageDefinition['executor.v1.ExecutionState'] as unknown as {
      type: { value: Array<{ name: string; number: number }> };
    };
    assert.deepEqual(
      definition.type.value.map((value) => [value.name, value.number]),
      [
        ['EXECUTION_STATE_UNSPECIFIED', 0],
        ['EXECUTION_STATE_PENDING', 1],
        ['EXECUTION_STATE_RUNNING', 2],
        ['EXECUTION_STATE_SUCCEEDED', 3],
        ['EXECUTION_STATE_FAILED', 4],
      ],
    );
    assert.deepEqual(
      Object.values(ExecutionState),
      definition.type.value.map((value) => value.name),
    );
  });

  it('has the Stream numbers of the Output extension and our string constants for them', () => {
    const definition = runtimePackageDefinition['executor.v1.Stream'] as unknown as {
      type: { value: Array<{ name: string; number: number }> };
    };
    assert.deepEqual(
      definition.type.value.map((value) => [value.name, value.number]),
      [
        ['STREAM_UNSPECIFIED', 0],
        ['STREAM_STDOUT', 1],
        ['STREAM_STDERR', 2],
      ],
    );
    assert.deepEqual(
      Object.values(OutputStream),
      definition.type.value.map((value) => value.name),
    );
  });

  it('carries OutputChunk data as raw bytes, not UTF-8', () => {
    const { responseSerialize, responseDeserialize } = runtimeServiceDefinition[RuntimeMethod.Output];
    const data = [0xff, 0x00, 0xc3, 0x28];
    // As the kit writes a data chunk: dropped_bytes left out, so proto3 sends nothing for it.
    const chunk = { stream: OutputStream.Stderr, data: Buffer.from(data), unixMicros: 1_700_000_000_123_456 };
    const expected = Buffer.from([...vint(1, 2), ...bytes(2, data), ...vint(3, 1_700_000_000_123_456)]);
    assert.deepEqual(responseSerialize(chunk), expected);
    assert.deepEqual(responseDeserialize(expected), { ...chunk, droppedBytes: 0 });
    assert.deepEqual(responseDeserialize(Buffer.from(vint(4, 42))), {
      stream: OutputStream.Unspecified,
      data: Buffer.alloc(0),
      unixMicros: 0,
      droppedBytes: 42,
    });
  });

  it('encodes an ExecuteRequest to the bytes the contract defines', () => {
    const { requestSerialize, requestDeserialize } = runtimeServiceDefinition[RuntimeMethod.Execute];
    const request = {
      id: 'run-uid',
      args: ['a', 'b c'],
      env: { K: 'V' },
      timeoutSeconds: 300,
      workingDir: '/workspace/run',
      entrypoint: 'script',
      handler: 'main',
    };
    const expected = Buffer.from([
      ...str(1, 'run-uid'),
      ...str(2, 'a'),
      ...str(2, 'b c'),
      ...bytes(3, [...str(1, 'K'), ...str(2, 'V')]),
      ...vint(4, 300),
      ...str(5, '/workspace/run'),
      ...str(6, 'script'),
      ...str(7, 'main'),
    ]);
    assert.deepEqual(requestSerialize(request), expected);
    assert.deepEqual(requestDeserialize(expected), request);
  });

  it('decodes a StatusResponse and a ListResponse written by another implementation', () => {
    const status = [
      ...str(1, 'run-uid'),
      ...vint(2, 4),
      ...vint(3, -1),
      ...str(4, 'out\n'),
      ...str(5, 'err\n'),
      ...str(6, 'timeout'),
    ];
    const decoded = {
      id: 'run-uid',
      state: ExecutionState.Failed,
      exitCode: -1,
      stdout: 'out\n',
      stderr: 'err\n',
      errorMessage: 'timeout',
    };
    assert.deepEqual(
      runtimeServiceDefinition[RuntimeMethod.Status].responseDeserialize(Buffer.from(status)),
      decoded,
    );
    assert.deepEqual(
      runtimeServiceDefinition[RuntimeMethod.Wait].responseSerialize(decoded),
      Buffer.from(status),
    );
    const list = Buffer.from([...bytes(1, status), ...bytes(1, [...str(1, 'other'), ...vint(2, 2)])]);
    assert.deepEqual(runtimeServiceDefinition[RuntimeMethod.List].responseDeserialize(list), {
      entries: [
        decoded,
        { id: 'other', state: ExecutionState.Running, exitCode: 0, stdout: '', stderr: '', errorMessage: '' },
      ],
    });
  });

  it('encodes HealthResponse and empty messages as proto3 does', () => {
    const health = runtimeServiceDefinition[RuntimeMethod.Health];
    assert.deepEqual(
      health.responseSerialize({ healthy: true, message: 'ok' }),
      Buffer.from([...vint(1, 1), ...str(2, 'ok')]),
    );
    assert.deepEqual(health.responseDeserialize(Buffer.alloc(0)), { healthy: false, message: '' });
    assert.deepEqual(health.requestSerialize({}), Buffer.alloc(0));
    assert.deepEqual(runtimeServiceDefinition[RuntimeMethod.Cancel].responseSerialize({}), Buffer.alloc(0));
  });
});
