import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleFile, bundleImage, IMAGE_BUNDLES, imageBundleOptions, isImageDir, runtimeFilesOf, stopBundler } from './bundle.ts';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

describe('release/bundle.ts: the images\' ahead-of-time bundles', () => {
  after(() => stopBundler());

  it('has one bundle per Dockerfile, each from an entry point that exists', () => {
    const dirs = readdirSync(join(ROOT, 'images'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    assert.deepEqual(Object.keys(IMAGE_BUNDLES).sort(), dirs);
    for (const { entry } of Object.values(IMAGE_BUNDLES)) assert.ok(existsSync(join(ROOT, entry)), entry);
    assert.equal(isImageDir('runtimed'), true);
    assert.equal(isImageDir('toString'), false);
  });

  it('bundles an image into ESM below <out>/bundle, lazily imported code split into chunks', () => {
    const o = imageBundleOptions('runtimed', '/out', '/repo');
    assert.deepEqual(o.entryPoints, { runtimed: 'sidecar/main.ts' });
    assert.equal(o.absWorkingDir, '/repo');
    assert.equal(o.outdir, '/out/bundle');
    assert.equal(bundleFile('runtimed'), 'bundle/runtimed.mjs');
    assert.deepEqual([o.format, o.splitting, o.platform, o.bundle, o.metafile], ['esm', true, 'node', true, true]);
    assert.deepEqual(o.outExtension, { '.js': '.mjs' });
    assert.match(o.banner?.js ?? '', /createRequire/);
  });

  it('copies the files the bundled modules read at run time, once each', () => {
    assert.deepEqual(runtimeFilesOf(['lib/log.ts', 'lib/runtime-proto.ts', 'lib/runtime-proto.ts']), ['proto/runtime/v1/runtime.proto']);
    assert.deepEqual(runtimeFilesOf(['operator/main.ts']), []);
  });

  it('makes a bash Runtime Server bundle that starts with no sources or node_modules beside it', async function () {
    this.timeout(120_000);
    const out = mkdtempSync(join(tmpdir(), 'krt-bundle-'));
    try {
      const r = await bundleImage('bash-runtime', out);
      assert.ok(r.inputs.includes('runtimes/bash/main.ts'));
      assert.ok(r.outputs.includes('bundle/bash-runtime.mjs'));
      assert.ok(r.outputs.includes('proto/runtime/v1/runtime.proto'));
      const child = spawn(process.execPath, [join(out, bundleFile('bash-runtime'))], {
        cwd: out,
        env: { PATH: process.env.PATH, KRUNTIME_PORT: '0' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let log = '';
      const listening = await new Promise<boolean>((resolve) => {
        child.stderr.on('data', (c: Buffer) => {
          log += c.toString();
          if (log.includes('"server.listening"')) resolve(true);
        });
        child.on('exit', () => resolve(false));
      });
      child.kill('SIGTERM');
      assert.ok(listening, log);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
