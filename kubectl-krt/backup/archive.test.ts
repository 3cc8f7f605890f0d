import assert from 'node:assert/strict';
import { createGunzip, createGzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { ARCHIVE_FORMAT, ArchiveError, type BackupContents, readArchive, writeArchive } from './archive.ts';

const contents: BackupContents = {
  runtimes: [{ metadata: { name: 'bash', namespace: 'a', uid: 'u1' }, spec: { template: { spec: { containers: [] } } } }],
  runs: [
    {
      metadata: { name: 'r1', namespace: 'a', uid: 'u2', creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: { runtime: 'bash' },
      status: { phase: 'Succeeded', outputs: { k: 'v' } },
    },
  ],
  workflows: [],
  secrets: [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'a' }, data: { k: 'dg==' } }],
  installRecord: { version: '0.1.0', 'runtimes-namespaces': '["a"]' },
};
const meta = { version: '0.1.0', created: '2026-02-03T04:05:06.000Z', namespaces: ['a'], allNamespaces: false };

/** The archive's files, to tamper with. */
async function entries(data: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  extract.on('entry', (h, stream, next) => {
    buffer(stream).then((b) => {
      files.set(h.name, b);
      next();
    }, next);
  });
  await pipeline(Readable.from([data]), createGunzip(), extract);
  return files;
}
async function pack(files: Map<string, Buffer>): Promise<Buffer> {
  const p = tar.pack();
  for (const [name, data] of files) p.entry({ name, size: data.length }, data);
  p.finalize();
  const gzip = createGzip();
  const [out] = await Promise.all([buffer(gzip), pipeline(p, gzip)]);
  return out;
}

describe('backup archive', () => {
  it('round-trips every object with its status, the Secrets and the install record', async () => {
    const { manifest, data } = await writeArchive(contents, meta);
    assert.equal(manifest.format, ARCHIVE_FORMAT);
    assert.deepEqual(manifest.counts, { runtimes: 1, runs: 1, workflows: 0, secrets: 1, installRecord: 1 });
    assert.equal(manifest.includesSecrets, true);
    assert.match(manifest.files['runs.json'].sha256, /^[0-9a-f]{64}$/);
    const read = await readArchive(data);
    assert.deepEqual(read.contents, contents);
    assert.deepEqual(read.manifest, manifest);
    const names = [...(await entries(data)).keys()];
    assert.deepEqual(names, ['manifest.json', 'runtimes.json', 'runs.json', 'workflows.json', 'secrets.json', 'install-record.json']);
  });

  it('leaves out secrets.json without --include-secrets and reads that back as undefined', async () => {
    const { manifest, data } = await writeArchive({ ...contents, secrets: undefined, installRecord: undefined }, meta);
    assert.equal(manifest.includesSecrets, false);
    assert.equal(manifest.files['secrets.json'], undefined);
    const read = await readArchive(data);
    assert.equal(read.contents.secrets, undefined);
    assert.equal(read.contents.installRecord, undefined);
  });

  it('refuses a file whose checksum does not match, naming it', async () => {
    const files = await entries((await writeArchive(contents, meta)).data);
    files.set('runs.json', Buffer.from(files.get('runs.json')!.toString().replace('Succeeded', 'Failed')));
    await assert.rejects(readArchive(await pack(files)), (err: Error) => {
      assert.ok(err instanceof ArchiveError);
      assert.match(err.message, /^runs\.json does not match its checksum \(sha256 [0-9a-f]{64}, manifest says [0-9a-f]{64}\)/);
      return true;
    });
  });

  it('refuses missing, extra and miscounted files and what is not an archive', async () => {
    const files = await entries((await writeArchive(contents, meta)).data);
    const without = new Map(files);
    without.delete('runtimes.json');
    await assert.rejects(readArchive(await pack(without)), /runtimes\.json is listed in manifest\.json but missing/);
    const extra = new Map(files).set('evil.json', Buffer.from('[]'));
    await assert.rejects(readArchive(await pack(extra)), /evil\.json is in the archive but not in manifest\.json/);
    const noManifest = new Map(files);
    noManifest.delete('manifest.json');
    await assert.rejects(readArchive(await pack(noManifest)), /has no manifest\.json/);
    const m = JSON.parse(files.get('manifest.json')!.toString());
    m.counts.runs = 2;
    await assert.rejects(
      readArchive(await pack(new Map(files).set('manifest.json', Buffer.from(JSON.stringify(m))))),
      /counts 2 runs but the archive holds 1/,
    );
    m.format = 'other/v9';
    await assert.rejects(
      readArchive(await pack(new Map(files).set('manifest.json', Buffer.from(JSON.stringify(m))))),
      /has format "other\/v9"/,
    );
    await assert.rejects(readArchive(Buffer.from('hello')), /not a kruntimes backup archive/);
  });
});
