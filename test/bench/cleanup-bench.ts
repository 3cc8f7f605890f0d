// node test/bench/cleanup-bench.ts [--runs 200] [--leave]
// The per-Run cost of cleaning up after an execution, measured on the kit itself (no cluster): a
// bash Runtime Server in this process, executions run one after another in runtimed-style
// workspaces (<root>/runs/<id>), each Forgotten. Reports p50/p95 of
//  - end cleanup: from the end of the process (its pipes closed) to the end reported: the group
//    kill and the /proc sweep for the execution's mark (Execution.cleanupMs);
//  - Forget removal: removing the workspace (and with it HOME and TMPDIR) before Forget answers;
//  - one /proc sweep on its own, and how many processes /proc lists (what a sweep reads).
// --leave makes every execution leave something behind (files in HOME, TMPDIR and the workspace,
// a setsid'd sleeper, a double-forked one, a nohup'd one), so the cleanup has work to do.

import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RuntimeServerClient } from '../../lib/runtime-client.ts';
import { bashRuntime } from '../../runtimes/bash/command.ts';
import { newExecutionMark, sweepMarked } from '../../runtimes/kit/isolation.ts';
import type { LogFields } from '../../runtimes/kit/log.ts';
import { startRuntimeServer } from '../../runtimes/kit/server.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '200' }, leave: { type: 'boolean', default: false } },
});
const runs = Number(values.runs);

const LEAVE = [
  'echo x > "$HOME/h"; echo x > "$TMPDIR/t"; echo x > w;',
  'setsid sleep 600 </dev/null >/dev/null 2>&1 &',
  '( ( sleep 601 </dev/null >/dev/null 2>&1 & ) & );',
  'nohup sleep 602 </dev/null >/dev/null 2>&1 &',
].join(' ');

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const root = mkdtempSync(join(tmpdir(), 'krt-cleanup-bench-'));
const removeMs: number[] = [];
const server = await startRuntimeServer({
  ...bashRuntime(),
  host: '127.0.0.1',
  port: 0,
  workspaceRoot: root,
  logger: (_level, event, fields?: LogFields) => {
    if (event === 'execution.forgotten') removeMs.push(Number(fields?.removeMs));
  },
});
const client = new RuntimeServerClient({ address: server.address });
const cleanupMs: number[] = [];
const totalMs: number[] = [];
let swept = 0;
try {
  for (let i = 0; i < runs; i++) {
    const id = `bench-${i}`;
    const workingDir = join(root, 'runs', id);
    mkdirSync(join(workingDir, '.krt', 'artifacts'), { recursive: true });
    const started = performance.now();
    await client.execute({ id, workingDir, args: [values.leave ? LEAVE : 'true'] });
    const status = await client.waitFor(id, { timeoutMs: 10_000 });
    if (status.state !== 'EXECUTION_STATE_SUCCEEDED') throw new Error(`${id}: ${JSON.stringify(status)}`);
    const execution = server.executions.get(id)!;
    cleanupMs.push(execution.cleanupMs ?? NaN);
    swept += execution.swept;
    await client.forget(id);
    totalMs.push(performance.now() - started);
  }
  const sweepMs: number[] = [];
  for (let i = 0; i < 50; i++) {
    const started = performance.now();
    sweepMarked(newExecutionMark());
    sweepMs.push(performance.now() - started);
  }
  const processes = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).length;
  const line = (name: string, ms: number[]) =>
    `${name.padEnd(34)} p50 ${percentile(ms, 50).toFixed(2)} ms   p95 ${percentile(ms, 95).toFixed(2)} ms`;
  console.log(`${runs} executions${values.leave ? ', each leaving files and 3 detached sleepers' : ''}; ${processes} processes in /proc`);
  console.log(line('end cleanup (group kill + sweep)', cleanupMs));
  console.log(line('Forget (workspace removal)', removeMs));
  console.log(line('one sweep of /proc', sweepMs));
  console.log(line('Execute → Forget answered', totalMs));
  console.log(`processes killed by the sweep: ${swept}; workspaces left: ${readdirSync(join(root, 'runs')).length}`);
} finally {
  client.close();
  await server.shutdown({ graceMs: 0 });
  rmSync(root, { recursive: true, force: true });
}
