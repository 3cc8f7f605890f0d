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
});
