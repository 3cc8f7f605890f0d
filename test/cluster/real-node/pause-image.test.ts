// The pause image is compiled as upstream's build/pause/Makefile does and tagged as containerd's
// default sandbox image, so the node's CRI config can leave the sandbox image at its default.
import assert from 'node:assert/strict';
import { PAUSE_IMAGE, pauseCompileArgs } from './pause-image.ts';

describe('real node pause image', () => {
  it('compiles pause.c statically with the Makefile flags', () => {
    assert.deepEqual(pauseCompileArgs('/s/pause.c', '/o/pause', '3.10.2'), ['-Os', '-Wall', '-Werror', '-static', '-DVERSION=v3.10.2-krt', '-o', '/o/pause', '/s/pause.c']);
  });

  it('carries the name and version of the upstream image', () => {
    assert.match(PAUSE_IMAGE, /^registry\.k8s\.io\/pause:\d+\.\d+\.\d+$/);
  });
});
