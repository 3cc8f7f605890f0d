// Records every path the process opens, creates or removes through node:fs, so that a test can say
// "no file outside these directories was read or written". Wraps the functions on the fs module
// objects and re-syncs the ESM named exports (syncBuiltinESMExports), so that modules which
// imported { open } from 'node:fs/promises' go through the wrapper too. Child processes are not seen.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';

export type FsAccess = 'read' | 'write';
export interface FsEvent {
  access: FsAccess;
  fn: string;
  path: string;
}

const SYNC: Record<string, FsAccess> = {
  openSync: 'read', // refined by its flags below
  readFileSync: 'read',
  writeFileSync: 'write',
  appendFileSync: 'write',
  mkdirSync: 'write',
  rmSync: 'write',
  unlinkSync: 'write',
  renameSync: 'write',
  copyFileSync: 'write',
  symlinkSync: 'write',
  createReadStream: 'read',
  createWriteStream: 'write',
};
const PROMISES: Record<string, FsAccess> = {
  open: 'read',
  readFile: 'read',
  writeFile: 'write',
  appendFile: 'write',
  mkdir: 'write',
  rm: 'write',
  unlink: 'write',
  rename: 'write',
  copyFile: 'write',
  symlink: 'write',
};

function accessOf(fn: string, base: FsAccess, args: unknown[]): FsAccess {
  if (fn !== 'open' && fn !== 'openSync') return base;
  const flags = args[1];
  return typeof flags === 'string' && /[wa+]/.test(flags) ? 'write' : typeof flags === 'number' && flags & 3 ? 'write' : 'read';
}

/** Starts recording; the returned stop() puts the originals back and returns what was seen. */
export function spyOnFs(): { events: FsEvent[]; stop: () => FsEvent[] } {
  const events: FsEvent[] = [];
  const restore: Array<() => void> = [];
  const wrap = (target: Record<string, unknown>, table: Record<string, FsAccess>) => {
    for (const [fn, access] of Object.entries(table)) {
      const original = target[fn] as (...args: unknown[]) => unknown;
      if (typeof original !== 'function') continue;
      target[fn] = function (this: unknown, ...args: unknown[]) {
        const p = args[0];
        if (typeof p === 'string' || Buffer.isBuffer(p) || p instanceof URL) {
          events.push({ access: accessOf(fn, access, args), fn, path: path.resolve(String(p instanceof URL ? p.pathname : p)) });
        }
        return original.apply(this, args);
      };
      restore.push(() => {
        target[fn] = original;
      });
    }
  };
  wrap(fs as unknown as Record<string, unknown>, SYNC);
  wrap(fs.promises as unknown as Record<string, unknown>, PROMISES);
  syncBuiltinESMExports();
  return {
    events,
    stop: () => {
      for (const r of restore) r();
      syncBuiltinESMExports();
      return events;
    },
  };
}

/** The events whose path is not inside any of the directories. */
export function outside(events: readonly FsEvent[], dirs: readonly string[]): FsEvent[] {
  const roots = dirs.map((d) => path.resolve(d));
  return events.filter((e) => !roots.some((r) => e.path === r || e.path.startsWith(r + path.sep)));
}
