// The pure rules of isolation.ts: the workload environment and its precedence, the names passed
// from the server, which working directories an execution owns, the environ match, and the sweep
// against a fake /proc.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  environHas,
  executionDirs,
  MAX_FORKS_PER_SECOND,
  ownsWorkingDir,
  PASSED_SERVER_ENV,
  passEnvNames,
  processGone,
  sweepMarked,
  sweepScope,
  WorkloadEnv,
  workloadEnv,
  workspaceRootFrom,
} from './isolation.ts';

describe('kit isolation rules', () => {
  describe('workloadEnv', () => {
    const serverEnv = {
      PATH: '/usr/bin:/bin',
      LANG: 'C.UTF-8',
      HOME: '/root',
      KUBERNETES_SERVICE_HOST: '10.0.0.1',
      KRUNTIME_PORT: '19091',
      SECRET_TOKEN: 'x',
    };

    it('holds only the passed server names, HOME, TMPDIR, the KRUNTIME_* paths and the mark', () => {
      const env = workloadEnv({
        serverEnv,
        passEnv: PASSED_SERVER_ENV,
        workingDir: '/workspace/runs/u1',
        id: 'u1',
        runEnv: {},
        mark: 'm1',
      });
      assert.deepEqual(env, {
        PATH: '/usr/bin:/bin',
        LANG: 'C.UTF-8',
        HOME: '/workspace/runs/u1/.krt/exec-u1/home',
        TMPDIR: '/workspace/runs/u1/.krt/exec-u1/tmp',
        KRUNTIME_OUTPUTS: '/workspace/runs/u1/.krt/outputs',
        KRUNTIME_ARTIFACTS_DIR: '/workspace/runs/u1/.krt/artifacts',
        KRUNTIME_EXECUTION_MARK: 'm1',
      });
    });

    it("lets the Run's env win over everything but the mark, and the runtime's additions over the base", () => {
      const env = workloadEnv({
        serverEnv,
        passEnv: [...PASSED_SERVER_ENV, 'SECRET_TOKEN'],
        workingDir: '/w',
        id: 'u2',
        runtimeEnv: { PYTHONUNBUFFERED: '1', LANG: 'en_US.UTF-8' },
        runEnv: {
          HOME: '/run-home',
          PATH: '/run/bin',
          KRUNTIME_OUTPUTS: '/o',
          PYTHONUNBUFFERED: '0',
          [WorkloadEnv.ExecutionMark]: 'forged',
        },
        mark: 'real',
      });
      assert.equal(env.HOME, '/run-home');
      assert.equal(env.PATH, '/run/bin');
      assert.equal(env.KRUNTIME_OUTPUTS, '/o');
      assert.equal(env.KRUNTIME_ARTIFACTS_DIR, '/w/.krt/artifacts');
      assert.equal(env.PYTHONUNBUFFERED, '0');
      assert.equal(env.LANG, 'en_US.UTF-8');
      assert.equal(env.SECRET_TOKEN, 'x', 'an admin-passed name');
      assert.equal(env[WorkloadEnv.ExecutionMark], 'real');
    });

    it('takes a passed name only when the server has it', () => {
      const env = workloadEnv({ serverEnv: {}, passEnv: ['PATH', 'TZ'], workingDir: '/w', id: 'a', runEnv: {}, mark: 'm' });
      assert.equal('PATH' in env, false);
      assert.equal('TZ' in env, false);
    });
  });

  it('passEnvNames adds the admin list (comma or space separated) to the defaults, once each', () => {
    assert.deepEqual(passEnvNames(undefined), [...PASSED_SERVER_ENV]);
    assert.deepEqual(passEnvNames(' HTTP_PROXY, NO_PROXY PATH,,'), [...PASSED_SERVER_ENV, 'HTTP_PROXY', 'NO_PROXY']);
  });

  it('executionDirs names one directory per execution, one path segment whatever the id', () => {
    assert.deepEqual(executionDirs('/w', 'abc-1'), {
      krt: '/w/.krt',
      own: '/w/.krt/exec-abc-1',
      home: '/w/.krt/exec-abc-1/home',
      tmp: '/w/.krt/exec-abc-1/tmp',
    });
    assert.equal(executionDirs('/w', '../../etc').own, '/w/.krt/exec-.._.._etc');
    assert.equal(executionDirs('/w', '..').own, '/w/.krt/exec-..');
  });

  it('ownsWorkingDir: runtimed workspaces and scratch dirs, never a directory the caller named elsewhere', () => {
    const roots = { workspaceRoot: '/workspace', scratchRoot: '/tmp/kruntimes-work' };
    assert.equal(ownsWorkingDir('/workspace/runs/0b8c', roots), true);
    assert.equal(ownsWorkingDir('/workspace/runs/0b8c/', roots), true);
    assert.equal(ownsWorkingDir('/tmp/kruntimes-work/exec-1', roots), true);
    assert.equal(ownsWorkingDir('/workspace/runs', roots), false);
    assert.equal(ownsWorkingDir('/workspace/logs', roots), false);
    assert.equal(ownsWorkingDir('/workspace/runs/a/b', roots), false);
    assert.equal(ownsWorkingDir('/workspace/runs/../logs/x', roots), false);
    assert.equal(ownsWorkingDir('/app', roots), false);
    assert.equal(ownsWorkingDir('/', roots), false);
    assert.equal(workspaceRootFrom({}), '/workspace');
    assert.equal(workspaceRootFrom({ KRUNTIME_WORKSPACE: '/ws' }), '/ws');
  });

  it('environHas matches a whole NAME=value entry only', () => {
    const environ = Buffer.from('A=1\0KRUNTIME_EXECUTION_MARK=abc\0XKRUNTIME_EXECUTION_MARK=zzz\0');
    assert.equal(environHas(environ, 'KRUNTIME_EXECUTION_MARK=abc'), true);
    assert.equal(environHas(environ, 'A=1'), true);
    assert.equal(environHas(environ, 'KRUNTIME_EXECUTION_MARK=ab'), false);
    assert.equal(environHas(environ, 'KRUNTIME_EXECUTION_MARK=zzz'), false);
    assert.equal(environHas(Buffer.from('KRUNTIME_EXECUTION_MARK=abc'), 'KRUNTIME_EXECUTION_MARK=abc'), false);
  });

  describe('sweepMarked against a fake /proc', () => {
    let proc: string;
    beforeEach(() => {
      proc = mkdtempSync(join(tmpdir(), 'krt-proc-'));
    });
    afterEach(() => rmSync(proc, { recursive: true, force: true }));

    function fakeProcess(pid: number, environ: string): void {
      mkdirSync(join(proc, String(pid)));
      writeFileSync(join(proc, String(pid), 'environ'), environ);
    }

    it('kills exactly the processes carrying the mark, never itself, and rescans until none is left', () => {
      fakeProcess(10, 'PATH=/bin\0KRUNTIME_EXECUTION_MARK=mine\0');
      fakeProcess(11, 'KRUNTIME_EXECUTION_MARK=other\0');
      fakeProcess(12, 'PATH=/bin\0');
      fakeProcess(13, 'KRUNTIME_EXECUTION_MARK=mine\0');
      mkdirSync(join(proc, '14')); // environ unreadable (gone, or another user's)
      mkdirSync(join(proc, 'self'));
      const killed: number[] = [];
      const result = sweepMarked('mine', {
        procRoot: proc,
        selfPid: 13,
        kill: (pid, signal) => {
          assert.equal(signal, 'SIGKILL');
          killed.push(pid);
          rmSync(join(proc, String(pid)), { recursive: true });
          // A child forked just before its parent died: the next round finds it.
          if (pid === 10) fakeProcess(20, 'KRUNTIME_EXECUTION_MARK=mine\0');
        },
      });
      assert.deepEqual(killed, [10, 20]);
      assert.deepEqual(result, { killed: 2, rounds: 3 });
    });

    it('stops after maxRounds against a process that keeps coming back', () => {
      fakeProcess(30, 'KRUNTIME_EXECUTION_MARK=m\0');
      const result = sweepMarked('m', { procRoot: proc, kill: () => {}, maxRounds: 3 });
      assert.deepEqual(result, { killed: 1, rounds: 3 });
    });

    it('reads an environ block larger than its buffer whole', () => {
      fakeProcess(40, `BIG=${'x'.repeat(100_000)}\0KRUNTIME_EXECUTION_MARK=m\0`);
      const killed: number[] = [];
      sweepMarked('m', {
        procRoot: proc,
        kill: (pid) => {
          killed.push(pid);
          rmSync(join(proc, String(pid)), { recursive: true });
        },
      });
      assert.deepEqual(killed, [40]);
    });

    it('processGone: no such pid, or a zombie; a killed process not yet run again is alive', () => {
      mkdirSync(join(proc, '50'));
      writeFileSync(join(proc, '50', 'stat'), '50 (sleep) S 1 50 50 0');
      mkdirSync(join(proc, '51'));
      writeFileSync(join(proc, '51', 'stat'), '51 (odd) Z (name)) Z 1 51 51 0');
      assert.equal(processGone(50, proc), false);
      assert.equal(processGone(51, proc), true);
      assert.equal(processGone(52, proc), true);
    });

    it('finds nothing without a procfs', () => {
      assert.deepEqual(sweepMarked('m', { procRoot: join(proc, 'missing') }), { killed: 0, rounds: 1 });
    });

    describe('with the pid window of a short execution', () => {
      function kernel(lastPid: number, pidMax = 32768): void {
        mkdirSync(join(proc, 'sys', 'kernel'), { recursive: true });
        writeFileSync(join(proc, 'sys', 'kernel', 'ns_last_pid'), `${lastPid}\n`);
        writeFileSync(join(proc, 'sys', 'kernel', 'pid_max'), `${pidMax}\n`);
      }
      const sweepSince = (firstPid: number, elapsedMs: number) => {
        const killed: number[] = [];
        sweepMarked('m', {
          procRoot: proc,
          since: { firstPid, startedAtMs: 1000 },
          now: () => 1000 + elapsedMs,
          kill: (pid) => {
            killed.push(pid);
            rmSync(join(proc, String(pid)), { recursive: true });
          },
        });
        return killed;
      };

      it('reads only the pids allocated since the first one', () => {
        fakeProcess(90, 'KRUNTIME_EXECUTION_MARK=m\0'); // older than the execution: cannot be one of its own
        fakeProcess(100, 'KRUNTIME_EXECUTION_MARK=m\0');
        fakeProcess(105, 'KRUNTIME_EXECUTION_MARK=m\0');
        fakeProcess(106, 'KRUNTIME_EXECUTION_MARK=other\0');
        kernel(110);
        assert.deepEqual(sweepSince(100, 5), [100, 105]);
      });

      it('follows the pids round the wrap at pid_max', () => {
        fakeProcess(5, 'KRUNTIME_EXECUTION_MARK=m\0');
        fakeProcess(50, 'KRUNTIME_EXECUTION_MARK=m\0');
        fakeProcess(32760, 'KRUNTIME_EXECUTION_MARK=m\0');
        kernel(10);
        assert.deepEqual(sweepSince(32700, 5).sort((a, b) => a - b), [5, 32760]);
      });

      it('reads every process once the pids may have wrapped all the way round', () => {
        fakeProcess(90, 'KRUNTIME_EXECUTION_MARK=m\0');
        fakeProcess(100, 'KRUNTIME_EXECUTION_MARK=m\0');
        kernel(110);
        assert.deepEqual(sweepSince(100, 1000).sort((a, b) => a - b), [90, 100]);
      });

      it('reads every process when the kernel does not say which pid was last', () => {
        fakeProcess(90, 'KRUNTIME_EXECUTION_MARK=m\0');
        assert.deepEqual(sweepSince(100, 5), [90]);
      });

      it('lists /proc and filters it when the window is large', () => {
        fakeProcess(90, 'KRUNTIME_EXECUTION_MARK=m\0');
        fakeProcess(3000, 'KRUNTIME_EXECUTION_MARK=m\0');
        kernel(4_000_000, 2 ** 22);
        assert.deepEqual(sweepSince(100, 5), [3000]);
      });
    });
  });

  it('sweepScope: the pids since the first one, wrapping once, or all when the window cannot be trusted', () => {
    const base = { firstPid: 100, lastPid: 200, pidMax: 32768, elapsedMs: 10 };
    assert.deepEqual(sweepScope(base), { kind: 'ranges', ranges: [[100, 200]] });
    assert.deepEqual(sweepScope({ ...base, lastPid: 50 }), { kind: 'ranges', ranges: [[100, 32767], [1, 50]] });
    // Long enough for pid_max forks at MAX_FORKS_PER_SECOND: the pids may have come round again.
    const wrapMs = (32768 / MAX_FORKS_PER_SECOND) * 1000;
    assert.deepEqual(sweepScope({ ...base, elapsedMs: wrapMs }), { kind: 'all' });
    assert.deepEqual(sweepScope({ ...base, pidMax: 2 ** 22, elapsedMs: wrapMs }).kind, 'ranges');
    assert.deepEqual(sweepScope({ ...base, lastPid: undefined }), { kind: 'all' });
    assert.deepEqual(sweepScope({ ...base, pidMax: undefined }), { kind: 'all' });
    assert.deepEqual(sweepScope({ ...base, lastPid: 40000 }), { kind: 'all' });
    assert.deepEqual(sweepScope({ ...base, elapsedMs: -1 }), { kind: 'all' });
  });
});
