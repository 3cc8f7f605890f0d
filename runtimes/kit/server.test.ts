import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GrpcCode, RuntimeServerError } from '../../lib/runtime-client.ts';
import { ExecutionState, type StatusResponse } from '../../lib/runtime-proto.ts';
import { truncationMarker } from './bounded-output.ts';
import type { CommandResolver } from './execution.ts';
import { LauncherKind } from './launcher.ts';
import { eventually, isProcessAlive, startTestRuntime, type TestRuntime } from './testing.ts';
import { resolveExecutable } from './workspace.ts';

const BASH = resolveExecutable('bash')!;

/** The smallest useful runtime: args are one bash script. */
const script: CommandResolver = (request) => ({ file: BASH, args: ['-c', request.args.join(' ')] });

function assertFailedWith(status: StatusResponse, exitCode: number, errorMessage: string): void {
  assert.equal(status.state, ExecutionState.Failed, JSON.stringify(status));
  assert.equal(status.exitCode, exitCode);
  assert.equal(status.errorMessage, errorMessage);
}

async function rejectsWithCode(promise: Promise<unknown>, code: GrpcCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof RuntimeServerError, String(err));
    assert.equal(err.code, code, err.message);
    return true;
  });
}

// Every behaviour holds whichever launcher starts the processes (launcher.ts).
for (const launcher of Object.values(LauncherKind)) {
  describe(`kit Runtime Server (${launcher})`, () => {
    let rt: TestRuntime;
    beforeEach(async () => {
      rt = await startTestRuntime({
        command: script,
        killGraceMs: 500,
        env: { ...process.env, FROM_SERVER: 'server' },
        launcher,
      });
      assert.equal(rt.server.launcherKind, launcher);
    });
    afterEach(() => rt.close());

    describe('Execute and completion', () => {
      it('runs a command and reports stdout, stderr and SUCCEEDED', async () => {
        const status = await rt.run({ args: ['echo hi; echo oops >&2'] });
        assert.deepEqual(status, {
          id: status.id,
          state: ExecutionState.Succeeded,
          exitCode: 0,
          stdout: 'hi\n',
          stderr: 'oops\n',
          errorMessage: '',
        });
      });

      it('reports a non-zero exit as FAILED with the exit code', async () => {
        assertFailedWith(await rt.run({ args: ['exit 3'] }), 3, 'exit code 3');
      });

      it('reports a process killed by a signal as FAILED 128+n naming the signal', async () => {
        assertFailedWith(await rt.run({ args: ['kill -KILL $$'] }), 137, 'killed by signal SIGKILL');
      });

      it('runs in working_dir', async () => {
        const status = await rt.run({ args: ['pwd'] });
        assert.equal(status.stdout.trim(), rt.workDir);
      });

      it('is PENDING or RUNNING when Execute returns, RUNNING once the process started', async () => {
        const id = await rt.start({ args: ['sleep 5'] });
        // The fork server starts the process asynchronously ("Execute accepts quickly and runs asynchronously").
        const { state } = await rt.client.status(id);
        assert.ok(state === ExecutionState.Pending || state === ExecutionState.Running, state);
        await eventually(() => rt.server.executions.get(id)?.state === ExecutionState.Running);
        assert.equal((await rt.client.status(id)).state, ExecutionState.Running);
        assert.ok(rt.server.executions.get(id)?.pid);
        await rt.client.cancel(id);
      });

      it('fails clearly when the process cannot be started', async () => {
        const broken = await startTestRuntime({
          command: () => ({ file: '/nonexistent/interpreter', args: [] }),
        });
        try {
          const status = await broken.run();
          assertFailedWith(status, -1, 'cannot start /nonexistent/interpreter: no such file or directory');
        } finally {
          await broken.close();
        }
      });

      it('fails with the message of a command resolver that throws, sync or async', async () => {
        const refusing = await startTestRuntime({
          command: (request) => {
            if (request.args[0] === 'async') return Promise.reject(new Error('not today'));
            throw new Error('no such thing');
          },
        });
        try {
          assertFailedWith(await refusing.run({ args: ['sync'] }), -1, 'no such thing');
          assertFailedWith(await refusing.run({ args: ['async'] }), -1, 'not today');
        } finally {
          await refusing.close();
        }
      });

      it('refuses with INVALID_ARGUMENT, not crashes, what the OS could not start (a NUL byte in env)', async () => {
      // request-checks.ts; grpc-bad-input.test.ts throws many more at it.
        await rejectsWithCode(rt.client.execute({ id: 'nul-env', args: ['true'], env: { BAD: 'a\0b' } }), GrpcCode.INVALID_ARGUMENT);
        await rejectsWithCode(rt.client.status('nul-env'), GrpcCode.NOT_FOUND);
        assert.deepEqual(await rt.client.health(), { healthy: true, message: 'ok' });
      });

      it('refuses a relative working_dir and a missing one', async () => {
        assertFailedWith(
          await rt.run({ args: ['true'], workingDir: 'relative/dir' }),
          -1,
          'working_dir "relative/dir" must be an absolute path',
        );
        const missing = join(rt.workDir, 'nope');
        assertFailedWith(
          await rt.run({ args: ['true'], workingDir: missing }),
          -1,
        `working directory ${missing} does not exist`,
        );
      });

      it('makes a working directory when the request has none', async () => {
        const status = await rt.run({ args: ['pwd'], workingDir: '' });
        assert.equal(status.state, ExecutionState.Succeeded);
        assert.ok(status.stdout.trim().startsWith(join(rt.workDir, '.work-root', 'exec-')), status.stdout);
      });

      it('answers INVALID_ARGUMENT for an empty id', async () => {
        await rejectsWithCode(rt.client.execute({ id: '', args: ['true'] }), GrpcCode.INVALID_ARGUMENT);
      });

      it('does not wait for a background process that keeps stdout open, and kills it', async () => {
        const started = Date.now();
        const status = await rt.run({ args: ['sleep 30 & echo $! > bg.pid; echo done'] });
        assert.equal(status.state, ExecutionState.Succeeded);
        assert.equal(status.stdout, 'done\n');
        assert.ok(Date.now() - started < 2000);
        const bgPid = Number(readFileSync(join(rt.workDir, 'bg.pid'), 'utf8'));
        await eventually(() => !isProcessAlive(bgPid));
      });
    });

    describe('environment', () => {
      it("keeps the server's own variables out of the workload env, the Run's env winning", async () => {
        const status = await rt.run({
          args: ['echo "[$FROM_SERVER] $FROM_RUN $SHARED"'],
          env: { FROM_RUN: 'run', SHARED: 'run-wins' },
        });
        assert.equal(status.stdout, '[] run run-wins\n');
        const overridden = await rt.run({ args: ['echo $FROM_SERVER'], env: { FROM_SERVER: 'run' } });
        assert.equal(overridden.stdout, 'run\n');
      });

      it('passes KRUNTIME_OUTPUTS and KRUNTIME_ARTIFACTS_DIR from the request', async () => {
        const outputs = join(rt.workDir, 'runtimed-outputs');
        const artifacts = join(rt.workDir, 'runtimed-artifacts');
        const status = await rt.run({
          args: [
            'echo result=ok >> "$KRUNTIME_OUTPUTS"; mkdir -p "$KRUNTIME_ARTIFACTS_DIR"; echo body > "$KRUNTIME_ARTIFACTS_DIR/a.txt"',
          ],
          env: { KRUNTIME_OUTPUTS: outputs, KRUNTIME_ARTIFACTS_DIR: artifacts },
        });
        assert.equal(status.state, ExecutionState.Succeeded, status.stderr);
        assert.equal(readFileSync(outputs, 'utf8'), 'result=ok\n');
        assert.equal(readFileSync(join(artifacts, 'a.txt'), 'utf8'), 'body\n');
      });

      it('defaults KRUNTIME_OUTPUTS and KRUNTIME_ARTIFACTS_DIR under <working_dir>/.krt/', async () => {
        const status = await rt.run({
          args: ['echo result=ok >> "$KRUNTIME_OUTPUTS"; echo "$KRUNTIME_ARTIFACTS_DIR"'],
        });
        assert.equal(status.state, ExecutionState.Succeeded, status.stderr);
        assert.equal(readFileSync(join(rt.workDir, '.krt', 'outputs'), 'utf8'), 'result=ok\n');
        assert.equal(status.stdout, `${join(rt.workDir, '.krt', 'artifacts')}\n`);
      });
    });

    describe('timeout and Cancel', () => {
      it('kills the process group at timeout_seconds: FAILED -1 "timeout"', async () => {
        const started = Date.now();
        const status = await rt.run({ args: ['sleep 30 & sleep 30'], timeoutSeconds: 1 });
        assertFailedWith(status, -1, 'timeout');
        assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
      });

      it('cancels the whole process group, a backgrounded child too', async () => {
        const id = await rt.start({ args: ['sleep 30 & echo $! > bg.pid; sleep 30'] });
        const pidFile = join(rt.workDir, 'bg.pid');
        await eventually(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'));
        const bgPid = Number(readFileSync(pidFile, 'utf8'));
        const mainPid = rt.server.executions.get(id)!.pid!;
        assert.ok(isProcessAlive(bgPid) && isProcessAlive(mainPid));
        await rt.client.cancel(id);
        assertFailedWith(await rt.client.waitFor(id, { timeoutMs: 5000 }), -1, 'cancelled');
        await eventually(() => !isProcessAlive(bgPid) && !isProcessAlive(mainPid));
      });

      it('escalates to SIGKILL when the workload ignores SIGTERM', async () => {
        const id = await rt.start({ args: ["trap '' TERM; echo ready; sleep 30"] });
        await eventually(() => rt.server.executions.get(id)!.toStatus().stdout === 'ready\n');
        const started = Date.now();
        await rt.client.cancel(id);
        assertFailedWith(await rt.client.waitFor(id, { timeoutMs: 5000 }), -1, 'cancelled');
        const took = Date.now() - started;
        assert.ok(took >= 400 && took < 3000, `took ${took} ms with a 500 ms kill grace`);
      });

      it('is idempotent and leaves finished executions as they were', async () => {
        const id = await rt.start({ args: ['sleep 30'] });
        await rt.client.cancel(id);
        await rt.client.cancel(id);
        assertFailedWith(await rt.client.waitFor(id), -1, 'cancelled');
        await rt.client.cancel(id);
        assertFailedWith(await rt.client.status(id), -1, 'cancelled');

        const done = await rt.run({ args: ['echo ok'] });
        await rt.client.cancel(done.id);
        assert.equal((await rt.client.status(done.id)).state, ExecutionState.Succeeded);
      });

      it('answers NOT_FOUND for an unknown id', async () => {
        await rejectsWithCode(rt.client.cancel('nope'), GrpcCode.NOT_FOUND);
      });
    });

    describe('at-least-once Execute', () => {
      it('starts one process for repeated Execute of a running id', async () => {
        const id = 'same-run-uid';
        const request = { id, args: ['echo x >> count; sleep 0.3; echo done'] };
        assert.deepEqual(await rt.client.execute({ ...request, workingDir: rt.workDir }), { id });
        assert.deepEqual(await rt.client.execute({ ...request, workingDir: rt.workDir }), { id });
        const status = await rt.client.waitFor(id);
        assert.equal(status.state, ExecutionState.Succeeded);
        assert.equal(readFileSync(join(rt.workDir, 'count'), 'utf8'), 'x\n');
      });

      it('runs a finished, unforgotten id again on Execute (the original runtimed retries so)', async () => {
        const id = 'retried-run-uid';
        const request = { id, workingDir: rt.workDir, args: ['echo x >> count; test -f marker || { touch marker; exit 3; }'] };
        await rt.client.execute(request);
        assert.equal((await rt.client.waitFor(id)).exitCode, 3);
        await rt.client.execute(request);
        const retried = await rt.client.waitFor(id);
        assert.equal(retried.state, ExecutionState.Succeeded);
        assert.equal(readFileSync(join(rt.workDir, 'count'), 'utf8'), 'x\nx\n');
        assert.equal((await rt.client.list()).filter((entry) => entry.id === id).length, 1);
      });
    });

    describe('Status, List, Forget', () => {
      it('answers NOT_FOUND for Status and Wait of an unknown id', async () => {
        const status = rt.client.status('unknown-id');
        await rejectsWithCode(status, GrpcCode.NOT_FOUND);
        await status.catch((err: RuntimeServerError) => assert.ok(err.isNotFound));
        await rejectsWithCode(rt.client.waitFor('unknown-id'), GrpcCode.NOT_FOUND);
      });

      it('lists every retained execution', async () => {
        const finished = await rt.run({ args: ['echo one'] });
        const running = await rt.start({ args: ['sleep 30'] });
        await eventually(() => rt.server.executions.get(running)?.state === ExecutionState.Running);
        const entries = await rt.client.list();
        const byId = new Map(entries.map((entry) => [entry.id, entry]));
        assert.equal(entries.length, 2);
        assert.deepEqual(byId.get(finished.id), finished);
        assert.equal(byId.get(running)?.state, ExecutionState.Running);
        await rt.client.cancel(running);
      });

      it('forgets only finished executions', async () => {
        const id = await rt.start({ args: ['sleep 30'] });
        await rejectsWithCode(rt.client.forget(id), GrpcCode.FAILED_PRECONDITION);
        await rt.client.cancel(id);
        await rt.client.waitFor(id);
        await rt.client.forget(id);
        await rejectsWithCode(rt.client.status(id), GrpcCode.NOT_FOUND);
        await rejectsWithCode(rt.client.forget(id), GrpcCode.NOT_FOUND);
        assert.deepEqual(await rt.client.list(), []);
      });

      it('runs an id again after Forget (a new attempt)', async () => {
        const first = await rt.run({ id: 'again', args: ['echo x >> again.log'] });
        await rt.client.forget(first.id);
        await rt.run({ id: 'again', args: ['echo x >> again.log'] });
        assert.equal(readFileSync(join(rt.workDir, 'again.log'), 'utf8'), 'x\nx\n');
      });

      it('drops the oldest finished executions beyond maxFinished', async () => {
        const small = await startTestRuntime({ command: script, maxFinished: 2 });
        try {
          const ids = [];
          for (let i = 0; i < 3; i++) ids.push((await small.run({ args: ['true'] })).id);
          await rejectsWithCode(small.client.status(ids[0]), GrpcCode.NOT_FOUND);
          assert.deepEqual((await small.client.list()).map((entry) => entry.id).sort(), ids.slice(1).sort());
        } finally {
          await small.close();
        }
      });
    });

    describe('bounded output', () => {
      it('keeps the head of stdout up to 1 MiB and states the dropped bytes', async () => {
        const total = 3 * 1024 * 1024;
        const status = await rt.run({ args: [`head -c ${total} /dev/zero | tr '\\0' a; echo small >&2`] });
        assert.equal(status.state, ExecutionState.Succeeded);
        assert.ok(Buffer.byteLength(status.stdout) <= 1024 * 1024, `${Buffer.byteLength(status.stdout)} bytes`);
        const kept = status.stdout.indexOf('\n[kruntimes');
        assert.ok(kept > 1024 * 1024 - 200);
        assert.ok(status.stdout.endsWith(truncationMarker(total - kept)), status.stdout.slice(-100));
        assert.equal(status.stderr, 'small\n');
      });

      it('turns bytes that are not UTF-8 into U+FFFD', async () => {
        const status = await rt.run({ args: ["printf 'a\\377b\\n'"] });
        assert.equal(status.stdout, 'a\uFFFDb\n');
      });
    });

    describe('Wait', () => {
      it('answers many concurrent waiters when the execution finishes', async () => {
        const id = await rt.start({ args: ['sleep 0.2; echo late'] });
        const statuses = await Promise.all(Array.from({ length: 20 }, () => rt.client.waitFor(id)));
        for (const status of statuses) assert.equal(status.stdout, 'late\n');
        assert.ok(rt.client.usesWait);
      });

      it('falls back to polling Status against a server without Wait', async () => {
        const legacy = await startTestRuntime({ command: script, serveWait: false });
        try {
          const status = await legacy.run({ args: ['sleep 0.1; echo polled'] });
          assert.equal(status.stdout, 'polled\n');
          assert.equal(legacy.client.usesWait, false);
          assert.equal((await legacy.run({ args: ['echo again'] })).stdout, 'again\n');
        } finally {
          await legacy.close();
        }
      });
    });

    describe('Health and shutdown', () => {
      it('is healthy while it takes work', async () => {
        assert.deepEqual(await rt.client.health(), { healthy: true, message: 'ok' });
      });

      it('reports the runtime health hook when it is unhealthy', async () => {
        const sick = await startTestRuntime({
          command: script,
          health: () => ({ healthy: false, message: 'interpreter missing' }),
        });
        try {
          assert.deepEqual(await sick.client.health(), { healthy: false, message: 'interpreter missing' });
        } finally {
          await sick.close();
        }
      });

      it('stops accepting on shutdown, cancels running work after the grace, then closes', async () => {
        const id = await rt.start({ args: ['sleep 30'] });
        const execution = rt.server.executions.get(id)!;
        const shutdown = rt.server.shutdown({ graceMs: 200 });
        assert.deepEqual(await rt.client.health(), { healthy: false, message: 'shutting down' });
        await rejectsWithCode(rt.client.execute({ id: 'late', args: ['true'] }), GrpcCode.UNAVAILABLE);
        await shutdown;
        assertFailedWith(execution.toStatus(), -1, 'cancelled');
        assert.ok(!isProcessAlive(execution.pid!));
        await rejectsWithCode(rt.client.health({ timeoutMs: 1000 }), GrpcCode.UNAVAILABLE);
      });

      it('lets running work finish within the grace', async () => {
        const id = await rt.start({ args: ['sleep 0.2; echo finished'] });
        await rt.server.shutdown({ graceMs: 5000 });
        const status = rt.server.executions.get(id)!.toStatus();
        assert.equal(status.state, ExecutionState.Succeeded);
        assert.equal(status.stdout, 'finished\n');
      });
    });

    it('cancels an execution whose async command resolver has not finished: it never starts', async () => {
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const slow = await startTestRuntime({
        command: async (request) => {
          await gate;
          return script(request);
        },
      });
      try {
        const id = await slow.start({ args: ['echo started > started.txt'] });
        assert.equal((await slow.client.status(id)).state, ExecutionState.Pending);
        await slow.client.cancel(id);
        release();
        assertFailedWith(await slow.client.waitFor(id), -1, 'cancelled');
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.ok(!existsSync(join(slow.workDir, 'started.txt')));
      } finally {
        await slow.close();
      }
    });

    it('writes nothing of the workload to its own log', async () => {
      const lines: string[] = [];
      const logged = await startTestRuntime({
        command: script,
        logger: (level, event, fields) => lines.push(JSON.stringify({ level, event, ...fields })),
      });
      try {
        await logged.run({ id: 'logged-run', args: ['echo secret-output'] });
        const events = lines.map((line) => JSON.parse(line).event);
        assert.deepEqual(events.slice(0, 4), [
          'server.listening',
          'execution.accepted',
          'execution.started',
          'execution.finished',
        ]);
        assert.ok(!lines.some((line) => line.includes('secret-output')));
      } finally {
        await logged.close();
      }
    });
  });
}
