import assert from 'node:assert/strict';
import { archiveName, PLUGIN_TARGETS, selectTargets } from './plugin-targets.ts';

describe('plugin targets', () => {
  it('covers the five release platforms, each with a pinned sha512 integrity', () => {
    assert.deepEqual(PLUGIN_TARGETS.map((t) => t.platform), ['linux-amd64', 'linux-arm64', 'darwin-amd64', 'darwin-arm64', 'windows-amd64']);
    for (const t of PLUGIN_TARGETS) {
      assert.equal(t.platform, `${t.os}-${t.arch}`);
      assert.match(t.integrity, /^sha512-[A-Za-z0-9+/]{86}==$/);
    }
  });

  it('selects platforms by name and refuses unknown ones, naming the flag and the choices', () => {
    assert.equal(selectTargets(undefined).length, 5);
    assert.deepEqual(selectTargets('windows-amd64, linux-amd64').map((t) => t.platform), ['linux-amd64', 'windows-amd64']);
    assert.throws(() => selectTargets('linux-x64'), /^Error: --platforms: unknown platform linux-x64; choose from linux-amd64, linux-arm64, darwin-amd64, darwin-arm64, windows-amd64$/);
    assert.throws(() => selectTargets(','), /--platforms: unknown platform \(empty\)/);
  });

  it('names archives by tag and platform', () => {
    assert.equal(archiveName(PLUGIN_TARGETS[4], 'v1.0.0'), 'kubectl-krt_v1.0.0_windows-amd64.tar.gz');
  });
});
