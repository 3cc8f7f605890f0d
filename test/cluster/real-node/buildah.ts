// buildah (Debian's package, no daemon) with the real node's own storage under the cache instead of
// /var/lib/containers, so nothing else on the machine is touched and `rm -rf` of the cache resets it.
// What works in this sandbox (root, ext4, kernel with overlayfs): the overlay storage driver (vfs
// also works but copies every layer in full: KRT_BUILDAH_DRIVER=vfs) and chroot isolation for RUN
// steps (BUILDAH_ISOLATION=chroot: no runtime, no network namespace, so RUN reaches the npm registry
// and the Debian mirror through the host's network).
//
// To look at the storage by hand:
//   buildah --root ~/.cache/kruntimes/real-node/containers/storage \
//           --runroot ~/.cache/kruntimes/real-node/containers/run --storage-driver overlay images
import path from 'node:path';
import { run } from './exec.ts';
import type { RealNodePaths } from './versions.ts';

export function buildahGlobalArgs(paths: RealNodePaths, driver = process.env.KRT_BUILDAH_DRIVER || 'overlay'): string[] {
  return ['--root', paths.storage, '--runroot', paths.storageRunroot, '--storage-driver', driver];
}

export function buildah(paths: RealNodePaths) {
  const global = buildahGlobalArgs(paths);
  const env = { ...process.env, BUILDAH_ISOLATION: 'chroot' };
  const log = path.join(paths.logs, 'buildah.log');
  const call = (args: string[], opts: { log?: string; nice?: boolean } = {}) =>
    run('buildah', [...global, ...args], { env, log: opts.log, nice: opts.nice });
  return {
    global,
    /** Runs buildah; stdout is returned (pass a log to send it there instead). */
    run: call,
    log,
    /** A label of a local image, or undefined when the image is absent. */
    async imageLabel(image: string, label: string): Promise<string | undefined> {
      try {
        const out = await call(['inspect', '--type', 'image', '--format', `{{index .OCIv1.Config.Labels "${label}"}}`, image]);
        const value = out.trim();
        return value && value !== '<no value>' ? value : undefined;
      } catch {
        return undefined;
      }
    },
    async imageId(image: string): Promise<string | undefined> {
      try {
        return (await call(['inspect', '--type', 'image', '--format', '{{.FromImageID}}', image])).trim() || undefined;
      } catch {
        return undefined;
      }
    },
  };
}
