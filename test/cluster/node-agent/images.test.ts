import assert from 'node:assert/strict';
import { NODE_RUNTIME_ARGS } from '../../../release/bundle.ts';
import { bundledImageID, bundleEntrypoint, containerArgv, imageName, resolveImage } from './images.ts';

describe('node agent: images', () => {
  it('ignores registry, path, tag and digest', () => {
    assert.equal(imageName('kruntimes-runtimed'), 'kruntimes-runtimed');
    assert.equal(imageName('kruntimes-runtimed:v1'), 'kruntimes-runtimed');
    assert.equal(imageName('ghcr.io/acme/kruntimes-runtimed:1.2.3'), 'kruntimes-runtimed');
    assert.equal(imageName('localhost:5000/kruntimes-host@sha256:abcd'), 'kruntimes-host');
    assert.equal(imageName('reg:5000/a/b/kruntimes-host:latest@sha256:ff'), 'kruntimes-host');
  });

  it('maps our images to their bundle, and to the pinned node and the source entry file under the repo', () => {
    const r = resolveImage('x.io/kruntimes-bash-runtime:dev', '/opt/node', '/repo');
    assert.equal(r?.bundle, 'bash-runtime');
    assert.equal(resolveImage('kruntimes-operator')?.bundle, 'operator');
    assert.equal(resolveImage('kruntimes-host')?.bundle, undefined);
    assert.deepEqual(r?.entrypoint, ['/opt/node', '/repo/runtimes/bash/main.ts']);
    assert.match(r?.imageID ?? '', /^krt\.local\/kruntimes-bash-runtime@sha256:[0-9a-f]{64}$/);
    assert.deepEqual(resolveImage('kruntimes-runtimed', '/n', '/r')?.entrypoint, [
      '/n',
      '/r/sidecar/main.ts',
    ]);
  });

  it('runs a bundle with the Node flags of the images, and names it by its content', () => {
    assert.deepEqual(bundleEntrypoint('/c/bundle/runtimed.mjs', '/n'), ['/n', ...NODE_RUNTIME_ARGS, '/c/bundle/runtimed.mjs']);
    assert.match(bundledImageID('kruntimes-runtimed', 'k1'), /^krt\.local\/kruntimes-runtimed@sha256:[0-9a-f]{64}$/);
    assert.notEqual(bundledImageID('kruntimes-runtimed', 'k1'), bundledImageID('kruntimes-runtimed', 'k2'));
  });

  it('gives the host image no entry point and rejects unknown images', () => {
    assert.deepEqual(resolveImage('kruntimes-host')?.entrypoint, []);
    assert.equal(resolveImage('nginx:1.25'), undefined);
    assert.equal(resolveImage('toString'), undefined);
  });

  it('applies command/args like Kubernetes', () => {
    const ep = ['/n', '/r/main.ts'];
    assert.deepEqual(containerArgv(ep), ep);
    assert.deepEqual(containerArgv(ep, undefined, ['--v']), ['/n', '/r/main.ts', '--v']);
    assert.deepEqual(containerArgv(ep, ['sh', '-c'], ['echo hi']), ['sh', '-c', 'echo hi']);
    assert.deepEqual(containerArgv([], undefined, ['python3', '-V']), ['python3', '-V']);
    assert.deepEqual(containerArgv([], [], []), []);
  });
});
