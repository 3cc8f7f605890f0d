// The real node's NetworkPolicy agent: its identity and RBAC, its command line, its files under the
// node's directory, the cleanup of its nft table, and the patch that lets it queue on this kernel.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { PATCHES_DIR, patchSuffix, RECIPES, recipeDir } from './go-builds.ts';
import { joinPaths } from './join.ts';
import { agentArgs, agentClientSubject, agentNftCleanup, NETWORK_POLICY_AGENT, networkPolicyPaths, renderAgentRbac } from './network-policy.ts';

describe('real node NetworkPolicy agent', () => {
  it('runs for krt-real-0 with a kubeconfig, nfqueue 100, no NRI and a loopback metrics address', () => {
    const args = agentArgs('/n/knp.kubeconfig');
    assert.deepEqual(args, [
      '--kubeconfig=/n/knp.kubeconfig',
      '--hostname-override=krt-real-0',
      '--nfqueue-id=100',
      '--disable-nri',
      '--netfilter-bug-1766-fix=false',
      '--metrics-bind-address=127.0.0.1:9086',
      '--v=2',
    ]);
    assert.equal(NETWORK_POLICY_AGENT.stopSignal, 'SIGINT');
  });

  it('has a user of its own bound to what upstream\'s ClusterRole allows, plus Events', () => {
    assert.equal(agentClientSubject(), '/CN=kruntimes-real-node:kube-network-policies');
    const [role, binding] = YAML.parseAllDocuments(renderAgentRbac()).map((d) => d.toJS());
    assert.equal(role.kind, 'ClusterRole');
    assert.deepEqual(role.rules.slice(0, 2), [
      { apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['list', 'watch'] },
      { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['list', 'watch'] },
    ]);
    assert.equal(binding.roleRef.name, role.metadata.name);
    assert.deepEqual(binding.subjects, [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: NETWORK_POLICY_AGENT.user }]);
    for (const o of [role, binding]) assert.equal(o.metadata.labels['app.kubernetes.io/managed-by'], 'kruntimes-real-node');
  });

  it('keeps its files under the node\'s directory', () => {
    const p = networkPolicyPaths(joinPaths('/c'));
    for (const f of [p.kubeconfig, p.client.cert, p.client.key]) assert.ok(f.startsWith('/c/real-node/node/'), f);
  });

  it('deletes its inet table only when it is there', () => {
    const tables = (names: Array<[string, string]>) =>
      JSON.stringify({ nftables: [{ metainfo: {} }, ...names.map(([family, name]) => ({ table: { family, name } }))] });
    assert.equal(agentNftCleanup(tables([['ip', 'filter'], ['inet', 'kube-network-policies']])), 'delete table inet kube-network-policies\n');
    assert.equal(agentNftCleanup(tables([['ip', 'kube-network-policies'], ['ip', 'krt_real_node']])), '');
  });

  it('is built from v0.8.0 with the xt NFQUEUE patch, in a directory named by the patch\'s hash', () => {
    const recipe = RECIPES.find((r) => r.name === 'kube-network-policies')!;
    assert.deepEqual(recipe.patches, ['kube-network-policies-v0.8.0-xt-nfqueue.patch']);
    assert.ok(recipe.debianBuildDeps?.includes('patch'));
    const patch = readFileSync(path.join(PATCHES_DIR, recipe.patches[0]), 'utf8');
    for (const f of ['cmd/main.go', 'pkg/networkpolicy/controller.go', 'pkg/networkpolicy/dnsagent.go', 'pkg/networkpolicy/queue.go']) {
      assert.ok(patch.includes(`+++ b/${f}`), f);
    }
    assert.match(patch, /Target\{Name: "NFQUEUE", Rev: xtNFQueueRevision/);
    assert.equal(path.basename(recipeDir(recipe, '/c')), `kube-network-policies-v0.8.0${patchSuffix([patch])}`);
    assert.match(patchSuffix([patch]), /^-patched-[0-9a-f]{12}$/);
    assert.notEqual(patchSuffix([patch]), patchSuffix([`${patch}\n`]));
    assert.equal(patchSuffix([]), '');
    const kubelet = RECIPES.find((r) => r.name === 'kubelet')!;
    assert.equal(path.basename(recipeDir(kubelet, '/c')), 'kubelet-v1.34.4');
  });
});
