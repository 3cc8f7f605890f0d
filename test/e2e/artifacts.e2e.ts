// Artifacts end to end against real stores: an S3-compatible server (versitygw, on the host at the
// cluster gateway) and a PVC bound to a hostPath PersistentVolume. Runs write a file, a directory
// and a 50 MiB file; refs, digests, downloads (kubectl krt artifacts), refusals, upload failures
// and cleanup by the runtime maintainer are checked against what is really in the stores.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Component, Finalizer, Label, Reason, type Run, RunPhase } from '../../lib/api.ts';
import { type KubeClient, Paths } from '../../lib/kube-client.ts';
import { ExitCode } from '../../kubectl-krt/exit-codes.ts';
import { S3_ACCESS_KEY, S3_SECRET_KEY, S3Server } from '../support/s3-server.ts';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  getRun,
  kubectl,
  REPO,
  run as exec,
  setupPlatform,
  storeRuntimeYaml,
  waitFor,
  waitForRun,
  waitForRuntimeReady,
  waitForSchedulable,
} from '../support/platform.ts';

const GATEWAY = '10.244.0.1';
const BUCKET = 'krt-artifacts';
const PREFIX = 'e2e';
const PLUGIN = path.join(REPO, 'kubectl-krt', 'bin', 'kubectl-krt');
const BIG = 50 * 1024 * 1024;

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;


function runYaml(name: string, runtime: string, script: string): string {
  const body = script
    .trim()
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n');
  return `apiVersion: kruntimes.io/v1alpha1
kind: Run
metadata:
  name: ${name}
spec:
  runtime: ${runtime}
  entrypoint: script
  source:
    inline: |
${body}
`;
}

// A file, a directory (with a nested dir and an executable) and a 50 MiB file; the Run reports the
// sha256 of the two files so the test can check them without trusting runtimed.
const WRITES_ARTIFACTS = `
set -e
A="$KRUNTIME_ARTIFACTS_DIR"
echo "artifact body" > "$A/result.txt"
mkdir -p "$A/site/css"
echo '<h1>hi</h1>' > "$A/site/index.html"
echo 'a{}' > "$A/site/css/a.css"
printf '#!/bin/sh\\necho x\\n' > "$A/site/run.sh" && chmod +x "$A/site/run.sh"
head -c ${BIG} /dev/urandom > "$A/big.bin"
echo "result=sha256:$(sha256sum "$A/result.txt" | cut -d' ' -f1)" >> "$KRUNTIME_OUTPUTS"
echo "big=sha256:$(sha256sum "$A/big.bin" | cut -d' ' -f1)" >> "$KRUNTIME_OUTPUTS"
`;

async function krt(args: string[], cwd: string) {
  return exec(PLUGIN, args, { cwd, env: { NO_COLOR: '1' }, timeoutMs: 120_000 });
}

