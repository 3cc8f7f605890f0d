// Helpers to test a Runtime Server in-process: a real server on a free port, a real client, a
// scratch working directory. Used by the kit's own tests and usable by custom runtimes.

import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ExecuteInput, RuntimeServerClient } from '../../lib/runtime-client.ts';
import type { StatusResponse } from '../../lib/runtime-proto.ts';
import { silentLogger } from './log.ts';
import { type RuntimeServer, type RuntimeServerOptions, startRuntimeServer } from './server.ts';

export interface TestRuntime {
  server: RuntimeServer;
  client: RuntimeServerClient;
  /** A fresh directory, used as working_dir unless a request names another. */
  workDir: string;
  /** Execute with a unique id (unless given) and workDir; returns the id. */
  start(request?: Partial<ExecuteInput>): Promise<string>;
  /** start() then wait until finished. */
  run(request?: Partial<ExecuteInput>, options?: { timeoutMs?: number }): Promise<StatusResponse>;
  close(): Promise<void>;
}

export async function startTestRuntime(options: RuntimeServerOptions): Promise<TestRuntime> {
  const workDir = mkdtempSync(join(tmpdir(), 'krt-test-'));
  const server = await startRuntimeServer({
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger,
    workRoot: join(workDir, '.work-root'),
    ...options,
  });
  const client = new RuntimeServerClient({ address: server.address });
  const start = async (request: Partial<ExecuteInput> = {}) => {
    const id = request.id ?? `test-${randomUUID()}`;
    await client.execute({ workingDir: workDir, ...request, id });
    return id;
  };
  return {
    server,
    client,
    workDir,
    start,
    async run(request = {}, runOptions = {}) {
      const id = await start(request);
      return client.waitFor(id, { timeoutMs: runOptions.timeoutMs ?? 8000 });
    },
    async close() {
      client.close();
      await server.shutdown({ graceMs: 0 });
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** Whether a process exists and is not a zombie (zombies are dead but not yet reaped). */
export function isProcessAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state letter follows the parenthesised command name, which may itself contain spaces.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Polls check every 10 ms until it returns true or timeoutMs passes. */
export async function eventually(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${check}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for a server started as a process). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}
