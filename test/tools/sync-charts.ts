// `npm run charts:sync`: copy manifests/crds into charts/kruntimes/crds and stamp package.json's
// version into the charts (see chart-sync.ts). Run after changing a CRD or the version.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chartSyncPlan, REPO, staleChartCrds } from './chart-sync.ts';

for (const file of chartSyncPlan()) {
  const target = path.join(REPO, file.path);
  let current: string | undefined;
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === file.expected) continue;
  writeFileSync(target, file.expected);
  console.log(`updated ${file.path}`);
}
for (const stale of staleChartCrds()) {
  rmSync(path.join(REPO, stale));
  console.log(`removed ${stale}`);
}
