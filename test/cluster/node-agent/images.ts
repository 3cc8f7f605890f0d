// Image name → local entry point: the one table that says what an "image" is on this node.
// Registry, repository path, tag and digest are ignored: `ghcr.io/x/kruntimes-runtimed:v1` and
// `kruntimes-runtimed` run the same file. Our images run their ahead-of-time bundle, as the
// Dockerfiles do (release/bundle.ts; bundles.ts makes and caches them): the entry point here
// names the TypeScript source, which the container runner swaps for the bundle's file.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { IMAGE_BUNDLES, type ImageDir, NODE_RUNTIME_ARGS } from '../../../release/bundle.ts';
import { REPO_ROOT } from '../config.ts';

type ImageEntry =
  /** One of our images: its bundle (by images/<dir>), run by the agent's own Node (the pinned Node 22). */
  | { readonly kind: 'node'; readonly dir: ImageDir; readonly file: string }
  /** No entry point: the container's command/args are host commands. */
  | { readonly kind: 'host' };

const ourImage = <D extends ImageDir>(dir: D) => ({ kind: 'node', dir, file: IMAGE_BUNDLES[dir].entry }) as const;

export const IMAGES = {
  'kruntimes-runtimed': ourImage('runtimed'),
  'kruntimes-bash-runtime': ourImage('bash-runtime'),
  'kruntimes-python-runtime': ourImage('python-runtime'),
  'kruntimes-operator': ourImage('operator'),
  'kruntimes-host': { kind: 'host' },
} as const satisfies Record<string, ImageEntry>;

export interface ResolvedImage {
  /** The table key the reference resolved to. */
  name: string;
  /** Our images: the bundle to run (bundleEntrypoint), in place of `entrypoint`'s source file. */
  bundle?: ImageDir;
  /** The source entry point (the fallback when the bundle cannot be made); none for the host image. */
  entrypoint: string[];
  /** Stable id shown in container statuses (`imageID`). */
  imageID: string;
}

/** The image's entry point with its bundle: the flags the Dockerfile's ENTRYPOINT gives Node, then the file. */
export function bundleEntrypoint(file: string, node = process.execPath): string[] {
  return [node, ...NODE_RUNTIME_ARGS, file];
}

/** imageID of a bundled image: changes with the bundle's content key, as a rebuilt image's digest does. */
export function bundledImageID(name: string, key: string): string {
  return `krt.local/${name}@sha256:${createHash('sha256').update(`${name}\0${key}`).digest('hex')}`;
}

/** `registry:5000/path/name:tag@sha256:…` → `name`. */
export function imageName(ref: string): string {
  let s = ref.trim();
  const at = s.indexOf('@');
  if (at >= 0) s = s.slice(0, at);
  const last = s.slice(s.lastIndexOf('/') + 1);
  const colon = last.indexOf(':');
  return colon >= 0 ? last.slice(0, colon) : last;
}

export function resolveImage(
  ref: string,
  node = process.execPath,
  repo = REPO_ROOT,
): ResolvedImage | undefined {
  const name = imageName(ref);
  if (!Object.hasOwn(IMAGES, name)) return undefined;
  const entry: ImageEntry = IMAGES[name as keyof typeof IMAGES];
  const entrypoint = entry.kind === 'node' ? [node, path.join(repo, entry.file)] : [];
  const digest = createHash('sha256')
    .update(`${name}\0${entrypoint.join('\0')}`)
    .digest('hex');
  return { name, ...(entry.kind === 'node' ? { bundle: entry.dir } : {}), entrypoint, imageID: `krt.local/${name}@sha256:${digest}` };
}

export const knownImages = (): string[] => Object.keys(IMAGES);

/**
 * Kubernetes semantics: `command` replaces the image entry point, `args` replace the image's
 * default arguments (our images have none).
 */
export function containerArgv(entrypoint: readonly string[], command?: string[], args?: string[]): string[] {
  const base = command && command.length > 0 ? command : entrypoint;
  return [...base, ...(args ?? [])];
}
