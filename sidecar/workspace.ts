// The per-Run workspace on the volume runtimed shares with the Runtime Server:
// <root>/runs/<uid>/ holds the source; <root>/runs/<uid>/.krt/ the outputs file and artifacts dir.
import { constants as fsConstants } from 'node:fs';
import { type FileHandle, mkdir, open, realpath, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Limits, Reason, type Run, WORKSPACE_RUNS_DIR } from '../lib/api.ts';
import { validateEntrypoint } from '../lib/validation.ts';
import { cloneInto, GitSourceError } from './git-source.ts';

export interface RunWorkspace {
  dir: string;
  outputsFile: string;
  artifactsDir: string;
}

export function workspaceOf(root: string, uid: string): RunWorkspace {
  const dir = path.join(root, WORKSPACE_RUNS_DIR, uid);
  return {
    dir,
    outputsFile: path.join(dir, '.krt', 'outputs'),
    artifactsDir: path.join(dir, '.krt', 'artifacts'),
  };
}

/** A typed error for source preparation, so the caller can report reason PrepareSource. */
export class PrepareSourceError extends Error {
  override readonly name = 'PrepareSourceError';
}

export async function prepareWorkspace(root: string, run: Run): Promise<RunWorkspace> {
  const ws = workspaceOf(root, run.metadata.uid!);
  await freshDirectory(ws.dir);
  await mkdir(path.dirname(ws.artifactsDir));
  await mkdir(ws.artifactsDir);
  await writeFile(ws.outputsFile, '');
  const { entrypoint, source } = run.spec;
  if (source?.git) {
    try {
      await cloneInto(ws.dir, source.git, { scratch: path.join(ws.dir, '.krt', 'clone') });
    } catch (err) {
      if (err instanceof GitSourceError) throw new PrepareSourceError(err.message);
      throw err;
    }
  }
  if (source?.inline !== undefined) {
    const problem =
      entrypoint === undefined ? 'an inline source needs spec.entrypoint' : validateEntrypoint(entrypoint);
    if (problem) throw new PrepareSourceError(problem);
    const file = path.resolve(ws.dir, entrypoint!);
    if (!file.startsWith(ws.dir + path.sep))
      throw new PrepareSourceError(`entrypoint ${entrypoint} escapes the workspace`);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, source.inline, { mode: 0o755 });
  }
  return ws;
}

/**
 * Makes `dir` an empty directory. A new Run's does not exist yet, so one mkdir does; a retried
 * attempt's (or one left by a runtimed that restarted) is removed first, and a missing parent made.
 * A recursive rm of the path that is not there took ≈ 0.7 ms of runtimed's main thread per Run
 * (a profile at 11 Runs/s).
 */
async function freshDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') await rm(dir, { recursive: true, force: true });
    else if (code !== 'ENOENT') throw err;
    await mkdir(dir, { recursive: true });
  }
}

/** Why the outputs file was not read: the Run fails with this reason (never retried). */
export interface OutputsProblem {
  reason: typeof Reason.OutputsInvalid | typeof Reason.OutputsTooLarge;
  message: string;
}

/** The most runtimed reads of an outputs file; parseOutputs refuses the same size. */
const OUTPUTS_READ_MAX = Limits.outputsTotalBytes * 4;

/**
 * The workload's outputs file, read defensively: the workload controls the workspace, so the file
 * may be a symbolic link to one of runtimed's own files (its API token), a FIFO that would block,
 * huge, or not UTF-8. Only a regular file inside the workspace, within the bound, in valid UTF-8
 * is read; '' when there is none.
 */
export async function readOutputs(ws: RunWorkspace): Promise<string | OutputsProblem> {
  const invalid = (message: string): OutputsProblem => ({ reason: Reason.OutputsInvalid, message });
  const outside = invalid('$KRUNTIME_OUTPUTS points outside the Run workspace');
  // Its directory replaced by a link elsewhere: refused even when nothing is there to read.
  const [dirReal, root] = await Promise.all([
    realpath(path.dirname(ws.outputsFile)).catch(() => undefined),
    realpath(ws.dir).catch(() => ws.dir),
  ]);
  if (dirReal !== undefined && !dirReal.startsWith(root + path.sep)) return outside;
  let handle: FileHandle;
  try {
    handle = await open(ws.outputsFile, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return '';
    if (code === 'ELOOP') return invalid('$KRUNTIME_OUTPUTS is a symbolic link; it must be a regular file');
    return invalid(`$KRUNTIME_OUTPUTS cannot be read (${code ?? 'error'})`);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return invalid('$KRUNTIME_OUTPUTS is not a regular file');
    // O_NOFOLLOW covers the file itself; a directory on its path replaced by a link is caught here.
    if (!(await realpath(ws.outputsFile)).startsWith(root + path.sep)) return outside;
    if (st.size > OUTPUTS_READ_MAX)
      return { reason: Reason.OutputsTooLarge, message: `outputs file exceeds ${OUTPUTS_READ_MAX} bytes` };
    const buf = Buffer.alloc(st.size);
    const { bytesRead } = await handle.read(buf, 0, st.size, 0);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, bytesRead));
    } catch {
      return invalid('$KRUNTIME_OUTPUTS is not valid UTF-8');
    }
  } finally {
    await handle.close();
  }
}

export async function removeWorkspace(ws: RunWorkspace): Promise<void> {
  await rm(ws.dir, { recursive: true, force: true });
}
