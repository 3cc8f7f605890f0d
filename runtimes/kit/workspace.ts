// Paths of an execution: the entrypoint must stay inside working_dir. The Run CRD already rejects
// absolute entrypoints and `..`; a Runtime Server checks again (defence in depth) and also catches
// symlinks in the workspace that point outside it.

import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, relative, sep } from 'node:path';

/** A request the server accepts but cannot run; its message becomes the FAILED error_message. */
export class RefusedError extends Error {
  override readonly name = 'RefusedError';
}

/** The real path of `entrypoint` inside `workingDir`, or a RefusedError saying why not. */
export function resolveEntrypoint(workingDir: string, entrypoint: string): string {
  if (isAbsolute(entrypoint)) {
    throw new RefusedError(`entrypoint "${entrypoint}" must be a relative path inside the working directory`);
  }
  if (entrypoint.split(/[\\/]/).includes('..')) {
    throw new RefusedError(`entrypoint "${entrypoint}" must not contain ".."`);
  }
  const realWorkingDir = realpathOrRefuse(workingDir, `working directory ${workingDir} does not exist`);
  const real = realpathOrRefuse(
    join(realWorkingDir, entrypoint),
    `entrypoint "${entrypoint}" not found in working directory ${workingDir}`,
  );
  if (!isInside(realWorkingDir, real)) {
    throw new RefusedError(`entrypoint "${entrypoint}" resolves outside the working directory`);
  }
  if (!statSync(real).isFile()) {
    throw new RefusedError(`entrypoint "${entrypoint}" is not a regular file`);
  }
  return real;
}

export function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

function realpathOrRefuse(path: string, message: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    throw new RefusedError(message);
  }
}

/**
 * The absolute path of an executable: a name is looked up in PATH (the server's, once, at start:
 * a Run's own PATH must not decide which interpreter runs it), a path is checked as given.
 * Undefined when there is no such executable.
 */
export function resolveExecutable(nameOrPath: string, path = process.env.PATH ?? ''): string | undefined {
  const candidates = nameOrPath.includes('/')
    ? [nameOrPath]
    : path
        .split(delimiter)
        .filter((dir) => dir !== '')
        .map((dir) => join(dir, nameOrPath));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  return undefined;
}
