// The real node's binaries, built from the Go module proxy like test/cluster/build-binaries.sh
// builds the control plane: each component gets a wrapper module (<cache>/real-node/<name>-v<version>/src)
// that requires the upstream module at its pinned version, so `go build` works even where upstream's
// go.mod has replace directives (`go install pkg@version` refuses those). k8s.io/kubernetes needs its
// staging modules mapped to their published v0.X.Y, derived from its own go.mod as build-binaries.sh does.
// Idempotent: a component whose binaries exist is not rebuilt; a new version builds into a new directory.
// A recipe may carry patches (patches/*.patch): the module is then copied from the module cache,
// patched, and `replace`d in the wrapper, and the patches' hash names the cache directory.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from './exec.ts';
import { componentDir, realNodePaths, Versions } from './versions.ts';

export interface GoRecipe {
  /** Cache directory name (with the version appended). */
  name: string;
  version: string;
  /** The upstream module and the tag `go get` asks for. */
  module: string;
  tag: string;
  /** Output binary name → main package. */
  binaries: Record<string, string>;
  cgo: boolean;
  tags: string[];
  /** -X flags and the like, after `-s -w`. */
  ldflags: string[];
  /** Map k8s.io/kubernetes's staging modules (required at v0.0.0) to their published versions. */
  kubernetesStaging?: boolean;
  /** Debian packages the build needs (headers for cgo). */
  debianBuildDeps?: string[];
  /** Files in patches/ applied (`patch -p1`, in order) to a copy of the module before building. */
  patches?: string[];
}

export const PATCHES_DIR = path.join(import.meta.dirname, 'patches');

/** Upstream's version ldflags (hack/lib/version.sh sets both packages), as in build-binaries.sh. */
export function kubernetesVersionLdflags(version: string): string[] {
  const minor = version.split('.')[1];
  return ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((p) => [
    `-X ${p}.gitVersion=v${version}`,
    `-X ${p}.gitMajor=1`,
    `-X ${p}.gitMinor=${minor}`,
    `-X ${p}.gitTreeState=clean`,
    `-X ${p}.buildDate=1970-01-01T00:00:00Z`,
  ]);
}

export const RECIPES: readonly GoRecipe[] = [
  {
    name: 'kubelet',
    version: Versions.kubernetes,
    module: 'k8s.io/kubernetes',
    tag: `v${Versions.kubernetes}`,
    binaries: { kubelet: 'k8s.io/kubernetes/cmd/kubelet' },
    // Static like the control plane (upstream builds its release kubelet without cgo too).
    cgo: false,
    tags: ['selinux', 'notest'],
    ldflags: kubernetesVersionLdflags(Versions.kubernetes),
    kubernetesStaging: true,
  },
  {
    name: 'containerd',
    version: Versions.containerd,
    module: 'github.com/containerd/containerd/v2',
    tag: `v${Versions.containerd}`,
    binaries: {
      'containerd': 'github.com/containerd/containerd/v2/cmd/containerd',
      // Upstream builds the shim with CGO_ENABLED=0 (Makefile SHIM_CGO_ENABLED); containerd itself
      // needs cgo only for the btrfs snapshotter, which is then left out.
      'containerd-shim-runc-v2': 'github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2',
      'ctr': 'github.com/containerd/containerd/v2/cmd/ctr',
    },
    cgo: false,
    tags: ['urfave_cli_no_docs', 'no_btrfs'],
    ldflags: ['version.Version=v' + Versions.containerd, 'version.Package=github.com/containerd/containerd/v2', 'version.Revision=proxy']
      .map((kv) => `-X github.com/containerd/containerd/v2/${kv}`),
  },
  {
    name: 'runc',
    version: Versions.runc,
    module: 'github.com/opencontainers/runc',
    tag: `v${Versions.runc}`,
    binaries: { runc: 'github.com/opencontainers/runc' },
    // seccomp needs cgo and libseccomp; upstream's default also has libpathrs (a Rust library not
    // packaged in bookworm), without which runc uses its pure-Go fallback (features_pathrslite.go).
    // The version comes from the module's VERSION file (go:embed).
    cgo: true,
    tags: ['seccomp', 'urfave_cli_no_docs'],
    ldflags: ['-X main.gitCommit=proxy'],
    debianBuildDeps: ['libseccomp-dev', 'pkg-config', 'gcc', 'libc6-dev'],
  },
  {
    name: 'cni-plugins',
    version: Versions.cniPlugins,
    module: 'github.com/containernetworking/plugins',
    tag: `v${Versions.cniPlugins}`,
    binaries: Object.fromEntries(
      ['main/bridge', 'ipam/host-local', 'main/loopback', 'meta/portmap'].map((p) => [
        p.split('/')[1],
        `github.com/containernetworking/plugins/plugins/${p}`,
      ]),
    ),
    cgo: false,
    tags: [],
    ldflags: [`-X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=v${Versions.cniPlugins}`],
  },
  {
    name: 'kube-network-policies',
    version: Versions.kubeNetworkPolicies,
    module: 'sigs.k8s.io/kube-network-policies',
    tag: `v${Versions.kubeNetworkPolicies}`,
    // The module's only main (cmd/main.go): the standalone agent (NetworkPolicy, optionally
    // AdminNetworkPolicy with --admin-network-policy). It needs nfnetlink_queue, NET_ADMIN, and
    // optionally NRI from containerd. Upstream queues with nft's `queue` expression
    // (CONFIG_NFT_QUEUE, which this machine's kernel lacks); the patch falls back to the xt NFQUEUE
    // target through nft_compat and adds --kubeconfig for running as a host process.
    binaries: { 'kube-network-policies': 'sigs.k8s.io/kube-network-policies/cmd' },
    cgo: false,
    tags: [],
    ldflags: [],
    debianBuildDeps: ['patch'],
    patches: ['kube-network-policies-v0.8.0-xt-nfqueue.patch'],
  },
];

