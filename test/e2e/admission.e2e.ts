// runtimed confined to its own Runs (manifests/platform/40-admission.yaml): with the token of one
// Runtime Pod (a TokenRequest bound to that pod, as the kubelet mounts for runtimed) a client may
// write the status of the Runs assigned to that pod and that pod's own status, and nothing else of
// the kind: another pod's Run, a claim of it, giving its own Run away, another pod's heartbeat, a
// Run's labels are refused by the apiserver with the policy's message. The runtime maintainer's
// account writes the status only of its Runtime's Runs being deleted that hold the artifact-cleanup
// finalizer. runtimed itself keeps working under the policy (its claims, results and heartbeats
// are these very writes).
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { Finalizer, type Run, RunPhase } from '../../lib/api.ts';
import { KubeApiError, KubeClient, Paths } from '../../lib/kube-client.ts';
import { loadKubeConfig } from '../../lib/kubeconfig.ts';
import { serviceAccountName } from '../../operator/runtime-controller/render.ts';
import {
  applyYaml,
  bashRuntimeYaml,
  createNamespace,
  deleteNamespace,
  kubectl,
  setupPlatform,
  waitFor,
  waitForRun,
  waitForSchedulable,
} from '../support/platform.ts';

const POLICY = 'kruntimes-runtimed-own-runs';
const DENIED = `ValidatingAdmissionPolicy '${POLICY}' with binding '${POLICY}' denied request: `;

/** A client that authenticates with `token` only (no client certificate of the admin kubeconfig). */
async function clientWithToken(kubeconfigPath: string, token: string): Promise<KubeClient> {
  const cluster = loadKubeConfig({ kubeconfig: kubeconfigPath }).getCurrentCluster()!;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: 'runtime-pod', token }],
    contexts: [{ name: 'runtime-pod', cluster: cluster.name, user: 'runtime-pod' }],
    currentContext: 'runtime-pod',
  });
  return KubeClient.fromKubeConfig(kc);
}

/** The apiserver's refusal of `write`: its HTTP code and message. */
async function refusal(write: () => Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await write();
  } catch (err) {
    if (err instanceof KubeApiError) return { code: err.code, message: err.message };
    throw err;
  }
  assert.fail('the write was allowed');
}

const runYaml = (name: string, script: string) => `
apiVersion: kruntimes.io/v1alpha1
kind: Run
metadata:
  name: ${name}
spec:
  runtime: bash
  args: [${JSON.stringify(script)}]
`;

