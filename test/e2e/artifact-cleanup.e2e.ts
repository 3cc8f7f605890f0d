// Artifact cleanup as the Operations Guide describes it, against real stores: a Runtime whose
// store moved from one PVC to another (the maintainer mounts both until the Runs of the first are
// gone), a Runtime whose S3 credentials Secret changed (each Run's artifacts are deleted with the
// Secret its snapshot names), and a Secret that is gone (the Run's ArtifactCleanup condition and
// an Event say why its finalizer stays; recreating the Secret lets the Run go), and a PVC the
// maintainer does not mount (the condition says so; deleting the claim lets the Run go).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ArtifactCleanupCondition, Finalizer, type Run, RunPhase } from '../../lib/api.ts';
import { CREDENTIALS_MOUNT, RETAINED_CLAIMS_MOUNT } from '../../lib/artifact-store/open-store.ts';
import { type KubeClient, Paths } from '../../lib/kube-client.ts';
import { S3_ACCESS_KEY, S3_SECRET_KEY, S3Server } from '../support/s3-server.ts';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  getRun,
  kubectl,
  setupPlatform,
  storeRuntimeYaml,
  waitFor,
  waitForRun,
  waitForRuntimeReady,
  waitForSchedulable,
} from '../support/platform.ts';

const GATEWAY = '10.244.0.1';
const BUCKET = 'krt-cleanup';
const PREFIX = 'e2e';


function runYaml(name: string, runtime: string, file: string): string {
  return `apiVersion: kruntimes.io/v1alpha1
kind: Run
metadata:
  name: ${name}
spec:
  runtime: ${runtime}
  entrypoint: script
  source:
    inline: |
      echo ${name} > "$KRUNTIME_ARTIFACTS_DIR/${file}"
`;
}

function pvYaml(ns: string, claim: string, dir: string): string {
  return `apiVersion: v1
kind: PersistentVolume
metadata:
  name: ${ns}-${claim}
spec:
  capacity: { storage: 1Gi }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  claimRef: { namespace: ${ns}, name: ${claim} }
  hostPath: { path: ${dir}, type: Directory }
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: ${claim}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  volumeName: ${ns}-${claim}
  resources: { requests: { storage: 1Gi } }
`;
}

interface MaintainerPod {
  volumes?: Array<{
    name: string;
    persistentVolumeClaim?: { claimName: string };
    secret?: { secretName: string; optional?: boolean };
  }>;
  containers: Array<{ volumeMounts?: Array<{ name: string; mountPath: string }> }>;
}

