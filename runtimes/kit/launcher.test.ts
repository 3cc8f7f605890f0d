// The launchers (launcher.ts, fork-server.ts): the wait-status and errno decoding, the spec checks,
// and the fork server against real processes — what a child gets (session, stdin, descriptors,
// environment, directory), how it ends, what never starts, output that is not a workload's, and
// the fork server going away. The Runtime Server's own suites run with both launchers.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecutionState } from '../../lib/runtime-proto.ts';
import { ForkServer } from './fork-server.ts';
import {
  checkLaunchSpec,
  decodeWaitStatus,
  DirectLauncher,
  errnoName,
  type LaunchedProcess,
  LauncherKind,
  type LaunchSpec,
} from './launcher.ts';
import type { DataStream } from './output-replay.ts';
import { eventually, isProcessAlive, startTestRuntime } from './testing.ts';
import { resolveExecutable } from './workspace.ts';

const BASH = resolveExecutable('bash')!;
const PERL = resolveExecutable('perl')!;

interface Outcome {
  pid?: number;
  error?: NodeJS.ErrnoException;
  stdout: string;
  stderr: string;
  code?: number | null;
  signal?: NodeJS.Signals | null;
  lost?: string;
}

/** Follows one launched process until it closes, fails to start or is lost. */
function outcomeOf(launched: LaunchedProcess): Promise<Outcome> {
  const outcome: Outcome = { stdout: '', stderr: '' };
  const chunks: Record<DataStream, Buffer[]> = { STREAM_STDOUT: [], STREAM_STDERR: [] };
  launched.on('spawn', (pid) => (outcome.pid = pid));
  launched.on('output', (stream, chunk) => chunks[stream].push(chunk));
  launched.on('exit', (code, signal) => Object.assign(outcome, { code, signal }));
  return new Promise((resolve) => {
    const done = () => {
      outcome.stdout = Buffer.concat(chunks.STREAM_STDOUT).toString();
      outcome.stderr = Buffer.concat(chunks.STREAM_STDERR).toString();
      resolve(outcome);
    };
    launched.on('close', done);
    launched.on('error', (err) => {
      outcome.error = err;
      done();
    });
    launched.on('lost', (reason) => {
      outcome.lost = reason;
      done();
    });
  });
}

const bash = (script: string, env: Record<string, string> = {}, cwd = tmpdir()): LaunchSpec => ({
  file: BASH,
  args: ['-c', script],
  cwd,
  env,
});