describe('artifacts in S3 and on a PVC', function () {
  this.timeout(300_000);
  let client: KubeClient;
  let ns: string;
  let s3: S3Server;
  let pvDir: string;
  let work: string;

  const s3Keys = (uid: string) => s3.objects(BUCKET).filter((k) => k.includes(`/runs/${uid}/`));
  const pvFiles = (uid: string) => {
    try {
      return readdirSync(path.join(pvDir, 'store', 'namespaces', ns, 'runs', uid), { recursive: true }).sort();
    } catch {
      return [];
    }
  };

  before(async function () {
    // A cold cache builds versitygw from the Go module proxy here (minutes on 2 busy cores).
    this.timeout(900_000);
    ({ client } = await setupPlatform());
    s3 = await S3Server.start({ host: GATEWAY });
    s3.createBucket(BUCKET);
    ns = await createNamespace('e2e-artifacts');
    work = mkdtempSync(path.join(os.tmpdir(), 'krt-artifacts-e2e-'));
    // Not below /tmp: runtimed has its own /tmp (an emptyDir), which hides a hostPath there on the local node.
    pvDir = mkdtempSync(path.join('/var/tmp', 'krt-pv-'));
    await kubectl(['create', 'secret', 'generic', 's3-creds', '-n', ns, `--from-literal=AWS_ACCESS_KEY_ID=${S3_ACCESS_KEY}`, `--from-literal=AWS_SECRET_ACCESS_KEY=${S3_SECRET_KEY}`]);
    await kubectl(['create', 'secret', 'generic', 's3-wrong', '-n', ns, `--from-literal=AWS_ACCESS_KEY_ID=${S3_ACCESS_KEY}`, '--from-literal=AWS_SECRET_ACCESS_KEY=wrong-secret']);
    await applyYaml(
      ns,
      `apiVersion: v1
kind: PersistentVolume
metadata:
  name: ${ns}-artifacts
spec:
  capacity: { storage: 1Gi }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Delete
  storageClassName: ""
  claimRef: { namespace: ${ns}, name: artifacts }
  hostPath: { path: ${pvDir}, type: Directory }
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: artifacts
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  volumeName: ${ns}-artifacts
  resources: { requests: { storage: 1Gi } }
`,
    );
    const s3Store = (bucket: string, secret: string) => `    s3:
      bucket: ${bucket}
      prefix: ${PREFIX}
      region: us-east-1
      endpoint: ${s3.endpoint}
      forcePathStyle: true
      credentialsSecretRef: { name: ${secret} }`;
    await applyYaml(ns, storeRuntimeYaml('s3', s3Store(BUCKET, 's3-creds')));
    await applyYaml(ns, storeRuntimeYaml('fs', '    filesystem: { claimName: artifacts, subPath: store }'));
    await applyYaml(ns, storeRuntimeYaml('s3-wrong', s3Store(BUCKET, 's3-wrong')));
    await applyYaml(ns, storeRuntimeYaml('s3-nobucket', s3Store('no-such-bucket', 's3-creds')));
    for (const rt of ['s3', 'fs', 's3-wrong', 's3-nobucket']) {
      await waitForRuntimeReady(client, ns, rt, 180_000);
      await waitForSchedulable(ns, rt, 1);
    }
  });

  after(async () => {
    if (ns) {
      // Let the maintainers clean up before the namespace goes, so no Run is left with a finalizer.
      await kubectl(['delete', 'runs', '--all', '-n', ns, '--wait=true', '--timeout=60s'], { check: false });
      await deleteNamespace(ns);
      await kubectl(['delete', 'pv', `${ns}-artifacts`, '--wait=false', '--ignore-not-found'], { check: false });
    }
    await s3?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
    if (pvDir) rmSync(pvDir, { recursive: true, force: true });
  });

  it('renders a runtime maintainer per Runtime with a store, not owned by the Runtime', async () => {
    const deps = JSON.parse(
      (await kubectl(['get', 'deploy', '-n', ns, '-l', `${Label.Component}=${Component.RuntimeMaintainer}`, '-o', 'json'])).stdout,
    ).items as Array<{
      metadata: { name: string; ownerReferences?: unknown[] };
      spec: { template: { spec: { containers: Array<{ image: string; args: string[] }> } } };
    }>;
    assert.deepEqual(deps.map((d) => d.metadata.name).sort(), ['runtime-fs-maintainer', 'runtime-s3-maintainer', 'runtime-s3-nobucket-maintainer', 'runtime-s3-wrong-maintainer']);
    for (const d of deps) {
      assert.equal(d.metadata.ownerReferences, undefined);
      assert.deepEqual(d.spec.template.spec.containers[0].args, ['maintainer']);
    }
    for (const d of deps) await kubectl(['rollout', 'status', `deployment/${d.metadata.name}`, '-n', ns, '--timeout=120s']);
  });

  for (const store of ['s3', 'fs'] as const) {
    it(`stores a file, a directory and a 50 MiB file (${store}), and downloads identical bytes`, async () => {
      const name = `writes-${store}`;
      await applyYaml(ns, runYaml(name, store, WRITES_ARTIFACTS));
      const done = await waitForRun(client, ns, name, undefined, 120_000);
      assert.equal(done.status?.phase, RunPhase.Succeeded, done.status?.message);
      const uid = done.metadata.uid!;
      assert.ok(done.metadata.finalizers?.includes(Finalizer.ArtifactCleanup));
      const refs = done.status!.artifactRefs!;
      const keyBase = `${store === 's3' ? `${PREFIX}/` : ''}namespaces/${ns}/runs/${uid}/`;
      assert.deepEqual(
        refs.map((r) => [r.name, r.type, r.key, r.contentType]),
        [
          ['big.bin', 'file', `${keyBase}big.bin`, 'application/octet-stream'],
          ['result.txt', 'file', `${keyBase}result.txt`, 'application/octet-stream'],
          ['site', 'directory', `${keyBase}site`, 'application/gzip'],
        ],
      );
      const ref = (n: string) => refs.find((r) => r.name === n)!;
      assert.equal(ref('big.bin').size, BIG);
      assert.equal(ref('big.bin').digest, done.status!.outputs!.big);
      assert.equal(ref('result.txt').size, 14);
      assert.equal(ref('result.txt').digest, done.status!.outputs!.result);
      if (store === 's3') {
        assert.deepEqual(done.status!.artifactStore, {
          s3: {
            bucket: BUCKET,
            prefix: PREFIX,
            region: 'us-east-1',
            endpoint: s3.endpoint,
            forcePathStyle: true,
            credentialsSecretRef: { name: 's3-creds' },
          },
        });
        assert.deepEqual(s3Keys(uid), refs.map((r) => r.key));
        assert.deepEqual(readFileSync(path.join(s3.dir, BUCKET, ref('big.bin').key)).length, BIG);
        // A multipart upload's ETag is "<md5 of the part md5s>-<parts>": 50 MiB in 8 MiB parts is 7.
        const head = await new S3Client({
          region: 'us-east-1',
          endpoint: s3.endpoint,
          forcePathStyle: true,
          credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY },
        }).send(new HeadObjectCommand({ Bucket: BUCKET, Key: ref('big.bin').key }));
        assert.match(head.ETag ?? '', /^"[0-9a-f]{32}-7"$/);
      } else {
        assert.deepEqual(done.status!.artifactStore, { filesystem: { claimName: 'artifacts', subPath: 'store' } });
        assert.deepEqual(pvFiles(uid), ['big.bin', 'result.txt', 'site']);
        assert.equal(sha256(readFileSync(path.join(pvDir, 'store', ref('site').key))), ref('site').digest);
      }

      const list = await krt(['artifacts', 'list', name, '-n', ns], work);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^NAME\s+TYPE\s+SIZE\s+DIGEST\n/);
      assert.match(list.stdout, new RegExp(`big\\.bin\\s+file\\s+${BIG}\\s+${ref('big.bin').digest}`));

      const out = path.join(work, store);
      const dl = await krt(['artifacts', 'download', name, '-o', out, '-n', ns], work);
      assert.equal(dl.code, 0, dl.stderr);
      assert.equal(sha256(readFileSync(path.join(out, 'big.bin'))), ref('big.bin').digest);
      assert.equal(readFileSync(path.join(out, 'result.txt'), 'utf8'), 'artifact body\n');
      assert.equal(sha256(readFileSync(path.join(out, 'site.tar.gz'))), ref('site').digest);
      const unpacked = path.join(work, `${store}-unpacked`);
      const one = await krt(['artifacts', 'download', name, 'site', '--unpack', '-o', unpacked, '-n', ns], work);
      assert.equal(one.code, 0, one.stderr);
      assert.equal(readFileSync(path.join(unpacked, 'site/index.html'), 'utf8'), '<h1>hi</h1>\n');
      assert.equal(readFileSync(path.join(unpacked, 'site/css/a.css'), 'utf8'), 'a{}\n');
      const missing = await krt(['artifacts', 'download', name, 'nope', '-n', ns], work);
      assert.equal(missing.code, ExitCode.Error);
      assert.match(missing.stderr, /run writes-\w+ has no artifact nope \(it has: big\.bin, result\.txt, site\)/);

      // Deleting the Run deletes its artifacts, then the maintainer lets the Run go.
      await kubectl(['delete', 'run', name, '-n', ns, '--wait=false']);
      await waitFor(`run ${name} gone`, async () => (await kubectl(['get', 'run', name, '-n', ns], { check: false })).code !== 0, { timeoutMs: 60_000 });
      if (store === 's3') assert.deepEqual(s3Keys(uid), []);
      else assert.deepEqual(pvFiles(uid), []);
    });
  }

  it('refuses a symlink to /etc/passwd and a .. escape with ArtifactInvalid, storing nothing', async () => {
    await applyYaml(ns, runYaml('symlink', 's3', 'echo ok > "$KRUNTIME_ARTIFACTS_DIR/fine.txt"\nln -s /etc/passwd "$KRUNTIME_ARTIFACTS_DIR/passwd"'));
    await applyYaml(ns, runYaml('escape', 'fs', 'mkdir "$KRUNTIME_ARTIFACTS_DIR/d"\nln -s ../../.. "$KRUNTIME_ARTIFACTS_DIR/d/up"'));
    const a = await waitForRun(client, ns, 'symlink');
    assert.equal(a.status?.phase, RunPhase.Failed);
    assert.equal(a.status?.reason, Reason.ArtifactInvalid);
    assert.equal(a.status?.message, 'artifact passwd is a symlink resolving outside the artifacts directory; symlinks are not stored');
    assert.equal(a.status?.artifactRefs, undefined);
    assert.deepEqual(s3Keys(a.metadata.uid!), []);
    const b = await waitForRun(client, ns, 'escape');
    assert.equal(b.status?.reason, Reason.ArtifactInvalid);
    assert.equal(b.status?.message, 'artifact d/up is a symlink resolving outside the artifacts directory; symlinks are not stored');
    assert.deepEqual(pvFiles(b.metadata.uid!), []);
  });

  it('fails with ArtifactUpload for wrong credentials and a missing bucket', async () => {
    await applyYaml(ns, runYaml('wrong-creds', 's3-wrong', 'echo x > "$KRUNTIME_ARTIFACTS_DIR/x"'));
    await applyYaml(ns, runYaml('no-bucket', 's3-nobucket', 'echo x > "$KRUNTIME_ARTIFACTS_DIR/x"'));
    const a = await waitForRun(client, ns, 'wrong-creds');
    assert.equal(a.status?.phase, RunPhase.Failed);
    assert.equal(a.status?.reason, Reason.ArtifactUpload);
    assert.match(a.status!.message!, /^storing artifacts failed: uploading e2e\/namespaces\/.*\/x in s3:\/\/krt-artifacts at .*: access denied \(SignatureDoesNotMatch\): check the credentials Secret$/);
    const b = await waitForRun(client, ns, 'no-bucket');
    assert.equal(b.status?.reason, Reason.ArtifactUpload);
    assert.match(b.status!.message!, /bucket no-such-bucket does not exist$/);
    // Nothing reached the store, so there is nothing to clean up: deleting them does not wait.
    assert.equal(a.status?.artifactStore, undefined);
    assert.equal(b.status?.artifactStore, undefined);
    await kubectl(['delete', 'run', 'wrong-creds', 'no-bucket', '-n', ns, '--wait=true', '--timeout=30s']);
  });

  it('fails with ArtifactUpload when the server goes down during an upload, and cleanup waits for it', async () => {
    // Three 50 MiB files: the upload is under way when the finalizer (added just before it) appears.
    await applyYaml(ns, runYaml('server-down', 's3', `for i in 1 2 3; do head -c ${BIG} /dev/urandom > "$KRUNTIME_ARTIFACTS_DIR/f$i"; done`));
    await waitForRun(client, ns, 'server-down', (r) => !!r.metadata.finalizers?.includes(Finalizer.ArtifactCleanup), 120_000);
    await s3.down();
    try {
      const r = await waitForRun(client, ns, 'server-down', undefined, 180_000);
      assert.equal(r.status?.phase, RunPhase.Failed);
      assert.equal(r.status?.reason, Reason.ArtifactUpload);
      assert.match(r.status!.message!, /the store is unreachable/);
      assert.equal(r.status?.artifactRefs, undefined);
      // Deleting it while the store is down keeps the finalizer and says why.
      await kubectl(['delete', 'run', 'server-down', '-n', ns, '--wait=false']);
      const held = await waitForRun(client, ns, 'server-down', (x) => !!x.metadata.deletionTimestamp);
      assert.ok(held.metadata.finalizers?.includes(Finalizer.ArtifactCleanup));
      await waitFor('ArtifactCleanupFailed event', async () => {
        const ev = await kubectl(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=server-down,reason=ArtifactCleanupFailed', '-o', 'json']);
        return JSON.parse(ev.stdout).items.length > 0;
      }, { timeoutMs: 60_000 });
      await getRun(client, ns, 'server-down');
    } finally {
      await s3.up();
    }
    const uid = (await getRun(client, ns, 'server-down').catch(() => undefined))?.metadata.uid;
    await waitFor('server-down gone', async () => (await kubectl(['get', 'run', 'server-down', '-n', ns], { check: false })).code !== 0, { timeoutMs: 90_000 });
    if (uid) assert.deepEqual(s3Keys(uid), []);
    assert.deepEqual(s3.objects(BUCKET).filter((k) => k.includes('/f1') || k.includes('/f2') || k.includes('/f3')), []);
  });

  it('cleans up a Run without a store snapshot (from before snapshots) in the Runtime\'s store', async () => {
    await applyYaml(ns, runYaml('old-style', 's3', 'echo old > "$KRUNTIME_ARTIFACTS_DIR/old.txt"'));
    const done = await waitForRun(client, ns, 'old-style');
    assert.equal(done.status?.phase, RunPhase.Succeeded, done.status?.message);
    const uid = done.metadata.uid!;
    assert.equal(s3Keys(uid).length, 1);
    // What a Run written before status.artifactStore existed looks like.
    await client.mergePatch(Paths.runStatus(ns, 'old-style'), { status: { artifactStore: null } });
    assert.equal((await client.get<Run>(Paths.run(ns, 'old-style'))).status?.artifactStore, undefined);
    await kubectl(['delete', 'run', 'old-style', '-n', ns, '--wait=true', '--timeout=60s']);
    assert.deepEqual(s3Keys(uid), [], "deleted from the Runtime's store");
  });

  it('deletes artifacts of Runs deleted after their Runtime, then the maintainer retires', async () => {
    await applyYaml(ns, runYaml('orphan', 'fs', 'echo kept > "$KRUNTIME_ARTIFACTS_DIR/kept.txt"'));
    const done = await waitForRun(client, ns, 'orphan');
    assert.equal(done.status?.phase, RunPhase.Succeeded, done.status?.message);
    const uid = done.metadata.uid!;
    assert.deepEqual(pvFiles(uid), ['kept.txt']);
    await kubectl(['delete', 'runtime', 'fs', '-n', ns, '--wait=true', '--timeout=60s']);
    await waitFor('runtime-fs deployment gone', async () => (await kubectl(['get', 'deploy', 'runtime-fs', '-n', ns], { check: false })).code !== 0);
    // The maintainer is still there, since a Run of the Runtime holds the finalizer.
    await kubectl(['get', 'deploy', 'runtime-fs-maintainer', '-n', ns]);
    await kubectl(['delete', 'run', 'orphan', '-n', ns, '--wait=true', '--timeout=60s']);
    assert.deepEqual(pvFiles(uid), []);
    await waitFor(
      'runtime-fs-maintainer and its RBAC gone',
      async () => (await kubectl(['get', 'deploy,sa,role,rolebinding', 'runtime-fs-maintainer', '-n', ns], { check: false })).stdout.trim() === '',
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    // Only its own: the other Runtimes' maintainers stay.
    await kubectl(['get', 'deploy', 'runtime-s3-maintainer', '-n', ns]);
  });
});
