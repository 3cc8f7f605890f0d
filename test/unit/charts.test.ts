// The Helm charts' copies of manifests/ (CRDs) and of package.json's version must not drift:
// `npm run charts:sync` rewrites them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { chartSyncPlan, REPO, staleChartCrds } from '../tools/chart-sync.ts';

describe('Helm charts in sync with manifests/ and package.json', () => {
  for (const file of chartSyncPlan()) {
    it(`${file.path} is up to date (else: npm run charts:sync)`, () => {
      assert.equal(readFileSync(path.join(REPO, file.path), 'utf8'), file.expected, `${file.path} drifted: run npm run charts:sync`);
    });
  }
  it('has no CRD without a source in manifests/crds (else: npm run charts:sync)', () => {
    assert.deepEqual(staleChartCrds(), []);
  });
});