describe('admission: runtimed confined to its own Runs and its own pod', function () {
  this.timeout(180_000);
  let admin: KubeClient;
  let kubeconfigPath: string;
  let ns: string;
  /** The pod running Run `long`, and the other Runtime Pod. */
  let own: string;
  let other: string;
  let asOwn: KubeClient;
  const heartbeat = { status: { conditions: [{ type: 'e2e.kruntimes.io/Probe', status: 'True', reason: 'E2E' }] } };

  before(async () => {
    ({ client: admin, kubeconfigPath } = await setupPlatform());
    ns = await createNamespace('e2e-admission');
    await applyYaml(ns, bashRuntimeYaml({ replicas: 2, runs: 1 }));
    await waitForSchedulable(ns, 'bash', 2);
    await applyYaml(ns, runYaml('long', 'sleep 300'));
    const running = await waitForRun(admin, ns, 'long', (r) => r.status?.phase === RunPhase.Running);
    own = running.status!.assignedPod!;
    const pods = JSON.parse((await kubectl(['get', 'pods', '-n', ns, '-l', 'runtime=bash', '-o', 'json'])).stdout) as {
      items: Array<{ metadata: { name: string } }>;
    };
    other = pods.items.map((p) => p.metadata.name).find((n) => n !== own)!;
    assert.ok(other, 'a second Runtime Pod');
    asOwn = await clientWithToken(kubeconfigPath, await podToken(own));
  });
  after(async () => {
    await asOwn?.close();
    if (ns) await deleteNamespace(ns);
  });

  /** `kubectl create token` for the Runtime's ServiceAccount, bound to `pod` (what runtimed's projected token is). */
  async function podToken(pod: string): Promise<string> {
    const r = await kubectl(['create', 'token', serviceAccountName('bash'), '-n', ns, '--bound-object-kind', 'Pod', '--bound-object-name', pod]);
    return r.stdout.trim();
  }

  it('is installed with the platform and type-checks', async () => {
    const policy = JSON.parse((await kubectl(['get', 'validatingadmissionpolicy', POLICY, '-o', 'json'])).stdout);
    assert.deepEqual(policy.status?.typeChecking ?? {}, {});
    const binding = JSON.parse((await kubectl(['get', 'validatingadmissionpolicybinding', POLICY, '-o', 'json'])).stdout);
    assert.deepEqual(binding.spec.validationActions, ['Deny']);
    assert.equal(binding.spec.matchResources?.namespaceSelector?.matchLabels, undefined);
  });

  it("refuses another pod's token on a Run: no status write, no claim", async () => {
    const asOther = await clientWithToken(kubeconfigPath, await podToken(other));
    try {
      const who = `the runtimed of pod ${other} may write the status of Runs assigned to its own pod only: Run long is assigned to pod ${own}`;
      assert.deepEqual(await refusal(() => asOther.mergePatch(Paths.runStatus(ns, 'long'), { status: { message: 'hijacked' } })), {
        code: 403,
        message: `runs.kruntimes.io "long" is forbidden: ${DENIED}${who} (${POLICY})`,
      });
      assert.deepEqual(await refusal(() => asOther.mergePatch(Paths.runStatus(ns, 'long'), { status: { assignedPod: other } })), {
        code: 403,
        message: `runs.kruntimes.io "long" is forbidden: ${DENIED}${who} and may not be assigned to pod ${other} (${POLICY})`,
      });
    } finally {
      await asOther.close();
    }
    const run = await admin.get<Run>(Paths.run(ns, 'long'));
    assert.equal(run.status?.assignedPod, own);
    assert.notEqual(run.status?.message, 'hijacked');
  });

  it('lets a pod write its own Run status, but not give the Run to another pod', async () => {
    const written = await asOwn.mergePatch<Run>(Paths.runStatus(ns, 'long'), { status: { message: `running on pod ${own}` } });
    assert.equal(written.status?.assignedPod, own);
    assert.deepEqual(await refusal(() => asOwn.mergePatch(Paths.runStatus(ns, 'long'), { status: { assignedPod: other } })), {
      code: 403,
      message:
        `runs.kruntimes.io "long" is forbidden: ${DENIED}the runtimed of pod ${own} may write the status of Runs assigned to its own pod only: ` +
        `Run long is assigned to pod ${own} and may not be assigned to pod ${other} (${POLICY})`,
    });
  });

  it("writes its own pod's status (the heartbeat), not another pod's", async () => {
    await asOwn.strategicPatch(Paths.podStatus(ns, own), heartbeat);
    assert.deepEqual(await refusal(() => asOwn.strategicPatch(Paths.podStatus(ns, other), heartbeat)), {
      code: 403,
      message: `pods "${other}" is forbidden: ${DENIED}the runtimed of pod ${own} may write only its own pod status, not pod ${other} (${POLICY})`,
    });
  });

  it('changes only the artifact-cleanup finalizer of a Run, not its labels', async () => {
    assert.deepEqual(await refusal(() => asOwn.mergePatch(Paths.run(ns, 'long'), { metadata: { labels: { tampered: 'true' } } })), {
      code: 403,
      message:
        `runs.kruntimes.io "long" is forbidden: ${DENIED}the runtimed of pod ${own} may change only the ${Finalizer.ArtifactCleanup} ` +
        `finalizer of Run long, not its spec, labels, annotations or other finalizers (${POLICY})`,
    });
    const added = await asOwn.mergePatch<Run>(Paths.run(ns, 'long'), { metadata: { finalizers: [Finalizer.ArtifactCleanup] } });
    assert.deepEqual(added.metadata.finalizers, [Finalizer.ArtifactCleanup]);
    const removed = await asOwn.mergePatch<Run>(Paths.run(ns, 'long'), { metadata: { finalizers: null } });
    assert.equal(removed.metadata.finalizers, undefined);
  });

  it("confines another account's pod named runtime-… only on Runs and Runtime Pods, not on other pods", async () => {
    const parked = (name: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      // Never scheduled: the pod only has to exist for a token bound to it.
      spec: { serviceAccountName: 'helper', nodeSelector: { 'e2e.kruntimes.io/nowhere': 'true' }, containers: [{ name: 'c', image: 'kruntimes-host' }] },
    });
    await applyYaml(ns, `apiVersion: v1
kind: ServiceAccount
metadata:
  name: helper
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: helper
rules:
  - { apiGroups: [""], resources: [pods/status], verbs: [patch] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: helper
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: helper }
subjects:
  - { kind: ServiceAccount, name: helper }
---
${JSON.stringify(parked('runtime-helper'))}
---
${JSON.stringify(parked('plain'))}
`);
    const token = (await kubectl(['create', 'token', 'helper', '-n', ns, '--bound-object-kind', 'Pod', '--bound-object-name', 'runtime-helper'])).stdout.trim();
    const helper = await clientWithToken(kubeconfigPath, token);
    try {
      await helper.strategicPatch(Paths.podStatus(ns, 'plain'), heartbeat);
      assert.deepEqual(await refusal(() => helper.strategicPatch(Paths.podStatus(ns, own), heartbeat)), {
        code: 403,
        message: `pods "${own}" is forbidden: ${DENIED}the runtimed of pod runtime-helper may write only its own pod status, not pod ${own} (${POLICY})`,
      });
    } finally {
      await helper.close();
      await kubectl(['delete', 'pod', 'runtime-helper', 'plain', '-n', ns, '--wait=false']);
    }
  });

  it('refuses the Runtime ServiceAccount with a token bound to no pod', async () => {
    const unbound = (await kubectl(['create', 'token', serviceAccountName('bash'), '-n', ns])).stdout.trim();
    const c = await clientWithToken(kubeconfigPath, unbound);
    try {
      const { code, message } = await refusal(() => c.strategicPatch(Paths.podStatus(ns, own), heartbeat));
      assert.equal(code, 403);
      assert.ok(
        message.endsWith(
          `${DENIED}system:serviceaccount:${ns}:${serviceAccountName('bash')} (a token not bound to a pod) may write only its own pod status, not pod ${own} (${POLICY})`,
        ),
        message,
      );
    } finally {
      await c.close();
    }
  });

  it("lets the maintainer's account write only the status of its Runtime's Runs being deleted with the finalizer", async () => {
    const account = 'runtime-bash-maintainer';
    await applyYaml(ns, `apiVersion: v1
kind: ServiceAccount
metadata:
  name: ${account}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: ${account}
rules:
  - { apiGroups: [kruntimes.io], resources: [runs, runs/status], verbs: [get, patch] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: ${account}
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: ${account} }
subjects:
  - { kind: ServiceAccount, name: ${account} }
`);
    await applyYaml(ns, runYaml('kept', 'echo kept'));
    await applyYaml(ns, runYaml('elsewhere', 'echo elsewhere').replace('runtime: bash', 'runtime: nosuch'));
    await waitForRun(admin, ns, 'kept');
    for (const name of ['kept', 'elsewhere']) {
      await admin.mergePatch(Paths.run(ns, name), { metadata: { finalizers: [Finalizer.ArtifactCleanup] } });
    }
    const maintainer = await clientWithToken(kubeconfigPath, (await kubectl(['create', 'token', account, '-n', ns])).stdout.trim());
    const condition = { type: 'ArtifactCleanup', status: 'False', reason: 'StoreError', message: 'e2e', lastTransitionTime: new Date().toISOString() };
    const refusedFor = (run: string) =>
      `runs.kruntimes.io "${run}" is forbidden: ${DENIED}the maintainer of Runtime bash (system:serviceaccount:${ns}:${account}) may write ` +
      `the status only of Runs of Runtime bash being deleted that hold the ${Finalizer.ArtifactCleanup} finalizer, not of Run ${run} (${POLICY})`;
    try {
      assert.deepEqual(await refusal(() => maintainer.mergePatch(Paths.runStatus(ns, 'kept'), { status: { conditions: [condition] } })), {
        code: 403,
        message: refusedFor('kept'),
      });
      await kubectl(['delete', 'run', 'kept', 'elsewhere', '-n', ns, '--wait=false']);
      assert.deepEqual(await refusal(() => maintainer.mergePatch(Paths.runStatus(ns, 'elsewhere'), { status: { conditions: [condition] } })), {
        code: 403,
        message: refusedFor('elsewhere'),
      });
      const written = await maintainer.mergePatch<Run>(Paths.runStatus(ns, 'kept'), { status: { conditions: [condition] } });
      assert.ok(written.status?.conditions?.some((c) => c.type === 'ArtifactCleanup' && c.message === 'e2e'));
      await maintainer.mergePatch(Paths.run(ns, 'kept'), { metadata: { finalizers: null } });
    } finally {
      await maintainer.close();
      await admin.mergePatch(Paths.run(ns, 'elsewhere'), { metadata: { finalizers: null } }).catch(() => undefined);
    }
    await waitFor('kept gone', async () => (await kubectl(['get', 'run', 'kept', '-n', ns], { check: false })).code !== 0);
  });

  it('leaves runtimed working: its claims, results and heartbeats go through', async () => {
    await kubectl(['delete', 'run', 'long', '-n', ns, '--wait=false']);
    for (const name of ['after-1', 'after-2']) await applyYaml(ns, runYaml(name, `echo "result=${name}" >> "$KRUNTIME_OUTPUTS"`));
    for (const name of ['after-1', 'after-2']) {
      const done = await waitForRun(admin, ns, name);
      assert.equal(done.status?.phase, RunPhase.Succeeded, JSON.stringify(done.status));
      assert.deepEqual(done.status?.outputs, { result: name });
    }
    await waitForSchedulable(ns, 'bash', 2);
  });
});
