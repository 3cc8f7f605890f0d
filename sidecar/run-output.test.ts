import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Run } from '../lib/api.ts';
import { createLogger } from '../lib/log.ts';
import type { CommandResolver } from '../runtimes/kit/execution.ts';
import { eventually, startTestRuntime, type TestRuntime } from '../runtimes/kit/testing.ts';
import { resolveExecutable } from '../runtimes/kit/workspace.ts';
import { type LogEvent, LogStore } from './log-store.ts';
import { RunOutputs } from './run-output.ts';

const quiet = createLogger({}, () => {});
const BASH = resolveExecutable('bash')!;
const script: CommandResolver = (request) => ({ file: BASH, args: ['-c', request.args.join(' ')] });
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

interface ContainerLine {
  ts: string;
  msg: string;
  run: string;
  namespace: string;
  runUID: string;
  stream?: string;
  data?: string;
  limitBytes?: number;
}

async function readAll(store: LogStore, uid: string, stream: 'stdout' | 'stderr' | 'all' = 'all') {
  const events = store.read(uid, { stream, follow: true });
  assert.ok(events, `a log for ${uid}`);
  const chunks: Buffer[] = [];
  let end: Extract<LogEvent, { type: 'end' }> | undefined;
  for await (const event of events) {
    if (event.type === 'end') end = event;
    else chunks.push(event.data);
  }
  return { bytes: Buffer.concat(chunks), truncated: end?.truncated };
}

