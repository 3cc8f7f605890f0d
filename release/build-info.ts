// What a packaged kubectl-krt says about itself (`kubectl krt version`), and the hash of the sources
// it is built from, so tests can tell whether dist/ is stale without bundling again.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { BuildInfo } from '../kubectl-krt/version.ts';

/** Everything the plugin bundle is made from: its code, what it imports, the dependency pins, the packaging. */
export const PLUGIN_SOURCES = ['kubectl-krt', 'lib', 'manifests', 'release', 'package.json', 'package-lock.json', 'LICENSE'] as const;

function files(root: string, rel: string): string[] {
  const path = join(root, rel);
  if (!statSync(path).isDirectory()) return [rel];
  return readdirSync(path).sort().flatMap((name) => files(root, join(rel, name)));
}

/** sha256 over the names and contents of PLUGIN_SOURCES, test files excluded (they are not bundled). */
export function pluginSourceHash(root: string): string {
  const hash = createHash('sha256');
  for (const f of PLUGIN_SOURCES.flatMap((s) => files(root, s))) {
    if (f.endsWith('.test.ts')) continue;
    hash.update(`${relative(root, join(root, f))}\0`).update(readFileSync(join(root, f))).update('\0');
  }
  return hash.digest('hex');
}

/**
 * Version from package.json, the checked-out commit (with `-dirty` when tracked files differ), and
 * the build time: SOURCE_DATE_EPOCH when set (reproducible builds), else now.
 */
export function currentBuildInfo(root: string, version: string, env: NodeJS.ProcessEnv = process.env): BuildInfo {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  let commit = 'unknown';
  try {
    commit = git('rev-parse', 'HEAD');
    if (git('status', '--porcelain', '--untracked-files=no') !== '') commit += '-dirty';
  } catch {
    // Packaged from a source tarball: the version still identifies it.
  }
  const epoch = env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && !/^\d+$/.test(epoch)) {
    throw new Error(`SOURCE_DATE_EPOCH must be whole seconds since 1970 (got "${epoch}")`);
  }
  const date = epoch ? new Date(Number(epoch) * 1000) : new Date();
  return { version, commit, date: date.toISOString().replace(/\.\d{3}Z$/, 'Z') };
}
