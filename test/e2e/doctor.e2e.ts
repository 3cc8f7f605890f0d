// kubectl krt doctor against the real cluster: a clean namespace is reported clean, and each
// injected fault is found with its evidence — an image the node cannot pull, a Run for a Runtime
// that does not exist, a user without pods/portforward, a deleted control-plane Deployment, a
// Runtime's guard objects deleted or edited while the Runtime controller is not running.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { loadKubeConfig } from '../../lib/kubeconfig.ts';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  kubectl,
  PLATFORM_NAMESPACE,
  REPO,
  run,
  setupPlatform,
  waitFor,
  waitForRun,
  waitForRuntimeReady,
  waitForSchedulable,
} from '../support/platform.ts';

const KUBECTL_DIR = path.join(homedir(), '.cache/kruntimes/k8s-v1.34.4/bin');
process.env.PATH = `${KUBECTL_DIR}${path.delimiter}${process.env.PATH}`;
const PLUGIN = path.join(REPO, 'kubectl-krt', 'bin', 'kubectl-krt');

interface Finding {
  check: string;
  status: 'ok' | 'warning' | 'problem';
  title: string;
  evidence: string[];
  next: string[];
  runtime?: string;
  run?: string;
}
interface Report {
  summary: { ok: number; warning: number; problem: number };
  findings: Finding[];
}

async function doctor(args: string[], kubeconfig: string): Promise<{ code: number; report: Report; stderr: string }> {
  const r = await run(PLUGIN, ['doctor', '-o', 'json', ...args], { env: { KUBECONFIG: kubeconfig, NO_COLOR: '1' } });
  let report: Report;
  try {
    report = JSON.parse(r.stdout) as Report;
  } catch {
    throw new Error(`doctor printed no JSON (exit ${r.code}): ${r.stdout}${r.stderr}`);
  }
  return { code: r.code, report, stderr: r.stderr };
}

const runtimeYaml = (name: string, image: string) => `apiVersion: kruntimes.io/v1alpha1
kind: Runtime
metadata:
  name: ${name}
spec:
  replicas: 1
  capacity:
    resources:
      runs: 2
  template:
    spec:
      containers:
        - name: runtime
          image: ${image}
`;

