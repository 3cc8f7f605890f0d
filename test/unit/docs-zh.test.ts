// docs/zh/ holds the Chinese Operations Guide and the troubleshooting page it links. The prose is
// translated; everything a reader copies is not. This test keeps each Chinese page in step with its
// English page: the same ## and ### headings in the same order, the same fenced code blocks (same
// text, same order, under the same heading), the same tables, every `kubectl krt …` command, every
// --flag and every inline code span of the English page, and relative links that resolve (file and
// GitHub heading anchor). An English page that changes without its Chinese page fails here, with a
// message naming the heading or code block that differs.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The pairs kept in step: English page, Chinese page (paths from the repository root). */
const PAIRS: [string, string][] = [
  ['docs/operations.md', 'docs/zh/operations.md'],
  ['docs/troubleshooting.md', 'docs/zh/troubleshooting.md'],
];

interface Heading { level: number; title: string; line: number }
interface Block { info: string; body: string; line: number; section: number }
interface Table { section: number; rows: number; columns: number; line: number }
interface Page {
  headings: Heading[];
  /** Every heading of any level, for anchors. */
  allHeadings: string[];
  blocks: Block[];
  tables: Table[];
  /** The text outside fenced code blocks. */
  prose: string;
  /** Inline code spans of the prose. */
  spans: string[];
  /** [text](target) links of the prose. */
  links: string[];
}

