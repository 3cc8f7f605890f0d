// The Dockerfiles, checked without a container engine: dockerfile-utils' linter (the Dockerfile
// language server's), the project's image rules, that each image runs its bundle as
// release/bundle.ts says (the node agent runs the same), and that each bundle stage copies the
// files its entry point imports (from esbuild's import graph) and no folder it does not need.
// Building the images and starting each bundle in them is test/real-node/images.e2e.ts.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParser } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import * as esbuild from 'esbuild-wasm';
import pkg from '../package.json' with { type: 'json' };
import { bundleFile, IMAGE_BUNDLES, isImageDir, NODE_RUNTIME_ARGS, NODE_RUNTIME_ENV, runtimeFilesOf } from '../release/bundle.ts';
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
  const isContextCopy = (i: (typeof instructions)[number]) => i.getKeyword() === 'COPY' && !(i as unknown as { getFromFlag(): unknown }).getFromFlag();
  const sources = (stage: typeof instructions) =>
    stage.filter(isContextCopy).flatMap((i) => i.getArguments().map((a) => a.getValue()).slice(0, -1));
  const contextCopies = sources(finalStage);
  // The stage that bundles: from its FROM to the next.
  const bundleFrom = froms.find((f) => / AS bundle$/.test(f.ins.getArgumentsContent()!));
  const bundleStage = bundleFrom ? instructions.slice(bundleFrom.i + 1, froms.find((f) => f.i > bundleFrom.i)?.i) : [];
  const bundleCopies = sources(bundleStage);
  const env: Record<string, string> = {};
  for (const ins of of('ENV')) {
    const props = (ins as unknown as { getProperties(): Array<{ getName(): string; getValue(): string }> }).getProperties();
    for (const p of props) env[p.getName()] = p.getValue();
  }
  return { text, instructions, froms, labels, of, contextCopies, bundleStage, bundleCopies, env };
}

describe('Dockerfiles', () => {
  it('exist for every image the node agent maps to a bundle, and run it as the agent does', () => {
    const titles = DIRS.map((d) => parse(d).labels['org.opencontainers.image.title']);
    const wanted = Object.entries(IMAGES).filter(([, e]) => e.kind === 'node').map(([name]) => name).sort();
    assert.deepEqual([...titles].sort(), wanted);
    assert.deepEqual(Object.keys(IMAGE_BUNDLES).sort(), DIRS);
    for (const dir of DIRS) {
      const { labels, of, env, bundleStage } = parse(dir);
      const entry = IMAGES[labels['org.opencontainers.image.title'] as keyof typeof IMAGES];
      assert.ok(entry.kind === 'node');
      assert.equal(entry.dir, dir);
      // The Runtime Servers run under tini, which reaps what a Run detached (docs/custom-runtime.md).
      const init = entry.file.startsWith('runtimes/') ? ['/usr/bin/tini', '--'] : [];
      const expected = [...init, 'node', ...NODE_RUNTIME_ARGS, bundleFile(entry.dir)];
      assert.equal(of('ENTRYPOINT')[0].getArgumentsContent(), JSON.stringify(expected).replaceAll(',', ', '), dir);
      for (const [k, v] of Object.entries(NODE_RUNTIME_ENV)) assert.equal(env[k], v, `${dir}: ENV ${k}`);
      const runs = bundleStage.filter((i) => i.getKeyword() === 'RUN').map((i) => i.getArgumentsContent()!);
      assert.ok(runs.includes(`node release/bundle.ts ${dir} --out /bundle`), `${dir} bundles its own entry point`);
    }
  });

  for (const dir of DIRS) {
    describe(dir, () => {
      it('passes the dockerfile-utils linter with no diagnostics', () => {
        const problems = validate(parse(dir).text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
        assert.deepEqual(problems, []);
      });

      it('is multi-stage from a BASE_IMAGE build argument, non-root, with no dependencies beside the bundle, labelled', () => {
        const { instructions, froms, labels, of, contextCopies } = parse(dir);
        assert.equal(instructions[0].getKeyword(), 'ARG');
        assert.match(instructions[0].getArgumentsContent()!, /^BASE_IMAGE=node:22\.\d+\.\d+-bookworm-slim$/);
        assert.ok(froms.length >= 2, 'a bundle stage and a runtime stage');
        for (const { ins } of froms) assert.match(ins.getArgumentsContent()!, /^\$\{BASE_IMAGE\}( AS \w+)?$/);
        const runs = instructions.filter((i) => i.getKeyword() === 'RUN').map((i) => i.getArgumentsContent()!);
        assert.ok(runs.some((r) => /^npm ci --ignore-scripts/.test(r)), 'the bundler and the packages from the lockfile');
        assert.ok(!runs.some((r) => /npm (install|i) /.test(r)), 'npm ci from the lockfile, never npm install');
        // The final stage: the LICENSE from the context, the bundle from its stage, no npm.
        assert.deepEqual(contextCopies, ['LICENSE']);
        const fromStages = of('COPY').filter((i) => (i as unknown as { getFromFlag(): unknown }).getFromFlag());
        assert.deepEqual(fromStages.map((i) => `${(i as unknown as { getFromFlag(): { getValue(): string } }).getFromFlag().getValue()} ${i.getArgumentsContent()}`), ['bundle /bundle ./']);
        assert.ok(!of('RUN').some((i) => /\bnpm\b/.test(i.getArgumentsContent()!)), 'no packages installed in the image');
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

      it("bundles from the files its entry point imports, and copies no folder it doesn't need", async () => {
        const { bundleCopies: contextCopies } = parse(dir);
        assert.ok(isImageDir(dir));
        const entry = IMAGE_BUNDLES[dir].entry;
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
        // What the bundled modules read at run time (the Runtime Server contract, for whoever
        // loads lib/runtime-proto.ts) is copied beside the bundle; npm ci and the bundler.
        if (needed.includes('lib/runtime-proto.ts')) assert.deepEqual(runtimeFilesOf(needed), [RUNTIME_PROTO]);
        needed.push(...runtimeFilesOf(needed), 'package.json', 'package-lock.json', 'release/bundle.ts');
        const patterns = await readDockerignore(ROOT);
        const covers = (src: string, f: string) => f === src || f.startsWith(`${src}/`);
        const missing = needed.filter((f) => !contextCopies.some((src) => covers(src, f)) || isIgnored(f, patterns));
        assert.deepEqual(missing, [], `${dir} lacks files ${entry} needs`);
        const unneeded = contextCopies.filter((src) => !needed.some((f) => covers(src, f)));
        assert.deepEqual(unneeded, [], `${dir} copies what ${entry} never loads`);
      });
    });
  }

  after(() => esbuild.stop());
});
