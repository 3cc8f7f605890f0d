// Running the build's commands: output goes to a log file under <cache>/real-node/logs (a failure
// throws with the log's last lines), progress lines go to stderr with the elapsed time. Heavy
// commands run under `nice` so that a benchmark or e2e run on the same 2-core machine keeps priority.
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

const started = Date.now();

function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** One progress line on stderr: `[real-node +1m05s] message`. */
export function progress(message: string): void {
  process.stderr.write(`[real-node +${clock(Date.now() - started)}] ${message}\n`);
}

/** Runs fn as a named step: a line when it starts and one with its duration when it ends. Returns fn's value and the seconds taken. */
export async function step<T>(label: string, fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const t0 = Date.now();
  progress(`${label} …`);
  try {
    const value = await fn();
    const seconds = (Date.now() - t0) / 1000;
    progress(`${label}: done in ${seconds.toFixed(1)} s`);
    return { value, seconds };
  } catch (err) {
    progress(`${label}: FAILED after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    throw err;
  }
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Appends stdout and stderr to this file instead of keeping them. */
  log?: string;
  /** Runs under `nice -n 10`. */
  nice?: boolean;
  /** Data for stdin. */
  input?: string | Buffer;
}

export class CommandError extends Error {
  override name = 'CommandError';
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Runs a command to completion; resolves with its stdout (empty when it went to a log file). */
export async function run(command: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const argv = opts.nice ? ['nice', '-n', '10', command, ...args] : [command, ...args];
  let logStream: ReturnType<typeof createWriteStream> | undefined;
  if (opts.log) {
    await mkdir(path.dirname(opts.log), { recursive: true });
    logStream = createWriteStream(opts.log, { flags: 'a' });
    logStream.write(`\n$ ${argv.join(' ')}\n`);
  }
  const child = spawn(argv[0], argv.slice(1), { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => (logStream ? logStream.write(d) : out.push(d)));
  child.stderr.on('data', (d: Buffer) => (logStream ? logStream.write(d) : err.push(d)));
  // A command that exits without reading its stdin (git rev-parse) makes the write fail with EPIPE;
  // its exit code is what counts.
  child.stdin.on('error', () => {});
  child.stdin.end(opts.input ?? '');
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c));
  });
  if (logStream) await new Promise<void>((resolve) => logStream.end(resolve));
  if (code !== 0) {
    const detail = opts.log ? `last lines of ${opts.log}:\n${tail(opts.log, 30)}` : Buffer.concat(err).toString('utf8').trim();
    throw new CommandError(`${argv.join(' ')} exited with ${code}\n${detail}`);
  }
  return Buffer.concat(out).toString('utf8');
}

/** Installs the Debian packages that are missing (as root, with apt-get), quietly when none is. */
export async function ensureDebianPackages(packages: readonly string[], log: string): Promise<void> {
  const missing: string[] = [];
  for (const p of packages) {
    const status = await run('dpkg-query', ['-W', '-f=${Status}', p]).catch(() => '');
    if (!status.includes('install ok installed')) missing.push(p);
  }
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new CommandError(`missing Debian packages ${missing.join(' ')}: apt-get install them or run as root`);
  progress(`installing ${missing.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update', '-qq'], { env, log });
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env, log });
}
