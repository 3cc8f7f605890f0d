// Image name → local entry point: the one table that says what an "image" is on this node.
// Registry, repository path, tag and digest are ignored: `ghcr.io/x/kruntimes-runtimed:v1` and
// `kruntimes-runtimed` run the same file.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { REPO_ROOT } from '../config.ts';

type ImageEntry =
  /** A TypeScript entry file run by the agent's own Node (the pinned Node 22). */
  | { readonly kind: 'node'; readonly file: string }
  /** No entry point: the container's command/args are host commands. */
  | { readonly kind: 'host' };

export const IMAGES = {
  'kruntimes-runtimed': { kind: 'node', file: 'sidecar/main.ts' },
  'kruntimes-bash-runtime': { kind: 'node', file: 'runtimes/bash/main.ts' },
  'kruntimes-python-runtime': { kind: 'node', file: 'runtimes/python/main.ts' },
  'kruntimes-operator': { kind: 'node', file: 'operator/main.ts' },
  'kruntimes-host': { kind: 'host' },
} as const satisfies Record<string, ImageEntry>;

export interface ResolvedImage {
  /** The table key the reference resolved to. */
  name: string;
  entrypoint: string[];
  /** Stable id shown in container statuses (`imageID`). */
  imageID: string;
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
  return { name, entrypoint, imageID: `krt.local/${name}@sha256:${digest}` };
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
