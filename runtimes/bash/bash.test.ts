import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuntimeServerClient } from '../../lib/runtime-client.ts';
import { ExecutionState } from '../../lib/runtime-proto.ts';
import { eventually, freePort, isProcessAlive, startTestRuntime, type TestRuntime } from '../kit/testing.ts';
import { bashRuntime } from './command.ts';

describe('bash runtime', () => {
  let rt: TestRuntime;
  beforeEach(async () => {
    rt = await startTestRuntime(bashRuntime());
  });
  afterEach(() => rt.close());

  it('runs the Usage Guide example: inline source as entrypoint with env', async () => {
    writeFileSync(join(rt.workDir, 'script'), 'echo "$MESSAGE"\necho "result=ok" >> "$KRUNTIME_OUTPUTS"\n');
    const status = await rt.run({ entrypoint: 'script', env: { MESSAGE: 'hello' } });
    assert.equal(status.state, ExecutionState.Succeeded, status.stderr);
    assert.equal(status.stdout, 'hello\n');
  });

  it('passes args to the entrypoint as positional parameters', async () => {
    mkdirSync(join(rt.workDir, 'bin'));
    writeFileSync(join(rt.workDir, 'bin', 'args.sh'), 'printf "<%s>" "$@"\n');
    const status = await rt.run({ entrypoint: 'bin/args.sh', args: ['a', 'b c', ''] });
    assert.equal(status.stdout, '<a><b c><>');
  });

  it('runs args joined by spaces as one command line without an entrypoint', async () => {
    const status = await rt.run({ args: ['echo', 'hello', '"big  world"', '| tr a-z A-Z'] });
    assert.equal(status.stdout, 'HELLO BIG  WORLD\n');
  });

  it('runs args when the original runtimed sends entrypoint "script" and there is no such file', async () => {
    const status = await rt.run({ entrypoint: 'script', args: ['echo', 'args-only'] });
    assert.equal(status.state, ExecutionState.Succeeded, status.errorMessage);
    assert.equal(status.stdout, 'args-only\n');
    const missing = await rt.run({ entrypoint: 'script' });
    assert.ok(missing.errorMessage.includes('not found in working directory'), missing.errorMessage);
  });

  it('fails a script that exits 3 with its exit code', async () => {
    writeFileSync(join(rt.workDir, 'script'), 'echo before\nexit 3\n');
    const status = await rt.run({ entrypoint: 'script' });
    assert.equal(status.state, ExecutionState.Failed);
    assert.equal(status.exitCode, 3);
    assert.equal(status.errorMessage, 'exit code 3');
    assert.equal(status.stdout, 'before\n');
  });

  it('refuses entrypoints outside the working directory', async () => {
    mkdirSync(join(rt.workDir, 'ws'));
    writeFileSync(join(rt.workDir, 'outside.sh'), 'echo escaped\n');
    symlinkSync('../outside.sh', join(rt.workDir, 'ws', 'escape.sh'));
    const cases = [
      ['/etc/hostname', 'must be a relative path inside the working directory'],
      ['../outside.sh', 'must not contain ".."'],
      ['escape.sh', 'resolves outside the working directory'],
      ['missing.sh', 'not found in working directory'],
    ] as const;
    for (const [entrypoint, message] of cases) {
      const status = await rt.run({ entrypoint, workingDir: join(rt.workDir, 'ws') });
      assert.equal(status.state, ExecutionState.Failed, entrypoint);
      assert.equal(status.exitCode, -1);
      assert.ok(status.errorMessage.includes(message), `${entrypoint}: ${status.errorMessage}`);
      assert.equal(status.stdout, '');
    }
  });

  it('fails a request with neither entrypoint nor args', async () => {
    const status = await rt.run();
    assert.equal(status.errorMessage, 'nothing to run: no entrypoint and no args');
  });

  it('uses the interpreter resolved at start, whatever PATH the Run sets', async () => {
    const status = await rt.run({ args: ['echo $PATH'], env: { PATH: '/nonexistent' } });
    assert.equal(status.stdout, '/nonexistent\n');
  });

  it('is unhealthy and fails executions clearly when the interpreter is missing', async () => {
    const broken = await startTestRuntime(bashRuntime({ bash: '/nonexistent/bash' }));
    try {
      const message = 'bash interpreter "/nonexistent/bash" not found';
      assert.deepEqual(await broken.client.health(), { healthy: false, message });
      const status = await broken.run({ args: ['true'] });
      assert.equal(status.state, ExecutionState.Failed);
      assert.equal(status.errorMessage, message);
    } finally {
      await broken.close();
    }
  });
});

describe('bash runtime process (main.ts)', () => {
  let child: ChildProcess | undefined;
  let workDir: string;
  beforeEach(() => {
    workDir = mkdtempSync(join(tmpdir(), 'krt-bash-main-'));
  });
  afterEach(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    rmSync(workDir, { recursive: true, force: true });
  });

  it('listens on KRUNTIME_PORT, logs JSON lines and shuts down gracefully on SIGTERM', async () => {
    const port = await freePort();
    const proc = spawn(process.execPath, [join(import.meta.dirname, 'main.ts')], {
      env: {
        ...process.env,
        KRUNTIME_PORT: String(port),
        KRUNTIME_SHUTDOWN_GRACE_SECONDS: '0',
        KRUNTIME_PASS_ENV: 'KRT_PASSED, KRT_ALSO',
        KRT_PASSED: 'passed',
        KRT_ALSO: 'also',
        KRT_KEPT: 'kept',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let stderr = '';
    proc.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    await eventually(() => stderr.includes('"server.listening"'), 5000);

    const client = new RuntimeServerClient({ address: `127.0.0.1:${port}` });
    try {
      assert.deepEqual(await client.health(), { healthy: true, message: 'ok' });
      await client.execute({ id: 'hello', args: ['echo hi'], workingDir: workDir });
      assert.equal((await client.waitFor('hello')).stdout, 'hi\n');
      // Only the names KRUNTIME_PASS_ENV lists reach the workload, beside the contract's.
      await client.execute({ id: 'env', args: ['echo "$KRT_PASSED $KRT_ALSO [$KRT_KEPT] [$KRUNTIME_PORT]"'], workingDir: workDir });
      assert.equal((await client.waitFor('env')).stdout, 'passed also [] []\n');
      // Group-writable by default: runtimed (another uid, in the pod's fsGroup) reads and removes what the workload writes.
      await client.execute({ id: 'umask', args: ['umask'], workingDir: workDir });
      assert.equal((await client.waitFor('umask')).stdout, '0002\n');
      await client.execute({ id: 'sleeper', args: ['echo $$; sleep 30'], workingDir: workDir });
      const waiting = client.waitFor('sleeper');
      let pid = 0;
      while (pid === 0) {
        pid = Number((await client.status('sleeper')).stdout.trim());
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      proc.kill('SIGTERM');
      const final = await waiting;
      assert.equal(final.errorMessage, 'cancelled');
      assert.equal(await exited, 0);
      assert.ok(!isProcessAlive(pid));
    } finally {
      client.close();
    }
    const events = stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: string; runtime: string });
    assert.ok(events.every((line) => line.runtime === 'bash'));
    const names = events.map((line) => line.event);
    for (const event of ['server.listening', 'execution.finished', 'server.signal', 'server.stopped']) {
      assert.ok(names.includes(event), `${event} in ${names.join(',')}`);
    }
  });
});
