// The pod sandbox ("pause") image a CRI needs for every pod, built locally because registry.k8s.io
// is not reachable: Kubernetes' own build/pause/linux/pause.c from the k8s.io/kubernetes module
// (already in the Go module cache for the kubelet), compiled statically with gcc, as upstream's
// build/pause/Dockerfile lays it out (FROM scratch, /pause, USER 65535:65535, ENTRYPOINT /pause).
// Tagged as containerd's default sandbox image, so the CRI config need not name another.
// Cached by the recipe's hash as a label in buildah's storage and as a docker archive beside the
// kruntimes images (listed in images.json by images.ts's caller, build.ts).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { buildah } from './buildah.ts';
import { progress, run, step } from './exec.ts';
import { goEnv, RECIPES } from './go-builds.ts';
import type { RealNodePaths } from './versions.ts';

/** containerd v2.4's DefaultSandboxImage (internal/cri/config/config.go). */
export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10.2';
export const PAUSE_VERSION = PAUSE_IMAGE.split(':')[1];

/** gcc flags of upstream's build/pause/Makefile. */
export function pauseCompileArgs(source: string, out: string, version = PAUSE_VERSION): string[] {
  return ['-Os', '-Wall', '-Werror', '-static', `-DVERSION=v${version}-krt`, '-o', out, source];
}

export interface PauseArchive {
  qualified: string;
  archive: string;
  hash: string;
}

export async function buildPauseImage(paths: RealNodePaths): Promise<PauseArchive> {
  const kubelet = RECIPES.find((r) => r.name === 'kubelet')!;
  const log = path.join(paths.logs, 'pause-image.log');
  const info = JSON.parse(await run('go', ['mod', 'download', '-json', `${kubelet.module}@${kubelet.tag}`], { env: goEnv(kubelet) })) as { Dir: string };
  const source = path.join(info.Dir, 'build', 'pause', 'linux', 'pause.c');
  const hash = createHash('sha256').update(await readFile(source)).update(JSON.stringify(pauseCompileArgs('s', 'o'))).update(PAUSE_IMAGE).digest('hex');
  const archive = path.join(paths.images, `pause-${PAUSE_VERSION}-${hash.slice(0, 16)}.tar`);
  if (existsSync(archive)) {
    progress(`${PAUSE_IMAGE}: cached (${path.basename(archive)})`);
    return { qualified: PAUSE_IMAGE, archive, hash };
  }
  await step(`building ${PAUSE_IMAGE} from k8s.io/kubernetes@${kubelet.tag} build/pause/linux/pause.c`, async () => {
    const work = path.join(paths.root, 'pause');
    await mkdir(work, { recursive: true });
    const bin = path.join(work, 'pause');
    await run('gcc', pauseCompileArgs(source, bin), { log });
    const b = buildah(paths);
    const ctr = (await b.run(['from', 'scratch'])).trim();
    try {
      await b.run(['copy', '--chmod', '0755', ctr, bin, '/pause'], { log });
      await b.run(['config', '--user', '65535:65535', '--entrypoint', '["/pause"]', '--label', `io.kruntimes.pause-hash=${hash}`,
        '--os', 'linux', '--arch', process.arch === 'x64' ? 'amd64' : process.arch, ctr], { log });
      await b.run(['commit', '--rm', ctr, PAUSE_IMAGE], { log });
    } catch (err) {
      await b.run(['rm', ctr]).catch(() => undefined);
      throw err;
    }
    await mkdir(paths.images, { recursive: true });
    await rm(`${archive}.tmp`, { force: true });
    await b.run(['push', PAUSE_IMAGE, `docker-archive:${archive}.tmp:${PAUSE_IMAGE}`], { log });
    await rename(`${archive}.tmp`, archive);
    for (const f of await readdir(paths.images)) {
      if (f.startsWith('pause-') && f !== path.basename(archive)) await rm(path.join(paths.images, f), { force: true });
    }
  });
  return { qualified: PAUSE_IMAGE, archive, hash };
}
