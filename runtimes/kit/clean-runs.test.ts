// Clean executions on a shared Runtime Server, with real processes: the minimal environment, a
// HOME and TMPDIR per execution, every process an execution started gone when it ends (setsid,
// double fork, nohup, a listening socket) while a concurrent execution is untouched, the workspace
// removed at Forget, and the documented escape (a process that clears its environment).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ExecutionState } from '../../lib/runtime-proto.ts';
import type { CommandResolver } from './execution.ts';
import { PASSED_SERVER_ENV } from './isolation.ts';
import { LauncherKind } from './launcher.ts';
import { eventually, freePort, isProcessAlive, startTestRuntime, type TestRuntime } from './testing.ts';
import { resolveExecutable } from './workspace.ts';

const BASH = resolveExecutable('bash')!;
const PYTHON = resolveExecutable('python3', '/usr/bin:/bin:/usr/local/bin');
const script: CommandResolver = (request) => ({ file: BASH, args: ['-c', request.args.join(' ')] });

function pidsFrom(file: string): number[] {
  return readFileSync(file, 'utf8').split(/\s+/).filter(Boolean).map(Number);
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

// Whichever launcher starts the processes (launcher.ts), nothing of an execution outlives it.
for (const launcher of Object.values(LauncherKind)) {
  describe(`kit Runtime Server: clean executions (${launcher})`, function () {
    this.timeout(20_000);
    let rt: TestRuntime;
    beforeEach(async () => {
      rt = await startTestRuntime({
        command: script,
        killGraceMs: 500,
        env: { ...process.env, FROM_SERVER: 'server', KUBERNETES_SERVICE_HOST: '10.0.0.1' },
        launcher,
      });
      assert.equal(rt.server.launcherKind, launcher);
    });
    afterEach(() => rt.close());

    it('gives the workload only the passed names, its HOME and TMPDIR, the KRUNTIME_* variables and its mark', async () => {
      const status = await rt.run({ args: ['env -0'], env: { FROM_RUN: 'run' } });
      assert.equal(status.state, ExecutionState.Succeeded, status.stderr);
      const names = status.stdout
        .split('\0')
        .filter(Boolean)
        .map((entry) => entry.slice(0, entry.indexOf('=')))
      // bash itself exports these three
        .filter((name) => !['PWD', 'SHLVL', '_'].includes(name))
        .sort();
      const passed = PASSED_SERVER_ENV.filter((name) => process.env[name] !== undefined);
      assert.deepEqual(
        names,
        [
          ...passed,
          'FROM_RUN',
          'HOME',
          'KRUNTIME_ARTIFACTS_DIR',
          'KRUNTIME_EXECUTION_MARK',
          'KRUNTIME_OUTPUTS',
          'TMPDIR',
        ].sort(),
      );
    });

    it('passes more server names when the admin lists them', async () => {
      const other = await startTestRuntime({
        command: script,
        env: { PATH: process.env.PATH, FROM_SERVER: 'server' },
        passEnv: [...PASSED_SERVER_ENV, 'FROM_SERVER'],
      });
      try {
        assert.equal((await other.run({ args: ['echo $FROM_SERVER'] })).stdout, 'server\n');
      } finally {
        await other.close();
      }
    });

    it('gives each execution an empty HOME and TMPDIR of its own under working_dir, removed at Forget', async () => {
      const first = await rt.start({ args: ['echo "$HOME $TMPDIR"; ls -A "$HOME" "$TMPDIR"; touch "$HOME/h" "$TMPDIR/t"'] });
      const second = await rt.start({ args: ['echo "$HOME $TMPDIR"; ls -A "$HOME" "$TMPDIR"; touch "$HOME/h" "$TMPDIR/t"'] });
      const [a, b] = await Promise.all([rt.client.waitFor(first), rt.client.waitFor(second)]);
      const [homeA, tmpA] = a.stdout.split('\n')[0]!.split(' ');
      const [homeB] = b.stdout.split('\n')[0]!.split(' ');
      assert.equal(homeA, join(rt.workDir, '.krt', `exec-${first}`, 'home'));
      assert.equal(tmpA, join(rt.workDir, '.krt', `exec-${first}`, 'tmp'));
      assert.notEqual(homeA, homeB);
      // `ls -A` printed the two headers and nothing in them: empty at start.
      assert.equal(a.stdout.split('\n').filter((line) => line !== '' && !line.endsWith(':')).length, 1, a.stdout);
      assert.equal(existsSync(join(homeA!, 'h')), true);
      await rt.client.forget(first);
      assert.equal(existsSync(join(rt.workDir, '.krt', `exec-${first}`)), false);
      assert.equal(existsSync(join(homeB!, 'h')), true, "the other execution's HOME is untouched");
      assert.equal(existsSync(rt.workDir), true, 'a working_dir the caller named stays');
    });

    it('starts a retry of the same id with an empty HOME', async () => {
      const id = await rt.start({ args: ['ls -A "$HOME"; touch "$HOME/left"'] });
      await rt.client.waitFor(id);
      const again = await rt.run({ id, args: ['ls -A "$HOME"; touch "$HOME/left"'] });
      assert.equal(again.stdout, '');
    });

    it('kills processes that left the group (setsid, double fork, nohup, disown) when the execution ends', async () => {
      const status = await rt.run({
        args: [
          'setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $! >> pids;',
          '( ( setsid sleep 301 </dev/null >/dev/null 2>&1 & echo $! >> pids ) & );',
          'nohup sleep 302 </dev/null >/dev/null 2>&1 & echo $! >> pids;',
          'sleep 303 </dev/null >/dev/null 2>&1 & disown; echo $! >> pids;',
          // setsid holding the pipes: the end does not wait for its 1 s abandon timer.
          'setsid sleep 304 & echo $! >> pids;',
          'sleep 0.2; echo done',
        ],
      });
      assert.equal(status.state, ExecutionState.Succeeded, status.stderr);
      assert.equal(status.stdout, 'done\n');
      const pids = pidsFrom(join(rt.workDir, 'pids'));
      assert.equal(pids.length, 5);
      // Gone by the time the end is reported (zombies awaiting their reaper count as gone).
      for (const pid of pids) assert.equal(isProcessAlive(pid), false, `pid ${pid} survived`);
      const execution = rt.server.executions.get(status.id)!;
      // The three that left the session were found by their mark (the group kill got the others).
      assert.ok(execution.swept >= 3, `swept ${execution.swept}`);
      assert.ok(execution.cleanupMs !== undefined && execution.cleanupMs < 1000, `cleanup ${execution.cleanupMs} ms`);
      // Found at the 100 ms linger, so the server did not wait for its 1 s pipe-abandon timer.
      assert.ok(execution.finishedAt! - execution.startedAt! < 1200, `took ${execution.finishedAt! - execution.startedAt!} ms`);
    });

    it('closes a listening port with the process that held it', async function () {
      if (PYTHON === undefined) this.skip();
      const port = await freePort();
      const status = await rt.run({
        args: [
        `setsid ${PYTHON} -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1",${port})); s.listen(); open("ready","w"); time.sleep(300)' </dev/null >/dev/null 2>&1 &`,
        'for i in $(seq 100); do [ -e ready ] && break; sleep 0.05; done; echo up',
        ],
      });
      assert.equal(status.stdout, 'up\n');
      assert.equal(await listening(port), false);
    });

    it("never touches a concurrent execution's processes", async () => {
      const long = await rt.start({ args: ['setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $! > long.pid; sleep 300'] });
      await eventually(() => existsSync(join(rt.workDir, 'long.pid')));
      for (let i = 0; i < 3; i++) {
        const short = await rt.run({ args: ['setsid sleep 300 </dev/null >/dev/null 2>&1 & true'] });
        assert.equal(short.state, ExecutionState.Succeeded);
      }
      const longPid = Number(readFileSync(join(rt.workDir, 'long.pid'), 'utf8'));
      assert.equal(isProcessAlive(longPid), true);
      assert.equal((await rt.client.status(long)).state, ExecutionState.Running);
      await rt.client.cancel(long);
      await rt.client.waitFor(long);
      assert.equal(isProcessAlive(longPid), false, 'the cancelled execution takes its detached process along');
    });

    it('lets a process that cleared its environment and detached escape (the documented limit)', async () => {
      const status = await rt.run({
      // It detaches before the execution ends; the group kill at the end would catch it otherwise.
        args: ['env -i setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $! > escaped.pid; sleep 0.5'],
      });
      assert.equal(status.state, ExecutionState.Succeeded);
      const pid = Number(readFileSync(join(rt.workDir, 'escaped.pid'), 'utf8'));
      try {
        assert.equal(isProcessAlive(pid), true);
      } finally {
        process.kill(pid, 'SIGKILL');
      }
    });
  });
}

describe('kit Runtime Server: the workspace at Forget', function () {
  this.timeout(20_000);

  it("removes runtimed's workspace (<workspace root>/runs/<id>) at Forget, not before", async () => {
    const rt = await startTestRuntime({ command: script });
    try {
      const root = join(rt.workDir, 'workspace');
      const other = await startTestRuntime({ command: script, workspaceRoot: root });
      try {
        const ws = join(root, 'runs', 'run-1');
        mkdirSync(join(ws, '.krt', 'artifacts'), { recursive: true });
        const status = await other.run({
          id: 'run-1',
          workingDir: ws,
          args: ['echo k=v >> "$KRUNTIME_OUTPUTS"; mkdir -p sub; touch sub/f; chmod 500 sub'],
        });
        assert.equal(status.state, ExecutionState.Succeeded, status.stderr);
        // Still there after the end: runtimed reads outputs and artifacts now.
        assert.equal(readFileSync(join(ws, '.krt', 'outputs'), 'utf8'), 'k=v\n');
        await other.client.forget('run-1');
        assert.equal(existsSync(ws), false);
        assert.deepEqual(readdirSync(join(root, 'runs')), []);
      } finally {
        await other.close();
      }
    } finally {
      await rt.close();
    }
  });

  it('removes a scratch working directory it made, and leaves a re-prepared workspace alone', async () => {
    const rt = await startTestRuntime({ command: script });
    try {
      const status = await rt.run({ workingDir: '', args: ['pwd'] });
      const scratch = status.stdout.trim();
      assert.equal(existsSync(scratch), true);
      await rt.client.forget(status.id);
      assert.equal(existsSync(scratch), false);

      // A retry's fresh directory at the same path (new inode) is not the one that ran.
      const root = join(rt.workDir, 'ws');
      const other = await startTestRuntime({ command: script, workspaceRoot: root });
      try {
        const ws = join(root, 'runs', 'run-2');
        mkdirSync(ws, { recursive: true });
        await other.run({ id: 'run-2', workingDir: ws, args: ['true'] });
        spawnSync('rm', ['-rf', ws]);
        mkdirSync(ws);
        writeFileSync(join(ws, 'script'), 'echo retry');
        await other.client.forget('run-2');
        assert.equal(readFileSync(join(ws, 'script'), 'utf8'), 'echo retry');
      } finally {
        await other.close();
      }
    } finally {
      await rt.close();
    }
  });
});
