// .dockerignore as the images' build context applies it: read by the Dockerfile checks
// (images/dockerfiles.test.ts) and by the real node's image builds, whose cache key hashes the
// context after it (test/cluster/real-node/images.ts).
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** .dockerignore lines: a plain path excludes itself and everything below; globs as path.matchesGlob. `!` lines are not used here and refused. */
export function parseDockerignore(text: string): string[] {
  const patterns = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const negated = patterns.find((p) => p.startsWith('!'));
  if (negated) throw new Error(`.dockerignore: exceptions (${negated}) are not supported by the context hash`);
  return patterns.map((p) => p.replace(/^\/+|\/+$/g, ''));
}

/** The patterns of `<context>/.dockerignore`; none when there is no such file. */
export async function readDockerignore(context: string): Promise<string[]> {
  return parseDockerignore(await readFile(path.join(context, '.dockerignore'), 'utf8').catch(() => ''));
}

export function isIgnored(rel: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => rel === p || rel.startsWith(`${p}/`) || path.matchesGlob(rel, p));
}
