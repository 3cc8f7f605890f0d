// The conformance suite against every Runtime Server we ship, each started as its own process on
// a free 127.0.0.1 port, as `npm run conformance` would meet it; and the suite's own pure parts.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { bashRuntime } from '../../bash/command.ts';
import { sweepMarked } from '../isolation.ts';
import { silentLogger } from '../log.ts';
import { startRuntimeServer } from '../server.ts';
import { freePort } from '../testing.ts';
import { parseCli } from './cli.ts';
import { type CaseResult, exitCode, formatResult, runConformance } from './runner.ts';

const RUNTIMES = join(import.meta.dirname, '..', '..');
const LISTEN_TIMEOUT_MS = 30_000;
const SERVERS = [
  { language: 'bash', main: join(RUNTIMES, 'bash', 'main.ts') },
  { language: 'python', main: join(RUNTIMES, 'python', 'main.ts') },
  { language: 'node', main: join(RUNTIMES, 'examples', 'node', 'main.ts') },
];

describe('Runtime Server conformance', function () {
  this.timeout(90_000);

  it('the bash, python and example node servers pass every case', async () => {
    // Concurrently: each server is its own process with its own working directories.
    const failed = await Promise.all(
      SERVERS.map(async ({ language, main }) => {
        const server = await startServerProcess(main);
        try {
          const results = await runConformance({ address: server.address, language });
          assert.equal(results.length > 0, true);
          return failures(results).map((line) => `${language}: ${line}`);
        } finally {
          await server.stop();
        }
      }),
    );
    assert.deepEqual(failed.flat(), []);
  });

  it('reports the Wait and Output extensions as not implemented on a server without them', async () => {
    const server = await startRuntimeServer({
      ...bashRuntime(),
      host: '127.0.0.1',
      port: 0,
      logger: silentLogger,
      serveWait: false,
      serveOutput: false,
      killGraceMs: 500,
    });
    try {
      const results = await runConformance({ address: server.address, only: ['health', 'wait', 'output'] });
      assert.deepEqual(
        results.map((result) => [result.name, result.verdict]),
        [['health', 'PASS'], ['wait', 'SKIP'], ['output', 'SKIP']],
      );
      assert.match(results[1]!.reason, /not implemented/);
      assert.equal(exitCode(results), 0);
    } finally {
      await server.shutdown({ graceMs: 0 });
    }
  });

  it('fails a server that leaks its own env, HOME or detached processes, naming what', async () => {
    // The old kit behaviour: the server's own env, one HOME for all, detached processes not swept
    // (their mark replaced by one the test sweeps itself afterwards).
    const leakMark = `leaky-${process.pid}-${Date.now()}`;
    const leaky = await startRuntimeServer({
      name: 'leaky',
      host: '127.0.0.1',
      port: 0,
      logger: silentLogger,
      env: { PATH: process.env.PATH, SERVER_SECRET: 's' },
      passEnv: ['PATH', 'SERVER_SECRET'],
      command: (request) => ({
        file: '/bin/bash',
        args: ['-c', `export HOME=${request.workingDir}/../shared-home TMPDIR=/tmp; mkdir -p $HOME; export KRUNTIME_EXECUTION_MARK=${leakMark}; ${request.args.join(' ')}`],
      }),
    });
    try {
      const results = await runConformance({ address: leaky.address, only: ['env-minimal', 'home-tmpdir', 'detached-killed'] });
      assert.deepEqual(results.map((r) => [r.name, r.verdict]), [
        ['env-minimal', 'FAIL'],
        ['home-tmpdir', 'FAIL'],
        ['detached-killed', 'FAIL'],
      ]);
      assert.match(results[0]!.reason, /holds SERVER_SECRET/);
      assert.match(results[1]!.reason, /is not inside working_dir/);
      assert.match(results[2]!.reason, /outlived its execution/);
    } finally {
      await leaky.shutdown({ graceMs: 0 });
      sweepMarked(leakMark);
    }
  });

  it('fails a server that breaks a rule, with the reason', async () => {
    // A runtime whose Run env loses to its own: HOME is forced after the Run's.
    const server = await startRuntimeServer({
      name: 'broken',
      host: '127.0.0.1',
      port: 0,
      logger: silentLogger,
      command: (request) => ({ file: '/bin/sh', args: ['-c', `HOME=/server-home; ${request.args.join(' ')}`] }),
    });
    try {
      const results = await runConformance({ address: server.address, only: ['env-precedence'] });
      assert.equal(results[0]!.verdict, 'FAIL');
      assert.match(results[0]!.reason, /server-home/);
      assert.equal(exitCode(results), 1);
      assert.match(formatResult(results[0]!), /^FAIL env-precedence: /);
    } finally {
      await server.shutdown({ graceMs: 0 });
    }
  });
});

describe('conformance CLI', () => {
  it('parses the address, language, work dir and cases', () => {
    assert.deepEqual(parseCli(['--address', '127.0.0.1:19091', '--language', 'python', '--case', 'health', '--case', 'timeout']), {
      address: '127.0.0.1:19091',
      language: 'python',
      workRoot: undefined,
      only: ['health', 'timeout'],
      allowEnv: [],
    });
    assert.deepEqual(parseCli(['--address', 'localhost:1', '--work-dir', '/w', '--allow-env', 'A,B', '--allow-env', 'C']), {
      address: 'localhost:1',
      language: 'bash',
      workRoot: '/w',
      only: [],
      allowEnv: ['A', 'B', 'C'],
    });
  });

  it('refuses a missing address, an unknown language or case', () => {
    assert.match(String(parseCli([])), /--address HOST:PORT is required/);
    assert.match(String(parseCli(['--address', 'x:1', '--language', 'ruby'])), /unknown --language "ruby"/);
    assert.match(String(parseCli(['--address', 'x:1', '--case', 'nope'])), /unknown --case nope/);
    assert.equal(parseCli(['--help']), '');
  });

  it('exits 0 only without failures', () => {
    const result = (verdict: CaseResult['verdict'], required = true): CaseResult => ({ name: 'c', required, verdict, reason: '', ms: 0 });
    assert.equal(exitCode([result('PASS'), result('SKIP', false)]), 0);
    assert.equal(exitCode([result('PASS'), result('FAIL')]), 1);
    assert.equal(exitCode([result('FAIL', false)]), 1);
  });
});

function failures(results: readonly CaseResult[]): string[] {
  return results.filter((result) => result.verdict !== 'PASS').map(formatResult);
}

async function startServerProcess(main: string): Promise<{ address: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [main], {
    env: {
      ...process.env,
      KRUNTIME_PORT: String(port),
      KRUNTIME_HOST: '127.0.0.1',
      KRUNTIME_KILL_GRACE_SECONDS: '1',
      KRUNTIME_SHUTDOWN_GRACE_SECONDS: '0',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let stderr = '';
    // Type stripping a server's modules takes seconds on a loaded 2-core machine. A server that
    // does not listen in time is killed: left running, it would keep mocha from ever exiting.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${main} did not listen within ${LISTEN_TIMEOUT_MS / 1000} s: ${stderr}`));
    }, LISTEN_TIMEOUT_MS);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('"server.listening"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${main} exited ${code}: ${stderr}`));
    });
  });
  child.stderr?.resume();
  return {
    address: `127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
