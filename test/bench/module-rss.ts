// Module-load memory of a process: the RSS and heap a fresh Node holds after importing every
// repository module an entry point imports, without running the entry point itself (so no cluster,
// no env, no ports). esbuild's metafile lists the modules; a resolve hook records which packages
// got loaded; GC runs twice before the figures are read. docs/performance.md has the results.
// Usage: node test/bench/module-rss.ts ENTRY [--bundled] [--runs N]
//   --bundled: import the same modules bundled ahead of time into one ESM file (no type stripping).
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import * as esbuild from 'esbuild-wasm';

const run = promisify(execFile);

export interface ModuleRss {
  modules: number;
  rssMB: number;
  heapMB: number;
  packages: string[];
}

/** The repository modules `entry` imports, the entry itself and JSON files left out. */
async function graph(entry: string): Promise<string[]> {
  const r = await esbuild.build({
    entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', write: false, metafile: true,
    packages: 'external', logLevel: 'silent', outdir: 'unused',
  });
  return Object.keys(r.metafile.inputs).filter((f) => f !== entry && !f.startsWith('node_modules') && !f.endsWith('.json'));
}

function measureScript(imports: string[]): string {
  return `
const packages = new Set();
const { registerHooks } = await import('node:module');
registerHooks({ resolve(s, c, next) { const r = next(s, c); const m = r.url.match(/node_modules\\/((@[^/]+\\/)?[^/]+)/); if (m) packages.add(m[1]); return r; } });
for (const m of ${JSON.stringify(imports)}) await import(m);
globalThis.gc(); await new Promise((r) => setTimeout(r, 200)); globalThis.gc();
const u = process.memoryUsage();
console.log(JSON.stringify({ rssMB: +(u.rss / 1048576).toFixed(1), heapMB: +(u.heapUsed / 1048576).toFixed(1), packages: [...packages].sort() }));
`;
}

export async function moduleRss(entry: string, options: { bundled?: boolean } = {}): Promise<ModuleRss> {
  const modules = await graph(entry);
  let imports = modules.map((m) => join(process.cwd(), m));
  // Bundled one level below the root, as the sources are, so paths resolved from import.meta.url
  // (the .proto files) hold.
  const dir = options.bundled ? await mkdtemp(join(process.cwd(), '.module-rss-')) : undefined;
  try {
    if (dir) {
      const outfile = join(dir, 'graph.mjs');
      await esbuild.build({
        stdin: { contents: modules.map((m) => `import './${m}';`).join('\n'), resolveDir: process.cwd(), loader: 'ts' },
        bundle: true, platform: 'node', format: 'esm', outfile, logLevel: 'silent',
        banner: { js: "import { createRequire as __krtRequire } from 'node:module'; const require = __krtRequire(import.meta.url);" },
      });
      imports = [outfile];
    }
    const { stdout } = await run(process.execPath, ['--expose-gc', '--input-type=module', '-e', measureScript(imports)]);
    return { modules: modules.length, ...(JSON.parse(stdout) as Omit<ModuleRss, 'modules'>) };
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { bundled: { type: 'boolean' }, runs: { type: 'string', default: '3' } } });
  const [entry] = positionals;
  if (!entry) {
    process.stderr.write('usage: node test/bench/module-rss.ts ENTRY [--bundled] [--runs N]\n');
    process.exit(2);
  }
  const results: ModuleRss[] = [];
  for (let i = 0; i < Number(values.runs); i++) results.push(await moduleRss(entry, { bundled: values.bundled }));
  await esbuild.stop();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const last = results.at(-1)!;
  process.stdout.write(`${entry}${values.bundled ? ' (bundled)' : ''}: ${last.modules} modules, RSS ${median(results.map((r) => r.rssMB))} MB, heap ${median(results.map((r) => r.heapMB))} MB (median of ${results.length})\n`);
  process.stdout.write(`packages: ${last.packages.join(', ')}\n`);
}
