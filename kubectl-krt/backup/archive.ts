// The backup archive: one tar.gz holding manifest.json (what is inside, counted, with the sha256 of
// every other file) and one JSON file per kind of object. Reading verifies every checksum before
// anything is restored, so a truncated or edited archive is refused instead of half-applied.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import tar from 'tar-stream';
import type { Run, Runtime, Workflow } from '../../lib/api.ts';

export const ARCHIVE_FORMAT = 'kruntimes.io/backup/v1';
export const MANIFEST_FILE = 'manifest.json';

export const ArchiveFile = {
  Runtimes: 'runtimes.json',
  Runs: 'runs.json',
  Workflows: 'workflows.json',
  Secrets: 'secrets.json',
  InstallRecord: 'install-record.json',
} as const;
export type ArchiveFile = (typeof ArchiveFile)[keyof typeof ArchiveFile];

/** A Secret as backed up: enough to create it again, nothing the server fills in. */
export interface SecretObject {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  type?: string;
  data?: Record<string, string>;
}

/** The ConfigMap kubectl krt install writes: what was installed, with which values. */
export interface InstallRecordData {
  [key: string]: string;
}

export interface BackupContents {
  runtimes: Runtime[];
  runs: Run[];
  workflows: Workflow[];
  /** Undefined when the backup was taken without --include-secrets. */
  secrets?: SecretObject[];
  /** The install record's data; undefined when the cluster had none. */
  installRecord?: InstallRecordData;
}

export interface Manifest {
  format: typeof ARCHIVE_FORMAT;
  /** The plugin version that wrote the archive. */
  version: string;
  created: string;
  /** The namespaces backed up; empty with allNamespaces. */
  namespaces: string[];
  allNamespaces: boolean;
  includesSecrets: boolean;
  counts: { runtimes: number; runs: number; workflows: number; secrets: number; installRecord: number };
  files: Record<string, { sha256: string; size: number }>;
}

/** The archive is unreadable, incomplete or altered; the message says which file and how. */
export class ArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveError';
  }
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const json = (value: unknown) => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);

/** The files of an archive (name → bytes) and the manifest describing them. */
export function archiveFiles(
  contents: BackupContents,
  meta: { version: string; created: string; namespaces: string[]; allNamespaces: boolean },
): { manifest: Manifest; files: Map<string, Buffer> } {
  const files = new Map<string, Buffer>([
    [ArchiveFile.Runtimes, json(contents.runtimes)],
    [ArchiveFile.Runs, json(contents.runs)],
    [ArchiveFile.Workflows, json(contents.workflows)],
  ]);
  if (contents.secrets) files.set(ArchiveFile.Secrets, json(contents.secrets));
  if (contents.installRecord) files.set(ArchiveFile.InstallRecord, json(contents.installRecord));
  const manifest: Manifest = {
    format: ARCHIVE_FORMAT,
    version: meta.version,
    created: meta.created,
    namespaces: meta.allNamespaces ? [] : [...meta.namespaces].sort(),
    allNamespaces: meta.allNamespaces,
    includesSecrets: contents.secrets !== undefined,
    counts: {
      runtimes: contents.runtimes.length,
      runs: contents.runs.length,
      workflows: contents.workflows.length,
      secrets: contents.secrets?.length ?? 0,
      installRecord: contents.installRecord ? 1 : 0,
    },
    files: Object.fromEntries([...files].map(([name, data]) => [name, { sha256: sha256(data), size: data.length }])),
  };
  return { manifest, files };
}

/** The tar.gz bytes: manifest.json first, then the files in a fixed order. */
export async function writeArchive(
  contents: BackupContents,
  meta: { version: string; created: string; namespaces: string[]; allNamespaces: boolean },
): Promise<{ manifest: Manifest; data: Buffer }> {
  const { manifest, files } = archiveFiles(contents, meta);
  const pack = tar.pack();
  const mtime = new Date(meta.created);
  const entries: Array<[string, Buffer]> = [[MANIFEST_FILE, json(manifest)], ...files];
  for (const [name, data] of entries) pack.entry({ name, size: data.length, mode: 0o600, mtime }, data);
  pack.finalize();
  const gzip = createGzip();
  const [data] = await Promise.all([buffer(gzip), pipeline(pack, gzip)]);
  return { manifest, data };
}

/** Reads and verifies an archive: every file the manifest lists, present and matching its sha256. */
export async function readArchive(data: Buffer): Promise<{ manifest: Manifest; contents: BackupContents }> {
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    buffer(stream).then((bytes) => {
      if (header.type === 'file') files.set(header.name, bytes);
      next();
    }, next);
  });
  try {
    await pipeline(Readable.from([data]), createGunzip(), extract);
  } catch (err) {
    throw new ArchiveError(
      `not a kruntimes backup archive (a tar.gz): ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const manifestData = files.get(MANIFEST_FILE);
  if (!manifestData) throw new ArchiveError(`the archive has no ${MANIFEST_FILE}: it was not written by kubectl krt backup`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(manifestData.toString('utf8')) as Manifest;
  } catch {
    throw new ArchiveError(`${MANIFEST_FILE} is not valid JSON`);
  }
  if (manifest.format !== ARCHIVE_FORMAT) {
    throw new ArchiveError(
      `${MANIFEST_FILE} has format "${String(manifest.format)}"; this plugin reads ${ARCHIVE_FORMAT}: use the plugin version that wrote it (${String(manifest.version)})`,
    );
  }
  for (const name of files.keys()) {
    if (name !== MANIFEST_FILE && !(name in manifest.files))
      throw new ArchiveError(`${name} is in the archive but not in ${MANIFEST_FILE}: the archive was altered`);
  }
  const parsed = new Map<string, unknown>();
  for (const [name, expected] of Object.entries(manifest.files)) {
    const bytes = files.get(name);
    if (!bytes) throw new ArchiveError(`${name} is listed in ${MANIFEST_FILE} but missing from the archive`);
    const actual = sha256(bytes);
    if (actual !== expected.sha256) {
      throw new ArchiveError(
        `${name} does not match its checksum (sha256 ${actual}, manifest says ${expected.sha256}): the archive is corrupt or was altered`,
      );
    }
    try {
      parsed.set(name, JSON.parse(bytes.toString('utf8')));
    } catch {
      throw new ArchiveError(`${name} is not valid JSON`);
    }
  }
  const list = <T>(name: ArchiveFile): T[] => {
    const v = parsed.get(name);
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw new ArchiveError(`${name} must hold a JSON array`);
    return v as T[];
  };
  const contents: BackupContents = {
    runtimes: list<Runtime>(ArchiveFile.Runtimes),
    runs: list<Run>(ArchiveFile.Runs),
    workflows: list<Workflow>(ArchiveFile.Workflows),
    secrets: parsed.has(ArchiveFile.Secrets) ? list<SecretObject>(ArchiveFile.Secrets) : undefined,
    installRecord: parsed.get(ArchiveFile.InstallRecord) as InstallRecordData | undefined,
  };
  const counts = {
    runtimes: contents.runtimes.length,
    runs: contents.runs.length,
    workflows: contents.workflows.length,
    secrets: contents.secrets?.length ?? 0,
    installRecord: contents.installRecord ? 1 : 0,
  };
  for (const [kind, n] of Object.entries(counts)) {
    const said = manifest.counts?.[kind as keyof Manifest['counts']];
    if (said !== n) throw new ArchiveError(`${MANIFEST_FILE} counts ${said} ${kind} but the archive holds ${n}`);
  }
  return { manifest, contents };
}
