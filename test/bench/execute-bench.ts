// node test/bench/execute-bench.ts [--runtime bash|python] [--runs 300] [--warmup 30]
//   [--command 'true' --command 'echo hi'] [--concurrency 1] [--no-output] [--json] [--cpu-prof DIR]
//   [--checkout DIR] [--node-arg=--max-semi-space-size=1 ...] [--launcher fork-server|direct]
// The Runtime Server's execute path on its own (no cluster): a Runtime Server started as a child
// process on a free local port, driven as runtimed drives it through the real gRPC client
// (lib/runtime-client.ts): per execution a workspace <root>/runs/<id>, Execute, an Output stream
// (as runtimed's log capture opens one; --no-output leaves it out), Wait until finished, Forget.
// Reports, per command:
//  - Execute→exit: from the Execute call to the finished status in the client's hands
//    (p50/p95/p99/max), and the whole cycle including Forget;
//  - the server's CPU per execution: utime+stime from /proc/<pid>/stat of the server process and
//    of its fork server (the Perl process that forks the workloads, runtimes/kit/fork-server.ts),
//    and apart from it cutime+cstime of both (the workloads they reaped), over the measured executions;
//  - the server's RSS (VmRSS) after the series and the load average before and after;
//  - the floor: the same command line forked, exec'd and reaped as often by a 4 MB perl process
//    (FLOOR_PERL), right after the series: what this machine at this load allows.
// --checkout DIR runs the Runtime Server of another checkout (say, the previous commit's, from
// `git archive`) with this bench, for a before/after on the same machine at the same time.
// --node-arg passes a flag to the server's node (say, a V8 heap setting).
// --launcher sets KRUNTIME_LAUNCHER: how the server starts workloads (its fork server, or Node's spawn).
// --cpu-prof DIR runs the server with Node's --cpu-prof (a .cpuprofile per server in DIR).
// Every figure shares the machine with whatever else runs: read them beside the load average.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RuntimeServerClient } from '../../lib/runtime-client.ts';
import { ExecutionState } from '../../lib/runtime-proto.ts';
import { freePort } from '../../runtimes/kit/testing.ts';
import { resolveExecutable } from '../../runtimes/kit/workspace.ts';
import { parseProcStat, parseVmRssKb } from './process-usage.ts';
import { percentile } from './workflow-stats.ts';

const RUNTIME_MAIN = {
  bash: 'runtimes/bash/main.ts',
  python: 'runtimes/python/main.ts',
} as const;
type RuntimeName = keyof typeof RUNTIME_MAIN;

/** /proc/<pid>/stat counts CPU in clock ticks; USER_HZ is 100 on every Linux we run on. */
const MS_PER_TICK = 10;

const { values } = parseArgs({
  options: {
    runtime: { type: 'string', default: 'bash' },
    runs: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '30' },
    command: { type: 'string', multiple: true },
    concurrency: { type: 'string', default: '1' },
    'no-output': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    checkout: { type: 'string', default: '.' },
    'node-arg': { type: 'string', multiple: true },
    launcher: { type: 'string' },
  },
});
const runtime = values.runtime as RuntimeName;
if (!(runtime in RUNTIME_MAIN)) throw new Error(`--runtime must be one of ${Object.keys(RUNTIME_MAIN).join(', ')}`);
const runs = Number(values.runs);
const warmup = Number(values.warmup);
const concurrency = Math.max(1, Number(values.concurrency));
const commands = values.command ?? (runtime === 'bash' ? ['true', 'echo hi'] : ['pass', 'print("hi")']);
const withOutput = !values['no-output'];

interface ServerCpu {
  /** The server's own user+system time, ms. */
  selfMs: number;
  /** Its reaped children's (the workloads'), ms. */
  childrenMs: number;
}