describe('artifact cleanup of Runs whose Runtime changed its store', function () {
  this.timeout(300_000);
  let client: KubeClient;
  let ns: string;
  let s3: S3Server;
  const pvDirs: Record<string, string> = {};

  const s3Keys = (uid: string) => s3.objects(BUCKET).filter((k) => k.includes(`/runs/${uid}/`));
  const pvFiles = (claim: string, uid: string) => {
    try {
      return readdirSync(path.join(pvDirs[claim], 'store', 'namespaces', ns, 'runs', uid)).sort();
    } catch {
      return [];
    }
  };
  const maintainerPod = async (runtime: string): Promise<MaintainerPod> => {
    const d = await kubectl(['get', 'deploy', `runtime-${runtime}-maintainer`, '-n', ns, '-o', 'json']);
    return JSON.parse(d.stdout).spec.template.spec;
  };
  const claimsOf = (pod: MaintainerPod) =>
    (pod.volumes ?? []).flatMap((v) => (v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : [])).sort();
  const secretsOf = (pod: MaintainerPod) => (pod.volumes ?? []).flatMap((v) => (v.secret ? [v.secret.secretName] : [])).sort();
  const rollout = (deploy: string) => kubectl(['rollout', 'status', `deploy/${deploy}`, '-n', ns, '--timeout=120s']);
  const gone = (name: string, timeoutMs = 90_000) =>
    waitFor(`run ${name} gone`, async () => (await kubectl(['get', 'run', name, '-n', ns], { check: false })).code !== 0, { timeoutMs });
  const succeeded = async (name: string): Promise<Run> => {
    const r = await waitForRun(client, ns, name, undefined, 120_000);
    assert.equal(r.status?.phase, RunPhase.Succeeded, r.status?.message);
    assert.ok(r.metadata.finalizers?.includes(Finalizer.ArtifactCleanup));
    return r;
  };
  const secret = (name: string, secretKey: string) =>
    kubectl(['create', 'secret', 'generic', name, '-n', ns, `--from-literal=AWS_ACCESS_KEY_ID=${S3_ACCESS_KEY}`, `--from-literal=AWS_SECRET_ACCESS_KEY=${secretKey}`]);
  const s3Store = (secretName: string) => `    s3:
      bucket: ${BUCKET}
      prefix: ${PREFIX}
      region: us-east-1
      endpoint: ${s3.endpoint}
      forcePathStyle: true
      credentialsSecretRef: { name: ${secretName} }`;

  before(async function () {
    // A cold cache builds versitygw from the Go module proxy here (minutes on 2 busy cores).
    this.timeout(900_000);
    ({ client } = await setupPlatform());
    s3 = await S3Server.start({ host: GATEWAY });
    s3.createBucket(BUCKET);
    ns = await createNamespace('e2e-cleanup');
    await secret('s3-old', S3_SECRET_KEY);
    // The Secret the Runtime moves to holds credentials the store refuses: deleting with it fails.
    await secret('s3-new', 'wrong-secret');
    for (const claim of ['claim-a', 'claim-b']) {
      // Not below /tmp: runtimed has its own /tmp (an emptyDir), which hides a hostPath there on the local node.
      pvDirs[claim] = mkdtempSync(path.join('/var/tmp', `krt-pv-${claim}-`));
      await applyYaml(ns, pvYaml(ns, claim, pvDirs[claim]));
    }
    await applyYaml(ns, storeRuntimeYaml('moves', '    filesystem: { claimName: claim-a, subPath: store }'));
    await applyYaml(ns, storeRuntimeYaml('rotates', s3Store('s3-old')));
    for (const rt of ['moves', 'rotates']) {
      try {
        await waitForRuntimeReady(client, ns, rt, 180_000);
      } catch (err) {
        const state = await kubectl(['get', 'runtime,deploy,rs,pods,pvc,events', '-n', ns, '-o', 'wide'], { check: false });
        const runtime = await kubectl(['get', 'runtime', rt, '-n', ns, '-o', 'yaml'], { check: false });
        throw new Error(`${(err as Error).message}\n${state.stdout}\n${runtime.stdout}`, { cause: err });
      }
      await waitForSchedulable(ns, rt, 1);
    }
  });

  after(async () => {
    if (ns) {
      await kubectl(['delete', 'runs', '--all', '-n', ns, '--wait=true', '--timeout=60s'], { check: false });
      await deleteNamespace(ns);
      for (const claim of Object.keys(pvDirs)) await kubectl(['delete', 'pv', `${ns}-${claim}`, '--wait=false', '--ignore-not-found'], { check: false });
    }
    await s3?.stop();
    for (const dir of Object.values(pvDirs)) rmSync(dir, { recursive: true, force: true });
  });

  it('empties both PVCs of a Runtime whose store moved from one to the other, and leaves no finalizer', async () => {
    await applyYaml(ns, runYaml('on-a', 'moves', 'a.txt'));
    const a = await succeeded('on-a');
    assert.deepEqual(a.status?.artifactStore, { filesystem: { claimName: 'claim-a', subPath: 'store' } });
    assert.deepEqual(pvFiles('claim-a', a.metadata.uid!), ['a.txt']);

    await kubectl(['patch', 'runtime', 'moves', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { artifactStore: { filesystem: { claimName: 'claim-b', subPath: 'store' } } } })]);
    // The maintainer now mounts claim-b as the Runtime's store and keeps claim-a for on-a.
    const pod = await waitFor('maintainer mounts claim-a and claim-b', async () => {
      const p = await maintainerPod('moves');
      return claimsOf(p).join() === 'claim-a,claim-b' ? p : undefined;
    });
    const mountOf = (claim: string) => {
      const vol = pod.volumes!.find((v) => v.persistentVolumeClaim?.claimName === claim)!;
      return pod.containers[0].volumeMounts!.find((m) => m.name === vol.name)!.mountPath;
    };
    assert.equal(mountOf('claim-a'), `${RETAINED_CLAIMS_MOUNT}/claim-a`);
    assert.equal(mountOf('claim-b'), '/var/run/kruntimes/artifacts');
    await waitFor('runtime-moves uses claim-b', async () => {
      const d = JSON.parse((await kubectl(['get', 'deploy', 'runtime-moves', '-n', ns, '-o', 'json'])).stdout);
      return JSON.stringify(d.spec.template.spec.volumes).includes('"claimName":"claim-b"');
    });
    await rollout('runtime-moves');
    await rollout('runtime-moves-maintainer');
    await waitForSchedulable(ns, 'moves', 1);

    await applyYaml(ns, runYaml('on-b', 'moves', 'b.txt'));
    const b = await succeeded('on-b');
    assert.deepEqual(b.status?.artifactStore, { filesystem: { claimName: 'claim-b', subPath: 'store' } });
    assert.deepEqual(pvFiles('claim-b', b.metadata.uid!), ['b.txt']);

    await kubectl(['delete', 'run', 'on-a', 'on-b', '-n', ns, '--wait=true', '--timeout=90s']);
    assert.deepEqual(pvFiles('claim-a', a.metadata.uid!), [], 'claim-a emptied');
    assert.deepEqual(pvFiles('claim-b', b.metadata.uid!), [], 'claim-b emptied');
    const left = JSON.parse((await kubectl(['get', 'runs', '-n', ns, '-o', 'json'])).stdout).items as Run[];
    assert.deepEqual(left.filter((r) => r.spec.runtime === 'moves').map((r) => r.metadata.name), []);
    // With no Run naming claim-a any more, the maintainer lets it go.
    await waitFor('maintainer mounts claim-b only', async () => claimsOf(await maintainerPod('moves')).join() === 'claim-b');
  });

  it('deletes with the credentials Secret the Run\'s snapshot names, not the Runtime\'s current one', async () => {
    await applyYaml(ns, runYaml('k1', 'rotates', 'k1.txt'));
    await applyYaml(ns, runYaml('k2', 'rotates', 'k2.txt'));
    const k1 = await succeeded('k1');
    const k2 = await succeeded('k2');
    assert.deepEqual(k1.status?.artifactStore?.s3?.credentialsSecretRef, { name: 's3-old' });
    assert.equal(s3Keys(k1.metadata.uid!).length, 1);
    assert.equal(s3Keys(k2.metadata.uid!).length, 1);

    await kubectl(['patch', 'runtime', 'rotates', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { artifactStore: { s3: { credentialsSecretRef: { name: 's3-new' } } } } })]);
    const pod = await waitFor('maintainer mounts s3-new and s3-old', async () => {
      const p = await maintainerPod('rotates');
      return secretsOf(p).join() === 's3-new,s3-old' ? p : undefined;
    });
    for (const v of pod.volumes!.filter((x) => x.secret)) assert.equal(v.secret!.optional, true);
    const vol = pod.volumes!.find((v) => v.secret?.secretName === 's3-old')!;
    assert.equal(pod.containers[0].volumeMounts!.find((m) => m.name === vol.name)!.mountPath, `${CREDENTIALS_MOUNT}/s3-old`);
    await rollout('runtime-rotates-maintainer');

    await kubectl(['delete', 'run', 'k1', '-n', ns, '--wait=true', '--timeout=60s']);
    assert.deepEqual(s3Keys(k1.metadata.uid!), [], 'deleted with s3-old');
    assert.equal(s3Keys(k2.metadata.uid!).length, 1);
  });

  it('says on the Run why cleanup waits when that Secret is gone, and lets it go once it is back', async () => {
    const k2 = await getRun(client, ns, 'k2');
    const uid = k2.metadata.uid!;
    await kubectl(['delete', 'secret', 's3-old', '-n', ns]);
    // A maintainer started after the Secret went has an empty (optional) volume for it. (A kubelet
    // also empties or refreshes it in place; the local node writes Secret volumes at pod start only.)
    await kubectl(['rollout', 'restart', 'deploy/runtime-rotates-maintainer', '-n', ns]);
    await rollout('runtime-rotates-maintainer');

    await kubectl(['delete', 'run', 'k2', '-n', ns, '--wait=false']);
    const message =
      `deleting the artifacts of run k2 failed; the finalizer ${Finalizer.ArtifactCleanup} stays until it succeeds: ` +
      'Secret s3-old (the credentials this Run\'s artifacts were stored with) does not exist or lacks AWS_ACCESS_KEY_ID ' +
      'and AWS_SECRET_ACCESS_KEY; recreate it, and the next retry deletes the artifacts';
    const held = await waitForRun(
      client,
      ns,
      'k2',
      (r) => r.status?.conditions?.some((c) => c.type === ArtifactCleanupCondition.Type) === true,
      60_000,
    );
    const condition = held.status!.conditions!.find((c) => c.type === ArtifactCleanupCondition.Type)!;
    assert.equal(condition.status, 'False');
    assert.equal(condition.reason, ArtifactCleanupCondition.Reason.SecretNotFound);
    assert.equal(condition.message, message);
    assert.ok(held.metadata.deletionTimestamp);
    assert.ok(held.metadata.finalizers?.includes(Finalizer.ArtifactCleanup));
    assert.equal(s3Keys(uid).length, 1);
    const events = async () =>
      JSON.parse(
        (await kubectl(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=k2,reason=ArtifactCleanupFailed', '-o', 'json'])).stdout,
      ).items as Array<{ type: string; message: string }>;
    await waitFor('ArtifactCleanupFailed event', async () => (await events()).length > 0, { timeoutMs: 30_000 });
    // Retried with backoff, but said once: the Event comes with a change of the condition.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const said = await events();
    assert.deepEqual(said.map((e) => [e.type, e.message]), [['Warning', message]]);

    await secret('s3-old', S3_SECRET_KEY);
    await kubectl(['rollout', 'restart', 'deploy/runtime-rotates-maintainer', '-n', ns]);
    await gone('k2');
    assert.deepEqual(s3Keys(uid), []);
    await waitFor('maintainer mounts s3-new only', async () => secretsOf(await maintainerPod('rotates')).join() === 's3-new');
  });

  it('says so when a Run\'s PVC is not mounted, and lets the Run go once that PVC is deleted', async () => {
    await applyYaml(ns, runYaml('stray', 'moves', 'stray.txt'));
    const done = await succeeded('stray');
    assert.deepEqual(done.status?.artifactStore, { filesystem: { claimName: 'claim-b', subPath: 'store' } });
    // With its Runtime gone nothing renders the maintainer again: it keeps the mounts it has (claim-b).
    await kubectl(['delete', 'runtime', 'moves', '-n', ns, '--wait=true', '--timeout=60s']);
    assert.deepEqual(claimsOf(await maintainerPod('moves')), ['claim-b']);
    // A snapshot naming a claim the maintainer does not mount (written here; a Run of a Runtime deleted
    // before the controller could mount an earlier claim would look the same).
    await client.mergePatch(Paths.runStatus(ns, 'stray'), { status: { artifactStore: { filesystem: { claimName: 'claim-a', subPath: 'store' } } } });
    await kubectl(['delete', 'run', 'stray', '-n', ns, '--wait=false']);
    const held = await waitForRun(
      client,
      ns,
      'stray',
      (r) => r.status?.conditions?.some((c) => c.type === ArtifactCleanupCondition.Type) === true,
      60_000,
    );
    const condition = held.status!.conditions!.find((c) => c.type === ArtifactCleanupCondition.Type)!;
    assert.equal(condition.status, 'False');
    assert.equal(condition.reason, ArtifactCleanupCondition.Reason.ClaimNotMounted);
    assert.equal(
      condition.message,
      `deleting the artifacts of run stray failed; the finalizer ${Finalizer.ArtifactCleanup} stays until it succeeds: ` +
        'the runtime maintainer does not have PersistentVolumeClaim claim-a mounted; the Runtime controller mounts every ' +
        'claim Runs of the Runtime still use while the Runtime exists',
    );
    assert.ok(held.metadata.finalizers?.includes(Finalizer.ArtifactCleanup));
    // The claim goes, and the Run's artifacts with it: nothing is left to clean up.
    await kubectl(['delete', 'pvc', 'claim-a', '-n', ns, '--wait=true', '--timeout=60s']);
    await gone('stray');
    // Nothing of the Runtime holds the finalizer any more: its maintainer retires.
    await waitFor(
      'runtime-moves-maintainer gone',
      async () => (await kubectl(['get', 'deploy', 'runtime-moves-maintainer', '-n', ns], { check: false })).code !== 0,
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
  });
});
