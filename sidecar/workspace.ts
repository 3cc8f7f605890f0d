// The per-Run workspace on the volume runtimed shares with the Runtime Server:
// <root>/runs/<uid>/ holds the source; <root>/runs/<uid>/.krt/ the outputs file and artifacts dir.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Run } from '../lib/api.ts';
import { validateEntrypoint } from '../lib/validation.ts';
import { cloneInto, GitSourceError } from './git-source.ts';

export interface RunWorkspace {
  dir: string;
  outputsFile: string;
  artifactsDir: string;
}

export function workspaceOf(root: string, uid: string): RunWorkspace {
  const dir = path.join(root, 'runs', uid);
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
  // A retried attempt starts from a clean directory.
  await rm(ws.dir, { recursive: true, force: true });
  await mkdir(ws.artifactsDir, { recursive: true });
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

export async function readOutputs(ws: RunWorkspace): Promise<string> {
  try {
    return await readFile(ws.outputsFile, 'utf8');
  } catch {
    return '';
  }
}

export async function removeWorkspace(ws: RunWorkspace): Promise<void> {
  await rm(ws.dir, { recursive: true, force: true });
}
