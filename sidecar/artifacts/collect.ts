// Turns the top-level entries of $KRUNTIME_ARTIFACTS_DIR into files ready to upload: a file as
// it is, a directory packed as a deterministic tar.gz (sorted entries, mtime 0, uid/gid 0, modes
// normalized), each with its size and sha256. Anything that is not a plain file or directory —
// symlinks (wherever they point), devices, sockets, FIFOs — is refused, so nothing can resolve
// outside the directory.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import { ArtifactType, Limits } from '../../lib/api.ts';

export const ContentType = {
  Directory: 'application/gzip',
  File: 'application/octet-stream',
} as const;

export interface CollectedArtifact {
  name: string;
  type: ArtifactType;
  /** The local file to upload (the packed tar.gz for a directory). */
  file: string;
  size: number;
  digest: string;
  contentType: string;
}

export interface CollectLimits {
  entries: number;
  artifactBytes: number;
  runBytes: number;
}

export const DEFAULT_COLLECT_LIMITS: CollectLimits = {
  entries: Limits.artifactRefs,
  artifactBytes: Limits.artifactBytes,
  runBytes: Limits.runArtifactsBytes,
};

/** The Run's artifacts break a rule: the Run fails with reason ArtifactInvalid. */
export class ArtifactInvalidError extends Error {
  override readonly name = 'ArtifactInvalidError';
}

export interface CollectOptions {
  dir: string;
  /** Where packed directories are written (outside `dir`). */
  scratchDir: string;
  limits?: CollectLimits;
}

export async function collectArtifacts(options: CollectOptions): Promise<CollectedArtifact[]> {
  const limits = options.limits ?? DEFAULT_COLLECT_LIMITS;
  const dir = options.dir;
  let top;
  try {
    top = await lstat(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  if (!top.isDirectory())
    throw new ArtifactInvalidError('$KRUNTIME_ARTIFACTS_DIR must be a directory, not a symlink or a file');
  const entries = (await readdir(dir)).sort();
  if (entries.length === 0) return [];
  if (entries.length > limits.entries)
    throw new ArtifactInvalidError(
      `$KRUNTIME_ARTIFACTS_DIR has ${entries.length} entries; at most ${limits.entries} are allowed (put files in a directory)`,
    );
  // Walk first, so a bad entry anywhere fails the Run before anything is packed or uploaded.
  const plans: Array<{ name: string; files?: TreeEntry[]; size: number }> = [];
  let planned = 0;
  for (const name of entries) {
    const full = path.join(dir, name);
    const st = await lstat(full);
    if (st.isFile()) {
      plans.push({ name, size: st.size });
      planned += st.size;
    } else if (st.isDirectory()) {
      const files = await walk(dir, name);
      const size = files.reduce((n, f) => n + f.size, 0);
      plans.push({ name, files, size });
      planned += size;
    } else throw new ArtifactInvalidError(await refusal(dir, name, st));
    const last = plans.at(-1)!;
    if (last.size > limits.artifactBytes)
      throw new ArtifactInvalidError(`artifact ${name} is ${last.size} bytes; at most ${limits.artifactBytes} are allowed`);
    if (planned > limits.runBytes)
      throw new ArtifactInvalidError(`the artifacts exceed ${limits.runBytes} bytes per Run`);
  }
  await mkdir(options.scratchDir, { recursive: true });
  const out: CollectedArtifact[] = [];
  for (const plan of plans) {
    if (plan.files === undefined) {
      const file = path.join(dir, plan.name);
      const { size, digest } = await digestOf(file);
      out.push({ name: plan.name, type: ArtifactType.File, file, size, digest, contentType: ContentType.File });
    } else {
      const file = path.join(options.scratchDir, `${plan.name}.tar.gz`);
      await packDirectory(dir, plan.files, file);
      const { size, digest } = await digestOf(file);
      if (size > limits.artifactBytes)
        throw new ArtifactInvalidError(`artifact ${plan.name} packs to ${size} bytes; at most ${limits.artifactBytes} are allowed`);
      out.push({ name: plan.name, type: ArtifactType.Directory, file, size, digest, contentType: ContentType.Directory });
    }
  }
  return out;
}

interface TreeEntry {
  /** Relative to the artifacts dir, '/'-separated. */
  rel: string;
  type: 'file' | 'directory';
  size: number;
  mode: number;
}

async function walk(root: string, rel: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const st = await lstat(path.join(root, rel));
  out.push({ rel, type: 'directory', size: 0, mode: st.mode });
  for (const name of (await readdir(path.join(root, rel))).sort()) {
    const child = `${rel}/${name}`;
    const cst = await lstat(path.join(root, child));
    if (cst.isDirectory()) out.push(...(await walk(root, child)));
    else if (cst.isFile()) out.push({ rel: child, type: 'file', size: cst.size, mode: cst.mode });
    else throw new ArtifactInvalidError(await refusal(root, child, cst));
  }
  return out;
}

async function refusal(root: string, rel: string, st: Stats): Promise<string> {
  if (st.isSymbolicLink()) {
    let target = '';
    try {
      target = await realpath(path.join(root, rel));
    } catch {
      return `artifact ${rel} is a symlink (dangling); symlinks are not stored`;
    }
    const inside = target === root || target.startsWith(root + path.sep);
    return inside
      ? `artifact ${rel} is a symlink; symlinks are not stored`
      : `artifact ${rel} is a symlink resolving outside the artifacts directory; symlinks are not stored`;
  }
  const kind = st.isSocket()
    ? 'a socket'
    : st.isFIFO()
      ? 'a FIFO'
      : st.isBlockDevice() || st.isCharacterDevice()
        ? 'a device'
        : 'a special file';
  return `artifact ${rel} is ${kind}; only regular files and directories are stored`;
}

async function packDirectory(root: string, entries: TreeEntry[], target: string): Promise<void> {
  const pack = tarPack();
  const written = pipeline(pack, createGzip({ level: 6 }), createWriteStream(target));
  const common = { mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '' };
  for (const e of entries) {
    const exec = (e.mode & 0o111) !== 0;
    if (e.type === 'directory') {
      await new Promise<void>((resolve, reject) =>
        pack.entry({ ...common, name: `${e.rel}/`, type: 'directory', mode: 0o755 }, (err) => (err ? reject(err) : resolve())),
      );
      continue;
    }
    // Open first and read what was opened: the size in the header is the size of those bytes.
    const handle = await open(path.join(root, e.rel), 'r');
    try {
      const { size } = await handle.stat();
      const sink = pack.entry({ ...common, name: e.rel, type: 'file', size, mode: exec ? 0o755 : 0o644 });
      if (size === 0) {
        await new Promise<void>((resolve, reject) => sink.end((err?: Error | null) => (err ? reject(err) : resolve())));
      } else await pipeline(handle.createReadStream({ start: 0, end: size - 1, autoClose: false }), sink);
    } finally {
      await handle.close();
    }
  }
  pack.finalize();
  await written;
}

async function digestOf(file: string): Promise<{ size: number; digest: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, digest: `sha256:${hash.digest('hex')}` };
}