/** Every `k8s.io/<m> => ./staging/src/…` of k8s.io/kubernetes's go.mod, mapped to `k8s.io/<m>@v0.X.Y`. */
export function stagingReplaces(goMod: string, kubeVersion: string): string[] {
  const staging = `v0.${kubeVersion.split('.').slice(1).join('.')}`;
  const modules = [...goMod.matchAll(/^\s*(?:replace\s+)?(k8s\.io\/[A-Za-z0-9._-]+)\s+=>\s+\.\/staging\/src\//gm)].map((m) => m[1]);
  return [...new Set(modules)].sort().map((m) => `${m}=${m}@${staging}`);
}

/** The `go build` argument lists, one per binary (`-o` names it), in the wrapper module's src/. */
export function goBuildArgs(recipe: GoRecipe, outDir: string): string[][] {
  return Object.entries(recipe.binaries).map(([out, pkg]) => [
    'build',
    '-p', '2',
    '-trimpath',
    ...(recipe.tags.length ? ['-tags', recipe.tags.join(',')] : []),
    '-ldflags', ['-s', '-w', ...recipe.ldflags].join(' '),
    '-o', path.join(outDir, out),
    pkg,
  ]);
}

export function goEnv(recipe: GoRecipe): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GOFLAGS: '-mod=mod', CGO_ENABLED: recipe.cgo ? '1' : '0', GOTOOLCHAIN: process.env.GOTOOLCHAIN || 'local' };
  if (!process.env.PATH?.split(':').some((d) => existsSync(path.join(d, 'go'))) && existsSync('/usr/local/go/bin/go')) {
    env.PATH = `/usr/local/go/bin:${env.PATH}`;
  }
  return env;
}

/** `-patched-<hash12>` of the patches' contents (in order), or '' for an unpatched recipe. */
export function patchSuffix(patchContents: readonly string[]): string {
  if (!patchContents.length) return '';
  const h = createHash('sha256');
  for (const c of patchContents) h.update(createHash('sha256').update(c).digest('hex'));
  return `-patched-${h.digest('hex').slice(0, 12)}`;
}

/** The recipe's cache directory: its version, plus the patches' hash when it has patches. */
export function recipeDir(recipe: GoRecipe, cache?: string): string {
  const contents = (recipe.patches ?? []).map((p) => readFileSync(path.join(PATCHES_DIR, p), 'utf8'));
  return componentDir(recipe.name, `${recipe.version}${patchSuffix(contents)}`, cache);
}

export function binDir(recipe: GoRecipe, cache?: string): string {
  return path.join(recipeDir(recipe, cache), 'bin');
}

export function isBuilt(recipe: GoRecipe, cache?: string): boolean {
  const bin = binDir(recipe, cache);
  return Object.keys(recipe.binaries).every((b) => existsSync(path.join(bin, b)));
}

/** Builds one component unless its binaries are cached; returns whether it built. */
export async function buildComponent(recipe: GoRecipe, cache?: string): Promise<boolean> {
  if (isBuilt(recipe, cache)) return false;
  const dir = recipeDir(recipe, cache);
  const src = path.join(dir, 'src');
  const log = path.join(realNodePaths(cache).logs, `${recipe.name}-v${recipe.version}.log`);
  const env = goEnv(recipe);
  await mkdir(src, { recursive: true });
  const go = (args: string[]) => run('go', args, { cwd: src, env, log, nice: true });
  if (!existsSync(path.join(src, 'go.mod'))) await go(['mod', 'init', `krt.local/${recipe.name}build`]);
  if (recipe.kubernetesStaging) {
    const info = JSON.parse(await run('go', ['mod', 'download', '-json', `${recipe.module}@${recipe.tag}`], { cwd: src, env })) as { GoMod: string };
    for (const r of stagingReplaces(await readFile(info.GoMod, 'utf8'), recipe.version)) await go(['mod', 'edit', `-replace=${r}`]);
  }
  if (recipe.patches?.length) await patchedCopy(recipe, src, env, log);
  await go(['get', ...Object.values(recipe.binaries).map((p) => `${p}@${recipe.tag}`)]);
  const tmp = path.join(dir, 'bin.tmp');
  await rm(tmp, { recursive: true, force: true });
  for (const args of goBuildArgs(recipe, tmp)) await go(args);
  await rm(path.join(dir, 'bin'), { recursive: true, force: true });
  await rename(tmp, path.join(dir, 'bin'));
  await writeFile(path.join(dir, 'VERSION'), `${recipe.module}@${recipe.tag}${recipe.patches?.length ? ` + ${recipe.patches.join(' ')}` : ''}\n`);
  return true;
}

/** src/patched: the module at its tag, from the module cache, with the recipe's patches; the wrapper replaces the module with it. */
async function patchedCopy(recipe: GoRecipe, src: string, env: NodeJS.ProcessEnv, log: string): Promise<void> {
  const info = JSON.parse(await run('go', ['mod', 'download', '-json', `${recipe.module}@${recipe.tag}`], { cwd: src, env })) as { Dir: string };
  const copy = path.join(src, 'patched');
  await rm(copy, { recursive: true, force: true });
  await cp(info.Dir, copy, { recursive: true });
  await run('chmod', ['-R', 'u+w', copy]); // the module cache is read-only
  for (const p of recipe.patches ?? []) {
    await run('patch', ['-p1', '--batch', '--forward', '--no-backup-if-mismatch', '-d', copy, '-i', path.join(PATCHES_DIR, p)], { log });
  }
  await run('go', ['mod', 'edit', `-replace=${recipe.module}=./patched`], { cwd: src, env, log });
}
