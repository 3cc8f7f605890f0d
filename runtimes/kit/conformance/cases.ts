// The conformance cases: the behaviour docs/custom-runtime.md asks of every Runtime Server, as
// data (name, whether it is required, what it checks) plus the steps that check it. A case throws
// to FAIL (the message is the reason) and throws Skip for an extension the server does not serve.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GrpcCode, type RuntimeServerClient, RuntimeServerError } from '../../../lib/runtime-client.ts';
import { type ExecuteRequest, ExecutionState, isFinishedState, type StatusResponse } from '../../../lib/runtime-proto.ts';
import { type Language, program } from './languages.ts';

export interface ConformanceContext {
  client: RuntimeServerClient;
  language: Language;
  /** A unique execution id for this case (suffix for a second one). */
  id(suffix?: string): string;
  /** A fresh working directory for this case, made by the suite. */
  dir(suffix?: string): string;
  /** Names the server under test is configured to give workloads beyond the contract's. */
  allowEnv: readonly string[];
}

export interface ConformanceCase {
  name: string;
  /** Optional cases (the Wait and Output extensions) SKIP when the server answers UNIMPLEMENTED. */
  required: boolean;
  /** What PASS means, printed with it. */
  title: string;
  run(context: ConformanceContext): Promise<void>;
}

export class Skip extends Error {}

class Failure extends Error {}

function expect(condition: boolean, reason: string): asserts condition {
  if (!condition) throw new Failure(reason);
}

function show(status: StatusResponse): string {
  const clip = (text: string) => JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
  return `state=${status.state} exit_code=${status.exitCode} error_message=${clip(status.errorMessage)} stdout=${clip(status.stdout)} stderr=${clip(status.stderr)}`;
}

type Request = Partial<ExecuteRequest> & { id: string; workingDir: string };

async function execute(context: ConformanceContext, request: Request): Promise<void> {
  const response = await context.client.execute(request);
  expect(response.id === request.id, `Execute answered id ${JSON.stringify(response.id)}, want ${request.id}`);
}

/** Polls Status (never Wait: that is an optional extension) until the execution is finished. */
async function finished(context: ConformanceContext, id: string, timeoutMs = 15_000): Promise<StatusResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await context.client.status(id);
    if (isFinishedState(status.state)) return status;
    expect(Date.now() < deadline, `not finished within ${timeoutMs} ms: ${show(status)}`);
    await sleep(25);
  }
}

/** Polls Status until its stdout contains text (the workload has started). */
async function printed(context: ConformanceContext, id: string, text: string): Promise<StatusResponse> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const status = await context.client.status(id);
    if (status.stdout.includes(text)) return status;
    expect(!isFinishedState(status.state), `finished before printing ${text}: ${show(status)}`);
    expect(Date.now() < deadline, `did not print ${text} within 10 s: ${show(status)}`);
    await sleep(25);
  }
}

async function grpcCode(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return GrpcCode.OK;
  } catch (err) {
    if (err instanceof RuntimeServerError) return err.code;
    throw err;
  }
}

function codeName(code: number): string {
  return GrpcCode[code] ?? String(code);
}

function succeeded(status: StatusResponse, stdout?: string): void {
  expect(status.state === ExecutionState.Succeeded && status.exitCode === 0, `want SUCCEEDED 0, got ${show(status)}`);
  if (stdout !== undefined) expect(status.stdout === stdout, `stdout ${JSON.stringify(status.stdout)}, want ${JSON.stringify(stdout)}`);
}

function stopped(status: StatusResponse, message: 'cancelled' | 'timeout'): void {
  expect(
    status.state === ExecutionState.Failed && status.exitCode === -1 && status.errorMessage === message,
    `want FAILED -1 "${message}", got ${show(status)}`,
  );
}

/** A long-running workload that prints `started` first. */
function sleeper(language: Language, seconds = 30): string {
  return program(language.print('started'), language.sleep(seconds));
}

const MiB = 1024 * 1024;

/**
 * What a workload's environment may hold with no Run env: the contract's names, the server's PATH,
 * LANG, LC_ALL and TZ, the kit's execution mark, and what interpreters set for themselves
 * (bash: PWD, SHLVL, _; python's C-locale coercion: LC_CTYPE).
 */
export const CONTRACT_ENV = [
  'KRUNTIME_OUTPUTS',
  'KRUNTIME_ARTIFACTS_DIR',
  'HOME',
  'TMPDIR',
  'PATH',
  'LANG',
  'LC_ALL',
  'TZ',
  'KRUNTIME_EXECUTION_MARK',
  'PWD',
  'OLDPWD',
  'SHLVL',
  '_',
  'LC_CTYPE',
] as const;

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

