// docs/security.md's permissions table is what kruntimes grants: every rule of the platform's
// ClusterRoles and Roles (manifests/platform, `kubectl krt install`'s render, the chart's template)
// and of the per-Runtime Roles the Runtime controller renders for runtimed and the maintainer, bound
// to the accounts the table names. test/e2e/security-doc.e2e.ts checks the same on a live cluster.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Runtime } from '../../lib/api.ts';
import { renderPlatform, platformManifests } from '../../kubectl-krt/install/render.ts';
import { platformValues } from '../../kubectl-krt/install/values.ts';
import { renderRuntimeObjects } from '../../operator/runtime-controller/render.ts';
import { documentedGrants, forAccounts, grantLines, grantsOf } from '../support/permissions-table.ts';
import pkg from '../../package.json' with { type: 'json' };

const PLATFORM_ACCOUNTS = ['kruntimes-scheduler', 'kruntimes-controller'];
const runtimeAccounts = (name: string) => [`runtime-${name}`, `runtime-${name}-maintainer`];
const REPO = path.join(import.meta.dirname, '..', '..');
const config = {
  runtimedImage: 'kruntimes-runtimed:0.1.0',
  platformNamespace: 'kruntimes-system',
  maintainerImage: 'kruntimes-operator:0.1.0',
};
const runtime = (spec: Partial<Runtime['spec']> = {}): Runtime => ({
  metadata: { name: 'py', namespace: 'team', uid: 'rt-uid' },
  spec: {
    template: { spec: { containers: [{ name: 'runtime', image: 'kruntimes-python-runtime:latest' }] } },
    artifactStore: { filesystem: { claimName: 'artifacts' } },
    ...spec,
  },
});

describe('docs/security.md permissions table', () => {
  const platformDoc = grantLines(forAccounts(documentedGrants(), PLATFORM_ACCOUNTS));

  it('lists rows for the scheduler, the controller, runtimed and the maintainer only', () => {
    const accounts = new Set(documentedGrants({ runtime: 'py' }).map((g) => g.account));
    assert.deepEqual([...accounts].sort(), [...PLATFORM_ACCOUNTS, ...runtimeAccounts('py')].sort());
  });

  it('equals manifests/platform', () => {
    assert.deepEqual(grantLines(grantsOf(platformManifests())), platformDoc);
  });

  it('equals what kubectl krt install renders, in another namespace too', () => {
    for (const namespace of ['kruntimes-system', 'platform']) {
      const objects = renderPlatform(platformValues(pkg.version, {}), {
        namespace,
        capabilities: { serviceMonitor: false },
        includeNamespace: true,
      });
      assert.deepEqual(grantLines(grantsOf(objects)), platformDoc, namespace);
    }
  });

  it("equals the platform chart's RBAC template", () => {
    const template = readFileSync(path.join(REPO, 'charts', 'kruntimes', 'templates', 'rbac.yaml'), 'utf8');
    const yaml = template.replaceAll('{{ .Release.Namespace }}', 'kruntimes-system');
    assert.doesNotMatch(yaml, /\{\{/, 'rbac.yaml has template directives this test does not render');
    const objects = parseAllDocuments(yaml).map((d) => d.toJS()).filter((o) => o !== null);
    assert.deepEqual(grantLines(grantsOf(objects)), platformDoc);
  });

  it("equals the Runtime controller's render of runtimed's and the maintainer's Roles", () => {
    const rendered = grantLines(grantsOf(renderRuntimeObjects(runtime(), config) as never));
    assert.deepEqual(rendered, grantLines(forAccounts(documentedGrants({ runtime: 'py' }), runtimeAccounts('py'))));
  });

  it('has no maintainer without an artifact store, and binds runtimed to the account a template names', () => {
    const plain = grantLines(grantsOf(renderRuntimeObjects(runtime({ artifactStore: undefined }), config) as never));
    assert.deepEqual(plain, grantLines(forAccounts(documentedGrants({ runtime: 'py' }), ['runtime-py'])));
    const named = runtime({
      artifactStore: undefined,
      template: { spec: { serviceAccountName: 'builder', containers: [{ name: 'runtime', image: 'x' }] } },
    });
    const grants = grantsOf(renderRuntimeObjects(named, config) as never);
    assert.deepEqual(
      grantLines(grants),
      grantLines(forAccounts(documentedGrants({ runtime: 'py' }), ['runtime-py']).map((g) => ({ ...g, account: 'builder' }))),
    );
  });

  it('names the ValidatingAdmissionPolicy that confines runtimed, as shipped', () => {
    const shipped = readFileSync(path.join(REPO, 'manifests', 'platform', '40-admission.yaml'), 'utf8');
    const doc = readFileSync(path.join(REPO, 'docs', 'security.md'), 'utf8');
    for (const name of shipped.matchAll(/^ {2}name: (\S+)$/gm)) assert.ok(doc.includes(`\`${name[1]}\``), name[1]);
  });
});
