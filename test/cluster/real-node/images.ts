// Builds every images/*/Dockerfile unchanged with buildah, from the repository root as context,
// tagged as the install manifests and `kubectl krt install` expect (kruntimes-<dir>:<package version>,
// i.e. docker.io/library/kruntimes-<dir>:<version> once a kubelet or containerd normalizes the short
// name), and exports each as a docker archive that `ctr -n k8s.io images import` loads.
//
// Cache: an image is rebuilt only when its content hash changes: the Dockerfile, the build args that
// shape it (VERSION; REVISION is left out, so the revision label names the commit an image with this
// content was first built from), the base image's ID, .dockerignore, and every file its COPY
// instructions take from the context (after .dockerignore). The archive
// <cache>/real-node/images/<name>-<version>-<hash>.tar is the cache entry; images.json beside it lists
// the current archive of each image, and of the pod sandbox image (pause-image.ts).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import pkg from '../../../package.json' with { type: 'json' };
import { isIgnored, parseDockerignore } from '../../../images/dockerignore.ts';
import { REPO_ROOT } from '../config.ts';
import { buildah } from './buildah.ts';
import { progress, run, step } from './exec.ts';
import { buildPauseImage, PAUSE_IMAGE } from './pause-image.ts';
import { BASE_IMAGE, qualifiedImageName, type RealNodePaths } from './versions.ts';

export interface ImageSpec {
  /** images/<dir>/Dockerfile */
  dir: string;
  /** kruntimes-<dir>:<version>, the name the manifests use. */
  ref: string;
  /** The same, fully qualified as buildah stores it and containerd's CRI looks it up. */
  qualified: string;
  dockerfile: string;
}

export function imageSpecs(root = REPO_ROOT, dirs?: string[], version = pkg.version): ImageSpec[] {
  return (dirs ?? []).sort().map((dir) => {
    const ref = `kruntimes-${dir}:${version}`;
    return { dir, ref, qualified: qualifiedImageName(ref), dockerfile: path.join(root, 'images', dir, 'Dockerfile') };
  });
}

