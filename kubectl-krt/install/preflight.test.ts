import assert from 'node:assert/strict';
import { compareVersions, decidePreflight, Mode, type Observed } from './preflight.ts';
import type { InstallRecord } from './record.ts';
import { defaultPlatformValues, defaultRuntimesValues } from './values.ts';

const record = (version: string): InstallRecord => ({
  version,
  platformValues: defaultPlatformValues(version),
  runtimesValues: defaultRuntimesValues(version),
  runtimesNamespaces: ['a'],
  installedAt: '2026-01-01T00:00:00Z',
});
const base: Observed = { mode: Mode.Install, pluginVersion: '0.2.0', serverVersion: 'v1.34.4', denied: [], helmOwned: [], force: false };

describe('install preflight', () => {
  it('compares versions', () => {
    assert.equal(compareVersions('0.2.0', '0.10.0'), -1);
    assert.equal(compareVersions('1.0.0', '1.0.0-rc.1'), 1);
    assert.equal(compareVersions('v1.2.3', '1.2.3'), 0);
  });
  it('passes a clean cluster', () => assert.deepEqual(decidePreflight(base), { problems: [], warnings: [] }));
  it('refuses an old Kubernetes', () => {
    assert.match(decidePreflight({ ...base, serverVersion: 'v1.29.2' }).problems[0], /Kubernetes v1.29.2; kruntimes needs 1.31.0/);
  });
  it('lists denied permissions', () => {
    const d = decidePreflight({ ...base, denied: [{ verbs: ['create'], group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' }] });
    assert.match(d.problems[0], /not allowed to create customresourcedefinitions.apiextensions.k8s.io \(cluster-wide\)/);
  });
  it('refuses objects a Helm release owns', () => {
    const d = decidePreflight({ ...base, helmOwned: [{ object: 'Deployment kruntimes-scheduler', release: 'kruntimes', namespace: 'kruntimes-system' }] });
    assert.match(d.problems[0], /belongs to Helm release kruntimes in namespace kruntimes-system: manage it with helm/);
  });
  it('install refuses an existing install; upgrade needs one', () => {
    assert.match(decidePreflight({ ...base, record: record('0.1.0') }).problems[0], /already installed.*use kubectl krt upgrade/);
    assert.match(decidePreflight({ ...base, mode: Mode.Upgrade }).problems[0], /nothing to upgrade/);
  });
  it('install warns when it takes over a platform nothing recorded', () => {
    const d = decidePreflight({ ...base, unrecordedPlatform: true });
    assert.deepEqual(d.problems, []);
    assert.match(d.warnings[0], /without an install record .*taking them over/);
  });
  it('upgrade refuses a downgrade unless forced', () => {
    const up = { ...base, mode: Mode.Upgrade, record: record('0.3.0') };
    assert.match(decidePreflight(up).problems[0], /refusing to downgrade; .*--force/);
    const forced = decidePreflight({ ...up, force: true });
    assert.deepEqual(forced.problems, []);
    assert.match(forced.warnings[0], /downgrading because of --force/);
    assert.deepEqual(decidePreflight({ ...up, record: record('0.1.0') }).problems, []);
  });
});
