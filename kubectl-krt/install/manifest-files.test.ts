import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { manifestFiles, seaManifestAssets } from './manifest-files.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('manifest files', () => {
  it('reads manifests/<dir>/*.yaml from a checkout, in name order', () => {
    const crds = manifestFiles('crds');
    assert.ok(crds.some((f) => f.name === 'runs.kruntimes.io.yaml'));
    assert.deepEqual(crds.map((f) => f.name), [...crds.map((f) => f.name)].sort());
    for (const f of crds) assert.equal(f.text, readFileSync(join(ROOT, 'manifests', 'crds', f.name), 'utf8'));
  });

  it('lists every manifest as a SEA asset with an index the binary reads them back by', () => {
    const { files, index } = seaManifestAssets(ROOT);
    assert.deepEqual(Object.keys(index), ['crds', 'platform']);
    assert.deepEqual(index.crds, manifestFiles('crds').map((f) => f.name));
    assert.deepEqual(index.platform, manifestFiles('platform').map((f) => f.name));
    assert.equal(Object.keys(files).length, index.crds.length + index.platform.length);
    assert.equal(files['manifests/crds/runs.kruntimes.io.yaml'], join(ROOT, 'manifests', 'crds', 'runs.kruntimes.io.yaml'));
  });
});
