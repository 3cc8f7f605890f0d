import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Limits, Reason } from '../lib/api.ts';
import { readOutputs, workspaceOf } from './workspace.ts';

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