describe('kubectl krt doctor', function () {
  this.timeout(240_000);
  let ns: string;
  let kubeconfig: string;

  before(async () => {
    ({ kubeconfigPath: kubeconfig } = await setupPlatform());
    ns = await createNamespace('doctor');
    await applyYaml(ns, runtimeYaml('bash', 'kruntimes-bash-runtime:latest'));
    const { client } = await setupPlatform();
    await waitForRuntimeReady(client, ns, 'bash');
    await waitForSchedulable(ns, 'bash', 1);
    await applyYaml(
      ns,
      'apiVersion: kruntimes.io/v1alpha1\nkind: Run\nmetadata:\n  name: fine\nspec:\n  runtime: bash\n  entrypoint: script\n  source:\n    inline: echo fine\n',
    );
    await waitForRun(client, ns, 'fine');
  });

  after(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it('reports a clean namespace as clean: every check ok, exit 0', async () => {
    const { code, report } = await doctor(['-n', ns], kubeconfig);
    assert.deepEqual(
      report.findings.filter((f) => f.status !== 'ok'),
      [],
    );
    assert.equal(code, 0);
    const titles = report.findings.map((f) => f.title);
    assert.ok(titles.includes(`Runtime ${ns}/bash: 1/1 pods ready`), titles.join('\n'));
    assert.ok(titles.includes(`Runtime ${ns}/bash: ServiceAccount, Role, RoleBinding, NetworkPolicy in place`), titles.join('\n'));
    assert.ok(titles.includes('admission policy kruntimes-runtimed-own-runs in place'), titles.join('\n'));
    assert.ok(titles.includes('Deployment kruntimes-scheduler is ready'));
    assert.ok(titles.some((t) => t.startsWith('CRDs present and matching this plugin')));
    assert.ok(titles.includes(`you may get runs, get pods and create pods/portforward in ${ns}`));
    // The table form says the same to a person.
    const table = await run(PLUGIN, ['doctor', '-n', ns], { env: { KUBECONFIG: kubeconfig, NO_COLOR: '1' } });
    assert.equal(table.code, 0);
    assert.match(table.stdout, /\n\d+ ok, 0 warnings, 0 problems\n$/);
  });

  it('finds a Runtime whose image the node cannot pull, and a Run for a missing Runtime', async () => {
    await applyYaml(ns, runtimeYaml('badimage', 'registry.invalid/kruntimes/nope:1'));
    await applyYaml(
      ns,
      'apiVersion: kruntimes.io/v1alpha1\nkind: Run\nmetadata:\n  name: orphan\nspec:\n  runtime: nosuch\n  entrypoint: script\n  source:\n    inline: echo never\n',
    );
    const { client } = await setupPlatform();
    await waitForRun(client, ns, 'orphan', (r) => r.status?.reason === 'RuntimeNotFound');
    const found = await waitFor(
      'doctor to see the image pull failure',
      async () => {
        const d = await doctor(['-n', ns], kubeconfig);
        const f = d.report.findings.find((x) => x.runtime === 'badimage' && x.check === 'runtime');
        return f?.status === 'problem' && f.evidence.some((e) => /ErrImagePull|ImagePullBackOff/.test(e)) ? d : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    assert.equal(found.code, 7);
    const image = found.report.findings.find((x) => x.runtime === 'badimage' && x.check === 'runtime')!;
    assert.equal(image.title, `Runtime ${ns}/badimage: 0/1 pods ready — image pull failure`);
    assert.match(image.evidence[0], /^pod runtime-badimage-[a-z0-9]+-[a-z0-9]+: container runtime: (ErrImagePull|ImagePullBackOff) for image registry\.invalid\/kruntimes\/nope:1/);
    assert.deepEqual(image.next.slice(0, 2), [`kubectl describe runtime badimage -n ${ns}`, `kubectl describe deploy runtime-badimage -n ${ns}`]);
    const orphan = found.report.findings.find((x) => x.run === 'orphan')!;
    assert.equal(orphan.status, 'problem');
    assert.equal(orphan.title, `Run ${ns}/orphan is Pending: Runtime nosuch does not exist in ${ns}`);
    assert.deepEqual(orphan.evidence, [`status: RuntimeNotFound: Runtime "nosuch" not found in namespace ${ns}`]);
    // The healthy Runtime is still reported healthy next to them.
    assert.equal(found.report.findings.find((x) => x.runtime === 'bash' && x.check === 'runtime')!.status, 'ok');
    // doctor RUN keeps to that Run: no word of the other Runtime's image.
    const one = await doctor(['orphan', '-n', ns], kubeconfig);
    assert.equal(one.code, 7);
    assert.ok(one.report.findings.some((f) => f.run === 'orphan' && f.status === 'problem'));
    assert.ok(!one.report.findings.some((f) => f.runtime === 'badimage'));
    const fine = await doctor(['fine', '-n', ns], kubeconfig);
    assert.equal(fine.code, 0);
    assert.ok(fine.report.findings.some((f) => f.title === `Run ${ns}/fine is Succeeded`));
    await kubectl(['delete', 'runtime/badimage', 'run/orphan', '-n', ns]);
  });

  it('finds a user who may not port-forward', async () => {
    await applyYaml(
      ns,
      `apiVersion: v1
kind: ServiceAccount
metadata:
  name: no-portforward
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: no-portforward
rules:
  - apiGroups: [kruntimes.io]
    resources: [runs, runtimes]
    verbs: [get, list]
  - apiGroups: [""]
    resources: [pods]
    verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: no-portforward
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: no-portforward }
subjects:
  - { kind: ServiceAccount, name: no-portforward }
`,
    );
    const token = (await kubectl(['create', 'token', 'no-portforward', '-n', ns, '--duration=10m'])).stdout.trim();
    const admin = loadKubeConfig({ kubeconfig });
    const cluster = admin.getCurrentCluster()!;
    const file = path.join(tmpdir(), `krt-doctor-${process.pid}.kubeconfig`);
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'c',
            cluster: {
              server: cluster.server,
              'certificate-authority-data': cluster.caData,
              'certificate-authority': cluster.caFile,
              'insecure-skip-tls-verify': cluster.skipTLSVerify || undefined,
            },
          },
        ],
        users: [{ name: 'u', user: { token } }],
        contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u', namespace: ns } }],
        'current-context': 'ctx',
      }),
      { mode: 0o600 },
    );
    const { code, report } = await doctor([], file);
    assert.equal(code, 7);
    const perm = report.findings.find((f) => f.check === 'permissions')!;
    assert.equal(perm.status, 'problem');
    assert.equal(perm.title, `you may not create pods/portforward in ${ns}: krt logs and artifact downloads need them`);
    assert.deepEqual(perm.evidence, ['get runs: yes', 'get pods: yes', 'create pods/portforward: no']);
    assert.equal(perm.next[0], `kubectl auth can-i create pods/portforward -n ${ns}`);
    // What this user may not read is said, not guessed: the CRDs and the control plane.
    assert.equal(report.findings.find((f) => f.check === 'crds')!.title, 'could not read the CRDs');
    assert.equal(report.findings.find((f) => f.check === 'control-plane')!.status, 'warning');
  });

  it("finds a Runtime's guard objects missing or altered while the Runtime controller is down, and in place once it is back", async () => {
    const guards = (report: Report) => report.findings.find((f) => f.check === 'guards' && f.runtime === 'bash')!;
    try {
      await kubectl(['scale', 'deployment', 'kruntimes-controller', '-n', PLATFORM_NAMESPACE, '--replicas=0']);
      await waitFor('no controller pod', async () => {
        const r = await kubectl(['get', 'pods', '-n', PLATFORM_NAMESPACE, '-l', 'app.kubernetes.io/component=controller', '-o', 'name']);
        return r.stdout.trim() === '';
      }, { timeoutMs: 60_000, intervalMs: 500 });
      await kubectl(['delete', 'networkpolicy', 'runtime-bash', '-n', ns]);
      await kubectl([
        'patch', 'role', 'runtime-bash-runtimed', '-n', ns, '--type=json',
        '-p', JSON.stringify([{ op: 'add', path: '/rules/-', value: { apiGroups: [''], resources: ['secrets'], verbs: ['get'] } }]),
      ]);
      const { code, report } = await doctor(['-n', ns], kubeconfig);
      assert.equal(code, 7);
      const f = guards(report);
      assert.equal(f.status, 'problem');
      assert.equal(f.title, `Runtime ${ns}/bash: objects guarding its pods are missing or altered`);
      assert.deepEqual(f.evidence.slice(0, 3), [
        'Role/runtime-bash-runtimed: not as the Runtime controller renders it: rules',
        'NetworkPolicy/runtime-bash: missing',
        'the Runtime controller puts these back at once: is kruntimes-controller running, and may it apply them?',
      ]);
      assert.deepEqual(f.next, [
        `kubectl get serviceaccount,role,rolebinding,networkpolicy -n ${ns} -l runtime=bash`,
        `kubectl get deploy kruntimes-controller -n ${PLATFORM_NAMESPACE}`,
        `kubectl logs deploy/kruntimes-controller -n ${PLATFORM_NAMESPACE}`,
      ]);
      // The controller is down too, and says so.
      assert.equal(report.findings.find((x) => x.check === 'control-plane' && x.title.includes('kruntimes-controller'))!.status, 'problem');
    } finally {
      await kubectl(['scale', 'deployment', 'kruntimes-controller', '-n', PLATFORM_NAMESPACE, '--replicas=1']);
      await kubectl(['rollout', 'status', 'deployment/kruntimes-controller', '-n', PLATFORM_NAMESPACE, '--timeout=120s']);
    }
    const back = await waitFor('guard objects back in place', async () => {
      const d = await doctor(['-n', ns], kubeconfig);
      return guards(d.report).status === 'ok' ? d : undefined;
    }, { timeoutMs: 60_000, intervalMs: 1000 });
    assert.equal(guards(back.report).title, `Runtime ${ns}/bash: ServiceAccount, Role, RoleBinding, NetworkPolicy in place`);
  });

  it('warns when the admission policy that confines Runtime Pods is not in force', async () => {
    try {
      await kubectl(['delete', 'validatingadmissionpolicybinding', 'kruntimes-runtimed-own-runs']);
      const { code, report } = await doctor(['-n', ns], kubeconfig);
      assert.equal(code, 0, 'a warning only');
      const f = report.findings.find((x) => x.check === 'guards' && x.title.startsWith('admission policy'))!;
      assert.deepEqual([f.status, f.title], ['warning', 'admission policy kruntimes-runtimed-own-runs is not in force: ValidatingAdmissionPolicyBinding missing']);
    } finally {
      await kubectl(['apply', '--server-side', '--force-conflicts', '-f', 'manifests/platform/40-admission.yaml']);
    }
  });

  it('finds a deleted control-plane Deployment (and the platform is put back)', async () => {
    try {
      await kubectl(['delete', 'deployment', 'kruntimes-controller', '-n', PLATFORM_NAMESPACE, '--wait=false']);
      const { code, report } = await doctor(['-n', ns], kubeconfig);
      assert.equal(code, 7);
      const f = report.findings.find((x) => x.check === 'control-plane' && x.title.includes('kruntimes-controller'))!;
      assert.equal(f.status, 'problem');
      assert.equal(f.title, `Deployment kruntimes-controller is missing from ${PLATFORM_NAMESPACE}`);
      assert.deepEqual(f.evidence, ['without kruntimes-controller no Runtime gets its Pods']);
      assert.equal(f.next[0], `kubectl get deploy -n ${PLATFORM_NAMESPACE}`);
    } finally {
      await kubectl(['apply', '--server-side', '--force-conflicts', '-f', 'manifests/platform']);
      await kubectl(['rollout', 'status', 'deployment/kruntimes-controller', '-n', PLATFORM_NAMESPACE, '--timeout=120s']);
    }
    const after = await doctor(['-n', ns], kubeconfig);
    assert.deepEqual(
      after.report.findings.filter((f) => f.status !== 'ok'),
      [],
    );
    assert.equal(after.code, 0);
  });
});
