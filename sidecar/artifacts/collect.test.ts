import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ArtifactType } from '../../lib/api.ts';
import { ArtifactInvalidError, collectArtifacts } from './collect.ts';

describe('collectArtifacts', () => {
  let root: string;
  let dir: string;
  const scratch = () => path.join(root, 'packed');
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'krt-collect-'));
    dir = path.join(root, 'artifacts');
    mkdirSync(dir);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('returns nothing for a missing or empty directory', async () => {
    assert.deepEqual(await collectArtifacts({ dir: path.join(root, 'none'), scratchDir: scratch() }), []);
    assert.deepEqual(await collectArtifacts({ dir, scratchDir: scratch() }), []);
  });

  it('stores a file as it is with its sha256, and a directory as tar.gz, sorted by name', async () => {
    writeFileSync(path.join(dir, 'result.txt'), 'artifact body\n');
    mkdirSync(path.join(dir, 'site/css'), { recursive: true });
    writeFileSync(path.join(dir, 'site/index.html'), '<h1>hi</h1>');
    writeFileSync(path.join(dir, 'site/css/a.css'), 'a{}');
    const got = await collectArtifacts({ dir, scratchDir: scratch() });
    assert.deepEqual(
      got.map((a) => [a.name, a.type, a.contentType]),
      [
        ['result.txt', ArtifactType.File, 'application/octet-stream'],
        ['site', ArtifactType.Directory, 'application/gzip'],
      ],
    );
    const sha = createHash('sha256').update('artifact body\n').digest('hex');
    assert.equal(got[0].digest, `sha256:${sha}`);
    assert.equal(got[0].size, 14);
    const packed = readFileSync(got[1].file);
    assert.equal(got[1].size, packed.length);
    assert.equal(got[1].digest, `sha256:${createHash('sha256').update(packed).digest('hex')}`);
  });

  it('packs directories deterministically: same content, same digest, whatever the mtimes', async () => {
    mkdirSync(path.join(dir, 'd'));
    writeFileSync(path.join(dir, 'd/b'), 'b');
    writeFileSync(path.join(dir, 'd/a'), 'a');
    const first = (await collectArtifacts({ dir, scratchDir: scratch() }))[0].digest;
    utimesSync(path.join(dir, 'd/a'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    const second = (await collectArtifacts({ dir, scratchDir: scratch() }))[0].digest;
    assert.equal(first, second);
  });

  it('refuses a symlink to /etc/passwd and a .. escape, naming the entry', async () => {
    symlinkSync('/etc/passwd', path.join(dir, 'passwd'));
    await assert.rejects(collectArtifacts({ dir, scratchDir: scratch() }), {
      name: 'ArtifactInvalidError',
      message: 'artifact passwd is a symlink resolving outside the artifacts directory; symlinks are not stored',
    });
    rmSync(path.join(dir, 'passwd'));
    mkdirSync(path.join(dir, 'd'));
    symlinkSync('../../..', path.join(dir, 'd/up'));
    await assert.rejects(collectArtifacts({ dir, scratchDir: scratch() }), {
      message: 'artifact d/up is a symlink resolving outside the artifacts directory; symlinks are not stored',
    });
  });

  it('refuses a socket and an artifacts dir that is a symlink', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(path.join(dir, 'sock'), r));
    try {
      await assert.rejects(collectArtifacts({ dir, scratchDir: scratch() }), {
        message: 'artifact sock is a socket; only regular files and directories are stored',
      });
    } finally {
      srv.close();
    }
    const link = path.join(root, 'link');
    symlinkSync('/etc', link);
    await assert.rejects(collectArtifacts({ dir: link, scratchDir: scratch() }), ArtifactInvalidError);
  });

  it('enforces the entry count and the size limits', async () => {
    for (let i = 0; i < 3; i++) writeFileSync(path.join(dir, `f${i}`), 'x'.repeat(10));
    const limits = { entries: 2, artifactBytes: 100, runBytes: 1000 };
    await assert.rejects(collectArtifacts({ dir, scratchDir: scratch(), limits }), {
      message: '$KRUNTIME_ARTIFACTS_DIR has 3 entries; at most 2 are allowed (put files in a directory)',
    });
    await assert.rejects(collectArtifacts({ dir, scratchDir: scratch(), limits: { ...limits, entries: 32, artifactBytes: 5 } }), {
      message: 'artifact f0 is 10 bytes; at most 5 are allowed',
    });
    await assert.rejects(collectArtifacts({ dir, scratchDir: scratch(), limits: { ...limits, entries: 32, runBytes: 25 } }), {
      message: 'the artifacts exceed 25 bytes per Run',
    });
  });
});
