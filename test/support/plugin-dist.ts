// The packaged kubectl-krt (dist/ from npm run package) for the binary and Krew e2e tests: reused
// while dist/build-info.json says it was built from the current sources, else built again, all
// five platforms at once so that both suites share one build (the Krew manifest needs every archive).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { pluginSourceHash } from '../../release/build-info.ts';
import type { BuildManifest } from '../../release/package-plugin.ts';
import { PLUGIN_TARGETS } from '../../release/plugin-targets.ts';
import { REPO } from './platform.ts';

const run = promisify(execFile);
export const DIST = path.join(REPO, 'dist');
export const KREW_MANIFEST = path.join(REPO, 'krew', 'krt.yaml');

function current(opts: { fresh: boolean }): BuildManifest | undefined {
  try {
    const info = JSON.parse(readFileSync(path.join(DIST, 'build-info.json'), 'utf8')) as BuildManifest;
    const complete = PLUGIN_TARGETS.every((t) => {
      const a = info.archives.find((x) => x.platform === t.platform);
      return a && existsSync(path.join(DIST, a.file)) && existsSync(path.join(DIST, a.binary));
    });
    const fresh = !opts.fresh || info.sourceHash === pluginSourceHash(REPO);
    return complete && existsSync(KREW_MANIFEST) && fresh ? info : undefined;
  } catch {
    return undefined;
  }
}

let building: Promise<BuildManifest> | undefined;

/** dist/ up to date with the sources: reused, or `npm run package` (about 1–3 minutes, Node binaries cached). */
export function ensurePluginDist(): Promise<BuildManifest> {
  building ??= (async () => {
    const reused = current({ fresh: true });
    if (reused) return reused;
    await run(process.execPath, [path.join(REPO, 'release', 'package-plugin.ts')], { cwd: REPO, maxBuffer: 16 << 20, timeout: 600_000 });
    // Not compared with the sources again: they may have changed while it built.
    const built = current({ fresh: false });
    if (!built) throw new Error('npm run package finished but dist/ is incomplete');
    return built;
  })();
  return building;
}

export function archivePath(info: BuildManifest, platform: string): string {
  const a = info.archives.find((x) => x.platform === platform);
  if (!a) throw new Error(`no ${platform} archive in dist/`);
  return path.join(DIST, a.file);
}
