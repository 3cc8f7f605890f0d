// The per-platform release archive: a gzipped tar of the plugin executable and LICENSE, with fixed
// owners and timestamps so the same inputs give the same bytes (and the same Krew sha256).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import tar from 'tar-stream';

const gzipAsync = promisify(gzip);

export interface ArchiveEntry {
  name: string;
  data: Buffer;
  mode: number;
}

export async function tarGz(entries: readonly ArchiveEntry[], mtime: Date): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      pack.entry({ name: e.name, size: e.data.length, mode: e.mode, mtime, uid: 0, gid: 0, uname: 'root', gname: 'root' }, e.data, (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await done;
  return gzipAsync(Buffer.concat(chunks), { level: 9 });
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  return sha256Hex(await readFile(path));
}
