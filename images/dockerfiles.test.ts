// The Dockerfiles, checked without a container engine: dockerfile-utils' linter (the Dockerfile
// language server's), the project's image rules, and that each image copies the files its entry
// point imports (from esbuild's import graph) and no folder it does not need. Starting each entry
// point from an assembled filesystem is test/e2e/images.e2e.ts.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParser } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import * as esbuild from 'esbuild-wasm';
import pkg from '../package.json' with { type: 'json' };
import { IMAGES } from '../test/cluster/node-agent/images.ts';
import { isIgnored, readDockerignore } from './dockerignore.ts';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const DIRS = readdirSync(join(ROOT, 'images'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
const RUNTIME_PROTO = 'proto/runtime/v1/runtime.proto';

function parse(dir: string) {
  const text = readFileSync(join(ROOT, 'images', dir, 'Dockerfile'), 'utf8');
  const instructions = DockerfileParser.parse(text).getInstructions();
  const froms = instructions.map((ins, i) => ({ ins, i })).filter((x) => x.ins.getKeyword() === 'FROM');
  const finalStage = instructions.slice(froms.at(-1)!.i + 1);
  const labels: Record<string, string> = {};
  for (const ins of finalStage.filter((i) => i.getKeyword() === 'LABEL')) {
    for (const p of (ins as unknown as { getProperties(): Array<{ getName(): string; getValue(): string }> }).getProperties()) {
      labels[p.getName()] = p.getValue().replace(/^"|"$/g, '');
    }
  }
  const of = (k: string) => finalStage.filter((i) => i.getKeyword() === k);
  const contextCopies = of('COPY')
    .filter((i) => !(i as unknown as { getFromFlag(): unknown }).getFromFlag())
    .flatMap((i) => i.getArguments().map((a) => a.getValue()).slice(0, -1));
  return { text, instructions, froms, labels, of, contextCopies };
}

describe('Dockerfiles', () => {
  it('exist for every image the node agent maps to an entry point', () => {
    const titles = DIRS.map((d) => parse(d).labels['org.opencontainers.image.title']);
    const wanted = Object.entries(IMAGES).filter(([, e]) => e.kind === 'node').map(([name]) => name).sort();
    assert.deepEqual([...titles].sort(), wanted);
    for (const dir of DIRS) {
      const { labels, of } = parse(dir);
      const entry = IMAGES[labels['org.opencontainers.image.title'] as keyof typeof IMAGES];
      assert.ok(entry.kind === 'node');
      // The Runtime Servers run under tini, which reaps what a Run detached (docs/custom-runtime.md).
      const init = entry.file.startsWith('runtimes/') ? ['/usr/bin/tini', '--'] : [];
      assert.equal(of('ENTRYPOINT')[0].getArgumentsContent(), JSON.stringify([...init, 'node', entry.file]).replaceAll(',', ', '), dir);
    }
  });

  for (const dir of DIRS) {
    describe(dir, () => {
      it('passes the dockerfile-utils linter with no diagnostics', () => {
        const problems = validate(parse(dir).text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
        assert.deepEqual(problems, []);
      });

      it('is multi-stage from a BASE_IMAGE build argument, non-root, without dev dependencies, labelled', () => {
        const { instructions, froms, labels, of } = parse(dir);
        assert.equal(instructions[0].getKeyword(), 'ARG');
        assert.match(instructions[0].getArgumentsContent()!, /^BASE_IMAGE=node:22\.\d+\.\d+-bookworm-slim$/);
        assert.ok(froms.length >= 2, 'a dependencies stage and a runtime stage');
        for (const { ins } of froms) assert.match(ins.getArgumentsContent()!, /^\$\{BASE_IMAGE\}( AS \w+)?$/);
        const runs = instructions.filter((i) => i.getKeyword() === 'RUN').map((i) => i.getArgumentsContent()!);
        assert.ok(runs.some((r) => /npm ci --omit=dev --ignore-scripts/.test(r)), 'production dependencies only');
        assert.ok(!runs.some((r) => /npm (install|i) /.test(r)), 'npm ci from the lockfile, never npm install');
        const users = of('USER');
        assert.equal(users.length, 1);
        assert.match(users[0].getArgumentsContent()!, /^[1-9]\d*:[1-9]\d*$/, 'a numeric non-root user, so runAsNonRoot can verify it');
        assert.equal(labels['org.opencontainers.image.version'], '${VERSION}');
        assert.equal(labels['org.opencontainers.image.revision'], '${REVISION}');
        assert.equal(labels['org.opencontainers.image.source'], '${SOURCE}');
        assert.equal(labels['org.opencontainers.image.licenses'], pkg.license);
        const source = of('ARG').map((a) => a.getArgumentsContent()!).find((a) => a.startsWith('SOURCE='));
        assert.equal(source, `SOURCE=${pkg.homepage}`);
      });

      it("copies the files its entry point imports, and no folder it doesn't need", async () => {
        const { of, contextCopies } = parse(dir);
        const entrypoint = JSON.parse(of('ENTRYPOINT')[0].getArgumentsContent()!) as string[];
        const entry = entrypoint[entrypoint.indexOf('node') + 1];
        const result = await esbuild.build({
          absWorkingDir: ROOT,
          entryPoints: [entry],
          bundle: true,
          packages: 'external',
          platform: 'node',
          format: 'esm',
          write: false,
          metafile: true,
          logLevel: 'silent',
        });
        const needed = Object.keys(result.metafile.inputs);
        // The Runtime Server contract is read at run time by whoever loads lib/runtime-proto.ts.
        if (needed.includes('lib/runtime-proto.ts')) needed.push(RUNTIME_PROTO);
        needed.push('package.json');
        const patterns = await readDockerignore(ROOT);
        const covers = (src: string, f: string) => f === src || f.startsWith(`${src}/`);
        const missing = needed.filter((f) => !contextCopies.some((src) => covers(src, f)) || isIgnored(f, patterns));
        assert.deepEqual(missing, [], `${dir} lacks files ${entry} needs`);
        const unneeded = contextCopies.filter((src) => src !== 'LICENSE' && !needed.some((f) => covers(src, f)));
        assert.deepEqual(unneeded, [], `${dir} copies what ${entry} never loads`);
      });
    });
  }

  after(() => esbuild.stop());
});