/** The server and its fork server, if it runs one. */
function serverCpu(pid: number): ServerCpu {
  const cpu: ServerCpu = { selfMs: 0, childrenMs: 0 };
  for (const member of serverProcesses(pid)) {
    const stat = parseProcStat(readFileSync(`/proc/${member}/stat`, 'utf8'));
    cpu.selfMs += (stat.utime + stat.stime) * MS_PER_TICK;
    cpu.childrenMs += (stat.cutime + stat.cstime) * MS_PER_TICK;
  }
  return cpu;
}

/**
 * The server's pid and its fork server's: the server's children in its own process group (a
 * workload leads a session of its own).
 */
function serverProcesses(pid: number): number[] {
  const { pgrp } = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean);
  const forkServers = children.map(Number).filter((child) => {
    try {
      return parseProcStat(readFileSync(`/proc/${child}/stat`, 'utf8')).pgrp === pgrp;
    } catch {
      return false; // a workload that just ended
    }
  });
  return [pid, ...forkServers];
}

/** The server's RSS and its fork server's, MB. */
function serverRssMb(pid: number): number[] {
  return serverProcesses(pid).map((member) => parseVmRssKb(readFileSync(`/proc/${member}/status`, 'utf8')) / 1024);
}

async function startServer(root: string): Promise<{ child: ChildProcess; address: string }> {
  const port = await freePort();
  const profile = values['cpu-prof'] === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']];
  const child = spawn(process.execPath, [...profile, ...(values['node-arg'] ?? []), join(values.checkout, RUNTIME_MAIN[runtime])], {
    env: {
      ...process.env,
      KRUNTIME_PORT: String(port),
      KRUNTIME_WORKSPACE: root,
      ...(values.launcher === undefined ? {} : { KRUNTIME_LAUNCHER: values.launcher }),
    },
    // Its JSON log lines are read and dropped, as a container runtime reads them.
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.resume();
  const address = `127.0.0.1:${port}`;
  const client = new RuntimeServerClient({ address, callTimeoutMs: 1000 });
  const deadline = Date.now() + 30_000;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
      try {
        if ((await client.health()).healthy) break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    client.close();
  }
  return { child, address };
}

interface Sample {
  executeToExitMs: number;
  cycleMs: number;
}

/** One execution as runtimed runs it; throws unless it succeeded. */
async function runOnce(client: RuntimeServerClient, root: string, id: string, command: string): Promise<Sample> {
  const workingDir = join(root, 'runs', id);
  mkdirSync(join(workingDir, '.krt', 'artifacts'), { recursive: true });
  const started = performance.now();
  await client.execute({ id, workingDir, args: [command] });
  const drained = withOutput ? drain(client, id) : Promise.resolve();
  const status = await client.waitFor(id, { timeoutMs: 10_000 });
  const exited = performance.now();
  if (status.state !== ExecutionState.Succeeded) throw new Error(`${id}: ${JSON.stringify(status)}`);
  await drained;
  await client.forget(id);
  return { executeToExitMs: exited - started, cycleMs: performance.now() - started };
}

async function drain(client: RuntimeServerClient, id: string): Promise<void> {
  for await (const chunk of client.output(id)) void chunk;
}

async function series(client: RuntimeServerClient, root: string, command: string, count: number, tag: string) {
  const samples: Sample[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      samples.push(await runOnce(client, root, `${tag}-${i}`, command));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return samples;
}

/**
 * The machine's own floor for one execution: a 4 MB perl process forks, setsid()s and execs the
 * same interpreter and command line with stdout and stderr on a pipe, reads them to the end and
 * reaps it, one after another. What no Runtime Server on this machine, at this load, can beat.
 */
const FLOOR_PERL = `
use POSIX (); use Time::HiRes qw(time);
my ($n, @cmd) = @ARGV;
for my $i (1 .. $n) {
  my $t = time; pipe(my $r, my $w) or die;
  my $pid = fork(); die unless defined $pid;
  if ($pid == 0) { POSIX::setsid(); open(STDIN, '<', '/dev/null'); open(STDOUT, '>&', $w); open(STDERR, '>&', $w);
    exec { $cmd[0] } @cmd; POSIX::_exit(127); }
  close $w; while (<$r>) {} close $r; waitpid($pid, 0);
  printf "%.3f\n", (time - $t) * 1000;
}`;

const INTERPRETER = {
  bash: (command: string) => [resolveExecutable('bash'), '-c', command],
  // The interpreter itself, as the python runtime resolves it (a pyenv shim costs ~100 ms a start).
  python: (command: string) => [realPython(), '-u', '-c', command],
} as const;

function realPython(): string | undefined {
  const python = resolveExecutable(process.env.KRUNTIME_PYTHON || 'python3');
  if (python === undefined) return undefined;
  return execFileSync(python, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim() || python;
}

/** Per-execution ms of the floor, or undefined without perl. */
function floorSamples(command: string, count: number): number[] | undefined {
  const perl = resolveExecutable('perl');
  const argv = INTERPRETER[runtime](command);
  if (perl === undefined || argv[0] === undefined) return undefined;
  const out = execFileSync(perl, ['-e', FLOOR_PERL, String(count), ...(argv as string[])], { encoding: 'utf8' });
  return out.trim().split('\n').map(Number);
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
const stats = (xs: number[]) => ({
  p50: round(percentile(xs, 50)),
  p95: round(percentile(xs, 95)),
  p99: round(percentile(xs, 99)),
  max: round(Math.max(...xs)),
});

const root = mkdtempSync(join(tmpdir(), 'krt-execute-bench-'));
const { child, address } = await startServer(root);
const client = new RuntimeServerClient({ address });
const results = [];
try {
  for (const [index, command] of commands.entries()) {
    await series(client, root, command, warmup, `warm${index}`);
    const loadBefore = loadavg()[0];
    const cpuBefore = serverCpu(child.pid!);
    const wallStarted = performance.now();
    const samples = await series(client, root, command, runs, `run${index}`);
    const wallMs = performance.now() - wallStarted;
    const cpuAfter = serverCpu(child.pid!);
    const floor = floorSamples(command, runs);
    results.push({
      runtime,
      command,
      runs,
      concurrency,
      output: withOutput,
      executeToExitMs: stats(samples.map((s) => s.executeToExitMs)),
      cycleMs: stats(samples.map((s) => s.cycleMs)),
      executionsPerSecond: round((runs / wallMs) * 1000, 1),
      serverCpuMsPerExecution: round((cpuAfter.selfMs - cpuBefore.selfMs) / runs),
      workloadCpuMsPerExecution: round((cpuAfter.childrenMs - cpuBefore.childrenMs) / runs),
      serverRssMb: serverRssMb(child.pid!).map((mb) => round(mb, 1)),
      floorMs: floor === undefined ? undefined : stats(floor),
      loadAverage: [round(loadBefore, 1), round(loadavg()[0], 1)],
    });
  }
} finally {
  client.close();
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  rmSync(root, { recursive: true, force: true });
}

if (values.json) {
  console.log(JSON.stringify(results, null, 2));
} else {
  for (const r of results) {
    const p = (s: ReturnType<typeof stats>) => `p50 ${s.p50}  p95 ${s.p95}  p99 ${s.p99}  max ${s.max} ms`;
    console.log(
      `${r.runtime} \`${r.command}\` × ${r.runs} (concurrency ${r.concurrency}${r.output ? ', with Output' : ''}; load ${r.loadAverage.join(' → ')})\n` +
        `  Execute→exit  ${p(r.executeToExitMs)}\n` +
        `  whole cycle   ${p(r.cycleMs)}  (${r.executionsPerSecond}/s)\n` +
        `  server CPU    ${r.serverCpuMsPerExecution} ms per execution (+ workload ${r.workloadCpuMsPerExecution} ms)  RSS ${r.serverRssMb.join(' + ')} MB\n` +
        `  floor         ${r.floorMs === undefined ? 'no perl' : p(r.floorMs)}  (fork+exec+wait from perl)`,
    );
  }
}
