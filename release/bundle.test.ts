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

  it('loads each operator role\'s modules only in a process that runs the role (chunks of their own)', async function () {
    this.timeout(120_000);
    const esbuild = await import('esbuild-wasm');
    const { metafile } = await esbuild.build({ ...imageBundleOptions('operator', join(tmpdir(), 'krt-bundle-unused')), write: false });
    // The modules in an output and in every chunk it imports statically: what a process holds once it has loaded it.
    const loaded = (output: string, seen = new Set<string>()): Set<string> => {
      if (seen.has(output)) return new Set();
      seen.add(output);
      const o = metafile.outputs[output];
      const modules = new Set(Object.keys(o.inputs));
      for (const i of o.imports) if (i.kind === 'import-statement' && !i.external) for (const m of loaded(i.path, seen)) modules.add(m);
      return modules;
    };
    const outputs = Object.keys(metafile.outputs);
    const outputOf = (module: string) => outputs.find((f) => Object.hasOwn(metafile.outputs[f].inputs, module))!;
    const entry = outputs.find((f) => f.endsWith(bundleFile('operator')))!;
    const roles = {
      scheduler: 'operator/scheduler/scheduler.ts',
      runtimeController: 'operator/runtime-controller/controller.ts',
      workflowController: 'operator/workflow-controller/controller.ts',
      reaper: 'operator/reaper/reaper.ts',
      maintainer: 'operator/runtime-maintainer/maintainer.ts',
    } as const;
    const atStart = loaded(entry);
    assert.ok(atStart.has('lib/kube-client.ts'));
    for (const module of Object.values(roles)) assert.ok(!atStart.has(module), `${module} is loaded by every role`);
    const scheduler = loaded(outputOf(roles.scheduler));
    for (const module of [roles.runtimeController, roles.workflowController, roles.reaper, roles.maintainer]) {
      assert.ok(!scheduler.has(module), `the scheduler loads ${module}`);
    }
    const controller = loaded(outputOf(roles.runtimeController));
    assert.ok(!controller.has(roles.scheduler), 'the controller loads the scheduler');
    assert.ok(!controller.has(roles.maintainer), 'the controller loads the maintainer');
  });

  it('loads client-node in neither runtimed nor the operator unless a kubeconfig is read', async function () {
    this.timeout(120_000);
    const esbuild = await import('esbuild-wasm');
    for (const image of ['runtimed', 'operator'] as const) {
      const { metafile } = await esbuild.build({ ...imageBundleOptions(image, join(tmpdir(), 'krt-bundle-unused')), write: false });
      const atStart = new Set<string>();
      const visit = (output: string) => {
        if (atStart.has(output)) return;
        atStart.add(output);
        for (const i of metafile.outputs[output].imports) if (i.kind === 'import-statement' && !i.external) visit(i.path);
      };
      visit(Object.keys(metafile.outputs).find((f) => f.endsWith(bundleFile(image)))!);
      const modules = [...atStart].flatMap((output) => Object.keys(metafile.outputs[output].inputs));
      assert.ok(modules.includes('lib/informer.ts'), `${image}: lib/informer.ts at start`);
      assert.deepEqual(modules.filter((m) => m.includes('@kubernetes/client-node') || m === 'lib/kubeconfig.ts'), [], `${image} loads client-node at start`);
      const kubeconfigChunk = Object.keys(metafile.outputs).find((f) => Object.hasOwn(metafile.outputs[f].inputs, 'lib/kubeconfig.ts'));
      assert.ok(kubeconfigChunk && !atStart.has(kubeconfigChunk), `${image}: lib/kubeconfig.ts in a chunk of its own`);
    }
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
