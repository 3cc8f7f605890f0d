import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Limits, Reason, type Run } from '../lib/api.ts';
import { PrepareSourceError, prepareWorkspace, readOutputs, workspaceOf } from './workspace.ts';

describe('prepareWorkspace: a clean directory per attempt', () => {
  let root: string;
  const run = (spec: Partial<Run['spec']> = {}): Run => ({
    metadata: { name: 'r', namespace: 'ns', uid: 'uid-1' },
    spec: { runtime: 'bash', entrypoint: 'bin/main.sh', source: { inline: 'echo hi\n' }, ...spec },
  });
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'krt-ws-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it("makes the runs directory, the Run's, its outputs file, artifacts dir and inline source", async () => {
    const ws = await prepareWorkspace(root, run());
    assert.deepEqual(ws, workspaceOf(root, 'uid-1'));
    assert.equal(await readFile(ws.outputsFile, 'utf8'), '');
    assert.ok((await stat(ws.artifactsDir)).isDirectory());
    const source = path.join(ws.dir, 'bin', 'main.sh');
    assert.equal(await readFile(source, 'utf8'), 'echo hi\n');
    assert.equal((await stat(source)).mode & 0o100, 0o100, 'executable');
  });
  it('starts a retried attempt from an empty directory, whatever the last one left (a link included)', async () => {
    const ws = await prepareWorkspace(root, run());
    await writeFile(path.join(ws.dir, 'left-over'), 'x');
    await writeFile(path.join(ws.artifactsDir, 'old.txt'), 'x');
    await writeFile(ws.outputsFile, 'a=1\n');
    await symlink('/etc', path.join(ws.dir, 'link'));
    await prepareWorkspace(root, run());
    assert.deepEqual((await readdir(ws.dir)).sort(), ['.krt', 'bin']);
    assert.deepEqual(await readdir(ws.artifactsDir), []);
    assert.equal(await readFile(ws.outputsFile, 'utf8'), '');
  });
  it("replaces a link planted where the Run's directory goes", async () => {
    const elsewhere = await mkdtemp(path.join(os.tmpdir(), 'krt-elsewhere-'));
    try {
      await mkdir(path.join(root, 'runs'));
      await symlink(elsewhere, workspaceOf(root, 'uid-1').dir);
      const ws = await prepareWorkspace(root, run());
      assert.ok((await stat(ws.dir)).isDirectory());
      assert.deepEqual(await readdir(elsewhere), [], 'nothing written through the link');
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });
  it('refuses an inline source without an entrypoint, or one that escapes the workspace', async () => {
    await assert.rejects(prepareWorkspace(root, run({ entrypoint: undefined })), PrepareSourceError);
    await assert.rejects(prepareWorkspace(root, run({ entrypoint: '../x' })), PrepareSourceError);
  });
});

describe('readOutputs: the workload controls the file, runtimed reads it defensively', () => {
  let root: string;
  let ws: ReturnType<typeof workspaceOf>;
  let secret: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'krt-ws-'));
    ws = workspaceOf(root, 'uid-1');
    await mkdir(path.dirname(ws.outputsFile), { recursive: true });
    secret = path.join(root, 'token');
    await writeFile(secret, 'token=SECRET\n');
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('reads a regular file; no file is no outputs', async () => {
    assert.equal(await readOutputs(ws), '');
    await writeFile(ws.outputsFile, 'a=1\n');
    assert.equal(await readOutputs(ws), 'a=1\n');
  });
  it('refuses a symbolic link (to runtimed\'s own files, say)', async () => {
    await symlink(secret, ws.outputsFile);
    assert.deepEqual(await readOutputs(ws), {
      reason: Reason.OutputsInvalid,
      message: '$KRUNTIME_OUTPUTS is a symbolic link; it must be a regular file',
    });
  });
  it('refuses a file reached through a linked directory outside the workspace', async () => {
    const outside = path.join(root, 'outside');
    await mkdir(outside);
    await writeFile(path.join(outside, 'outputs'), 'token=SECRET\n');
    await rm(path.dirname(ws.outputsFile), { recursive: true });
    await symlink(outside, path.dirname(ws.outputsFile));
    assert.deepEqual(await readOutputs(ws), {
      reason: Reason.OutputsInvalid,
      message: '$KRUNTIME_OUTPUTS points outside the Run workspace',
    });
    await rm(path.join(outside, 'outputs'));
    assert.deepEqual(await readOutputs(ws), {
      reason: Reason.OutputsInvalid,
      message: '$KRUNTIME_OUTPUTS points outside the Run workspace',
    });
  });
  it('refuses a FIFO without blocking, and a directory', async () => {
    execFileSync('mkfifo', [ws.outputsFile]);
    assert.deepEqual(await readOutputs(ws), {
      reason: Reason.OutputsInvalid,
      message: '$KRUNTIME_OUTPUTS is not a regular file',
    });
    await rm(ws.outputsFile);
    await mkdir(ws.outputsFile);
    assert.equal((await readOutputs(ws) as { reason: string }).reason, Reason.OutputsInvalid);
  });
  it('refuses invalid UTF-8 and a file over the bound', async () => {
    await writeFile(ws.outputsFile, Buffer.from([0x61, 0x3d, 0xff, 0xfe, 0x0a]));
    assert.deepEqual(await readOutputs(ws), { reason: Reason.OutputsInvalid, message: '$KRUNTIME_OUTPUTS is not valid UTF-8' });
    await writeFile(ws.outputsFile, Buffer.alloc(Limits.outputsTotalBytes * 4 + 1, 0x61));
    assert.equal((await readOutputs(ws) as { reason: string }).reason, Reason.OutputsTooLarge);
  });
});
