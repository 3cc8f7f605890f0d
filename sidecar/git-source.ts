// spec.source.git: clones the repository into the Run's workspace with git itself, bounded in
// time and size, over https, ssh or file:// only. A failure is a PrepareSourceError carrying git's
// own (bounded) message.
import { spawn } from 'node:child_process';
import { lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { GitSource } from '../lib/api.ts';
import { tail } from '../lib/message.ts';

export interface GitLimits {
  timeoutMs: number;
  maxBytes: number;
}

export const DEFAULT_GIT_LIMITS: GitLimits = { timeoutMs: 120_000, maxBytes: 512 * 1024 * 1024 };
const MESSAGE_BYTES = 512;
const TRUST_ENV = ['GIT_SSL_CAINFO', 'GIT_SSL_CAPATH', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'CURL_CA_BUNDLE'];

export class GitSourceError extends Error {
  override readonly name = 'GitSourceError';
}

/** The repository URL's transport, or an error message when it is not https, ssh or file. */
export function checkRepositoryUrl(url: string): string | undefined {
  if (/^https:\/\//i.test(url) || /^ssh:\/\//i.test(url) || /^file:\/\//i.test(url)) return undefined;
  // scp-like ssh: user@host:path (no scheme, a colon before any slash).
  if (/^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/]/.test(url) || /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:\//.test(url)) return undefined;
  return `spec.source.git.repository ${redact(url)} is not supported: use an https://, ssh:// (or user@host:path) or file:// URL`;
}

/** Removes credentials from a URL before it appears in a message. */
export function redact(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1***@');
}

/** Clones `source` and leaves its files (or its subPath's) directly in `dir`, next to `keep`. */
export async function cloneInto(
  dir: string,
  source: GitSource,
  options: { scratch: string; limits?: GitLimits } ,
): Promise<void> {
  const limits = options.limits ?? DEFAULT_GIT_LIMITS;
  const problem = checkRepositoryUrl(source.repository);
  if (problem) throw new GitSourceError(problem);
  const clone = options.scratch;
  await rm(clone, { recursive: true, force: true });
  await mkdir(path.dirname(clone), { recursive: true });
  const deadline = Date.now() + limits.timeoutMs;
  const what = `git clone ${redact(source.repository)}`;
  if (source.commit) {
    await git(['clone', '--no-checkout', '--quiet', '--', source.repository, clone], { deadline, limits, watch: clone, what });
    await git(['-C', clone, 'checkout', '--quiet', '--detach', source.commit], { deadline, limits, watch: clone, what: `checking out ${source.commit}` });
  } else {
    const branch = source.ref ? ['--branch', source.ref] : [];
    await git(['clone', '--depth', '1', '--quiet', '--no-tags', ...branch, '--', source.repository, clone], {
      deadline,
      limits,
      watch: clone,
      what,
    });
  }
  // The watch during the clone samples; a fast clone can finish between two samples.
  if ((await sizeOf(clone)) > limits.maxBytes)
    throw new GitSourceError(`${what} failed: the repository is larger than ${limits.maxBytes} bytes`);
  const from = path.resolve(clone, source.subPath ?? '.');
  if (from !== clone && !from.startsWith(clone + path.sep))
    throw new GitSourceError(`spec.source.git.subPath ${source.subPath} escapes the repository`);
  let st;
  try {
    st = await lstat(from);
  } catch {
    throw new GitSourceError(`spec.source.git.subPath ${source.subPath} does not exist in the repository`);
  }
  if (!st.isDirectory()) throw new GitSourceError(`spec.source.git.subPath ${source.subPath} is not a directory in the repository`);
  for (const name of await readdir(from)) {
    if (name === '.krt') continue;
    await rename(path.join(from, name), path.join(dir, name));
  }
  await rm(clone, { recursive: true, force: true });
}

function git(
  args: string[],
  o: { deadline: number; limits: GitLimits; watch: string; what: string },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['-c', 'advice.detachedHead=false', '-c', 'core.hooksPath=/dev/null', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME ?? '/tmp',
        // Never prompt, never follow a redirect or submodule to another transport.
        GIT_TERMINAL_PROMPT: '0',
        GIT_ALLOW_PROTOCOL: 'https:ssh:file',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_SSH_COMMAND: 'ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new',
        // Trust settings the pod may carry (a private CA for an internal git server).
        ...Object.fromEntries(TRUST_ENV.filter((k) => process.env[k]).map((k) => [k, process.env[k]])),
      },
    });
    let stderr = '';
    let killed = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = tail(stderr + d.toString('utf8'), 4 * MESSAGE_BYTES);
    });
    const stop = (why: string) => {
      killed = why;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => stop(`took longer than ${Math.round(o.limits.timeoutMs / 1000)}s`), Math.max(0, o.deadline - Date.now()));
    const sizer = setInterval(() => {
      void sizeOf(o.watch).then((n) => {
        if (n > o.limits.maxBytes) stop(`is larger than ${o.limits.maxBytes} bytes`);
      });
    }, 500);
    const done = (err?: Error) => {
      clearTimeout(timer);
      clearInterval(sizer);
      if (err) reject(err);
      else resolve();
    };
    child.on('error', (err) => done(new GitSourceError(`${o.what} failed: ${err.message}`)));
    child.on('close', (code) => {
      if (killed) return done(new GitSourceError(`${o.what} failed: the repository ${killed}`));
      if (code === 0) return done();
      const message = tail(stderr.trim(), MESSAGE_BYTES) || `git exited with code ${code}`;
      done(new GitSourceError(`${o.what} failed: ${message}`));
    });
  });
}

async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  try {
    for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
      if (e.isFile()) total += (await lstat(path.join(e.parentPath, e.name)).catch(() => ({ size: 0 }))).size;
    }
  } catch {
    // Not created yet.
  }
  return total;
}
