// `npm run preflight`: everything a release needs, checked before tagging (docs/release.md) or
// before building from source (docs/operations.md). Prints one line per problem, naming the file and
// what to do; exits 0 when every check passes, 1 otherwise.
// Usage: node release/preflight.ts [--skip-tests]   (--skip-tests: no lint, typecheck or unit tests)
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Listr, type ListrTask, PRESET_TIMER } from 'listr2';
import { krewReleaseBotTemplate } from '../krew/krew-manifest.ts';
import pkg from '../package.json' with { type: 'json' };
import { chartSyncPlan, staleChartCrds } from '../test/tools/chart-sync.ts';
import {
  changelogProblems,
  chartVersionProblems,
  crdProblems,
  dockerfileProblems,
  formatProblem,
  imageTagProblems,
  krewProblems,
  outputTail,
  type Problem,
} from './preflight-checks.ts';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

function read(rel: string): string | undefined {
  const path = join(ROOT, rel);
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => `${dir}/${f}`);
}

const imageDirs = () => readdirSync(join(ROOT, 'images'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

function versionProblems(): Problem[] {
  const version = pkg.version;
  const images = imageDirs().map((d) => `kruntimes-${d}`);
  const problems: Problem[] = [];
  for (const chart of ['charts/kruntimes/Chart.yaml', 'charts/kruntimes-runtimes/Chart.yaml']) {
    const text = read(chart);
    if (text === undefined) problems.push({ file: chart, fix: 'missing' });
    else problems.push(...chartVersionProblems(chart, text, version));
  }
  for (const file of [...yamlFiles('manifests'), 'charts/kruntimes/values.yaml', 'charts/kruntimes-runtimes/values.yaml']) {
    problems.push(...imageTagProblems(file, read(file) ?? '', version, images));
  }
  problems.push(...krewProblems({ version, template: read('.krew.yaml'), expectedTemplate: krewReleaseBotTemplate(pkg.homepage), manifest: read('krew/krt.yaml') }));
  problems.push(...changelogProblems(read('CHANGELOG.md') ?? '', version));
  return problems;
}

function crdSyncProblems(): Problem[] {
  return crdProblems(chartSyncPlan(), read, staleChartCrds());
}

function dockerfiles(): Problem[] {
  return imageDirs().flatMap((d) => {
    const file = `images/${d}/Dockerfile`;
    const text = read(file);
    return text === undefined ? [{ file, fix: 'missing' }] : dockerfileProblems(file, text);
  });
}

/** `npm run -s <script> -- <args>`, both streams captured; a failure is one problem with the output's tail. */
function npmRun(script: string, args: string[] = []): Promise<Problem[]> {
  const command = `npm run ${script}${args.length ? ` -- ${args.join(' ')}` : ''}`;
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '-s', script, ...(args.length ? ['--', ...args] : [])], {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => { output += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { output += c.toString(); });
    child.on('error', (err) => resolve([{ file: command, fix: `could not start: ${err.message}` }]));
    child.on('close', (code, signal) => {
      if (code === 0) resolve([]);
      else resolve([{ file: command, fix: `failed (${signal ?? `exit ${code}`}): fix what it reports; its last lines:`, detail: outputTail(output) }]);
    });
  });
}

interface Check {
  title: string;
  run: () => Problem[] | Promise<Problem[]>;
  skip?: string;
}

function checks(skipTests: boolean): Check[] {
  const tests = skipTests ? '--skip-tests' : undefined;
  return [
    { title: `versions agree with package.json (${pkg.version}) and CHANGELOG.md has its notes`, run: versionProblems },
    { title: 'CRDs in charts/kruntimes/crds are the copies of manifests/crds', run: crdSyncProblems },
    { title: 'images/*/Dockerfile pass dockerfile-utils', run: dockerfiles },
    { title: 'npm run package -- --dry-run', run: () => npmRun('package', ['--dry-run']) },
    { title: 'npm run lint', run: () => npmRun('lint'), skip: tests },
    { title: 'npm run typecheck', run: () => npmRun('typecheck'), skip: tests },
    { title: 'npm run test:unit', run: () => npmRun('test:unit'), skip: tests },
  ];
}

const plural = (n: number) => `${n} problem${n === 1 ? '' : 's'}`;

async function runLive(list: Check[], problems: Problem[]): Promise<void> {
  const tasks: ListrTask[] = list.map((c) => ({
    title: c.title,
    skip: c.skip ?? false,
    task: async () => {
      const found = await c.run();
      problems.push(...found);
      if (found.length) throw new Error(plural(found.length));
    },
  }));
  await new Listr(tasks, {
    concurrent: false,
    exitOnError: false,
    collectErrors: false,
    rendererOptions: { collapseErrors: false, collapseSkips: false, suffixSkips: true, timer: PRESET_TIMER },
  }).run();
}

async function runLines(list: Check[], problems: Problem[]): Promise<void> {
  for (const c of list) {
    if (c.skip) {
      console.log(`skip  ${c.title} (${c.skip})`);
      continue;
    }
    const started = Date.now();
    const found = await c.run();
    problems.push(...found);
    const took = `${((Date.now() - started) / 1000).toFixed(1)}s`;
    console.log(`${found.length ? 'FAIL' : 'ok  '}  ${c.title} (${found.length ? `${plural(found.length)}, ` : ''}${took})`);
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { 'skip-tests': { type: 'boolean', default: false } } });
  const list = checks(values['skip-tests']);
  const problems: Problem[] = [];
  const live = Boolean(process.stdout.isTTY) && !process.env.CI && process.env.TERM !== 'dumb';
  await (live ? runLive(list, problems) : runLines(list, problems));
  if (problems.length) {
    console.log(`\nrelease preflight: ${plural(problems.length)}:`);
    for (const p of problems) console.log(`- ${formatProblem(p)}`);
    process.exitCode = 1;
  } else {
    console.log(`\nrelease preflight: all checks passed for ${pkg.version}${values['skip-tests'] ? ' (lint, typecheck and unit tests skipped)' : ''}`);
  }
}