export async function imageDirs(root = REPO_ROOT): Promise<string[]> {
  const entries = await readdir(path.join(root, 'images'), { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && existsSync(path.join(root, 'images', e.name, 'Dockerfile'))).map((e) => e.name).sort();
}

/** The context paths a Dockerfile's COPY/ADD instructions take (not those copying from another stage). */
export function contextSources(dockerfile: string): string[] {
  const sources: string[] = [];
  for (const ins of DockerfileParser.parse(dockerfile).getInstructions()) {
    const keyword = ins.getKeyword();
    if (keyword !== 'COPY' && keyword !== 'ADD') continue;
    const flags = (ins as unknown as { getFlags(): Array<{ getName(): string }> }).getFlags();
    if (flags.some((f) => f.getName() === 'from')) continue;
    const words = ins.getArguments().map((a) => a.getValue());
    sources.push(...words.slice(0, -1));
  }
  return [...new Set(sources)];
}

type Hash = ReturnType<typeof createHash>;

async function addTree(hash: Hash, context: string, rel: string, patterns: readonly string[]): Promise<void> {
  if (isIgnored(rel, patterns)) return;
  const full = path.join(context, rel);
  const s = await lstat(full);
  if (s.isDirectory()) {
    for (const name of (await readdir(full)).sort()) await addTree(hash, context, path.posix.join(rel, name), patterns);
  } else if (s.isSymbolicLink()) {
    hash.update(`L ${rel}\0${await readlink(full)}\0`);
  } else {
    hash.update(`F ${rel} ${s.mode & 0o111 ? 'x' : '-'}\0`).update(await readFile(full)).update('\0');
  }
}

export interface HashInputs {
  context: string;
  dockerfile: string;
  buildArgs: Record<string, string>;
  baseImageId: string;
}

/** The content hash that decides whether an image is rebuilt. */
export async function contextHash(i: HashInputs): Promise<string> {
  const text = await readFile(i.dockerfile, 'utf8');
  const ignoreText = await readFile(path.join(i.context, '.dockerignore'), 'utf8').catch(() => '');
  const patterns = parseDockerignore(ignoreText);
  const hash = createHash('sha256');
  hash.update(`dockerfile\0${text}\0ignore\0${ignoreText}\0base\0${i.baseImageId}\0`);
  for (const [k, v] of Object.entries(i.buildArgs).sort(([a], [b]) => a.localeCompare(b))) hash.update(`arg ${k}=${v}\0`);
  for (const src of contextSources(text).sort()) {
    const rel = path.posix.normalize(src).replace(/^\.?\/+/, '').replace(/\/+$/, '') || '.';
    if (!existsSync(path.join(i.context, rel))) throw new Error(`${i.dockerfile}: COPY source ${src} is missing from the context`);
    await addTree(hash, i.context, rel, patterns);
  }
  return hash.digest('hex');
}

export const CONTEXT_HASH_LABEL = 'io.kruntimes.context-hash';

/** The CA bundle this machine's npm trusts (a TLS-intercepting egress proxy's CA among them), if any. */
export function hostCaBundle(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return [env.npm_config_cafile, env.NODE_EXTRA_CA_CERTS, env.SSL_CERT_FILE, '/etc/ssl/certs/ca-certificates.crt'].find((f) => f && existsSync(f));
}

/** The build-time home's .npmrc: npm trusts the machine's CA bundle, copied next to it. */
export function renderBuildNpmrc(hasCa: boolean): string {
  return `# Generated by test/cluster/real-node/images.ts, mounted at /root during RUN steps only.\n${hasCa ? 'cafile=/root/.krt-build-ca.crt\n' : ''}`;
}

/**
 * A directory bind-mounted over the image's /root during RUN steps (buildah build -v): npm's cache
 * survives between builds, and npm trusts this machine's CA bundle, which it needs where egress TLS
 * is intercepted. /root exists in the base image, so the mount leaves nothing behind in any layer
 * (a mount over a missing path would leave an empty file), and the Dockerfiles stay unchanged.
 */
async function buildHome(paths: RealNodePaths): Promise<string> {
  const dir = path.join(paths.root, 'build-home');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = hostCaBundle();
  if (ca) await writeFile(path.join(dir, '.krt-build-ca.crt'), await readFile(ca));
  await writeFile(path.join(dir, '.npmrc'), renderBuildNpmrc(ca !== undefined));
  return dir;
}

export interface BuiltImage {
  ref: string;
  qualified: string;
  archive: string;
  hash: string;
  /** False when the archive was already there. */
  built: boolean;
  seconds: number;
}

export function archiveName(spec: ImageSpec, hash: string): string {
  return `${spec.ref.replace(':', '-')}-${hash.slice(0, 16)}.tar`;
}

/** Builds (when its hash changed) and exports every image; returns them and writes images.json. */
export async function buildImages(paths: RealNodePaths, root = REPO_ROOT): Promise<BuiltImage[]> {
  const b = buildah(paths);
  const baseImageId = await b.imageId(qualifiedImageName(BASE_IMAGE));
  if (!baseImageId) throw new Error(`${BASE_IMAGE} is not in buildah's storage: run the base stage first`);
  const revision = (await run('git', ['rev-parse', 'HEAD'], { cwd: root }).catch(() => 'unknown')).trim();
  const buildArgs = { VERSION: pkg.version };
  const home = await buildHome(paths);
  await mkdir(paths.images, { recursive: true });
  const results: BuiltImage[] = [];
  for (const spec of imageSpecs(root, await imageDirs(root))) {
    const hash = await contextHash({ context: root, dockerfile: spec.dockerfile, buildArgs, baseImageId });
    const archive = path.join(paths.images, archiveName(spec, hash));
    if (existsSync(archive)) {
      progress(`${spec.ref}: cached (${path.basename(archive)})`);
      results.push({ ref: spec.ref, qualified: spec.qualified, archive, hash, built: false, seconds: 0 });
      continue;
    }
    const log = path.join(paths.logs, `image-${spec.dir}.log`);
    const { seconds } = await step(`building ${spec.ref} from images/${spec.dir}/Dockerfile (log ${log})`, async () => {
      if ((await b.imageLabel(spec.qualified, CONTEXT_HASH_LABEL)) !== hash) {
        await b.run([
          'build',
          '--pull=never',
          '--layers',
          '--isolation', 'chroot',
          '--volume', `${home}:/root`,
          '-f', spec.dockerfile,
          ...Object.entries({ ...buildArgs, REVISION: revision }).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
          '--label', `${CONTEXT_HASH_LABEL}=${hash}`,
          '-t', spec.qualified,
          root,
        ], { log, nice: true });
      }
      const tmp = `${archive}.tmp`;
      await rm(tmp, { force: true });
      await b.run(['push', spec.qualified, `docker-archive:${tmp}:${spec.qualified}`], { log });
      await rename(tmp, archive);
      // Older archives of this image are superseded.
      const prefix = `${spec.ref.replace(':', '-')}-`;
      for (const f of await readdir(paths.images)) {
        if (f.startsWith(prefix) && f !== path.basename(archive)) await rm(path.join(paths.images, f), { force: true });
      }
    });
    results.push({ ref: spec.ref, qualified: spec.qualified, archive, hash, built: true, seconds });
  }
  const pause = await buildPauseImage(paths);
  results.push({ ...pause, ref: PAUSE_IMAGE, built: false, seconds: 0 });
  await writeFile(path.join(paths.images, 'images.json'), `${JSON.stringify(results.map(({ ref, qualified, archive, hash }) => ({ ref, qualified, archive, hash })), null, 2)}\n`);
  return results;
}
