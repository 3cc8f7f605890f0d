// The Go build recipes: k8s.io/kubernetes's staging replaces are derived from its go.mod, version
// ldflags match build-binaries.sh, and every binary the node needs has a recipe.
import assert from 'node:assert/strict';
import { goBuildArgs, kubernetesVersionLdflags, RECIPES, stagingReplaces } from './go-builds.ts';
import { Versions } from './versions.ts';

const GO_MOD = `module k8s.io/kubernetes

go 1.24.0

require (
	k8s.io/api v0.0.0
	k8s.io/client-go v0.0.0
	github.com/x/y v1.2.3
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
	k8s.io/externaljwt => ./staging/src/k8s.io/externaljwt
)

replace k8s.io/kms => ./staging/src/k8s.io/kms
replace github.com/other => github.com/fork v1.0.0
`;

describe('real node Go builds', () => {
  it('maps every staging module to its published v0.X.Y', () => {
    assert.deepEqual(stagingReplaces(GO_MOD, '1.34.4'), [
      'k8s.io/api=k8s.io/api@v0.34.4',
      'k8s.io/client-go=k8s.io/client-go@v0.34.4',
      'k8s.io/externaljwt=k8s.io/externaljwt@v0.34.4',
      'k8s.io/kms=k8s.io/kms@v0.34.4',
    ]);
  });

  it('sets the version the way build-binaries.sh does', () => {
    const ld = kubernetesVersionLdflags('1.34.4');
    assert.ok(ld.includes('-X k8s.io/component-base/version.gitVersion=v1.34.4'));
    assert.ok(ld.includes('-X k8s.io/client-go/pkg/version.gitMinor=34'));
    assert.equal(ld.length, 10);
  });

  it('has a recipe for every binary of the node', () => {
    const all = RECIPES.flatMap((r) => Object.keys(r.binaries)).sort();
    assert.deepEqual(all, [
      'bridge', 'containerd', 'containerd-shim-runc-v2', 'ctr', 'host-local', 'kube-network-policies', 'kubelet', 'loopback', 'portmap', 'runc',
    ]);
    const kubelet = RECIPES.find((r) => r.name === 'kubelet')!;
    assert.equal(kubelet.version, Versions.kubernetes);
    assert.equal(kubelet.kubernetesStaging, true);
    const runc = RECIPES.find((r) => r.name === 'runc')!;
    assert.equal(runc.cgo, true);
    assert.ok(runc.tags.includes('seccomp'));
    assert.ok(runc.debianBuildDeps?.includes('libseccomp-dev'));
    for (const r of RECIPES) assert.equal(r.tag, `v${r.version}`);
  });

  it('renders one go build per binary, named by -o', () => {
    const cni = RECIPES.find((r) => r.name === 'cni-plugins')!;
    const builds = goBuildArgs(cni, '/out');
    assert.equal(builds.length, 4);
    const bridge = builds.find((a) => a.includes('/out/bridge'))!;
    assert.equal(bridge.at(-1), 'github.com/containernetworking/plugins/plugins/main/bridge');
    assert.deepEqual(bridge.slice(0, 4), ['build', '-p', '2', '-trimpath']);
    assert.match(bridge[bridge.indexOf('-ldflags') + 1], /^-s -w -X .*buildversion\.BuildVersion=v1\.10\.0$/);
    const runc = goBuildArgs(RECIPES.find((r) => r.name === 'runc')!, '/out')[0];
    assert.equal(runc[runc.indexOf('-tags') + 1], 'seccomp,urfave_cli_no_docs');
  });
});