describe('runtimed Run output capture', () => {
  let dir: string;
  let store: LogStore;
  let rt: TestRuntime | undefined;
  let lines: ContainerLine[];

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'krt-run-output-'));
    store = await LogStore.open({ dir, logger: quiet });
    lines = [];
  });
  afterEach(async () => {
    await rt?.close();
    rt = undefined;
    await store.drain(1000);
    // A discarded log's file is unlinked asynchronously: retry as rm -rf would on ENOTEMPTY.
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
  });

  async function setUp(options: { serveOutput?: boolean; containerLogBytes?: number } = {}) {
    rt = await startTestRuntime({ command: script, serveOutput: options.serveOutput });
    const outputs = new RunOutputs({
      server: rt.client,
      store,
      log: quiet,
      containerLogBytes: options.containerLogBytes,
      write: (text) => {
        for (const line of text.split('\n')) if (line) lines.push(JSON.parse(line) as ContainerLine);
      },
    });
    return { runtime: rt, outputs };
  }

  function newRun(): Run {
    return {
      apiVersion: 'kruntimes.io/v1alpha1',
      kind: 'Run',
      metadata: { name: 'hello', namespace: 'team-a', uid: randomUUID() },
      spec: { runtime: 'bash' },
    } as Run;
  }

  /** What runtimed does for one Run, in its order. */
  async function runThrough(outputs: RunOutputs, runtime: TestRuntime, run: Run, args: string[]) {
    const uid = run.metadata.uid!;
    outputs.begin(run);
    await runtime.client.execute({ id: uid, args, workingDir: runtime.workDir });
    outputs.capture(uid);
    const status = await runtime.client.waitFor(uid);
    outputs.executionFinished(uid, status);
    outputs.end(uid);
    return status;
  }

  it('streams the full output into the Run log, binary and beyond 1 MiB', async () => {
    const { runtime, outputs } = await setUp();
    const run = newRun();
    await runThrough(outputs, runtime, run, [
      'head -c 1500000 /dev/urandom | tee written.bin; echo done >&2',
    ]);
    const written = readFileSync(path.join(runtime.workDir, 'written.bin'));
    const stdout = await readAll(store, run.metadata.uid!, 'stdout');
    assert.equal(stdout.bytes.length, 1_500_000);
    assert.equal(sha256(stdout.bytes), sha256(written));
    assert.equal(stdout.truncated, false);
    assert.equal((await readAll(store, run.metadata.uid!, 'stderr')).bytes.toString(), 'done\n');
  });

  it('has the output in the log while the process still runs', async () => {
    const { runtime, outputs } = await setUp();
    const run = newRun();
    const uid = run.metadata.uid!;
    outputs.begin(run);
    await runtime.client.execute({
      id: uid,
      args: ['echo early; sleep 1; echo late'],
      workingDir: runtime.workDir,
    });
    outputs.capture(uid);
    const events = store.read(uid, { follow: true })!;
    const first = await events.next();
    assert.equal((first.value as { data: Buffer }).data.toString(), 'early\n');
    assert.equal((await runtime.client.status(uid)).state, 'EXECUTION_STATE_RUNNING');
    await events.return(undefined);
    outputs.executionFinished(uid, await runtime.client.waitFor(uid));
    outputs.end(uid);
    assert.equal((await readAll(store, uid)).bytes.toString(), 'early\nlate\n');
  });

  it('copies the output as base64 JSON lines to the container log, bounded per Run', async () => {
    const { runtime, outputs } = await setUp();
    const run = newRun();
    await runThrough(outputs, runtime, run, ['printf "a\\377b\\n"; head -c 1100000 /dev/zero']);
    await readAll(store, run.metadata.uid!);
    const output = lines.filter((line) => line.msg === 'run output');
    assert.deepEqual(Object.keys(output[0]), ['ts', 'msg', 'run', 'namespace', 'runUID', 'stream', 'data']);
    assert.equal(output[0].run, 'hello');
    assert.equal(output[0].namespace, 'team-a');
    assert.equal(output[0].runUID, run.metadata.uid);
    assert.match(output[0].ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const copied = Buffer.concat(output.map((line) => Buffer.from(line.data!, 'base64')));
    assert.equal(copied.length, 1024 * 1024);
    assert.deepEqual(copied.subarray(0, 4), Buffer.from([0x61, 0xff, 0x62, 0x0a]));
    for (const line of lines) assert.ok(JSON.stringify(line).length < 16 * 1024);
    const truncated = lines.filter((line) => line.msg === 'run output truncated');
    assert.equal(truncated.length, 1);
    assert.equal(truncated[0].limitBytes, 1024 * 1024);
    assert.equal(lines.at(-1)!.msg, 'run output truncated');
  });

  it('says the container-log copy was cut even when a chunk ended exactly at the bound', async () => {
    const { runtime, outputs } = await setUp({ containerLogBytes: 4 });
    const run = newRun();
    await runThrough(outputs, runtime, run, ['printf abcd; sleep 0.1; printf efgh']);
    await readAll(store, run.metadata.uid!);
    assert.deepEqual(
      lines.map((line) => (line.data === undefined ? line.msg : Buffer.from(line.data, 'base64').toString())),
      ['abcd', 'run output truncated'],
    );
  });

  it('stores the final Status output for a Runtime Server without Output', async () => {
    const { runtime, outputs } = await setUp({ serveOutput: false });
    const run = newRun();
    await runThrough(outputs, runtime, run, ['echo out; echo err >&2']);
    assert.equal((await readAll(store, run.metadata.uid!, 'stdout')).bytes.toString(), 'out\n');
    const stderr = await readAll(store, run.metadata.uid!, 'stderr');
    assert.equal(stderr.bytes.toString(), 'err\n');
    assert.equal(stderr.truncated, false);
    assert.equal(runtime.client.usesOutput, false);
    assert.deepEqual(
      lines.map((line) => [line.stream, Buffer.from(line.data!, 'base64').toString()]),
      [
        ['stdout', 'out\n'],
        ['stderr', 'err\n'],
      ],
    );
    // Later Runs go straight to the fallback.
    const next = newRun();
    await runThrough(outputs, runtime, next, ['echo again']);
    assert.equal((await readAll(store, next.metadata.uid!)).bytes.toString(), 'again\n');
  });

  it('marks the fallback log truncated when the server truncated Status', async () => {
    const { runtime, outputs } = await setUp({ serveOutput: false });
    const run = newRun();
    await runThrough(outputs, runtime, run, ['head -c 1100000 /dev/zero']);
    assert.equal((await readAll(store, run.metadata.uid!)).truncated, true);
  });

  it('closes an empty, complete log when nothing ran, and drops it when the claim was lost', async () => {
    const { outputs } = await setUp();
    const unstarted = newRun();
    outputs.begin(unstarted);
    outputs.end(unstarted.metadata.uid!);
    assert.deepEqual(await readAll(store, unstarted.metadata.uid!), {
      bytes: Buffer.alloc(0),
      truncated: false,
    });
    const lost = newRun();
    outputs.begin(lost);
    outputs.discard(lost.metadata.uid!);
    await eventually(() => !store.has(lost.metadata.uid!));
  });
});