/** Splits a Markdown page into headings, fenced code blocks, tables, inline code spans and links. */
export function parse(text: string): Page {
  const page: Page = { headings: [], allHeadings: [], blocks: [], tables: [], prose: '', spans: [], links: [] };
  const lines = text.split('\n');
  const prose: string[] = [];
  let fence: { info: string; body: string[]; line: number } | undefined;
  let table: Table | undefined;
  lines.forEach((line, i) => {
    if (fence) {
      if (/^```\s*$/.test(line)) {
        page.blocks.push({ info: fence.info, body: fence.body.join('\n'), line: fence.line, section: page.headings.length });
        fence = undefined;
      } else {
        fence.body.push(line);
      }
      return;
    }
    const open = /^```(.*)$/.exec(line);
    if (open) {
      fence = { info: open[1].trim(), body: [], line: i + 1 };
      table = undefined;
      return;
    }
    prose.push(line);
    const heading = /^(#{1,6}) +(.*?)\s*$/.exec(line);
    if (heading) {
      page.allHeadings.push(heading[2]);
      if (heading[1].length === 2 || heading[1].length === 3) {
        page.headings.push({ level: heading[1].length, title: heading[2], line: i + 1 });
      }
    }
    if (/^\|.*\|\s*$/.test(line)) {
      if (!table) {
        table = { section: page.headings.length, rows: 0, columns: cells(line).length, line: i + 1 };
        page.tables.push(table);
      }
      if (!/^\|[\s|:-]+\|\s*$/.test(line)) table.rows++;
      assert.equal(cells(line).length, table.columns, `line ${i + 1}: a table row with another number of columns`);
    } else {
      table = undefined;
    }
  });
  assert.equal(fence, undefined, 'an unclosed ``` block');
  page.prose = prose.join('\n');
  for (const m of page.prose.matchAll(/`([^`\n]+)`/g)) page.spans.push(m[1]);
  for (const m of page.prose.replace(/`[^`\n]+`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) page.links.push(m[1]);
  return page;
}

function cells(row: string): string[] {
  return row.trim().replace(/^\||\|$/g, '').split(/(?<!\\)\|/);
}

/** GitHub's anchor for a heading (github-slugger): lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .replace(/`/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

function anchors(page: Page): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const h of page.allHeadings) {
    const base = slug(h);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

function headingName(page: Page, section: number): string {
  if (section === 0) return 'the introduction (before the first ## heading)';
  const h = page.headings[section - 1];
  return `"${'#'.repeat(h.level)} ${h.title}"`;
}

function showBlock(b: Block | undefined): string {
  return b ? `\`\`\`${b.info}\n${b.body}\n\`\`\`` : '(none)';
}

/** `kubectl krt …` commands of a page: each inline code span and each code line that holds one. */
function krtCommands(page: Page): string[] {
  const out = new Set<string>();
  const lines = [...page.spans, ...page.blocks.flatMap((b) => b.body.split('\n'))];
  for (const line of lines) {
    const m = /kubectl krt\b.*$/.exec(line);
    if (m) out.add(m[0].replace(/\s+#.*$/, '').replace(/\s*\\$/, '').trimEnd());
  }
  return [...out];
}

function flags(text: string): string[] {
  return [...new Set([...text.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)].map((m) => m[0]))];
}

/** Each way the Chinese page differs from the English one, as a sentence; empty when in step. */
export function differences(en: Page, zh: Page, enName: string, zhName: string): string[] {
  const out: string[] = [];
  // Headings: same count, same levels, same order. The titles are translated, so a heading is named
  // by its English title and its position.
  const n = Math.max(en.headings.length, zh.headings.length);
  for (let i = 0; i < n; i++) {
    const e = en.headings[i];
    const z = zh.headings[i];
    if (!z) {
      out.push(`${enName}:${e.line} heading "${'#'.repeat(e.level)} ${e.title}" (heading ${i + 1}) has no counterpart in ${zhName}, which has ${zh.headings.length} ## and ### headings to ${en.headings.length}`);
      break;
    }
    if (!e) {
      out.push(`${zhName}:${z.line} heading "${'#'.repeat(z.level)} ${z.title}" (heading ${i + 1}) has no counterpart in ${enName}, which has ${en.headings.length} ## and ### headings to ${zh.headings.length}`);
      break;
    }
    if (e.level !== z.level) {
      out.push(`${enName}:${e.line} heading "${'#'.repeat(e.level)} ${e.title}" (heading ${i + 1}) is "${'#'.repeat(z.level)} ${z.title}" in ${zhName}: another level`);
      break;
    }
  }
  // Fenced code blocks: identical text, in the same order.
  const m = Math.max(en.blocks.length, zh.blocks.length);
  for (let i = 0; i < m; i++) {
    const e = en.blocks[i];
    const z = zh.blocks[i];
    if (e && z && e.info === z.info && e.body === z.body) continue;
    const where = e ? `${enName}:${e.line}, under ${headingName(en, e.section)}` : `${zhName}:${z.line}, under ${headingName(zh, z.section)}`;
    out.push(`code block ${i + 1} (${where}) differs:\n--- ${enName}\n${showBlock(e)}\n--- ${zhName}\n${showBlock(z)}`);
    break;
  }
  // Each code block under the heading of the same position.
  if (out.length === 0) {
    en.blocks.forEach((e, i) => {
      if (zh.blocks[i].section !== e.section) {
        out.push(`code block ${i + 1} (${enName}:${e.line}) is under ${headingName(en, e.section)} in English but under ${headingName(zh, zh.blocks[i].section)} in ${zhName}`);
      }
    });
  }
  // Tables: as many, as many rows and columns, under the heading of the same position.
  const t = Math.max(en.tables.length, zh.tables.length);
  for (let i = 0; i < t; i++) {
    const e = en.tables[i];
    const z = zh.tables[i];
    if (e && z && e.section === z.section && e.rows === z.rows && e.columns === z.columns) continue;
    const desc = (p: Page, x: Table | undefined): string => (x ? `${x.rows} rows × ${x.columns} columns under ${headingName(p, x.section)}` : 'none');
    out.push(`table ${i + 1} differs: ${enName}${e ? `:${e.line}` : ''} has ${desc(en, e)}, ${zhName}${z ? `:${z.line}` : ''} has ${desc(zh, z)}`);
    break;
  }
  const zhText = [zh.prose, ...zh.blocks.map((b) => b.body)].join('\n');
  for (const c of krtCommands(en)) {
    if (!zhText.includes(c)) out.push(`${zhName} lacks the command \`${c}\` of ${enName}`);
  }
  const enText = [en.prose, ...en.blocks.map((b) => b.body)].join('\n');
  const zhFlags = new Set(flags(zhText));
  for (const f of flags(enText)) {
    if (!zhFlags.has(f)) out.push(`${zhName} lacks the flag ${f} of ${enName}`);
  }
  const zhSpans = new Set(zh.spans);
  for (const s of new Set(en.spans)) {
    if (!zhSpans.has(s)) out.push(`${zhName} lacks the inline code \`${s}\` of ${enName}`);
  }
  return out;
}

/** Relative links of a page that do not resolve to a file, or to a heading anchor of a Markdown file. */
function brokenLinks(file: string): string[] {
  const page = parse(readFileSync(path.join(ROOT, file), 'utf8'));
  const out: string[] = [];
  for (const link of page.links) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:
    const [target, anchor] = link.split('#', 2) as [string, string | undefined];
    const resolved = target === '' ? path.join(ROOT, file) : path.join(ROOT, path.dirname(file), decodeURI(target));
    if (!existsSync(resolved)) {
      out.push(`${file}: link ${link} — ${path.relative(ROOT, resolved)} does not exist`);
      continue;
    }
    if (anchor !== undefined && resolved.endsWith('.md')) {
      const ids = anchors(parse(readFileSync(resolved, 'utf8')));
      if (!ids.has(decodeURIComponent(anchor))) {
        out.push(`${file}: link ${link} — ${path.relative(ROOT, resolved)} has no heading with anchor #${anchor}`);
      }
    }
  }
  return out;
}

function read(file: string): Page {
  return parse(readFileSync(path.join(ROOT, file), 'utf8'));
}

describe('docs/zh: the Chinese Operations Guide in step with the English pages', () => {
  for (const [enName, zhName] of PAIRS) {
    describe(zhName, () => {
      it(`has the ## and ### headings, code blocks, tables, commands, flags and inline code of ${enName}`, () => {
        const diffs = differences(read(enName), read(zhName), enName, zhName);
        assert.deepEqual(diffs, [], `${zhName} is not in step with ${enName}:\n${diffs.join('\n')}`);
      });

      it('has relative links that resolve, to its English page and to the other Chinese page', () => {
        const broken = [...brokenLinks(zhName), ...brokenLinks(enName)];
        assert.deepEqual(broken, [], broken.join('\n'));
        const zh = read(zhName);
        const en = read(enName);
        assert.ok(zh.links.includes(`../${path.basename(enName)}`), `${zhName} links to its English page`);
        assert.ok(en.links.includes(`zh/${path.basename(zhName)}`), `${enName} links to ${zhName} (中文)`);
        for (const [, other] of PAIRS.filter(([, z]) => z !== zhName)) {
          assert.ok(zh.links.some((l) => l.split('#')[0] === path.basename(other)), `${zhName} links to ${other}`);
        }
      });
    });
  }

  it('README links to every Chinese page', () => {
    const readme = parse(readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
    for (const [, zhName] of PAIRS) assert.ok(readme.links.includes(zhName), `README.md links to ${zhName}`);
  });

  describe('the check itself', () => {
    const en = read('docs/operations.md');
    const zh = read('docs/zh/operations.md');
    const mutate = (change: (text: string) => string): Page => parse(change(readFileSync(path.join(ROOT, 'docs/operations.md'), 'utf8')));

    it('names an English heading the Chinese page lacks', () => {
      const diffs = differences(mutate((t) => `${t}\n## Monitoring\n\nMetrics.\n`), zh, 'en', 'zh');
      assert.match(diffs.join('\n'), /heading "## Monitoring"/);
    });

    it('names a heading whose level differs', () => {
      const diffs = differences(mutate((t) => t.replace('\n## Backup\n', '\n### Backup\n')), zh, 'en', 'zh');
      assert.match(diffs.join('\n'), /heading "### Backup".*another level/);
    });

    it('names a code block that changed, and the heading it is under', () => {
      const diffs = differences(mutate((t) => t.replace('kubectl krt upgrade --wait\n', 'kubectl krt upgrade --wait --timeout 10m\n')), zh, 'en', 'zh');
      const text = diffs.join('\n');
      assert.match(text, /code block \d+ \(en:\d+, under "## Upgrade"\) differs/);
      assert.match(text, /kubectl krt upgrade --wait --timeout 10m/);
      assert.match(text, /zh lacks the flag --timeout/);
    });

    it('names a command or a flag of the prose the Chinese page lacks', () => {
      const diffs = differences(mutate((t) => t.replace('Check the result: `kubectl krt doctor`', 'Check the result: `kubectl krt doctor --strict`')), zh, 'en', 'zh');
      assert.ok(diffs.includes('zh lacks the command `kubectl krt doctor --strict` of en'), diffs.join('\n'));
      assert.ok(diffs.includes('zh lacks the flag --strict of en'), diffs.join('\n'));
    });

    it('names a table that gained a row', () => {
      const diffs = differences(mutate((t) => t.replace('| `secrets.json` |', '| `events.json` | Events |\n| `secrets.json` |')), zh, 'en', 'zh');
      assert.match(diffs.join('\n'), /table \d+ differs: en:\d+ has 6 rows × 2 columns under "## Backup"/);
    });

    it('finds nothing when the pages are in step', () => {
      assert.deepEqual(differences(en, zh, 'en', 'zh'), []);
    });

    it('computes GitHub anchors for English and Chinese headings', () => {
      assert.equal(slug('RBAC a user needs'), 'rbac-a-user-needs');
      assert.equal(slug('Runtime Pods 未变为 Ready'), 'runtime-pods-未变为-ready');
      assert.equal(slug('kruntimes 未安装，或版本不对'), 'kruntimes-未安装或版本不对');
      assert.equal(slug('`kubectl krt doctor`'), 'kubectl-krt-doctor');
    });
  });
});
