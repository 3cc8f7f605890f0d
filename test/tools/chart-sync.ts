// What the Helm charts copy from the rest of the repo, so manifests/ stays the single source: the
// CRDs (charts/kruntimes/crds/ holds byte-identical copies of manifests/crds/) and the version
// (Chart.yaml version/appVersion and the default image tags follow package.json). Used by
// `npm run charts:sync` to write them and by test/unit/charts.test.ts to fail when they drifted.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pkg from '../../package.json' with { type: 'json' };

export const REPO = fileURLToPath(new URL('../..', import.meta.url));

export interface SyncedFile {
  /** Relative to the repository root. */
  path: string;
  expected: string;
}

const IMAGE_TAG = /^(\s*image: kruntimes-[a-z-]+:)\S+$/gm;

function withVersion(relPath: string, version: string): string {
  const text = readFileSync(path.join(REPO, relPath), 'utf8');
  if (relPath.endsWith('Chart.yaml')) {
    return text.replace(/^version: .*$/m, `version: ${version}`).replace(/^appVersion: .*$/m, `appVersion: "${version}"`);
  }
  return text.replace(IMAGE_TAG, `$1${version}`);
}

export function chartSyncPlan(version: string = pkg.version): SyncedFile[] {
  const crds = readdirSync(path.join(REPO, 'manifests/crds')).filter((f) => f.endsWith('.yaml')).sort();
  return [
    ...crds.map((f) => ({
      path: `charts/kruntimes/crds/${f}`,
      expected: readFileSync(path.join(REPO, 'manifests/crds', f), 'utf8'),
    })),
    ...['charts/kruntimes/Chart.yaml', 'charts/kruntimes-runtimes/Chart.yaml', 'charts/kruntimes/values.yaml', 'charts/kruntimes-runtimes/values.yaml']
      .map((p) => ({ path: p, expected: withVersion(p, version) })),
  ];
}

/** Files in charts/kruntimes/crds/ that no longer have a source in manifests/crds/. */
export function staleChartCrds(): string[] {
  const sources = new Set(readdirSync(path.join(REPO, 'manifests/crds')));
  return readdirSync(path.join(REPO, 'charts/kruntimes/crds')).filter((f) => !sources.has(f)).map((f) => `charts/kruntimes/crds/${f}`);
}
