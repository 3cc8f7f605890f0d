import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { clusterAccessFromEnvironment, inClusterAccess } from './cluster-access.ts';

describe('cluster access', () => {
  let dir: string;
  const podEnv = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'krt-sa-'));
    await writeFile(path.join(dir, 'token'), 'token-1\n');
    await writeFile(path.join(dir, 'ca.crt'), 'CA PEM');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("reads a Pod's service account: the Service's address, the CA, the token again on each call", async () => {
    const access = inClusterAccess(podEnv, dir)!;
    assert.equal(access.server, 'https://10.96.0.1:443');
    assert.deepEqual(access.tls, { ca: 'CA PEM' });
    assert.deepEqual(await access.authHeaders(), { authorization: 'Bearer token-1' });
    await writeFile(path.join(dir, 'token'), 'token-2');
    assert.deepEqual(await access.authHeaders(), { authorization: 'Bearer token-2' });
  });
  it('brackets an IPv6 Service address', () => {
    assert.equal(inClusterAccess({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, dir)!.server, 'https://[fd00::1]:443');
  });
  it('is not in a Pod without the Service variables or the token', async () => {
    assert.equal(inClusterAccess({}, dir), undefined);
    await rm(path.join(dir, 'token'));
    assert.equal(inClusterAccess(podEnv, dir), undefined);
  });
  it('prefers $KUBECONFIG to the service account, as controller-runtime does', async () => {
    const kubeconfig = path.join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: 'https://example.test:6443/', 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'u', user: { token: 'from-kubeconfig' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      }),
    );
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = kubeconfig;
    try {
      const access = await clusterAccessFromEnvironment({ ...podEnv, KUBECONFIG: kubeconfig });
      assert.equal(access.server, 'https://example.test:6443');
      assert.equal(access.tls.rejectUnauthorized, false);
      assert.deepEqual(await access.authHeaders(), { authorization: 'Bearer from-kubeconfig' });
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });
});
