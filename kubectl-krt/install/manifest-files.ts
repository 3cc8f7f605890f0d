// The YAML files under manifests/ that install, upgrade and doctor read. From a checkout they are
// read from disk; the packaged single executable carries them as SEA assets (npm run package adds
// every file seaManifestAssets lists, plus an index, since assets cannot be listed).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getAsset, isSea } from 'node:sea';

const MANIFESTS = new URL('../../manifests/', import.meta.url);
/** Asset key of `{ "<dir>": ["<file>.yaml", ...] }` in the packaged binary. */
export const MANIFEST_INDEX_ASSET = 'manifests/index.json';

export interface ManifestFile {
  name: string;
  text: string;
}

function yamlNames(root: URL | string, dir: string): string[] {
  const path = typeof root === 'string' ? join(root, dir) : new URL(`${dir}/`, root);
  return readdirSync(path).filter((f) => f.endsWith('.yaml')).sort();
}

/** manifests/<dir>/*.yaml in name order. */
export function manifestFiles(dir: string): ManifestFile[] {
  if (isSea()) {
    const index = JSON.parse(getAsset(MANIFEST_INDEX_ASSET, 'utf8')) as Record<string, string[]>;
    const names = index[dir];
    if (!names) throw new Error(`this kubectl-krt binary carries no manifests/${dir} (packaging error)`);
    return names.map((name) => ({ name, text: getAsset(`manifests/${dir}/${name}`, 'utf8') }));
  }
  return yamlNames(MANIFESTS, dir).map((name) => ({ name, text: readFileSync(new URL(`${dir}/${name}`, MANIFESTS), 'utf8') }));
}

/** For npm run package: asset key → file path of every manifest, and the index to store as MANIFEST_INDEX_ASSET. */
export function seaManifestAssets(repoRoot: string): { files: Record<string, string>; index: Record<string, string[]> } {
  const root = join(repoRoot, 'manifests');
  const dirs = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  const files: Record<string, string> = {};
  const index: Record<string, string[]> = {};
  for (const dir of dirs) {
    index[dir] = yamlNames(root, dir);
    for (const name of index[dir]) files[`manifests/${dir}/${name}`] = join(root, dir, name);
  }
  return { files, index };
}
