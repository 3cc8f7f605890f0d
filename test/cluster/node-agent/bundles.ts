// The images' bundles on the process node: the agent runs what the images run (release/bundle.ts),
// not the TypeScript sources, so the local cluster's memory and start-up figures are the images'.
// A bundle is made on a container's first start and again once a file it was made from changed
// (the checkout is live: e2e runs exercise the working tree as it is), and kept by content under
// <cache>/bundles/<dir>-<key>/ — outside the checkout, across clusters. The key hashes the
// repository files esbuild read (the previous build's metafile says which), package-lock.json
// for everything under node_modules, and release/bundle.ts itself.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleFile, bundleImage, IMAGE_BUNDLES, type ImageDir, stopBundler } from '../../../release/bundle.ts';
import { cacheDir, REPO_ROOT } from '../config.ts';

/** Where the bundles live: kept visible in every container (container-process.ts), as the checkout is. */
export const bundlesRoot = (): string => path.join(cacheDir(), 'bundles');

/** The files whose contents key a bundle besides its repository inputs. */
const KEY_FILES = ['package-lock.json', 'release/bundle.ts'] as const;

/** Repository inputs of a build: node_modules files are covered by package-lock.json. */
export function repositoryInputs(inputs: readonly string[]): string[] {
  return inputs.filter((f) => !f.startsWith('node_modules/') && !f.includes('/node_modules/')).sort();
}

/** The content key of a bundle: each file's path and bytes (undefined: missing) in a stable order. */
export function contentKey(dir: ImageDir, files: ReadonlyArray<readonly [string, Buffer | undefined]>): string {
  const h = createHash('sha256').update(`${dir}\0`);
  for (const [f, data] of [...files].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    h.update(`${f}\0${data === undefined ? 'missing' : data.length}\0`);
    if (data) h.update(data);
  }
  return h.digest('hex').slice(0, 32);
}

/** Builds of one image in a row while its files keep changing under esbuild. */
const MAX_ATTEMPTS = 3;
/** Bundles kept per image: a container started from an older one may still be running. */
const KEEP = 6;

/** What a bundle directory records about itself (manifest.json) and the last build of a dir (<dir>.json). */
interface BundleManifest {
  key: string;
  inputs: string[];
}

export interface ReadyBundle {
  /** The output root: bundle/<dir>.mjs and the run-time files beside it. */
  root: string;
  /** The entry file to run. */
  file: string;
  key: string;
}

export class BundleCache {
  private readonly building = new Map<ImageDir, Promise<ReadyBundle>>();

  private readonly root: string;
  private readonly repo: string;

  constructor(root = bundlesRoot(), repo = REPO_ROOT) {
    this.root = root;
    this.repo = repo;
  }

  /** An up-to-date bundle of `dir`, made now if the cache has none for the checkout's current files. */
  ensure(dir: ImageDir): Promise<ReadyBundle> {
    let p = this.building.get(dir);
    if (!p) {
      p = this.lookupOrBuild(dir).finally(() => {
        this.building.delete(dir);
        // esbuild's service process is a few hundred MB of wasm: not kept between builds.
        if (this.building.size === 0) void stopBundler().catch(() => undefined);
      });
      this.building.set(dir, p);
    }
    return p;
  }

  private async keyOf(dir: ImageDir, inputs: readonly string[]): Promise<string> {
    const files = [...new Set([...KEY_FILES, ...repositoryInputs(inputs)])];
    const read = (f: string) => readFile(path.join(this.repo, f)).catch(() => undefined);
    const contents = await Promise.all(files.map(async (f) => [f, await read(f)] as const));
    return contentKey(dir, contents);
  }

  private ready(dir: ImageDir, key: string): ReadyBundle {
    const root = path.join(this.root, `${dir}-${key}`);
    return { root, file: path.join(root, bundleFile(dir)), key };
  }

  private async lookupOrBuild(dir: ImageDir): Promise<ReadyBundle> {
    const last = await readFile(path.join(this.root, `${dir}.json`), 'utf8').then((t) => JSON.parse(t) as BundleManifest, () => undefined);
    if (last) {
      const hit = this.ready(dir, await this.keyOf(dir, last.inputs));
      if (existsSync(path.join(hit.root, 'manifest.json'))) return hit;
    }
    return this.build(dir);
  }

  private async build(dir: ImageDir, attempt = 1): Promise<ReadyBundle> {
    await mkdir(this.root, { recursive: true });
    const work = path.join(this.root, `.${dir}-${process.pid}-${Date.now()}`);
    try {
      const started = Date.now();
      const { inputs } = await bundleImage(dir, work, this.repo);
      // A file edited while esbuild read it: made again, so the key never names older contents.
      const changedSince = (f: string) => stat(path.join(this.repo, f)).then((s) => s.mtimeMs >= started, () => true);
      const changed = await Promise.all(repositoryInputs(inputs).map(changedSince));
      if (changed.some(Boolean) && attempt < MAX_ATTEMPTS) return await this.build(dir, attempt + 1);
      const key = await this.keyOf(dir, inputs);
      const manifest: BundleManifest = { key, inputs: repositoryInputs(inputs) };
      await writeFile(path.join(work, 'manifest.json'), JSON.stringify(manifest));
      const out = this.ready(dir, key);
      if (!existsSync(path.join(out.root, 'manifest.json'))) {
        await rm(out.root, { recursive: true, force: true });
        await rename(work, out.root);
      }
      await writeFile(path.join(this.root, `${dir}.json`), JSON.stringify(manifest));
      await this.prune(dir, out.root);
      return out;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** Removes all but the KEEP most recently made bundles of `dir` (never `current`). */
  private async prune(dir: ImageDir, current: string): Promise<void> {
    const names = (await readdir(this.root)).filter((n) => n.startsWith(`${dir}-`) && /^[0-9a-f]{32}$/.test(n.slice(dir.length + 1)));
    const made = await Promise.all(
      names.map(async (n) => ({ dir: path.join(this.root, n), at: (await stat(path.join(this.root, n))).mtimeMs })),
    );
    const old = made.filter((m) => m.dir !== current).sort((a, b) => b.at - a.at).slice(KEEP - 1);
    await Promise.all(old.map((m) => rm(m.dir, { recursive: true, force: true })));
  }
}

/** The agent's one cache (container-runner.ts asks it; main.ts makes every bundle as the agent starts). */
export const imageBundles = new BundleCache();

/**
 * Makes (or finds) every image's bundle in the background as the agent starts, so the first pods
 * rarely wait for esbuild (seconds per bundle; tens under load). Failures are logged; a container
 * start tries again.
 */
export function prepareBundles(log: (event: string, fields: Record<string, string | number>) => void): void {
  for (const dir of Object.keys(IMAGE_BUNDLES) as ImageDir[]) {
    const started = Date.now();
    imageBundles.ensure(dir).then(
      (b) => log('bundle.ready', { image: dir, key: b.key, ms: Date.now() - started }),
      (err: unknown) => log('bundle.failed', { image: dir, error: err instanceof Error ? err.message : String(err) }),
    );
  }
}
