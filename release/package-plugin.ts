// npm run package: kubectl-krt as a Node single executable application (SEA) per platform.
//   esbuild (wasm) bundles kubectl-krt/main.ts into one CommonJS file with the build info defined
//   → the pinned Node (run from its npm package) turns it into a SEA blob (with V8's code cache for
//     the build machine's own platform, whose Node made it)
//   → postject injects the blob into each platform's official Node binary
//   → dist/kubectl-krt_v<version>_<os>-<arch>.tar.gz (executable + LICENSE), sha256 sums,
//     dist/build-info.json, and krew/krt.yaml when every platform was built.
// Usage: node release/package-plugin.ts [--platforms linux-amd64,...] [--out dist] [--tag vX.Y.Z] [--dry-run]
//   --dry-run: resolve the targets, inputs and output names and print them; nothing is downloaded or built.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import * as esbuild from 'esbuild-wasm';
import { inject } from 'postject';
import { krewManifest, type ReleasedArchive } from '../krew/krew-manifest.ts';
import { MANIFEST_INDEX_ASSET, seaManifestAssets } from '../kubectl-krt/install/manifest-files.ts';
import type { BuildInfo } from '../kubectl-krt/version.ts';
import pkg from '../package.json' with { type: 'json' };
import { sha256Hex, tarGz } from './archive.ts';
import { currentBuildInfo, pluginSourceHash } from './build-info.ts';
import { NODE_BUNDLE_OPTIONS } from './bundle.ts';
import { extractNode, nodeDistCacheDir, tarballName } from './node-dist.ts';
import { archiveName, ExecutableFormat, NODE_DIST_VERSION, type PluginTarget, PLUGIN_TARGETS, selectTargets } from './plugin-targets.ts';

const run = promisify(execFile);
const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
/** Node's SEA fuse; the same string for every Node version that supports SEA. */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export interface BuildManifest {
  build: BuildInfo;
  nodeVersion: string;
  sourceHash: string;
  archives: Array<{ platform: string; file: string; sha256: string; binary: string; signed: boolean }>;
}

