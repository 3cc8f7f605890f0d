import assert from 'node:assert/strict';
import { imageVersion, versionSkew } from './platform-version.ts';

describe('platform version', () => {
  it('reads the tag of an image reference', () => {
    assert.equal(imageVersion('kruntimes-operator:0.1.0'), '0.1.0');
    assert.equal(imageVersion('ghcr.io:443/org/kruntimes-operator:v0.2.1'), '0.2.1');
    assert.equal(imageVersion('kruntimes-operator:latest'), 'latest');
    assert.equal(imageVersion('registry:5000/kruntimes-operator'), undefined);
    assert.equal(imageVersion('kruntimes-operator@sha256:abc'), undefined);
    assert.equal(imageVersion('kruntimes-operator:0.3.0@sha256:abc'), '0.3.0');
  });
  it('warns when minor versions differ, naming the side to upgrade', () => {
    assert.equal(versionSkew('0.1.0', '0.1.7'), undefined);
    assert.match(versionSkew('0.1.0', '0.2.0')!, /the plugin is older: upgrade the plugin/);
    assert.match(versionSkew('1.3.0', '1.2.9')!, /the platform is older: upgrade the platform/);
    assert.equal(versionSkew('0.1.0', 'latest'), undefined);
  });
});
