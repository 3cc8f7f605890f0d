// The build steps of the local cluster's binaries: the table agrees with build-binaries.sh, cached
// steps are skipped, and a step's output is logged and its tail carried by the error of a failure.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildSteps, pendingSteps, runStep } from './build-steps.ts';
import { ProgressMode, type StepError } from './progress.ts';

describe('local cluster build steps', () => {
  const cache = '/cache';

  it('has one step per build-binaries.sh step, in the order the script builds them', () => {
    const script = fs.readFileSync(path.join(import.meta.dirname, 'build-binaries.sh'), 'utf8');
    const arms = /^ {2}([\w|-]+)\) /gm;
    const ids = [...script.matchAll(arms)].flatMap((m) => m[1]!.split('|')).filter((id) => id !== 'all');
    assert.deepEqual(buildSteps(cache).map((s) => s.id), ids);
  });

  it('skips the steps whose outputs exist; the modules step runs while any Kubernetes binary is missing', () => {
    const steps = buildSteps(cache);
    assert.deepEqual(pendingSteps(steps, () => true), []);
    assert.deepEqual(pendingSteps(steps, () => false).map((s) => s.id), steps.map((s) => s.id));
    const onlyScheduler = pendingSteps(steps, (f) => !f.endsWith('/kube-scheduler'));
    assert.deepEqual(onlyScheduler.map((s) => s.id), ['k8s-modules', 'kube-scheduler']);
  });

  describe('runStep', () => {
    let logDir: string;
    beforeEach(() => {
      logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'krt-build-steps-'));
    });
    afterEach(() => fs.rmSync(logDir, { recursive: true, force: true }));

    it('logs the whole output and shows the last line with the elapsed time', async () => {
      const task = { output: '' };
      const outputs: string[] = [];
      const watched = new Proxy(task, {
        set: (t, k, v) => {
          outputs.push(String(v));
          return Reflect.set(t, k, v);
        },
      });
      const script = 'for i in 1 2 3; do echo "compiling pkg$i" >&2; done; echo done';
      await runStep({ id: 'fake', title: 'fake' }, { command: ['bash', '-c', script], logDir }, ProgressMode.live, watched);
      assert.match(outputs.at(-1)!, /^\d+\.\ds {2}compiling pkg3$/);
      const log = fs.readFileSync(path.join(logDir, 'build-fake.log'), 'utf8');
      assert.match(log, /compiling pkg1\n[^]*compiling pkg3\n/);
      assert.match(log, /done\n/);
    });

    it('prints heartbeats in lines mode', async () => {
      const outputs: string[] = [];
      const task = {
        set output(v: string) {
          outputs.push(v);
        },
      };
      await runStep(
        { id: 'slow', title: 'slow' },
        { command: ['bash', '-c', 'echo one >&2; sleep 0.35'], logDir },
        ProgressMode.lines,
        task,
        100,
      );
      assert.ok(outputs.length >= 2, outputs.join('|'));
      assert.match(outputs[0]!, /^still running after 0\.\ds \(1 lines of output so far\)$/);
    });

    it('fails with the exit code, the log path and the tail of the output', async () => {
      const script = 'for i in $(seq 1 100); do echo "line $i" >&2; done; echo "undefined: foo" >&2; exit 3';
      await assert.rejects(
        runStep({ id: 'broken', title: 'kube-apiserver' }, { command: ['bash', '-c', script], logDir }, ProgressMode.quiet),
        (err: StepError) => {
          assert.match(err.message, /^kube-apiserver failed \(exit 3\) after \d+\.\ds; full output in .*build-broken\.log$/);
          assert.match(err.detail, /line 100\nundefined: foo$/);
          assert.doesNotMatch(err.detail, /line 50\n/);
          return true;
        },
      );
      assert.match(fs.readFileSync(path.join(logDir, 'build-broken.log'), 'utf8'), /^line 1\n/);
    });
  });
  it('build-binaries.sh builds a Kubernetes binary with the version ldflags (a stub go on PATH; a cold cache is the only path that runs this)', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'krt-build-binaries-'));
    try {
      const k8sSrc = path.join(tmp, 'cache', 'k8s-v1.34.4', 'src');
      fs.mkdirSync(k8sSrc, { recursive: true });
      fs.writeFileSync(path.join(k8sSrc, '.modules-ready'), '');
      const bin = path.join(tmp, 'bin');
      fs.mkdirSync(bin);
      const calls = path.join(tmp, 'go-calls');
      // The stub records its arguments and creates the -o output, as go build would.
      fs.writeFileSync(path.join(bin, 'go'), `#!/usr/bin/env bash\necho "$*" >> ${calls}\nwhile [ $# -gt 0 ]; do if [ "$1" = -o ]; then touch "$2"; fi; shift; done\n`, { mode: 0o755 });
      const script = path.join(import.meta.dirname, 'build-binaries.sh');
      const r = spawnSync('bash', [script, 'kube-scheduler'], {
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, KRT_CACHE: path.join(tmp, 'cache'), KUBE_VERSION: '1.34.4' },
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(fs.existsSync(path.join(tmp, 'cache', 'k8s-v1.34.4', 'bin', 'kube-scheduler')));
      const build = fs.readFileSync(calls, 'utf8').trim();
      assert.match(build, /^build -v -trimpath -tags selinux,notest -ldflags /);
      assert.match(build, /-X k8s\.io\/component-base\/version\.gitVersion=v1\.34\.4 -X k8s\.io\/component-base\/version\.gitMajor=1 -X k8s\.io\/component-base\/version\.gitMinor=34 /);
      assert.match(build, /k8s\.io\/kubernetes\/cmd\/kube-scheduler$/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