/** One CommonJS file: SEA's main script may require() built-in modules only, and CJS has no import.meta. */
async function bundle(outfile: string, build: BuildInfo): Promise<void> {
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    ...NODE_BUNDLE_OPTIONS,
    entryPoints: ['kubectl-krt/main.ts'],
    format: 'cjs',
    outfile,
    define: { 'import.meta.url': '__krt_import_meta_url', KRT_BUILD_INFO: JSON.stringify(build) },
    banner: { js: "const __krt_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  });
  for (const w of result.warnings) process.stderr.write(`esbuild: ${w.text}\n`);
  await esbuild.stop();
}

function hostTarget(): PluginTarget {
  const t = PLUGIN_TARGETS.find((x) => x.nodePlatform === process.platform && x.nodeArch === process.arch);
  if (!t) throw new Error(`no Node ${NODE_DIST_VERSION} binary for this machine (${process.platform}/${process.arch}) to make the SEA blob with`);
  return t;
}

/**
 * Whether the blob for this target carries V8's code cache: only when the blob is made by the very
 * Node binary it is injected into (the target is this machine's platform). The cache is specific to
 * the V8 build and flags that made it; elsewhere V8 would reject it and compile anyway.
 */
export function usesCodeCache(target: PluginTarget, host: Pick<PluginTarget, 'platform'> | undefined): boolean {
  return target.platform === host?.platform;
}

async function makeBlob(work: string, bundleFile: string, codeCache: boolean): Promise<Buffer> {
  // The blob must come from the very Node version it is injected into, not from whatever runs this script.
  const node = await extractNode(hostTarget(), join(work, 'host-node'));
  const name = codeCache ? 'code-cache' : 'plain';
  const config = join(work, `sea-config-${name}.json`);
  const blob = join(work, `sea-prep-${name}.blob`);
  // The code cache saves compiling the 2.7 MB bundle at every start (most of `version --client`'s
  // time without it); no snapshot: the CLI's entry point would have to be built around one.
  // The YAML install/upgrade/doctor read from manifests/ travel inside the binary as assets.
  const manifests = seaManifestAssets(ROOT);
  const index = join(work, 'manifest-index.json');
  await writeFile(index, JSON.stringify(manifests.index));
  const seaConfig = {
    main: bundleFile,
    output: blob,
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: codeCache,
    assets: { ...manifests.files, [MANIFEST_INDEX_ASSET]: index },
  };
  await writeFile(config, JSON.stringify(seaConfig));
  await run(node, ['--experimental-sea-config', config], { cwd: work });
  return readFile(blob);
}

/** macOS binaries are signed only on macOS (codesign); elsewhere they stay unsigned and say so. */
function canSign(target: PluginTarget): boolean {
  return target.format === ExecutableFormat.MachO && process.platform === 'darwin';
}

async function executable(target: PluginTarget, work: string, blob: Buffer): Promise<{ path: string; signed: boolean }> {
  const node = await extractNode(target, join(work, target.platform));
  const out = join(work, target.platform, target.binary);
  await copyFile(node, out);
  const sign = canSign(target);
  if (sign) await run('codesign', ['--remove-signature', out]);
  await inject(out, 'NODE_SEA_BLOB', blob, {
    sentinelFuse: SEA_FUSE,
    ...(target.format === ExecutableFormat.MachO ? { machoSegmentName: 'NODE_SEA' } : {}),
  });
  if (sign) {
    const identity = process.env.KRT_MACOS_SIGN_IDENTITY || '-';
    const hardened = identity === '-' ? [] : ['--options', 'runtime', '--timestamp'];
    await run('codesign', ['--sign', identity, '--force', ...hardened, out]);
  }
  return { path: out, signed: sign };
}

export interface PackageOptions {
  targets: PluginTarget[];
  outDir: string;
  /** The release tag; must be `v` + package.json's version. */
  tag?: string;
  log: (line: string) => void;
}

function checkTag(tag: string | undefined, version: string): void {
  if (tag !== undefined && tag !== `v${version}`) {
    throw new Error(`--tag ${tag} does not match package.json version ${version}: set "version" to ${tag.replace(/^v/, '')} first (images, charts and binaries share it)`);
  }
}

/** What `npm run package` would use and write, resolved without downloading or building anything. */
export interface PackagePlan {
  version: string;
  nodeVersion: string;
  /** Repository files the bundle and the SEA blob are made from (relative to the root). */
  inputs: string[];
  targets: Array<{ platform: string; nodePackage: string; cached: boolean; archive: string; binary: string }>;
  /** Files written (relative to the root when inside it). */
  outputs: string[];
}

export interface PlanOptions {
  targets: readonly PluginTarget[];
  outDir: string;
  tag?: string;
  /** Defaults: package.json's version, this checkout, the Node tarball cache of node-dist.ts. */
  version?: string;
  root?: string;
  cacheDir?: string;
}

export function packagePlan(opts: PlanOptions): PackagePlan {
  const version = opts.version ?? pkg.version;
  const root = opts.root ?? ROOT;
  checkTag(opts.tag, version);
  if (opts.targets.length === 0) throw new Error('no platform to build');
  const inputs = ['kubectl-krt/main.ts', 'LICENSE', ...Object.values(seaManifestAssets(root).files).map((f) => relative(root, f))];
  const missing = inputs.filter((f) => !existsSync(join(root, f)));
  if (missing.length) throw new Error(`missing input ${missing.join(', ')}`);
  const cacheDir = opts.cacheDir ?? nodeDistCacheDir();
  const out = (f: string) => relative(root, join(opts.outDir, f)) || '.';
  const targets = opts.targets.map((t) => ({
    platform: t.platform,
    nodePackage: `${t.nodePackage}@${NODE_DIST_VERSION}`,
    cached: existsSync(join(cacheDir, tarballName(t))),
    archive: out(archiveName(t, `v${version}`)),
    binary: out(join(t.platform, t.binary)),
  }));
  const outputs = [
    ...targets.flatMap((t) => [t.archive, t.binary]),
    out(`kubectl-krt_v${version}_sha256sums.txt`),
    out('build-info.json'),
    ...(opts.targets.length === PLUGIN_TARGETS.length ? ['krew/krt.yaml'] : []),
  ];
  return { version, nodeVersion: NODE_DIST_VERSION, inputs, targets, outputs };
}

export function formatPackagePlan(plan: PackagePlan): string[] {
  return [
    `kubectl-krt ${plan.version} on Node ${plan.nodeVersion} (dry run: nothing downloaded or built)`,
    `inputs: ${plan.inputs.length} files (${plan.inputs.slice(0, 2).join(', ')}, manifests/…)`,
    ...plan.targets.map((t) => `${t.platform}: ${t.nodePackage} (${t.cached ? 'cached' : 'to download'}) → ${t.archive}`),
    `writes: ${plan.outputs.join(', ')}`,
  ];
}

export async function packagePlugin(opts: PackageOptions): Promise<BuildManifest> {
  const version = pkg.version;
  checkTag(opts.tag, version);
  const build = currentBuildInfo(ROOT, version);
  // Hashed before bundling: what this build is made of, even if files change while it runs.
  const sourceHash = pluginSourceHash(ROOT);
  const work = join(tmpdir(), `krt-package-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    const bundleFile = join(work, 'kubectl-krt.cjs');
    const started = Date.now();
    await bundle(bundleFile, build);
    opts.log(`bundled kubectl-krt ${version} (${build.commit}) in ${Date.now() - started} ms`);
    const host = PLUGIN_TARGETS.find((x) => x.nodePlatform === process.platform && x.nodeArch === process.arch);
    const blobs = new Map<boolean, Buffer>();
    const blobFor = async (codeCache: boolean) => {
      if (!blobs.has(codeCache)) blobs.set(codeCache, await makeBlob(work, bundleFile, codeCache));
      return blobs.get(codeCache)!;
    };
    const license = await readFile(join(ROOT, 'LICENSE'));
    const mtime = new Date(build.date);
    await mkdir(opts.outDir, { recursive: true });
    const manifest: BuildManifest = { build, nodeVersion: NODE_DIST_VERSION, sourceHash, archives: [] };
    for (const target of opts.targets) {
      const codeCache = usesCodeCache(target, host);
      const exe = await executable(target, work, await blobFor(codeCache));
      // The bare executable too, under its own name (its usage text shows the name it runs as).
      const binary = join(target.platform, target.binary);
      await mkdir(join(opts.outDir, target.platform), { recursive: true });
      await copyFile(exe.path, join(opts.outDir, binary));
      const archive = await tarGz([
        { name: target.binary, data: await readFile(exe.path), mode: 0o755 },
        { name: 'LICENSE', data: license, mode: 0o644 },
      ], mtime);
      const file = archiveName(target, `v${version}`);
      await writeFile(join(opts.outDir, file), archive);
      const sha256 = sha256Hex(archive);
      manifest.archives.push({ platform: target.platform, file, sha256, binary, signed: exe.signed });
      opts.log(`${file}: ${(archive.length / 1e6).toFixed(1)} MB${codeCache ? ' (with code cache)' : ''}${target.format === ExecutableFormat.MachO && !exe.signed ? ' (unsigned: sign on macOS, see docs/release.md)' : ''}`);
    }
    await writeFile(join(opts.outDir, `kubectl-krt_v${version}_sha256sums.txt`), manifest.archives.map((a) => `${a.sha256}  ${a.file}\n`).join(''));
    await writeFile(join(opts.outDir, 'build-info.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    if (opts.targets.length === PLUGIN_TARGETS.length) {
      const archives: ReleasedArchive[] = manifest.archives.map((a) => ({
        target: PLUGIN_TARGETS.find((t) => t.platform === a.platform)!,
        sha256: a.sha256,
      }));
      const krewFile = join(ROOT, 'krew', 'krt.yaml');
      await writeFile(krewFile, krewManifest({ version, repository: pkg.homepage, archives }));
      opts.log(`wrote ${relative(ROOT, krewFile)}`);
    }
    return manifest;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  try {
    const { values } = parseArgs({
      options: { 'platforms': { type: 'string' }, 'out': { type: 'string', default: join(ROOT, 'dist') }, 'tag': { type: 'string' }, 'dry-run': { type: 'boolean' } },
    });
    if (values['dry-run']) {
      const plan = packagePlan({ targets: selectTargets(values.platforms), outDir: values.out, tag: values.tag });
      for (const line of formatPackagePlan(plan)) process.stdout.write(`${line}\n`);
    } else await packagePlugin({ targets: selectTargets(values.platforms), outDir: values.out, tag: values.tag, log: (l) => process.stdout.write(`${l}\n`) });
  } catch (err) {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
