import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { FilesystemStore } from './filesystem-store.ts';
import { openStore, readCredentials, StoreEnv } from './open-store.ts';
import { artifactKey, runPrefix, StoreErrorCode } from './store.ts';

describe('filesystem artifact store', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'krt-fs-store-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('lays keys out as [prefix/]namespaces/<ns>/runs/<uid>/<name>', () => {
    assert.equal(artifactKey({ namespace: 'ns', uid: 'u', name: 'a.txt' }), 'namespaces/ns/runs/u/a.txt');
    assert.equal(runPrefix({ prefix: '/team/', namespace: 'ns', uid: 'u' }), 'team/namespaces/ns/runs/u/');
  });

  it('puts, gets and deletes by key and by prefix', async () => {
    const store = new FilesystemStore({ root: path.join(root, 'sub'), description: 'pvc/a/sub' });
    const src = path.join(root, 'src');
    writeFileSync(src, 'body');
    await store.put('namespaces/ns/runs/u/a', src, { size: 4, contentType: 'text/plain' });
    await store.put('namespaces/ns/runs/u/b', src, { size: 4, contentType: 'text/plain' });
    assert.equal(readFileSync(path.join(root, 'sub/namespaces/ns/runs/u/a'), 'utf8'), 'body');
    const got = await store.get('namespaces/ns/runs/u/a');
    assert.equal(got.size, 4);
    assert.equal(await text(got.body), 'body');
    await store.delete(['namespaces/ns/runs/u/a', 'namespaces/ns/runs/u/gone']);
    assert.equal(existsSync(path.join(root, 'sub/namespaces/ns/runs/u/a')), false);
    assert.equal(await store.deletePrefix('namespaces/ns/runs/u/'), 1);
    assert.equal(existsSync(path.join(root, 'sub/namespaces/ns/runs/u')), false);
    await assert.rejects(store.get('namespaces/ns/runs/u/a'), { code: StoreErrorCode.NotFound });
    await assert.rejects(store.get('../../etc/passwd'), /escapes the store/);
  });

  it('opens only the PVC this pod has mounted', () => {
    const env = { configured: { filesystem: { claimName: 'a' } }, mount: root };
    assert.equal(openStore({ filesystem: { claimName: 'a', subPath: 'x' } }, env).description, 'pvc/a/x');
    assert.throws(() => openStore({ filesystem: { claimName: 'b' } }, env), {
      code: StoreErrorCode.NotMounted,
      message: 'PersistentVolumeClaim b is not mounted here (a is)',
    });
  });

  it('opens a PVC of an earlier store the maintainer has mounted, at its own directory', async () => {
    const env = {
      configured: { filesystem: { claimName: 'a' } },
      mount: root,
      mounts: { claims: { old: path.join(root, 'old') }, secrets: {} },
    };
    const store = openStore({ filesystem: { claimName: 'old', subPath: 's' } }, env);
    assert.equal(store.description, 'pvc/old/s');
    const file = path.join(root, 'f');
    writeFileSync(file, 'x');
    await store.put('k', file, { size: 1, contentType: 'text/plain' });
    assert.ok(existsSync(path.join(root, 'old', 's', 'k')));
  });

  it('reads credentials from a mounted Secret, and none from an empty (optional, missing) one', () => {
    const dir = path.join(root, 'creds');
    assert.equal(readCredentials(dir), undefined);
    mkdirSync(dir);
    writeFileSync(path.join(dir, StoreEnv.AccessKeyId), 'id');
    assert.equal(readCredentials(dir), undefined);
    writeFileSync(path.join(dir, StoreEnv.SecretAccessKey), 'secret\n');
    assert.deepEqual(readCredentials(dir), { accessKeyId: 'id', secretAccessKey: 'secret', sessionToken: undefined });
  });
});