export const CASES: readonly ConformanceCase[] = [
  {
    name: 'health',
    required: true,
    title: 'Health answers healthy=true',
    async run({ client }) {
      const health = await client.health();
      expect(health.healthy, `healthy=false: ${health.message}`);
    },
  },
  {
    name: 'inline-source',
    required: true,
    title: 'the Run source written to working_dir as "script" runs as the entrypoint, in working_dir',
    async run(context) {
      const { language: l } = context;
      const dir = context.dir();
      writeFileSync(join(dir, 'script'), program(l.print('hello from script'), l.appendLine('ran-here', 'yes')));
      await execute(context, { id: context.id(), workingDir: dir, entrypoint: 'script' });
      succeeded(await finished(context, context.id()), 'hello from script\n');
      expect(readFileSync(join(dir, 'ran-here'), 'utf8') === 'yes\n', 'the process did not run in working_dir');
    },
  },
  {
    name: 'entrypoint-args',
    required: true,
    title: 'an entrypoint in a subdirectory gets args as its arguments',
    async run(context) {
      const dir = context.dir();
      mkdir(join(dir, 'bin'));
      writeFileSync(join(dir, 'bin', `args${context.language.extension}`), program(context.language.printArgs()));
      await execute(context, {
        id: context.id(),
        workingDir: dir,
        entrypoint: `bin/args${context.language.extension}`,
        args: ['a', 'b c', ''],
      });
      succeeded(await finished(context, context.id()), '<a><b c><>');
    },
  },
  {
    name: 'args-only',
    required: true,
    title: 'without an entrypoint the args are the program',
    async run(context) {
      await execute(context, { id: context.id(), workingDir: context.dir(), args: [program(context.language.print('args only'))] });
      succeeded(await finished(context, context.id()), 'args only\n');
    },
  },
  {
    name: 'args-only-original',
    required: true,
    title: 'entrypoint "script" with no such file (the original runtimed) runs the args',
    async run(context) {
      await execute(context, {
        id: context.id(),
        workingDir: context.dir(),
        entrypoint: 'script',
        args: [program(context.language.print('original args only'))],
      });
      succeeded(await finished(context, context.id()), 'original args only\n');
    },
  },
  {
    name: 'exit-code',
    required: true,
    title: 'a non-zero exit is FAILED with that exit code; a missing entrypoint is FAILED -1',
    async run(context) {
      await execute(context, { id: context.id(), workingDir: context.dir(), args: [program(context.language.exit(3))] });
      const status = await finished(context, context.id());
      expect(status.state === ExecutionState.Failed && status.exitCode === 3, `want FAILED 3, got ${show(status)}`);
      await execute(context, { id: context.id('-missing'), workingDir: context.dir(), entrypoint: 'missing.file' });
      const missing = await finished(context, context.id('-missing'));
      expect(missing.state === ExecutionState.Failed && missing.exitCode === -1, `want FAILED -1, got ${show(missing)}`);
    },
  },
  {
    name: 'outputs',
    required: true,
    title: 'the workload appends KEY=VALUE lines to $KRUNTIME_OUTPUTS',
    async run(context) {
      const dir = context.dir();
      const outputs = join(dir, 'outputs');
      await execute(context, {
        id: context.id(),
        workingDir: dir,
        env: { KRUNTIME_OUTPUTS: outputs, KRUNTIME_ARTIFACTS_DIR: join(dir, 'artifacts') },
        args: [program(context.language.writeOutput('result', 'ok'))],
      });
      succeeded(await finished(context, context.id()));
      const text = readFileSync(outputs, 'utf8');
      expect(text === 'result=ok\n', `outputs file ${JSON.stringify(text)}, want "result=ok\\n"`);
    },
  },
  {
    name: 'duplicate-execute',
    required: true,
    title: 'Execute repeated while the execution runs starts nothing more',
    async run(context) {
      const { language: l } = context;
      const dir = context.dir();
      const request = { id: context.id(), workingDir: dir, args: [program(l.appendLine('runs', 'run'), l.print('started'), l.sleep(1))] };
      await execute(context, request);
      await Promise.all([execute(context, request), execute(context, request)]);
      await printed(context, request.id, 'started');
      await execute(context, request);
      succeeded(await finished(context, request.id));
      const runs = readFileSync(join(dir, 'runs'), 'utf8');
      expect(runs === 'run\n', `the workload ran ${runs.split('\n').length - 1} times, want once`);
    },
  },
  {
    name: 'retry-same-id',
    required: true,
    title: 'Execute of a finished id runs a new attempt, with or without Forget in between',
    async run(context) {
      const { language: l } = context;
      const dir = context.dir();
      const id = context.id();
      const request = { id, workingDir: dir, args: [program(l.appendLine('runs', 'run'), l.exitUnlessExists('marker', 3))] };
      await execute(context, request);
      const first = await finished(context, id);
      expect(first.state === ExecutionState.Failed && first.exitCode === 3, `attempt 1: want FAILED 3, got ${show(first)}`);
      await execute(context, request);
      const second = await finished(context, id);
      expect(second.exitCode === 0, `attempt 2 (no Forget) did not run again: ${show(second)}`);
      const listed = (await context.client.list()).filter((entry) => entry.id === id);
      expect(listed.length === 1, `List has ${listed.length} entries for the id, want 1`);
      await context.client.forget(id);
      await execute(context, request);
      succeeded(await finished(context, id));
      const runs = readFileSync(join(dir, 'runs'), 'utf8');
      expect(runs === 'run\nrun\nrun\n', `the workload ran ${runs.split('\n').length - 1} times, want 3`);
    },
  },
  {
    name: 'status',
    required: true,
    title: 'Status shows RUNNING with the output so far, then the final state; NOT_FOUND for an unknown id',
    async run(context) {
      const { language: l } = context;
      const id = context.id();
      await execute(context, { id, workingDir: context.dir(), args: [program(l.print('started'), l.sleep(0.5), l.print('done'))] });
      const running = await printed(context, id, 'started');
      expect(running.id === id, `Status answered id ${running.id}`);
      expect(running.state === ExecutionState.Running, `want RUNNING while it sleeps, got ${show(running)}`);
      succeeded(await finished(context, id), 'started\ndone\n');
      const code = await grpcCode(context.client.status(context.id('-unknown')));
      expect(code === GrpcCode.NOT_FOUND, `Status of an unknown id answered ${codeName(code)}, want NOT_FOUND`);
    },
  },
  {
    name: 'list',
    required: true,
    title: 'List has every retained execution, running and finished',
    async run(context) {
      const { language: l } = context;
      await execute(context, { id: context.id('-done'), workingDir: context.dir(), args: [program(l.print('done'))] });
      await finished(context, context.id('-done'));
      await execute(context, { id: context.id('-running'), workingDir: context.dir('-running'), args: [sleeper(l)] });
      try {
        await printed(context, context.id('-running'), 'started');
        const entries = new Map((await context.client.list()).map((entry) => [entry.id, entry]));
        expect(entries.get(context.id('-done'))?.state === ExecutionState.Succeeded, 'the finished execution is not listed as SUCCEEDED');
        expect(entries.get(context.id('-running'))?.state === ExecutionState.Running, 'the running execution is not listed as RUNNING');
      } finally {
        await context.client.cancel(context.id('-running')).catch(() => {});
      }
    },
  },
  {
    name: 'cancel-running',
    required: true,
    title: 'Cancel of a running execution ends it FAILED -1 "cancelled"; Cancel again is OK',
    async run(context) {
      const id = context.id();
      await execute(context, { id, workingDir: context.dir(), args: [sleeper(context.language)] });
      await printed(context, id, 'started');
      await context.client.cancel(id);
      await context.client.cancel(id);
      stopped(await finished(context, id, 10_000), 'cancelled');
      await context.client.cancel(id);
    },
  },
  {
    name: 'cancel-finished',
    required: true,
    title: 'Cancel of a finished execution is OK and changes nothing',
    async run(context) {
      const id = context.id();
      await execute(context, { id, workingDir: context.dir(), args: [program(context.language.print('done'))] });
      const before = await finished(context, id);
      await context.client.cancel(id);
      const after = await context.client.status(id);
      expect(JSON.stringify(after) === JSON.stringify(before), `Status changed: ${show(before)} → ${show(after)}`);
    },
  },
  {
    name: 'cancel-unknown',
    required: true,
    title: 'Cancel of an unknown id answers NOT_FOUND (or OK: it is best effort)',
    async run(context) {
      const code = await grpcCode(context.client.cancel(context.id()));
      expect(code === GrpcCode.NOT_FOUND || code === GrpcCode.OK, `answered ${codeName(code)}`);
    },
  },
  {
    name: 'forget-running',
    required: true,
    title: 'Forget of a running execution answers FAILED_PRECONDITION and keeps it',
    async run(context) {
      const id = context.id();
      await execute(context, { id, workingDir: context.dir(), args: [sleeper(context.language)] });
      try {
        await printed(context, id, 'started');
        const code = await grpcCode(context.client.forget(id));
        expect(code === GrpcCode.FAILED_PRECONDITION, `answered ${codeName(code)}, want FAILED_PRECONDITION`);
        const status = await context.client.status(id);
        expect(status.state === ExecutionState.Running, `after the refused Forget: ${show(status)}`);
      } finally {
        await context.client.cancel(id).catch(() => {});
      }
      await finished(context, id, 10_000);
    },
  },
  {
    name: 'forget-finished',
    required: true,
    title: 'Forget of a finished execution drops it: Status NOT_FOUND, not in List',
    async run(context) {
      const id = context.id();
      await execute(context, { id, workingDir: context.dir(), args: [program(context.language.print('done'))] });
      await finished(context, id);
      await context.client.forget(id);
      const code = await grpcCode(context.client.status(id));
      expect(code === GrpcCode.NOT_FOUND, `Status after Forget answered ${codeName(code)}, want NOT_FOUND`);
      expect(!(await context.client.list()).some((entry) => entry.id === id), 'still listed after Forget');
      const again = await grpcCode(context.client.forget(id));
      expect(again === GrpcCode.NOT_FOUND || again === GrpcCode.OK, `Forget again answered ${codeName(again)}`);
    },
  },
  {
    name: 'timeout',
    required: true,
    title: 'timeout_seconds kills the workload: FAILED -1 "timeout"',
    async run(context) {
      const id = context.id();
      const started = Date.now();
      await execute(context, { id, workingDir: context.dir(), timeoutSeconds: 1, args: [sleeper(context.language)] });
      stopped(await finished(context, id, 12_000), 'timeout');
      expect(Date.now() - started >= 900, `ended after ${Date.now() - started} ms, before the 1 s timeout`);
    },
  },
  {
    name: 'env-precedence',
    required: true,
    title: "the Run's env wins over the server's own (PATH, HOME, any name)",
    async run(context) {
      const { language: l } = context;
      const env = {
        PATH: `/krt-conformance/bin:${process.env.PATH ?? '/usr/bin:/bin'}`,
        HOME: '/krt-conformance-home',
        KRT_CONFORMANCE: 'from the run',
      };
      await execute(context, {
        id: context.id(),
        workingDir: context.dir(),
        env,
        args: [program(l.printEnv('PATH'), l.printEnv('HOME'), l.printEnv('KRT_CONFORMANCE'))],
      });
      succeeded(await finished(context, context.id()), `${env.PATH}\n${env.HOME}\n${env.KRT_CONFORMANCE}\n`);
    },
  },
  {
    name: 'env-minimal',
    required: true,
    title: "the workload env holds only the contract's names and the Run's env, none of the server's own",
    async run(context) {
      const { language: l } = context;
      await execute(context, {
        id: context.id(),
        workingDir: context.dir(),
        env: { KRT_CONFORMANCE_RUN: 'x' },
        args: [program(l.printEnvNames())],
      });
      const status = await finished(context, context.id());
      succeeded(status);
      const allowed = new Set<string>([...CONTRACT_ENV, ...context.allowEnv, 'KRT_CONFORMANCE_RUN']);
      const names = status.stdout.split('\n').filter((name) => name !== '');
      const extra = names.filter((name) => !allowed.has(name));
      expect(extra.length === 0, `the workload env holds ${extra.join(', ')} (not the contract's nor the Run's)`);
      expect(names.includes('KRT_CONFORMANCE_RUN'), "the Run's env is missing");
    },
  },
  {
    name: 'home-tmpdir',
    required: true,
    title: 'each execution has an empty HOME and TMPDIR of its own inside working_dir, gone after Forget',
    async run(context) {
      const { language: l } = context;
      const dir = context.dir();
      const body = program(l.printEnv('HOME'), l.printEnv('TMPDIR'), l.touchIn('HOME', 'h'), l.touchIn('TMPDIR', 't'));
      await execute(context, { id: context.id(), workingDir: dir, args: [body] });
      await execute(context, { id: context.id('-2'), workingDir: dir, args: [body] });
      const first = await finished(context, context.id());
      const second = await finished(context, context.id('-2'));
      succeeded(first);
      succeeded(second);
      const [home, tmp] = first.stdout.split('\n');
      const [home2, tmp2] = second.stdout.split('\n');
      for (const path of [home!, tmp!]) {
        expect(inside(dir, path), `${path} is not inside working_dir ${dir}`);
        expect(existsSync(path), `${path} does not exist after the execution (it is removed at Forget)`);
      }
      expect(home !== tmp, 'HOME and TMPDIR are one directory');
      expect(home !== home2 && tmp !== tmp2, 'two executions share a HOME or TMPDIR');
      await context.client.forget(context.id());
      for (const path of [home!, tmp!]) expect(!existsSync(path), `${path} is still there after Forget`);
      expect(existsSync(join(home2!, 'h')), "Forget of one execution removed another's HOME");
      await context.client.forget(context.id('-2'));
    },
  },
  {
    name: 'detached-killed',
    required: true,
    title: 'a process that left the process group and session is gone once its execution has finished',
    async run(context) {
      const { language: l } = context;
      const dir = context.dir();
      await execute(context, { id: context.id(), workingDir: dir, args: [program(l.detach('detached.pid'), l.sleep(0.3), l.print('detached'))] });
      succeeded(await finished(context, context.id()), 'detached\n');
      // Looked at from inside the server's PID namespace, by another execution.
      await execute(context, { id: context.id('-look'), workingDir: dir, args: [program(l.printAlive('detached.pid'))] });
      const look = await finished(context, context.id('-look'));
      succeeded(look);
      expect(look.stdout === 'gone\n', `the detached process (pid ${readFileSync(join(dir, 'detached.pid'), 'utf8').trim()}) outlived its execution`);
    },
  },
  {
    name: 'large-output',
    required: true,
    title: '3 MiB of stdout finishes; Status keeps a bounded head (≤ 1 MiB + 1 KiB)',
    async run(context) {
      const args = [program(context.language.printBytes(3 * MiB))];
      await execute(context, { id: context.id(), workingDir: context.dir(), args });
      const status = await finished(context, context.id(), 15_000);
      succeeded(status);
      const bytes = Buffer.byteLength(status.stdout);
      expect(bytes <= MiB + 1024, `Status stdout is ${bytes} bytes, want at most 1 MiB + 1 KiB`);
      expect(bytes >= 64 * 1024 && status.stdout.startsWith('x'.repeat(64 * 1024)), `Status stdout lost its head (${bytes} bytes)`);
    },
  },
  {
    name: 'wait',
    required: false,
    title: 'the Wait extension answers the final status once finished; NOT_FOUND for an unknown id',
    async run(context) {
      const { language: l, client } = context;
      const id = context.id();
      await execute(context, { id, workingDir: context.dir(), args: [program(l.sleep(0.3), l.print('waited'))] });
      let status: StatusResponse;
      try {
        status = await client.waitFor(id, { timeoutMs: 10_000 });
      } catch (err) {
        throw err instanceof RuntimeServerError ? new Failure(`Wait answered ${codeName(err.code)}: ${err.details}`) : err;
      }
      if (!client.usesWait) throw new Skip('not implemented (Wait answered UNIMPLEMENTED)');
      succeeded(status, 'waited\n');
      const code = await grpcCode(client.waitFor(context.id('-unknown'), { timeoutMs: 5000 }));
      expect(code === GrpcCode.NOT_FOUND, `Wait of an unknown id answered ${codeName(code)}, want NOT_FOUND`);
    },
  },
  {
    name: 'output',
    required: false,
    title: 'the Output extension streams stdout and stderr bytes and ends when the execution is finished',
    async run(context) {
      const { language: l, client } = context;
      const id = context.id();
      await execute(context, { id, workingDir: context.dir(), args: [program(l.print('one'), l.sleep(0.3), l.print('two'))] });
      let stdout = '';
      try {
        for await (const chunk of client.output(id)) {
          if (chunk.stream === 'stdout') stdout += chunk.data.toString('utf8');
        }
      } catch (err) {
        if (err instanceof RuntimeServerError && err.isUnimplemented) throw new Skip('not implemented (Output answered UNIMPLEMENTED)');
        throw err instanceof RuntimeServerError ? new Failure(`Output answered ${codeName(err.code)}: ${err.details}`) : err;
      }
      expect(stdout === 'one\ntwo\n', `streamed stdout ${JSON.stringify(stdout)}, want "one\\ntwo\\n"`);
      const status = await client.status(id);
      expect(isFinishedState(status.state), `the stream ended before the execution finished: ${show(status)}`);
      let replay = '';
      for await (const chunk of client.output(id)) if (chunk.stream === 'stdout') replay += chunk.data.toString('utf8');
      expect(replay === stdout, `replay after finish ${JSON.stringify(replay)}, want ${JSON.stringify(stdout)}`);
    },
  },
];

function mkdir(path: string): void {
  mkdirSync(path, { recursive: true });
}
