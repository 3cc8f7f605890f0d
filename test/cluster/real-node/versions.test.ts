// The real node's version table agrees with the rest of the repository: the kubelet is the control
// plane's Kubernetes version (config.ts and build-binaries.sh), the base image is the one every
// Dockerfile names, and the cache is keyed by version.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pkg from '../../../package.json' with { type: 'json' };
import { KUBE_VERSION, REPO_ROOT } from '../config.ts';
import { BASE_IMAGE, componentDir, qualifiedImageName, realNodePaths, Versions } from './versions.ts';

describe('real node versions', () => {
  it('builds the kubelet at the control plane version of build-binaries.sh', () => {
    const script = readFileSync(path.join(REPO_ROOT, 'test/cluster/build-binaries.sh'), 'utf8');
    const m = /KUBE_VERSION=\$\{KUBE_VERSION:-([0-9.]+)\}/.exec(script);
    assert.equal(Versions.kubernetes, KUBE_VERSION);
    assert.equal(m?.[1], Versions.kubernetes);
  });

  it('names the base image every Dockerfile defaults BASE_IMAGE to, with the pinned Node', () => {
    assert.equal(Versions.node, pkg.dependencies.node);
    const dirs = readdirSync(path.join(REPO_ROOT, 'images'), { withFileTypes: true }).filter((d) => d.isDirectory());
    assert.ok(dirs.length > 0);
    for (const d of dirs) {
      const text = readFileSync(path.join(REPO_ROOT, 'images', d.name, 'Dockerfile'), 'utf8');
      assert.match(text, new RegExp(`^ARG BASE_IMAGE=${BASE_IMAGE.replace(/\./g, '\\.')}$`, 'm'), d.name);
    }
  });

  it('pins containerd v2 and exact versions everywhere', () => {
    assert.match(Versions.containerd, /^2\.\d+\.\d+$/);
    for (const [k, v] of Object.entries(Versions)) {
      if (k !== 'debianSuite') assert.match(v, /^\d+\.\d+\.\d+$/, k);
    }
  });

  it('qualifies short image names as Docker and the CRI do', () => {
    assert.equal(qualifiedImageName('node:22.23.3-bookworm-slim'), 'docker.io/library/node:22.23.3-bookworm-slim');
    assert.equal(qualifiedImageName('kruntimes-runtimed:0.1.0'), 'docker.io/library/kruntimes-runtimed:0.1.0');
    assert.equal(qualifiedImageName('org/img:1'), 'docker.io/org/img:1');
    assert.equal(qualifiedImageName('registry:5000/x/img:1'), 'registry:5000/x/img:1');
    assert.equal(qualifiedImageName('localhost/img:1'), 'localhost/img:1');
    assert.equal(qualifiedImageName('quay.io/a/b:1'), 'quay.io/a/b:1');
  });

  it('keeps everything under <cache>/real-node, keyed by version', () => {
    assert.equal(componentDir('runc', '1.5.3', '/c'), '/c/real-node/runc-v1.5.3');
    const p = realNodePaths('/c');
    for (const v of Object.values(p)) assert.ok(v.startsWith('/c/real-node'), v);
  });
});