describe('launcher', () => {
  describe('decodeWaitStatus', () => {
    it('decodes an exit code and a signal as Node reports them', () => {
      assert.deepEqual(decodeWaitStatus(0), { code: 0, signal: null });
      assert.deepEqual(decodeWaitStatus(3 << 8), { code: 3, signal: null });
      assert.deepEqual(decodeWaitStatus(255 << 8), { code: 255, signal: null });
      assert.deepEqual(decodeWaitStatus(9), { code: null, signal: 'SIGKILL' });
      // A core dump sets 0x80; the signal is still the low seven bits.
      assert.deepEqual(decodeWaitStatus(0x80 | 11), { code: null, signal: 'SIGSEGV' });
    });
  });

  it('names an errno number', () => {
    assert.equal(errnoName(2), 'ENOENT');
    assert.equal(errnoName(13), 'EACCES');
    assert.equal(errnoName(99_999), undefined);
  });

  it('refuses what execve cannot carry: a NUL byte in the file, an argument, the directory or the environment', () => {
    assert.throws(() => checkLaunchSpec({ ...bash('true'), args: ['-c', 'a\0b'] }), /args\[1\] must be a string without null bytes/);
    assert.throws(() => checkLaunchSpec({ ...bash('true'), file: '/bin/\0bash' }), /the file must be/);
    assert.throws(() => checkLaunchSpec({ ...bash('true'), cwd: '/tmp\0' }), /the working directory must be/);
    assert.throws(() => checkLaunchSpec(bash('true', { A: 'x\0y' })), /env A must be/);
    assert.throws(() => checkLaunchSpec(bash('true', { 'A\0B': 'x' })), /an env name must be/);
    checkLaunchSpec(bash('true', { A: 'ünïcode = fine\n' }));
  });

  describe('the fork server', function () {
    this.timeout(20_000);
    let server: ForkServer;
    let exits: string[];
    beforeEach(async () => {
      exits = [];
      server = new ForkServer({ perl: PERL, onExit: (reason) => exits.push(reason) });
      await server.start();
    });
    afterEach(() => server.close());

    it('starts the process in a session of its own, stdin on /dev/null, only descriptors 0-2, in cwd with exactly the env given', async () => {
      const cwd = mkdtempSync(join(tmpdir(), 'krt-launch-'));
      const script = [
        'echo "pid=$$ $(cut -d" " -f5,6 /proc/$$/stat)"', // its process group and session
        'cd /proc/$$/fd && echo * && cd - >/dev/null',
        'readlink /proc/$$/fd/0',
        'pwd',
        'env | grep -v "^_=" | sort | grep -v "^PWD=\\|^SHLVL=\\|^OLDPWD="',
        'echo to-stderr >&2',
      ].join('; ');
      const outcome = await outcomeOf(server.launch(bash(script, { ONE: 'a b', TWO: 'x=y', PATH: '/usr/bin:/bin' }, cwd)));
      assert.equal(outcome.error, undefined);
      assert.equal(outcome.code, 0, outcome.stderr);
      const lines = outcome.stdout.split('\n');
      const [, pid, pgid, sid] = /^pid=(\d+) (\d+) (\d+)$/.exec(lines[0] ?? '') ?? [];
      assert.equal(Number(pid), outcome.pid);
      assert.deepEqual([pgid, sid], [pid, pid], 'the process leads its own group and session');
      // The descriptors Node's spawn gives a child: 0-2 and whatever the test's own process inherited
      // without close-on-exec (a shell may leave one open); nothing of the fork server's.
      const direct = await outcomeOf(new DirectLauncher().launch(bash('cd /proc/$$/fd && echo *')));
      assert.equal(`${lines[1]}\n`, direct.stdout);
      assert.match(lines[1] ?? '', /^0 1 2\b/);
      assert.equal(lines[2], '/dev/null');
      assert.equal(lines[3], cwd);
      assert.deepEqual(lines.slice(4, -1), ['ONE=a b', 'PATH=/usr/bin:/bin', 'TWO=x=y']);
      assert.equal(outcome.stderr, 'to-stderr\n');
    });

    it('reports exit codes and signals as Node does', async () => {
      assert.deepEqual(pick(await outcomeOf(server.launch(bash('exit 3')))), { code: 3, signal: null });
      assert.deepEqual(pick(await outcomeOf(server.launch(bash('kill -TERM $$')))), { code: null, signal: 'SIGTERM' });
    });

    it('reports what never started with its errno: a missing file, one that is not executable, a missing directory', async () => {
      const missing = await outcomeOf(server.launch({ ...bash(''), file: '/nonexistent/interpreter', args: [] }));
      assert.equal(missing.error?.code, 'ENOENT');
      assert.equal(missing.pid, undefined);
      const dir = mkdtempSync(join(tmpdir(), 'krt-launch-'));
      writeFileSync(join(dir, 'not-executable'), '#!/bin/sh\n', { mode: 0o644 });
      const notExecutable = await outcomeOf(server.launch({ ...bash(''), file: join(dir, 'not-executable'), args: [] }));
      assert.equal(notExecutable.error?.code, 'EACCES');
      const noDir = await outcomeOf(server.launch(bash('true', {}, join(dir, 'gone'))));
      assert.equal(noDir.error?.code, 'ENOENT');
      // And the fork server goes on.
      assert.equal((await outcomeOf(server.launch(bash('echo still here')))).stdout, 'still here\n');
    });

    it('keeps each process’s output its own, with many at once and a megabyte each', async () => {
      const outcomes = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          outcomeOf(server.launch(bash(`head -c 1048576 /dev/zero | tr '\\0' '${String.fromCharCode(97 + (i % 26))}'; echo ${i} >&2`))),
        ),
      );
      outcomes.forEach((outcome, i) => {
        assert.equal(outcome.code, 0);
        assert.equal(outcome.stdout.length, 1_048_576);
        assert.equal(outcome.stdout, String.fromCharCode(97 + (i % 26)).repeat(1_048_576));
        assert.equal(outcome.stderr, `${i}\n`);
      });
    });

    it('drops a connection that does not carry its token: nothing else passes as a workload’s output', async () => {
      const launched = server.launch(bash('sleep 0.5; echo real'));
      const outcome = outcomeOf(launched);
      await new Promise((resolve) => launched.once('spawn', resolve));
      const socketName = readFileSync('/proc/net/unix', 'utf8')
        .split('\n')
        .map((line) => /@(kruntimes-fork-server-\d+-\w+)$/.exec(line)?.[1])
        .find((name) => name?.startsWith(`kruntimes-fork-server-${process.pid}-`));
      assert.ok(socketName, 'the fork server listens on an abstract socket');
      const spoof = connect(`\0${socketName}`);
      spoof.on('error', () => {});
      await new Promise((resolve) => spoof.once('connect', resolve));
      spoof.write('0123456789abcdef0123456789abcdef 1 1\nspoofed\n');
      await new Promise((resolve) => spoof.once('close', resolve));
      assert.equal((await outcome).stdout, 'real\n');
    });

    it('reports a running process lost and one not yet started failed when the fork server goes away', async () => {
      const running = server.launch(bash('sleep 30'));
      const outcome = outcomeOf(running);
      await new Promise((resolve) => running.once('spawn', resolve));
      process.kill(running.pid!, 'SIGSTOP'); // keeps it from ending while the fork server dies
      try {
        for (const line of readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(' ')) {
          const cmdline = readFileSync(`/proc/${line}/cmdline`, 'utf8');
          if (cmdline.includes('kruntimes-fork-server')) process.kill(Number(line), 'SIGKILL');
        }
        const lost = await outcome;
        assert.match(lost.lost ?? '', /the fork server exited \(SIGKILL\)/);
        assert.deepEqual(exits, [lost.lost]);
        assert.throws(() => server.launch(bash('true')), /the fork server is closed/);
      } finally {
        process.kill(-running.pid!, 'SIGKILL');
      }
    });
  });

  it('reports every exit where it polls for them (no signalfd known for the machine)', async function () {
    this.timeout(20_000);
    const polling = new ForkServer({ perl: PERL, pollForExits: true });
    await polling.start();
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 30 }, (_, i) => outcomeOf(polling.launch(bash(`echo ${i}; exit ${i % 4}`)))),
      );
      assert.deepEqual(
        outcomes.map((o) => [o.stdout, o.code]),
        outcomes.map((_, i) => [`${i}\n`, i % 4]),
      );
    } finally {
      polling.close();
    }
  });

  describe('in the Runtime Server', function () {
    this.timeout(20_000);

    it('spawns directly when Perl is not on the server’s PATH', async () => {
      const rt = await startTestRuntime({
        command: (request) => ({ file: BASH, args: ['-c', request.args.join(' ')] }),
        env: { PATH: mkdtempSync(join(tmpdir(), 'krt-no-perl-')) },
      });
      try {
        assert.equal(rt.server.launcherKind, LauncherKind.Direct);
        assert.equal((await rt.run({ args: ['echo direct'] })).stdout, 'direct\n');
      } finally {
        await rt.close();
      }
    });

    it('fails a running execution with the reason when the fork server goes away, then spawns directly', async () => {
      const rt = await startTestRuntime({
        command: (request) => ({ file: BASH, args: ['-c', request.args.join(' ')] }),
      });
      try {
        assert.equal(rt.server.launcherKind, LauncherKind.ForkServer);
        const id = await rt.start({ args: ['sleep 30'] });
        await eventually(() => rt.server.executions.get(id)?.state === ExecutionState.Running);
        const pid = rt.server.executions.get(id)!.pid!;
        for (const child of readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(' ')) {
          if (readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('kruntimes-fork-server')) process.kill(Number(child), 'SIGKILL');
        }
        await eventually(() => rt.server.executions.get(id)?.finished === true);
        const status = await rt.client.status(id);
        assert.equal(status.state, ExecutionState.Failed);
        assert.equal(status.exitCode, -1);
        assert.match(status.errorMessage, /^the fork server exited \(SIGKILL\); the execution was stopped$/);
        await eventually(() => !isProcessAlive(pid));
        assert.equal(rt.server.launcherKind, LauncherKind.Direct);
        assert.equal((await rt.run({ args: ['echo after'] })).stdout, 'after\n');
      } finally {
        await rt.close();
      }
    });
  });
});

function pick(outcome: Outcome): Pick<Outcome, 'code' | 'signal'> {
  return { code: outcome.code, signal: outcome.signal };
}

