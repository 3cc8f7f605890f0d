import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isInside, RefusedError, resolveEntrypoint, resolveExecutable } from './workspace.ts';

describe('workspace paths', () => {
  let dir: string;
  let workDir: string;
  beforeEach(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'krt-ws-')));
    workDir = join(dir, 'work');
    mkdirSync(join(workDir, 'sub'), { recursive: true });
    writeFileSync(join(workDir, 'sub', 'script.sh'), 'echo hi\n');
    writeFileSync(join(dir, 'outside.sh'), 'echo escaped\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const refused = (entrypoint: string, message: RegExp) =>
    assert.throws(
      () => resolveEntrypoint(workDir, entrypoint),
      (err: unknown) => err instanceof RefusedError && message.test(err.message),
    );

  it('resolves a relative entrypoint inside working_dir', () => {
    assert.equal(resolveEntrypoint(workDir, 'sub/script.sh'), join(workDir, 'sub', 'script.sh'));
    assert.equal(resolveEntrypoint(workDir, './sub/script.sh'), join(workDir, 'sub', 'script.sh'));
  });

  it('follows a symlink that stays inside', () => {
    symlinkSync('sub/script.sh', join(workDir, 'link.sh'));
    assert.equal(resolveEntrypoint(workDir, 'link.sh'), join(workDir, 'sub', 'script.sh'));
  });

  it('refuses absolute paths, "..", symlink escapes, missing files and directories', () => {
    refused(join(dir, 'outside.sh'), /must be a relative path inside the working directory/);
    refused('../outside.sh', /must not contain "\.\."/);
    refused('sub/../../outside.sh', /must not contain "\.\."/);
    symlinkSync(join(dir, 'outside.sh'), join(workDir, 'escape.sh'));
    refused('escape.sh', /resolves outside the working directory/);
    symlinkSync(dir, join(workDir, 'up'));
    refused('up/outside.sh', /resolves outside the working directory/);
    refused('missing.sh', /not found in working directory/);
    refused('sub', /is not a regular file/);
  });

  it('refuses when working_dir itself does not exist', () => {
    assert.throws(() => resolveEntrypoint(join(dir, 'none'), 'x.sh'), /working directory .* does not exist/);
  });

  it('isInside compares paths, not string prefixes', () => {
    assert.ok(isInside('/a/b', '/a/b'));
    assert.ok(isInside('/a/b', '/a/b/c'));
    assert.ok(!isInside('/a/b', '/a/bc'));
    assert.ok(!isInside('/a/b', '/a'));
    assert.ok(isInside('/a/b', '/a/b/..c'));
  });

  it('resolves executables from PATH or as a path', () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'tool'), '#!/bin/sh\n');
    chmodSync(join(bin, 'tool'), 0o755);
    writeFileSync(join(bin, 'plain'), '');
    assert.equal(resolveExecutable('tool', `/nonexistent:${bin}`), join(bin, 'tool'));
    assert.equal(resolveExecutable(join(bin, 'tool'), ''), join(bin, 'tool'));
    assert.equal(resolveExecutable('plain', bin), undefined);
    assert.equal(resolveExecutable('missing', bin), undefined);
    assert.equal(resolveExecutable('bin', dir), undefined);
  });
});
