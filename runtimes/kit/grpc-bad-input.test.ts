// Bad input at the Runtime Server's gRPC door (127.0.0.1:19091, which the workload in the pod can
// reach too): fast-check sends Execute requests with random ids, working_dirs, entrypoints, env,
// handlers and timeouts, random ids to Status/Cancel/Forget/Wait, and random bytes as Execute
// messages, to the kit's server with the built-in bash runtime on 127.0.0.1 with temp dirs.
// Properties: the server never crashes or answers INTERNAL/UNKNOWN; a request it will not take is
// INVALID_ARGUMENT (or NOT_FOUND for an unknown id), one it takes but cannot run ends FAILED with
// the reason; it writes only inside the working_dir it was given (when that existed) or its
// scratch root, never creates a working_dir that did not exist, and never runs an entrypoint
// outside the working_dir (a canary file beside the workspaces never appears in any output).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { WORKSPACE_RUNS_DIR } from '../../lib/api.ts';
import { RuntimeServerClient } from '../../lib/runtime-client.ts';
import { ExecutionState, RUNTIME_PROTO_PACKAGE, RUNTIME_PROTO_PATH, RuntimeMethod, runtimeMethodPath } from '../../lib/runtime-proto.ts';
import { outside, spyOnFs } from '../../test/support/fs-spy.ts';
import { bashRuntime } from '../bash/command.ts';
import { silentLogger } from './log.ts';
import { MAX_EXECUTION_ID_BYTES } from './request-checks.ts';
import { type RuntimeServer, startRuntimeServer } from './server.ts';

const CANARY = 'CANARY-9c1d-outside-the-workspace';
const NUM_RUNS = 200;
const codeOf = (err: unknown) => (err as grpc.ServiceError).code;

