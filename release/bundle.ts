// Ahead-of-time bundles of the deployable entry points: one ESM file per image (esbuild, wasm),
// which the image's final stage runs instead of the TypeScript sources. Type stripping and one
// module record per file cost an idle process tens of MB (docs/performance.md, "Memory"): a
// bundle starts with the whole graph in one script and no node_modules beside it.
//   images/<dir>/Dockerfile runs `node release/bundle.ts <dir> --out /bundle` in its bundle stage;
//   the local cluster's node agent runs the same bundles, made on demand and cached by content
//   (test/cluster/node-agent/bundles.ts); release/package-plugin.ts shares NODE_BUNDLE_OPTIONS.
// Layout of an output root: bundle/<dir>.mjs (plus chunks/ for what is imported lazily) and the
// files the bundled modules read at run time, at their repository paths (proto/…): modules
// resolve those from import.meta.url one level below the root, as the sources do.
// Usage: node release/bundle.ts [DIR...] [--out OUT]   (default: every image, OUT dist/bundles/<dir>)
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BuildOptions, Metafile } from 'esbuild-wasm';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/** The deployable entry points, by the folder of their Dockerfile (images/<dir>); the image is `kruntimes-<dir>`. */
export const IMAGE_BUNDLES = {
  'operator': { entry: 'operator/main.ts' },
  'runtimed': { entry: 'sidecar/main.ts' },
  'bash-runtime': { entry: 'runtimes/bash/main.ts' },
  'python-runtime': { entry: 'runtimes/python/main.ts' },
} as const;
export type ImageDir = keyof typeof IMAGE_BUNDLES;

export const isImageDir = (dir: string): dir is ImageDir => Object.hasOwn(IMAGE_BUNDLES, dir);

/**
 * How the images run Node, in their ENTRYPOINT and ENV (images/dockerfiles.test.ts holds each
 * Dockerfile to this; the node agent runs its bundles the same way). Both cut idle RSS and cost no
 * CPU we could measure (docs/performance.md, "Memory": the bash Runtime Server's CPU per Execute
 * of `true` unchanged within noise):
 * - a young generation of 1 MB semi-spaces instead of growing to 8 MB each: our processes hold
 *   little short-lived data between Runs, and the pages a grown young generation touched stay
 *   resident while idle (3–5 MB per process);
 * - glibc's mmap threshold fixed at 128 KB: by default it rises to the largest block freed, so the
 *   parser's and compiler's big transient blocks of start-up end up in the brk heap, which glibc
 *   does not give back (runtimed: 7 MB). Workloads never see it: a Runtime Server passes them
 *   PATH, LANG, LC_ALL, TZ and named variables only (runtimes/kit/isolation.ts).
 * Not used: --max-old-space-size (a limit, not a saving while idle), --v8-pool-size (within
 * noise), --no-opt, --jitless and --lite-mode: they lower the bash server's RSS by 7–8 MB, but
 * almost all of it is pages of the Node binary (TurboFan's code) never touched, which every Node
 * process on a node shares, so a warm pod saves ≈ 1.5 MB of its own for giving up optimized code
 * under load; --jitless and --lite-mode also turn WebAssembly off, which undici's HTTP parser
 * (runtimed, the operator) needs.
 */
export const NODE_RUNTIME_ARGS = ['--max-semi-space-size=1'] as const;
export const NODE_RUNTIME_ENV = { MALLOC_MMAP_THRESHOLD_: '131072' } as const;

/** Where a bundle's entry lands below its output root; the image's ENTRYPOINT runs it from /app. */
export const bundleFile = (dir: ImageDir): string => `bundle/${dir}.mjs`;

/**
 * Files a module reads at run time, resolved from its own import.meta.url: they cannot be
 * bundled and travel beside the bundle, at the same path relative to it as to the module.
 */
export const RUNTIME_FILES: Readonly<Record<string, readonly string[]>> = {
  'lib/runtime-proto.ts': ['proto/runtime/v1/runtime.proto'],
};

