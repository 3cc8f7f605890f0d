// docs/security.md's permissions table against a live cluster: the platform's ClusterRoles, Roles
// and bindings as the apiserver holds them after setupPlatform, and the Roles the Runtime controller
// creates for runtimed and the maintainer of a Runtime with an artifact store. A rule added to the
// manifests or the render without a row in the table (or the other way round) fails here too. And
// the page's own admission policy example, applied as written, refuses what it says it refuses.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createNamespace, deleteNamespace, kubectl, PLATFORM_NAMESPACE, setupPlatform, waitFor } from '../support/platform.ts';
import { documentedGrants, forAccounts, grantLines, grantsOf, SECURITY_DOC } from '../support/permissions-table.ts';

const RUNTIME = 'guarded';
const PLATFORM_ACCOUNTS = ['kruntimes-scheduler', 'kruntimes-controller'];
const RUNTIME_ACCOUNTS = [`runtime-${RUNTIME}`, `runtime-${RUNTIME}-maintainer`];

/** The page's YAML examples, in order. */
const yamlExamples = () => [...readFileSync(SECURITY_DOC, 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);

/** `kubectl get -o json` items of the given kinds (a List carries each item's kind). */
async function live(args: string[]): Promise<never[]> {
  const r = await kubectl(['get', ...args, '-o', 'json']);
  return (JSON.parse(r.stdout) as { items: never[] }).items;
}

describe('docs/security.md permissions table on the live cluster', function () {
  this.timeout(180_000);
  let ns = '';

  before(async () => {
    await setupPlatform();
    ns = await createNamespace('security-doc');
    // replicas 0: the Roles are what this test reads; no Runtime Pod needs to start.
    await kubectl(['apply', '-n', ns, '-f', '-'], {
      input: `apiVersion: kruntimes.io/v1alpha1
kind: Runtime
metadata:
  name: ${RUNTIME}
spec:
  replicas: 0
  artifactStore:
    filesystem: { claimName: artifacts }
  template:
    spec:
      containers:
      - name: runtime
        image: kruntimes-bash-runtime:latest
`,
    });
  });
  after(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it("the platform's ClusterRoles, Roles and bindings are the table's rows", async () => {
    const selector = ['-l', 'app.kubernetes.io/name=kruntimes'];
    const objects = [
      ...(await live(['clusterroles,clusterrolebindings', ...selector])),
      ...(await live(['roles,rolebindings', '-n', PLATFORM_NAMESPACE, ...selector])),
    ];
    assert.deepEqual(grantLines(grantsOf(objects)), grantLines(forAccounts(documentedGrants(), PLATFORM_ACCOUNTS)));
  });

  it("runtimed's and the maintainer's Roles in the Runtime's namespace are the table's rows", async () => {
    const expected = grantLines(forAccounts(documentedGrants({ runtime: RUNTIME }), RUNTIME_ACCOUNTS));
    const actual = await waitFor(
      'runtimed and maintainer Roles rendered',
      async () => {
        const lines = grantLines(grantsOf(await live(['roles,rolebindings', '-n', ns])));
        return lines.length === expected.length ? lines : undefined;
      },
      { timeoutMs: 60_000 },
    );
    assert.deepEqual(actual, expected);
  });

  it('the admission policy that confines runtimed is installed and bound', async () => {
    const r = await kubectl([
      'get',
      'validatingadmissionpolicy,validatingadmissionpolicybinding',
      'kruntimes-runtimed-own-runs',
      '-o',
      'jsonpath={range .items[*]}{.kind}{" "}{.metadata.name}{"\\n"}{end}',
    ]);
    assert.deepEqual(r.stdout.trim().split('\n').sort(), [
      'ValidatingAdmissionPolicy kruntimes-runtimed-own-runs',
      'ValidatingAdmissionPolicyBinding kruntimes-runtimed-own-runs',
    ]);
  });

  it("the page's admission policy example refuses a Runtime without a sandbox in a labelled namespace only", async () => {
    const [runtimeExample, policyExample] = yamlExamples();
    const policy = 'untrusted-runtimes-need-a-sandbox';
    assert.match(policyExample, new RegExp(`name: ${policy}`));
    const untrusted = await createNamespace('security-untrusted');
    try {
      await kubectl(['label', 'namespace', untrusted, 'kruntimes.io/untrusted=true']);
      await kubectl(['apply', '-f', '-'], { input: policyExample });
      const unsandboxed = runtimeExample.split('---')[1].replace('namespace: agents', '').replace(/ {6}runtimeClassName: gvisor\n/, '');
      // The policy takes effect within a second or two of its creation.
      const refused = await waitFor('the policy refuses', async () => {
        const r = await kubectl(['apply', '--dry-run=server', '-n', untrusted, '-f', '-'], { input: unsandboxed, check: false });
        return r.code !== 0 ? r : undefined;
      });
      assert.match(
        refused.stderr,
        /ValidatingAdmissionPolicy 'untrusted-runtimes-need-a-sandbox' with binding 'untrusted-runtimes-need-a-sandbox' denied request: Runtimes in untrusted namespaces must set spec\.template\.spec\.runtimeClassName to gvisor or kata/,
      );
      const sandboxed = runtimeExample.split('---')[1].replace('namespace: agents', '');
      await kubectl(['apply', '--dry-run=server', '-n', untrusted, '-f', '-'], { input: sandboxed });
      await kubectl(['apply', '--dry-run=server', '-n', ns, '-f', '-'], { input: unsandboxed });
    } finally {
      await kubectl(['delete', 'validatingadmissionpolicybinding,validatingadmissionpolicy', policy, '--ignore-not-found'], { check: false });
      await deleteNamespace(untrusted);
    }
  });
});
