// The pure checks of `npm run preflight` (release/preflight.ts): each takes file texts and returns
// the problems found, one per thing to fix, naming the file and what to do.
import { validate } from 'dockerfile-utils';
import { parse } from 'yaml';
import type { SyncedFile } from '../test/tools/chart-sync.ts';

export interface Problem {
  /** The file (relative to the repository root) or command the problem is in. */
  file: string;
  /** What is wrong and what to do about it, on one line. */
  fix: string;
  /** More lines to show under it (a failing command's last lines). */
  detail?: string;
}

export function formatProblem(p: Problem): string {
  const head = `${p.file}: ${p.fix}`;
  if (!p.detail) return head;
  return `${head}\n${p.detail.split('\n').map((l) => `    ${l}`).join('\n')}`;
}

const SYNC = 'run npm run charts:sync';

/** Chart.yaml's version and appVersion must both be package.json's version. */
export function chartVersionProblems(file: string, text: string, version: string): Problem[] {
  const doc = parse(text) as { version?: unknown; appVersion?: unknown } | null;
  const problems: Problem[] = [];
  for (const key of ['version', 'appVersion'] as const) {
    const value = doc?.[key] === undefined ? undefined : String(doc[key]);
    if (value !== version) problems.push({ file, fix: `${key} is ${value ?? '(missing)'}, not package.json's ${version}: ${SYNC}` });
  }
  return problems;
}

/** Every `kruntimes-<image>:<tag>` reference to one of the project's images must carry package.json's version. */
export function imageTagProblems(file: string, text: string, version: string, images: readonly string[]): Problem[] {
  const problems: Problem[] = [];
  const names = images.map((i) => i.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  if (!names) return problems;
  const ref = new RegExp(`\\b(${names}):([A-Za-z0-9_][A-Za-z0-9_.-]*)`, 'g');
  for (const [lineNo, line] of text.split('\n').entries()) {
    for (const m of line.matchAll(ref)) {
      if (m[2] === version) continue;
      const how = file.startsWith('charts/') ? SYNC : `set it to ${m[1]}:${version}`;
      problems.push({ file, fix: `line ${lineNo + 1}: image ${m[1]}:${m[2]} is not tagged ${version}: ${how}` });
    }
  }
  return problems;
}

/**
 * The Krew files: `.krew.yaml` (the release-bot template, version-free) must be what the generator
 * makes; `krew/krt.yaml` (written by `npm run package`, not committed) must, when present, be for this version.
 */
export interface KrewFiles {
  version: string;
  /** `.krew.yaml` as committed, and as the generator makes it. */
  template?: string;
  expectedTemplate: string;
  /** `krew/krt.yaml`, when present. */
  manifest?: string;
}

export function krewProblems(opts: KrewFiles): Problem[] {
  const problems: Problem[] = [];
  if (opts.template === undefined) {
    problems.push({ file: '.krew.yaml', fix: 'missing: node krew/krew-manifest.ts release-bot-template > .krew.yaml' });
  } else if (opts.template !== opts.expectedTemplate) {
    problems.push({ file: '.krew.yaml', fix: 'differs from the generator: node krew/krew-manifest.ts release-bot-template > .krew.yaml' });
  }
  if (opts.manifest !== undefined) {
    const tag = `v${opts.version}`;
    const doc = parse(opts.manifest) as { spec?: { version?: unknown; platforms?: Array<{ uri?: unknown }> } } | null;
    const uris = (doc?.spec?.platforms ?? []).map((p) => String(p.uri ?? ''));
    if (doc?.spec?.version !== tag || uris.some((u) => !u.includes(`/download/${tag}/kubectl-krt_${tag}_`))) {
      problems.push({ file: 'krew/krt.yaml', fix: `is for ${String(doc?.spec?.version ?? '(no version)')}, not ${tag}: run npm run package (all platforms) to rewrite it, or delete it` });
    }
  }
  return problems;
}

interface ChangelogSection {
  heading: string;
  entries: number;
}

function changelogSections(text: string): ChangelogSection[] {
  const sections: ChangelogSection[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('## ')) sections.push({ heading: line.slice(3).trim(), entries: 0 });
    else if (/^[-*] \S/.test(line) && sections.length) sections.at(-1)!.entries++;
  }
  return sections;
}

/**
 * What a release needs from CHANGELOG.md (docs/release.md): a `## [X.Y.Z] - YYYY-MM-DD` section for
 * package.json's version with at least one entry (it becomes the release notes), and an empty
 * `[Unreleased]` section, since whatever it lists is in this build but not in its notes.
 */
export function changelogProblems(text: string, version: string): Problem[] {
  const file = 'CHANGELOG.md';
  const sections = changelogSections(text);
  const unreleased = sections.find((s) => /^\[unreleased\]/i.test(s.heading));
  const release = sections.find((s) => s.heading.startsWith(`[${version}]`));
  const dated = `## [${version}] - YYYY-MM-DD`;
  const problems: Problem[] = [];
  if (!release) {
    problems.push({
      file,
      fix: unreleased?.entries
        ? `no section for ${version}: rename [Unreleased] to "${dated}" (and start a new empty [Unreleased])`
        : `no section for ${version}: add "${dated}" with the release's changes`,
    });
    return problems;
  }
  if (!/^\[[^\]]+\] - \d{4}-\d{2}-\d{2}$/.test(release.heading)) {
    problems.push({ file, fix: `the ${version} heading "## ${release.heading}" has no release date: write "${dated}" when tagging` });
  }
  if (release.entries === 0) problems.push({ file, fix: `the ${version} section lists no changes: add them (they become the release notes)` });
  if (unreleased?.entries) {
    problems.push({ file, fix: `[Unreleased] lists ${unreleased.entries} change(s) that a ${version} build includes but its notes do not: move them under [${version}], or bump package.json's version` });
  }
  return problems;
}

/** The CRDs: each chart copy in chart-sync.ts's plan must equal its source in manifests/crds, and no copy may lack one. */
export function crdProblems(
  plan: readonly SyncedFile[],
  read: (path: string) => string | undefined,
  stale: readonly string[],
): Problem[] {
  const problems: Problem[] = [];
  for (const f of plan.filter((p) => p.path.startsWith('charts/kruntimes/crds/'))) {
    const current = read(f.path);
    const source = `manifests/crds/${f.path.split('/').at(-1)}`;
    if (current === undefined) problems.push({ file: f.path, fix: `missing copy of ${source}: ${SYNC}` });
    else if (current !== f.expected) problems.push({ file: f.path, fix: `differs from ${source}: ${SYNC}` });
  }
  for (const s of stale) problems.push({ file: s, fix: `has no source in manifests/crds: ${SYNC} (removes it)` });
  return problems;
}

/** dockerfile-utils' diagnostics, as images/dockerfiles.test.ts checks them. */
export function dockerfileProblems(file: string, text: string): Problem[] {
  return validate(text).map((d) => ({ file, fix: `line ${d.range.start.line + 1}: ${d.message}` }));
}

/** The last `lines` non-empty lines of a command's output. */
export function outputTail(output: string, lines = 20): string {
  return output.split('\n').map((l) => l.trimEnd()).filter(Boolean).slice(-lines).join('\n');
}