/** The run-time files of the bundled modules (esbuild's metafile inputs), sorted. */
export function runtimeFilesOf(inputs: readonly string[]): string[] {
  return [...new Set(inputs.flatMap((m) => RUNTIME_FILES[m] ?? []))].sort();
}

/**
 * What every Node bundle of the project shares (the plugin's CommonJS SEA bundle too): Node 22,
 * minified with names kept (error and class names appear in logs and metrics), no license
 * comments (the images carry the LICENSE), errors returned rather than printed.
 */
export const NODE_BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  minify: true,
  keepNames: true,
  legalComments: 'none',
  logLevel: 'silent',
} as const satisfies BuildOptions;

/**
 * One image's bundle: ESM (top-level await in the entry points, import.meta.url in lib/), code
 * splitting so that a dynamic import (the S3 SDK, lib/artifact-store/s3-store.ts) stays a chunk
 * loaded on first use rather than parsed at start; `require` made real for the CommonJS packages
 * inside (their require() of Node's built-ins, and of optional native helpers like ws's, which
 * fail as they would without the package).
 */
export function imageBundleOptions(dir: ImageDir, outRoot: string, root = ROOT): BuildOptions & { metafile: true } {
  return {
    ...NODE_BUNDLE_OPTIONS,
    absWorkingDir: root,
    entryPoints: { [dir]: IMAGE_BUNDLES[dir].entry },
    outdir: join(outRoot, dirname(bundleFile(dir))),
    format: 'esm',
    splitting: true,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    metafile: true,
    banner: { js: "import { createRequire as __krtCreateRequire } from 'node:module'; const require = __krtCreateRequire(import.meta.url);" },
  };
}

export interface BundleResult {
  dir: ImageDir;
  /** Repository files (and packages' files, under node_modules/) the bundle was made from. */
  inputs: string[];
  /** Files written, relative to the output root. */
  outputs: string[];
}

/** Bundles one image into `outRoot` (emptied first) and copies its run-time files beside it. */
export async function bundleImage(dir: ImageDir, outRoot: string, root = ROOT): Promise<BundleResult> {
  const esbuild = await import('esbuild-wasm');
  await rm(outRoot, { recursive: true, force: true });
  const result = await esbuild.build(imageBundleOptions(dir, outRoot, root));
  for (const w of result.warnings) process.stderr.write(`esbuild (${dir}): ${w.text}\n`);
  const inputs = Object.keys((result.metafile as Metafile).inputs).sort();
  const assets = runtimeFilesOf(inputs);
  for (const f of assets) {
    await mkdir(dirname(join(outRoot, f)), { recursive: true });
    await copyFile(join(root, f), join(outRoot, f));
  }
  const outputs = Object.keys(result.metafile.outputs).map((f) => relative(outRoot, join(root, f)));
  return { dir, inputs, outputs: [...outputs, ...assets].sort() };
}

/** Stops esbuild's service process, so a CLI can exit. */
export async function stopBundler(): Promise<void> {
  const esbuild = await import('esbuild-wasm');
  await esbuild.stop();
}

if (import.meta.main) {
  try {
    const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' } } });
    const unknown = positionals.filter((d) => !isImageDir(d));
    if (unknown.length) throw new Error(`no image ${unknown.join(', ')} (images: ${Object.keys(IMAGE_BUNDLES).join(', ')})`);
    const dirs = positionals.length ? (positionals as ImageDir[]) : (Object.keys(IMAGE_BUNDLES) as ImageDir[]);
    if (values.out && dirs.length > 1) throw new Error('--out takes one image');
    for (const dir of dirs) {
      const started = Date.now();
      const out = values.out ?? join(ROOT, 'dist', 'bundles', dir);
      const r = await bundleImage(dir, out);
      process.stdout.write(`${dir}: ${IMAGE_BUNDLES[dir].entry} → ${join(out, bundleFile(dir))} (${r.inputs.length} inputs, ${r.outputs.length} files, ${Date.now() - started} ms)\n`);
    }
    await stopBundler();
  } catch (err) {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
    await stopBundler().catch(() => undefined);
  }
}
