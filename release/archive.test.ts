import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex, tarGz } from './archive.ts';

describe('release archive', () => {
  const entries = [
    { name: 'kubectl-krt', data: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
    { name: 'LICENSE', data: Buffer.from('license text\n'), mode: 0o644 },
  ];
  const mtime = new Date('2026-01-02T03:04:05Z');

  it('is byte-for-byte reproducible from the same inputs', async () => {
    const a = await tarGz(entries, mtime);
    const b = await tarGz(entries, mtime);
    assert.equal(sha256Hex(a), sha256Hex(b));
    assert.match(sha256Hex(a), /^[a-f0-9]{64}$/);
  });

  it('extracts with tar to the executable (mode 755) and LICENSE', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'krt-archive-'));
    try {
      writeFileSync(join(dir, 'a.tar.gz'), await tarGz(entries, mtime));
      assert.deepEqual(execFileSync('tar', ['-tzf', 'a.tar.gz'], { cwd: dir, encoding: 'utf8' }).split('\n').filter(Boolean), ['kubectl-krt', 'LICENSE']);
      execFileSync('tar', ['-xzf', 'a.tar.gz'], { cwd: dir });
      assert.equal(statSync(join(dir, 'kubectl-krt')).mode & 0o777, 0o755);
      assert.equal(readFileSync(join(dir, 'LICENSE'), 'utf8'), 'license text\n');
      assert.equal(statSync(join(dir, 'LICENSE')).mtime.toISOString(), '2026-01-02T03:04:05.000Z');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
