// The Runtime controller keeps what it renders in place: the objects that guard a Runtime's pods
// (NetworkPolicy, Role, RoleBinding, ServiceAccount) and its Deployment are watched, and a deleted
// or edited one is put back at once, by the watch event and not by a periodic resync.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { KubeClient } from '../../lib/kube-client.ts';
import path from 'node:path';
import {
  applyYaml,
  bashRuntimeYaml,
  createNamespace,
  deleteNamespace,
  kubectl,
  REPO,
  run,
  setupPlatform,
  waitFor,
  waitForRuntimeReady,
} from '../support/platform.ts';

const example = (name: string) => readFileSync(new URL(`../../docs/examples/${name}`, import.meta.url), 'utf8');

describe('Runtime controller: owned objects stay in place', function () {
  this.timeout(180_000);
  let client: KubeClient;
  let ns: string;
  const get = async (kind: string, name: string) => {
    const r = await kubectl(['get', kind, name, '-n', ns, '-o', 'json'], { check: false });
    return r.code === 0 ? JSON.parse(r.stdout) : undefined;
  };

  before(async () => {
    ({ client } = await setupPlatform());
    ns = await createNamespace('e2e-rtc');
    await applyYaml(ns, example('runtime-bash.yaml').replace('replicas: 2', 'replicas: 1'));
    await waitForRuntimeReady(client, ns, 'bash');
  });
  after(async () => {
    if (ns) await deleteNamespace(ns);
  });

  for (const [kind, name] of [
    ['networkpolicy', 'runtime-bash'],
    ['role', 'runtime-bash-runtimed'],
    ['rolebinding', 'runtime-bash-runtimed'],
    ['serviceaccount', 'runtime-bash'],
  ] as const) {
    it(`puts back a deleted ${kind} within seconds`, async () => {
      const before = await get(kind, name);
      assert.ok(before, `${kind}/${name} exists`);
      await kubectl(['delete', kind, name, '-n', ns]);
      const after = await waitFor(`${kind}/${name} back`, async () => {
        const o = await get(kind, name);
        return o && o.metadata.uid !== before.metadata.uid ? o : undefined;
      }, { timeoutMs: 10_000, intervalMs: 100 });
      assert.deepEqual(after.metadata.ownerReferences?.map((o: { kind: string; name: string }) => [o.kind, o.name]), [['Runtime', 'bash']]);
      if (kind === 'serviceaccount') {
        // Tokens are bound to the old account's UID: the pods roll to get valid ones, and take Runs.
        await waitFor('pods on the new ServiceAccount UID', async () => {
          const d = await get('deployment', 'runtime-bash');
          return d?.spec.template.metadata.annotations?.['kruntimes.io/service-account-uid'] === after.metadata.uid;
        }, { timeoutMs: 10_000, intervalMs: 100 });
        await kubectl(['rollout', 'status', 'deployment/runtime-bash', '-n', ns, '--timeout=120s']);
        await applyYaml(ns, 'apiVersion: kruntimes.io/v1alpha1\nkind: Run\nmetadata:\n  name: after-sa\nspec:\n  runtime: bash\n  args: [\'echo ok\']\n');
        const done = await waitFor('after-sa finished', async () => {
          const r = await get('run', 'after-sa');
          return ['Succeeded', 'Failed'].includes(r?.status?.phase) ? r : undefined;
        }, { timeoutMs: 60_000, intervalMs: 200 });
        assert.equal(done.status.phase, 'Succeeded', JSON.stringify(done.status));
      }
    });
  }

  it('reverts an edit of the NetworkPolicy and of the Role', async () => {
    await kubectl(['patch', 'networkpolicy', 'runtime-bash', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { ingress: [{}] } })]);
    await kubectl([
      'patch', 'role', 'runtime-bash-runtimed', '-n', ns, '--type=json',
      '-p', JSON.stringify([{ op: 'add', path: '/rules/-', value: { apiGroups: [''], resources: ['secrets'], verbs: ['get'] } }]),
    ]);
    await waitFor('NetworkPolicy reverted', async () => {
      const np = await get('networkpolicy', 'runtime-bash');
      return np?.spec.ingress?.[0]?.from?.[0]?.namespaceSelector ? np : undefined;
    }, { timeoutMs: 10_000, intervalMs: 100 });
    await waitFor('Role reverted', async () => {
      const role = await get('role', 'runtime-bash-runtimed');
      return role && !role.rules.some((r: { resources: string[] }) => r.resources.includes('secrets'));
    }, { timeoutMs: 10_000, intervalMs: 100 });
  });

  it('shows on the Runtime, as an Event and in doctor what the apiserver refused', async () => {
    const readyOf = async (name: string) => {
      const rt = await get('runtime', name);
      return rt?.status?.conditions?.find((c: { type: string }) => c.type === 'Ready');
    };
    // An invalid pod template: the Deployment itself is refused.
    await applyYaml(ns, bashRuntimeYaml({ name: 'badport', replicas: 1 }).replace('containerPort: 19091', 'containerPort: 99999'));
    const invalid = await waitFor('badport Ready=False Invalid', async () => {
      const c = await readyOf('badport');
      return c?.reason === 'Invalid' ? c : undefined;
    }, { timeoutMs: 15_000, intervalMs: 200 });
    assert.equal(invalid.status, 'False');
    assert.match(invalid.message, /^the Runtime controller cannot apply Deployment\/runtime-badport: Deployment\.apps "runtime-badport" is invalid: .*containerPort/);
    const events = JSON.parse((await kubectl(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.kind=Runtime,involvedObject.name=badport', '-o', 'json'])).stdout).items;
    assert.ok(events.some((e: { type: string; reason: string }) => e.type === 'Warning' && e.reason === 'Invalid'));
    const plugin = path.join(REPO, 'kubectl-krt', 'bin', 'kubectl-krt');
    const d = await run(plugin, ['doctor', '-n', ns], { env: { NO_COLOR: '1' } });
    assert.equal(d.code, 7, d.stdout + d.stderr);
    assert.match(d.stdout, /Runtime Ready: the Runtime controller cannot apply Deployment\/runtime-badport/);

    // A ServiceAccount that does not exist: the Deployment is applied, its pods cannot be created.
    await applyYaml(ns, bashRuntimeYaml({ name: 'ghost', replicas: 1 }).replace('    spec:\n      containers:', '    spec:\n      serviceAccountName: ghost\n      containers:'));
    const ghost = await waitFor('ghost Ready=False FailedCreate', async () => {
      const c = await readyOf('ghost');
      return c?.reason === 'FailedCreate' ? c : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    assert.match(ghost.message, /^Deployment runtime-ghost cannot create pods: .*serviceaccount "ghost" not found/);
  });

  it('says whose token runtimed uses; a named ServiceAccount without token automount is flagged, in doctor too, until fixed', async () => {
    const credentialsOf = async (name: string) => {
      const rt = await get('runtime', name);
      return rt?.status?.conditions?.find((c: { type: string }) => c.type === 'RuntimedCredentials');
    };
    const own = await waitFor('bash RuntimedCredentials', () => credentialsOf('bash'));
    assert.deepEqual([own.status, own.reason, own.message], [
      'True', 'OwnServiceAccount',
      'runtimed uses ServiceAccount runtime-bash, whose token only runtimed mounts; the runtime container gets no API credentials',
    ]);

    await applyYaml(ns, 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: worker\nautomountServiceAccountToken: false\n');
    await applyYaml(ns, bashRuntimeYaml({ name: 'shared', replicas: 1 }).replace('    spec:\n      containers:', '    spec:\n      serviceAccountName: worker\n      containers:'));
    const off = await waitFor('shared TokenNotMounted', async () => {
      const c = await credentialsOf('shared');
      return c?.reason === 'TokenNotMounted' ? c : undefined;
    }, { timeoutMs: 15_000, intervalMs: 200 });
    assert.equal(off.status, 'False');
    assert.equal(off.message,
      'ServiceAccount worker has automountServiceAccountToken: false, so runtimed has no API credentials and cannot take Runs; ' +
      'set automountServiceAccountToken: true in the pod template, or remove serviceAccountName to use runtime-shared');
    const plugin = path.join(REPO, 'kubectl-krt', 'bin', 'kubectl-krt');
    const d = await run(plugin, ['doctor', '-n', ns], { env: { NO_COLOR: '1' } });
    assert.equal(d.code, 7, d.stdout + d.stderr);
    assert.match(d.stdout, /Runtime .*\/shared: runtimed has no API credentials/);
    assert.ok(d.stdout.includes(`RuntimedCredentials: ${off.message}`), d.stdout);

    // The account's change alone (a watch event of the ServiceAccount) updates the condition.
    await kubectl(['patch', 'serviceaccount', 'worker', '-n', ns, '--type=merge', '-p', '{"automountServiceAccountToken":true}']);
    const on = await waitFor('shared SharedServiceAccount', async () => {
      const c = await credentialsOf('shared');
      return c?.reason === 'SharedServiceAccount' ? c : undefined;
    }, { timeoutMs: 10_000, intervalMs: 100 });
    assert.deepEqual([on.status, on.message], [
      'True',
      'runtimed uses the token of ServiceAccount worker, which every container of the Runtime Pods mounts: the workload can act as runtimed',
    ]);
    // Pods get their token when created: new ones take Runs, and the workload sees the same token.
    await kubectl(['rollout', 'restart', 'deployment/runtime-shared', '-n', ns]);
    await waitForRuntimeReady(client, ns, 'shared', 120_000);
    const probe = (runtime: string, name: string) => `apiVersion: kruntimes.io/v1alpha1
kind: Run
metadata:
  name: ${name}
spec:
  runtime: ${runtime}
  args: ['if [ -s /var/run/secrets/kubernetes.io/serviceaccount/token ]; then echo token=present; else echo token=absent; fi >> "$KRUNTIME_OUTPUTS"']
`;
    await applyYaml(ns, probe('shared', 'token-shared'));
    await applyYaml(ns, probe('bash', 'token-own'));
    for (const [name, token] of [['token-shared', 'present'], ['token-own', 'absent']]) {
      const done = await waitFor(`${name} finished`, async () => {
        const r = await get('run', name);
        return ['Succeeded', 'Failed'].includes(r?.status?.phase) ? r : undefined;
      }, { timeoutMs: 60_000, intervalMs: 200 });
      assert.equal(done.status.phase, 'Succeeded', JSON.stringify(done.status));
      assert.deepEqual(done.status.outputs, { token });
    }
  });
});
