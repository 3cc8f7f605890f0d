// Official Node binaries from the npm registry (the node-<os>-<arch> packages), fetched once into a
// cache outside the repository and checked against the pinned npm integrity every time they are used.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NODE_DIST_VERSION, type PluginTarget } from './plugin-targets.ts';

const run = promisify(execFile);

export class IntegrityError extends Error {
  override name = 'IntegrityError';
}

export function nodeDistCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.KRT_CACHE || join(homedir(), '.cache', 'kruntimes'), 'node-dist');
}

/** npm's Subresource Integrity string (`sha512-<base64>`) of some bytes. */
export function sriSha512(data: Buffer): string {
  return `sha512-${createHash('sha512').update(data).digest('base64')}`;
}

export function tarballName(target: PluginTarget): string {
  return `${target.nodePackage}-${NODE_DIST_VERSION}.tgz`;
}

async function verified(path: string, target: PluginTarget): Promise<boolean> {
  if (!existsSync(path)) return false;
  const actual = sriSha512(await readFile(path));
  if (actual === target.integrity) return true;
  throw new IntegrityError(
    `${path}: integrity ${actual} differs from the pinned ${target.integrity} of ${target.nodePackage}@${NODE_DIST_VERSION}; delete the file to download it again`,
  );
}

/**
 * The verified npm tarball of the target's Node binary: from the cache, else `npm pack` (the ordinary
 * npm client, which reaches whatever registry npm is configured for). The registry's own
 * dist.integrity and the file's hash must both equal the pinned integrity.
 */
export async function nodeTarball(target: PluginTarget, cacheDir = nodeDistCacheDir()): Promise<string> {
  const path = join(cacheDir, tarballName(target));
  if (await verified(path, target)) return path;
  const spec = `${target.nodePackage}@${NODE_DIST_VERSION}`;
  const { stdout: registryIntegrity } = await run('npm', ['view', spec, 'dist.integrity'], { encoding: 'utf8' });
  if (registryIntegrity.trim() !== target.integrity) {
    throw new IntegrityError(`npm view ${spec} dist.integrity is ${registryIntegrity.trim()}, not the pinned ${target.integrity}`);
  }
  const tmp = join(cacheDir, `.tmp-${process.pid}`);
  await mkdir(tmp, { recursive: true });
  try {
    await run('npm', ['pack', spec, '--pack-destination', tmp, '--silent'], { encoding: 'utf8', maxBuffer: 1 << 20 });
    const downloaded = join(tmp, tarballName(target));
    const actual = sriSha512(await readFile(downloaded));
    if (actual !== target.integrity) {
      throw new IntegrityError(`downloaded ${spec} has integrity ${actual}, not the pinned ${target.integrity}`);
    }
    await rename(downloaded, path);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return path;
}

/** Extracts the target's node executable from its verified tarball into dir; returns its path. */
export async function extractNode(target: PluginTarget, dir: string, cacheDir = nodeDistCacheDir()): Promise<string> {
  const tarball = await nodeTarball(target, cacheDir);
  await mkdir(dir, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', dir, target.nodePath]);
  return join(dir, target.nodePath);
}
