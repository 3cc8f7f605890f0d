import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BundleCache, contentKey, repositoryInputs } from './bundles.ts';

describe('node agent: image bundles', () => {
  it('keys a bundle by its image and each file\'s path and bytes, in any order', () => {
    const a = contentKey('runtimed', [['lib/a.ts', Buffer.from('x')], ['lib/b.ts', Buffer.from('y')]]);
    assert.match(a, /^[0-9a-f]{32}$/);
    assert.equal(contentKey('runtimed', [['lib/b.ts', Buffer.from('y')], ['lib/a.ts', Buffer.from('x')]]), a);
    assert.notEqual(contentKey('operator', [['lib/a.ts', Buffer.from('x')], ['lib/b.ts', Buffer.from('y')]]), a);
    assert.notEqual(contentKey('runtimed', [['lib/a.ts', Buffer.from('x')], ['lib/b.ts', Buffer.from('z')]]), a);
    assert.notEqual(contentKey('runtimed', [['lib/a.ts', Buffer.from('x')], ['lib/b.ts', undefined]]), a);
  });

  it('leaves node_modules files to package-lock.json', () => {
    assert.deepEqual(repositoryInputs(['sidecar/main.ts', 'node_modules/ws/index.js', 'lib/a.ts', 'x/node_modules/y.js']), ['lib/a.ts', 'sidecar/main.ts']);
  });

  describe('BundleCache', function () {
    this.timeout(120_000);
    let repo: string;
    let cache: string;
    before(() => {
      repo = mkdtempSync(path.join(tmpdir(), 'krt-bundle-repo-'));
      cache = mkdtempSync(path.join(tmpdir(), 'krt-bundle-cache-'));
      mkdirSync(path.join(repo, 'runtimes/bash'), { recursive: true });
      writeFileSync(path.join(repo, 'runtimes/bash/main.ts'), "import { v } from './v.ts';\nconsole.log(v);\n");
      writeFileSync(path.join(repo, 'runtimes/bash/v.ts'), "export const v: string = 'one';\n");
      writeFileSync(path.join(repo, 'package-lock.json'), '{}');
    });
    after(() => {
      rmSync(repo, { recursive: true, force: true });
      rmSync(cache, { recursive: true, force: true });
    });

    it('makes a bundle once, serves it while the files stay, and makes another when one changes', async () => {
      const bundles = new BundleCache(cache, repo);
      const first = await bundles.ensure('bash-runtime');
      assert.equal(first.file, path.join(cache, `bash-runtime-${first.key}`, 'bundle/bash-runtime.mjs'));
      assert.match(readFileSync(first.file, 'utf8'), /one/);
      const manifest = JSON.parse(readFileSync(path.join(first.root, 'manifest.json'), 'utf8')) as { inputs: string[] };
      assert.deepEqual(manifest.inputs, ['runtimes/bash/main.ts', 'runtimes/bash/v.ts']);
      // Another agent (a new cache object) finds it by content.
      assert.deepEqual(await new BundleCache(cache, repo).ensure('bash-runtime'), first);
      writeFileSync(path.join(repo, 'runtimes/bash/v.ts'), "export const v: string = 'two';\n");
      const second = await bundles.ensure('bash-runtime');
      assert.notEqual(second.key, first.key);
      assert.match(readFileSync(second.file, 'utf8'), /two/);
    });
  });
});
