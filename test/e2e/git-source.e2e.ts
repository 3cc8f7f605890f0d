// Git source end to end: runtimed clones into the Run's workspace from a bare repository on the
// host (file://) at the default branch, a ref, a commit and a subPath; a real https git server
// (git http-backend) at the cluster gateway answers with its own error, which ends the Run with
// PrepareSource and git's message, and serves the clone once the Runtime trusts its CA
// (spec.git.caBundleRef); transports other than https, ssh and file are refused.
import assert from 'node:assert/strict';
import { Reason, RunPhase } from '../../lib/api.ts';
import type { KubeClient } from '../../lib/kube-client.ts';
import { createRepository, type GitFixture, GitHttpsServer, removeRepository } from '../support/git-server.ts';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  runOutput,
  setupPlatform,
  waitForRun,
  waitForRuntimeReady,
  waitForSchedulable,
} from '../support/platform.ts';

const GATEWAY = '10.244.0.1';

function gitRun(name: string, git: Record<string, string>, entrypoint = 'run.sh'): string {
  const fields = Object.entries(git)
    .map(([k, v]) => `      ${k}: "${v}"`)
    .join('\n');
  return `apiVersion: kruntimes.io/v1alpha1
kind: Run
metadata:
  name: ${name}
spec:
  runtime: bash
  entrypoint: ${entrypoint}
  source:
    git:
${fields}
`;
}

/** A bash Runtime with one more line of spec (flow-style YAML). */
function bashRuntime(name: string, specLine: string): string {
  return `apiVersion: kruntimes.io/v1alpha1
kind: Runtime
metadata:
  name: ${name}
spec:
  ${specLine}
  template:
    spec:
      containers:
      - name: runtime
        image: kruntimes-bash-runtime:latest
`;
}

describe('git source', function () {
  this.timeout(240_000);
  let client: KubeClient;
  let ns: string;
  let repo: GitFixture;
  let server: GitHttpsServer;

  before(async () => {
    ({ client } = await setupPlatform());
    repo = createRepository();
    server = await GitHttpsServer.start({ host: GATEWAY, root: repo.dir, scratch: repo.dir });
    ns = await createNamespace('e2e-git');
    await applyYaml(ns, bashRuntime('bash', 'capacity: { resources: { runs: 8 } }'));
    await waitForRuntimeReady(client, ns, 'bash');
    await waitForSchedulable(ns, 'bash', 1);
  });
  after(async () => {
    if (ns) await deleteNamespace(ns);
    await server?.stop();
    if (repo) removeRepository(repo);
  });

  it('clones the default branch, a ref, a commit and a subPath', async () => {
    const url = `file://${repo.bare}`;
    await applyYaml(ns, gitRun('default', { repository: url }));
    await applyYaml(ns, gitRun('ref', { repository: url, ref: 'old' }));
    await applyYaml(ns, gitRun('commit', { repository: url, commit: repo.first }));
    await applyYaml(ns, gitRun('subpath', { repository: url, commit: repo.main, subPath: 'tools' }, 'hello.sh'));
    const expect: Record<string, string> = {
      default: 'v2 from git',
      ref: 'v1 from git',
      commit: 'v1 from git',
    };
    for (const name of ['default', 'ref', 'commit']) {
      const r = await waitForRun(client, ns, name);
      assert.equal(r.status?.phase, RunPhase.Succeeded, `${name}: ${r.status?.message}`);
      assert.equal(await runOutput(ns, 'bash', r.metadata.uid!), expect[name]);
    }
    const sub = await waitForRun(client, ns, 'subpath');
    assert.equal(sub.status?.phase, RunPhase.Succeeded, sub.status?.message);
    // The workspace directory is the Run's; subPath's files are in it.
    assert.equal(await runOutput(ns, 'bash', sub.metadata.uid!), `hello from ${sub.metadata.uid}`);
  });

  it("ends with PrepareSource and git's message for a real https server, an unknown ref and a bad subPath", async () => {
    await applyYaml(ns, gitRun('https', { repository: `${server.url}/repo.git` }));
    await applyYaml(ns, gitRun('noref', { repository: `file://${repo.bare}`, ref: 'no-such-branch' }));
    await applyYaml(ns, gitRun('nosub', { repository: `file://${repo.bare}`, subPath: 'missing' }));
    const https = await waitForRun(client, ns, 'https');
    assert.equal(https.status?.phase, RunPhase.Failed);
    assert.equal(https.status?.reason, Reason.PrepareSource);
    // The server's certificate is self-signed: git reached it and said so (the CA file it names
    // depends on the machine's trust settings).
    const prefix = `git clone ${server.url}/repo.git failed: fatal: unable to access '${server.url}/repo.git/': `;
    assert.ok(https.status!.message!.startsWith(prefix), https.status?.message);
    assert.match(https.status!.message!.slice(prefix.length), /^server certificate verification failed\. CAfile: \S+ CRLfile: none$/);
    const noref = await waitForRun(client, ns, 'noref');
    assert.equal(noref.status?.reason, Reason.PrepareSource);
    assert.match(noref.status!.message!, /^git clone file:\/\/.*repo\.git failed: .*no-such-branch.*not found/s);
    const nosub = await waitForRun(client, ns, 'nosub');
    assert.equal(nosub.status?.reason, Reason.PrepareSource);
    assert.equal(nosub.status?.message, 'spec.source.git.subPath missing does not exist in the repository');
  });

  it('clones over https from a server with a private CA, trusted through spec.git.caBundleRef', async () => {
    await applyYaml(
      ns,
      `apiVersion: v1
kind: ConfigMap
metadata:
  name: git-ca
data:
  server.pem: |
${server.certificate.trimEnd().replace(/^/gm, '    ')}
---
${bashRuntime('bash-ca', 'git: { caBundleRef: { name: git-ca, key: server.pem } }')}`,
    );
    await waitForRuntimeReady(client, ns, 'bash-ca');
    await waitForSchedulable(ns, 'bash-ca', 1);
    await applyYaml(ns, gitRun('https-ok', { repository: `${server.url}/repo.git`, ref: 'old' }).replace('runtime: bash', 'runtime: bash-ca'));
    const r = await waitForRun(client, ns, 'https-ok');
    assert.equal(r.status?.phase, RunPhase.Succeeded, r.status?.message);
    assert.equal(await runOutput(ns, 'bash-ca', r.metadata.uid!), 'v1 from git');
  });

  it('refuses transports other than https, ssh and file', async () => {
    await applyYaml(ns, gitRun('plain-http', { repository: `http://${GATEWAY}:1/repo.git` }));
    await applyYaml(ns, gitRun('git-protocol', { repository: `git://${GATEWAY}/repo.git` }));
    for (const [name, url] of [
      ['plain-http', `http://${GATEWAY}:1/repo.git`],
      ['git-protocol', `git://${GATEWAY}/repo.git`],
    ]) {
      const r = await waitForRun(client, ns, name);
      assert.equal(r.status?.phase, RunPhase.Failed);
      assert.equal(r.status?.reason, Reason.PrepareSource);
      assert.equal(
        r.status?.message,
        `spec.source.git.repository ${url} is not supported: use an https://, ssh:// (or user@host:path) or file:// URL`,
      );
    }
  });
});
