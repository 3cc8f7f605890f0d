// Builds everything a real node needs, without touching a running cluster:
//
//   node test/cluster/real-node/build.ts [binaries] [base] [images]     (default: all three)
//
//   binaries  kubelet (the control plane's Kubernetes version), containerd v2 + shim + ctr, runc,
//             the CNI plugins bridge/host-local/loopback/portmap and kube-network-policies, from the
//             Go module proxy (go-builds.ts)
//   base      node:<version>-bookworm-slim assembled from a Debian rootfs (mmdebstrap) and npm's Node,
//             imported into buildah's storage under that name (base-image.ts)
//   images    every images/*/Dockerfile built unchanged with buildah and exported as a docker archive
//             that `ctr -n k8s.io images import` loads (images.ts)
//
// Versions: versions.ts. Everything goes to ${KRT_CACHE:-~/.cache/kruntimes}/real-node/, keyed by
// version or content hash, so a second run only checks. Progress lines and timings on stderr; the
// cache directory on stdout. `smoke.ts` then proves the images start under containerd and runc.
// docs/real-node.md has the cache layout, timings and what joining the node to the cluster needs.
// One build at a time per cache (<cache>/real-node/build.lock): a second build.ts, such as
// `node.ts up` while prebuild.ts's background build runs, waits for the first and then finds
// everything cached.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { withLock } from '../lock.ts';
import { buildBaseImage } from './base-image.ts';
import { ensureDebianPackages, progress, step } from './exec.ts';
import { binDir, buildComponent, isBuilt, RECIPES } from './go-builds.ts';
import { buildImages } from './images.ts';
import { realNodePaths, Versions } from './versions.ts';

const STAGES = ['binaries', 'base', 'images'] as const;
type Stage = (typeof STAGES)[number];

const asked = process.argv.slice(2);
for (const a of asked) {
  if (!STAGES.includes(a as Stage)) {
    process.stderr.write(`unknown stage ${a}; stages: ${STAGES.join(' ')}\n`);
    process.exit(2);
  }
}
const stages = new Set<Stage>(asked.length ? (asked as Stage[]) : STAGES);
const paths = realNodePaths();
const log = `${paths.logs}/apt.log`;
const lock = path.join(paths.root, 'build.lock');
progress(`versions: ${Object.entries(Versions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
await mkdir(paths.root, { recursive: true });
if (existsSync(lock)) progress(`waiting for the build in progress (pid ${readFileSync(lock, 'utf8').trim()}, log ${path.join(paths.logs, 'prebuild.log')})`);
await withLock(lock, build, 90 * 60_000);
process.stdout.write(`${paths.root}\n`);

async function build(): Promise<void> {
  if (stages.has('binaries')) {
    for (const recipe of RECIPES) {
      const label = `${recipe.name} ${recipe.tag}`;
      if (isBuilt(recipe)) {
        progress(`${label}: cached in ${binDir(recipe)}`);
        continue;
      }
      if (recipe.debianBuildDeps) await ensureDebianPackages(recipe.debianBuildDeps, log);
      await step(`building ${label} (${Object.keys(recipe.binaries).join(', ')})`, () => buildComponent(recipe));
    }
  }
  if (stages.has('base') || stages.has('images')) {
    await ensureDebianPackages(['buildah', 'mmdebstrap'], log);
    await buildBaseImage(paths);
  }
  if (stages.has('images')) {
    await buildImages(paths);
  }
}
