// The one table of versions for the real node (kubelet, containerd, runc, CNI plugins, the
// NetworkPolicy agent) and for the locally assembled base image (Debian suite, Node, npm), and
// where each built thing lives in the cache. Nothing here runs a command.
//
// Every built artifact is keyed by its version (or, for images, by a content hash) under
// ${KRT_CACHE:-~/.cache/kruntimes}/real-node/, next to the control plane's k8s-v*/ and etcd-v*/.
import path from 'node:path';
import pkg from '../../../package.json' with { type: 'json' };
import { cacheDir, KUBE_VERSION } from '../config.ts';

export const Versions = {
  /** The kubelet: always the control plane's version (test/cluster/config.ts, build-binaries.sh). */
  kubernetes: KUBE_VERSION,
  /** github.com/containerd/containerd/v2 (Debian's containerd 1.6 is too old for Kubernetes 1.34). */
  containerd: '2.4.2',
  /** github.com/opencontainers/runc, cgo with libseccomp. */
  runc: '1.5.3',
  /** github.com/containernetworking/plugins: bridge, host-local, loopback, portmap. */
  cniPlugins: '1.10.0',
  /** sigs.k8s.io/kube-network-policies: the standalone NetworkPolicy agent. */
  kubeNetworkPolicies: '0.8.0',
  /** The base image's Debian release (as docker.io/library/node:*-bookworm-slim). */
  debianSuite: 'bookworm',
  /** The base image's Node: the repository's pinned Node (the `node` npm package). */
  node: pkg.dependencies.node,
  /** The npm that the official Node 22.23.3 release bundles (its CHANGELOG: "upgrade npm to 10.9.9"). */
  npm: '10.9.9',
} as const;

/** The image name the Dockerfiles' BASE_IMAGE default names. */
export const BASE_IMAGE = `node:${Versions.node}-${Versions.debianSuite}-slim`;

/** Short image names resolve to Docker Hub's library namespace, in buildah and in the kubelet (CRI) alike. */
export function qualifiedImageName(name: string): string {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  const hasRegistry = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasRegistry) return name;
  return slash < 0 ? `docker.io/library/${name}` : `docker.io/${name}`;
}

/** Root of everything the real node builds. */
export function realNodeDir(cache = cacheDir()): string {
  return path.join(cache, 'real-node');
}

/** `<cache>/real-node/<name>-v<version>`: one built component (src/ is its Go wrapper module, bin/ its binaries). */
export function componentDir(name: string, version: string, cache = cacheDir()): string {
  return path.join(realNodeDir(cache), `${name}-v${version}`);
}

export function realNodePaths(cache = cacheDir()) {
  const root = realNodeDir(cache);
  return {
    root,
    /** Build logs, one per step (go build, mmdebstrap, buildah). */
    logs: path.join(root, 'logs'),
    /** buildah's own storage (not /var/lib/containers): the base image and the built images. */
    storage: path.join(root, 'containers', 'storage'),
    storageRunroot: path.join(root, 'containers', 'run'),
    /** The assembled base image's inputs and rootfs tarball, keyed by its recipe's hash. */
    base: path.join(root, 'base'),
    /** `<name>-<context hash>.tar`: docker archives `ctr images import` loads. */
    images: path.join(root, 'images'),
    /** The smoke check's private containerd (root, state, socket, config). */
    smoke: path.join(root, 'smoke'),
  };
}
export type RealNodePaths = ReturnType<typeof realNodePaths>;
