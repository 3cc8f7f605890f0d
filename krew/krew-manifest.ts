// The Krew plugin manifest (krew/krt.yaml) for a release, filled from the built archives, and the
// krew-release-bot template (.krew.yaml) the Krew index uses to bump version, URIs and sha256 on
// each release tag. Both come from this one description so they cannot drift apart.
import { archiveName, PLUGIN_TARGETS, type PluginTarget } from '../release/plugin-targets.ts';

export const KREW_PLUGIN_NAME = 'krt';
export const KREW_API_VERSION = 'krew.googlecontainertools.github.com/v1alpha2';

export const SHORT_DESCRIPTION = 'Run scripts on warm Runtime Pods with kruntimes';

const DESCRIPTION = `kruntimes runs short scripts ("Runs") on pools of warm Runtime Pods in your
cluster, so a Run never waits for a Pod to start. This plugin creates Runs and follows their logs to the end (kubectl krt run), shows,
lists, waits for and cancels them, and inspects Runtimes. It talks to the
Kubernetes API with your kubeconfig and honours -n, --context and
--kubeconfig like kubectl. Run kubectl krt --help for the commands.`;

const CAVEATS = `This plugin needs kruntimes installed in the cluster (its CRDs, the operator
and at least one Runtime). Install or upgrade the platform matching this
plugin's version with:

  kubectl krt install

Check plugin, platform and Kubernetes versions with: kubectl krt version`;

export interface ReleasedArchive {
  target: PluginTarget;
  /** Lowercase hex sha256 of the archive: the only form Krew's validator accepts. */
  sha256: string;
}

export function releaseDownloadUrl(repository: string, tag: string, file: string): string {
  return `${repository}/releases/download/${tag}/${file}`;
}

function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text.split('\n').map((l) => (l ? pad + l : l)).join('\n');
}

function document(version: string, homepage: string, platformSource: (t: PluginTarget) => string[]): string {
  const platforms = PLUGIN_TARGETS.map((t) => [
    '  - selector:',
    '      matchLabels:',
    `        os: ${t.os}`,
    `        arch: ${t.arch}`,
    ...platformSource(t).map((l) => `    ${l}`),
    `    bin: ${t.binary}`,
  ].join('\n'));
  return [
    `apiVersion: ${KREW_API_VERSION}`,
    'kind: Plugin',
    'metadata:',
    `  name: ${KREW_PLUGIN_NAME}`,
    'spec:',
    `  version: ${version}`,
    `  homepage: ${homepage}`,
    `  shortDescription: ${SHORT_DESCRIPTION}`,
    '  description: |',
    indent(DESCRIPTION, 4),
    '  caveats: |',
    indent(CAVEATS, 4),
    '  platforms:',
    ...platforms,
    '',
  ].join('\n');
}

/** krew/krt.yaml for `version` (semver without the v), with one entry per built archive. */
export function krewManifest(opts: { version: string; repository: string; archives: readonly ReleasedArchive[] }): string {
  const tag = `v${opts.version}`;
  const byPlatform = new Map(opts.archives.map((a) => [a.target.platform, a]));
  const missing = PLUGIN_TARGETS.filter((t) => !byPlatform.has(t.platform)).map((t) => t.platform);
  if (missing.length) throw new Error(`no archive built for ${missing.join(', ')}: the Krew manifest needs every platform (run npm run package without --platforms)`);
  for (const a of opts.archives) {
    if (!/^[a-f0-9]{64}$/.test(a.sha256)) throw new Error(`sha256 of ${a.target.platform} must be 64 lowercase hex digits (got "${a.sha256}")`);
  }
  return document(tag, opts.repository, (t) => [
    `uri: ${releaseDownloadUrl(opts.repository, tag, archiveName(t, tag))}`,
    `sha256: ${byPlatform.get(t.platform)!.sha256}`,
  ]);
}

/**
 * The krew-release-bot template (.krew.yaml at the repository root): Go template syntax, where
 * `addURIAndSha` downloads the tagged release's archive and writes its uri and sha256.
 */
export function krewReleaseBotTemplate(repository: string): string {
  const tag = '{{ .TagName }}';
  return document(tag, repository, (t) => [
    `{{addURIAndSha "${releaseDownloadUrl(repository, tag, archiveName(t, tag))}" .TagName }}`,
  ]);
}

// `node krew/krew-manifest.ts release-bot-template > .krew.yaml` regenerates the template.
if (import.meta.main) {
  const { default: pkg } = await import('../package.json', { with: { type: 'json' } });
  if (process.argv[2] !== 'release-bot-template') {
    process.stderr.write('usage: node krew/krew-manifest.ts release-bot-template > .krew.yaml\n(krew/krt.yaml itself is written by npm run package)\n');
    process.exit(2);
  }
  process.stdout.write(krewReleaseBotTemplate(pkg.homepage));
}