describe('Runtime Server gRPC: bad input at every door (fast-check)', function () {
  this.timeout(120_000);
  let root: string;
  let workspace: string;
  let scratch: string;
  let server: RuntimeServer;
  let client: RuntimeServerClient;
  let dirCount = 0;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'krt-grpc-bad-input-'));
    workspace = join(root, 'workspace');
    scratch = join(root, 'scratch');
    mkdirSync(join(workspace, WORKSPACE_RUNS_DIR), { recursive: true });
    writeFileSync(join(root, 'secret'), `echo ${CANARY}\n`);
    server = await startRuntimeServer({
      ...bashRuntime(),
      host: '127.0.0.1',
      port: 0,
      logger: silentLogger,
      workRoot: scratch,
      workspaceRoot: workspace,
      env: { PATH: process.env.PATH },
      killGraceMs: 200,
      lingerMs: 20,
    });
    client = new RuntimeServerClient({ address: server.address });
  });
  after(async () => {
    client.close();
    await server.shutdown({ graceMs: 0 });
    rmSync(root, { recursive: true, force: true });
  });

  /** A workspace as runtimed prepares it: <workspace>/runs/<name>/ with a script and a symlink out. */
  function freshWorkspace(): string {
    const dir = join(workspace, WORKSPACE_RUNS_DIR, `ws-${dirCount++}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'script'), 'echo ran\n');
    symlinkSync(join(root, 'secret'), join(dir, 'link'));
    return dir;
  }

  const nasty = fc.constantFrom('/', '.', '..', '\u0000', '=', '%', '\n', ' ', 'é', '💥', '$(', '`', '*', '\\');
  const text = (maxLength: number) =>
    fc.array(fc.oneof(fc.stringMatching(/^[\w.-]{0,10}$/), nasty), { maxLength }).map((parts) => parts.join(''));
  const id = fc.oneof(
    fc.uuid(),
    text(8).filter((s) => s !== ''),
    fc.constantFrom('..', '../..', '/', '.krt', 'a/b', 'a\u0000b'),
    fc.integer({ min: MAX_EXECUTION_ID_BYTES - 2, max: 70_000 }).map((n) => 'i'.repeat(n)),
  );
  type DirKind = 'fresh' | 'empty' | 'relative' | 'missing' | 'nul' | 'dotdot' | 'huge';
  const dirKind = fc.constantFrom<DirKind>('fresh', 'fresh', 'fresh', 'empty', 'relative', 'missing', 'nul', 'dotdot', 'huge');
  const entrypoint = fc.oneof(
    fc.constantFrom('', 'script', 'script', 'link', '../secret', '../../secret', join('..', '..', '..', 'secret'), '/etc/passwd', 'a/../../secret', '.krt', 'missing'),
    text(6),
  );
  const args = fc.constantFrom<string[][]>([], ['true'], ['echo', 'hi'], ['exit 3']);
  const envName = fc.oneof(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,12}$/), fc.constantFrom('', '=', 'A=B', 'X\u0000Y', 'PATH', 'HOME', 'TMPDIR', 'KRUNTIME_OUTPUTS', 'KRUNTIME_EXECUTION_MARK', 'é'), text(4));
  const envValue = fc.oneof(text(6), fc.constantFrom('a\u0000b', '', '/'), fc.integer({ min: 1000, max: 200_000 }).map((n) => 'v'.repeat(n)));
  const env = fc.dictionary(envName, envValue, { maxKeys: 4 });
  const timeoutSeconds = fc.oneof(fc.constantFrom(0, 1, 30), fc.integer({ min: -1000, max: 2 ** 31 - 1 }));
  const handler = fc.oneof(fc.constant(''), text(5));

  function workingDirFor(kind: DirKind): string {
    switch (kind) {
      case 'fresh':
        return freshWorkspace();
      case 'empty':
        return '';
      case 'relative':
        return join('runs', 'relative');
      case 'missing':
        return join(root, 'missing', `m-${dirCount++}`);
      case 'nul':
        return `${workspace}/runs/x\u0000y`;
      case 'dotdot':
        return `${freshWorkspace()}/../..`;
      case 'huge':
        return `${root}/${'d'.repeat(5000)}`;
    }
  }

  it('runs a request as runtimed sends it (the fixture works, and the spy sees the writes)', async () => {
    const spy = spyOnFs();
    const workingDir = freshWorkspace();
    await client.execute({ id: 'fixture', workingDir, entrypoint: 'script' });
    const status = await client.waitFor('fixture', { timeoutMs: 10_000 });
    await client.forget('fixture');
    const events = spy.stop();
    assert.equal(status.stdout, 'ran\n');
    assert.ok(events.some((e) => e.access === 'write' && e.path === join(workingDir, '.krt', 'exec-fixture', 'home')), 'HOME made');
    assert.equal(existsSync(workingDir), false, "Forget removed runtimed's workspace");
  });

  it('regression: an id too long for a file name is INVALID_ARGUMENT, not INTERNAL', async () => {
    // exec-<id> names the execution's HOME/TMPDIR: mkdir failed with ENAMETOOLONG, answered INTERNAL.
    for (const bad of ['i'.repeat(MAX_EXECUTION_ID_BYTES + 1), 'a\u0000b']) {
      await assert.rejects(client.execute({ id: bad, args: ['true'] }), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
        assert.match(err.details, /^id /);
        return true;
      });
    }
  });

  it('regression: an env name with "=" or NUL, or a value with NUL, is INVALID_ARGUMENT', async () => {
    for (const [name, value] of [['A=B', 'x'], ['X\u0000Y', 'x'], ['', 'x'], ['OK', 'a\u0000b']]) {
      await assert.rejects(client.execute({ id: `env-${name.length}-${value.length}`, args: ['true'], env: { [name]: value } }), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
        assert.match(err.details, /^env /);
        return true;
      });
    }
  });

  it('a message over gRPC\'s 4 MiB limit is RESOURCE_EXHAUSTED from gRPC itself', async () => {
    await assert.rejects(client.execute({ id: 'huge', args: ['true'], env: { BIG: 'x'.repeat(5 * 1024 * 1024) } }), (err) => {
      assert.equal(codeOf(err), grpc.status.RESOURCE_EXHAUSTED);
      return true;
    });
    assert.deepEqual(await client.health(), { healthy: true, message: 'ok' });
  });

  it('Execute with anything: INVALID_ARGUMENT or a finished execution; writes only where allowed', async () => {
    const spy = spyOnFs();
    let accepted = 0;
    try {
      await fc.assert(
        fc.asyncProperty(id, dirKind, entrypoint, args, env, timeoutSeconds, handler, async (i, kind, ep, a, e, t, h) => {
          const workingDir = workingDirFor(kind);
          const existed = workingDir !== '' && !workingDir.includes('\u0000') && existsSync(workingDir);
          spy.events.length = 0;
          let answer: unknown;
          try {
            answer = await client.execute({ id: i, workingDir, entrypoint: ep, args: a, env: e, timeoutSeconds: t, handler: h });
          } catch (err) {
            assert.ok(
              [grpc.status.INVALID_ARGUMENT, grpc.status.RESOURCE_EXHAUSTED].includes(codeOf(err)),
              `Execute(${JSON.stringify({ i: i.slice(0, 80), workingDir: workingDir.slice(0, 80), ep, e: Object.keys(e) })}) → ${codeOf(err)} ${(err as grpc.ServiceError).details}`,
            );
            return;
          }
          accepted++;
          assert.deepEqual(answer, { id: i });
          const status = await client.waitFor(i, { timeoutMs: 10_000 });
          if (status.state === ExecutionState.Failed) assert.ok(status.errorMessage !== '' || status.exitCode > 0, JSON.stringify(status));
          else assert.equal(status.state, ExecutionState.Succeeded);
          assert.ok(!status.stdout.includes(CANARY) && !status.stderr.includes(CANARY), `ran ${ep} outside ${workingDir}`);
          // A relative working_dir, or one that does not exist, is accepted and ends FAILED.
          if (workingDir !== '' && (!workingDir.startsWith('/') || !existed)) assert.equal(status.state, ExecutionState.Failed, JSON.stringify({ kind, workingDir: workingDir.slice(0, 100), ep, a, status }));
          await client.forget(i);
          const allowed = [scratch, ...(existed ? [workingDir] : [])];
          assert.deepEqual(outside(spy.events.filter((ev) => ev.access === 'write'), allowed), [], `wrote outside ${allowed.join(', ')}`);
          if (!existed && workingDir.startsWith('/') && !workingDir.includes('\u0000')) assert.equal(existsSync(workingDir), false, `created ${workingDir}`);
        }),
        { numRuns: NUM_RUNS },
      );
    } finally {
      spy.stop();
    }
    assert.ok(accepted > NUM_RUNS / 4, `only ${accepted} of ${NUM_RUNS} requests were runnable: the generators are off`);
    assert.deepEqual(await client.health(), { healthy: true, message: 'ok' });
  });

  it('Status, Cancel, Forget and Wait of any id: NOT_FOUND, never a crash', async () => {
    const calls = [
      (x: string) => client.status(x),
      (x: string) => client.cancel(x),
      (x: string) => client.forget(x),
      (x: string) => client.waitFor(x, { timeoutMs: 2000 }),
    ];
    await fc.assert(
      fc.asyncProperty(id, fc.nat(calls.length - 1), async (i, which) => {
        await assert.rejects(calls[which](i), (err) => codeOf(err) === grpc.status.NOT_FOUND);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('random bytes as an Execute message: refused, nothing runs, the server lives', async () => {
    const raw = new grpc.Client(server.address, grpc.credentials.createInsecure());
    const call = (bytes: Uint8Array) =>
      new Promise<grpc.status>((resolve) => {
        raw.makeUnaryRequest(
          runtimeMethodPath(RuntimeMethod.Execute),
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from(bytes),
          (err) => resolve(err ? err.code : grpc.status.OK),
        );
      });
    const type = protobuf.loadSync(RUNTIME_PROTO_PATH).lookupType(`${RUNTIME_PROTO_PACKAGE}.ExecuteRequest`);
    const decodes = (bytes: Uint8Array) => {
      try {
        type.decode(bytes);
        return true;
      } catch {
        return false;
      }
    };
    const before = (await client.list()).length;
    try {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 2000 }), async (bytes) => {
          // Only bytes that are no ExecuteRequest: a decodable one could name any working_dir and
          // args, and the structured property covers those.
          fc.pre(!decodes(bytes));
          const code = await call(bytes);
          // grpc-js answers a message it cannot decode with INTERNAL itself, before the handler; one
          // its decoder reads leniently (a field of the wrong wire type skipped) lacks an id.
          // A few are read as a request (an id and nothing to run): accepted, then FAILED.
          assert.ok([grpc.status.INTERNAL, grpc.status.INVALID_ARGUMENT, grpc.status.OK].includes(code), `code ${code}`);
        }),
        { numRuns: NUM_RUNS },
      );
    } finally {
      raw.close();
    }
    for (const entry of (await client.list()).slice(before)) {
      const done = await client.waitFor(entry.id, { timeoutMs: 10_000 });
      assert.equal(done.state, ExecutionState.Failed, JSON.stringify(done));
      await client.forget(entry.id);
    }
    assert.deepEqual(await client.health(), { healthy: true, message: 'ok' });
  });
});
