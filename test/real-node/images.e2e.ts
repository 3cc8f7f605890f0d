// The images as built (test/cluster/real-node/build.ts: buildah, images/*/Dockerfile unchanged) and
// as the real kubelet runs them on krt-real-0: each one's config (user, labels, entry point) from
// buildah, and its filesystem and entry point from inside a pod: the bundle and the LICENSE only
// (no node_modules, no TypeScript sources, no tests), the operator's usage for an unknown role,
// runtimed's complaint about its downward-API variables, git/ssh/CA bundle for Git sources,
// python3 in the python image.
// The bash and python Runtime Servers answering real Runs is product.e2e.ts's part.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pkg from '../../package.json' with { type: 'json' };
import { clusterPaths, REPO_ROOT } from '../cluster/config.ts';
import { buildah } from '../cluster/real-node/buildah.ts';
import { REAL_NODE } from '../cluster/real-node/join.ts';
import { qualifiedImageName, realNodePaths } from '../cluster/real-node/versions.ts';
import { waitFor } from '../support/platform.ts';
import { exec, explain, REAL_NODE_SCHEDULING } from '../support/real-node-platform.ts';

const KUBECONFIG = clusterPaths().kubeconfig;
const NS = `krt-real-images-${Date.now().toString(36).slice(-5)}`;
const IMAGES = ['operator', 'runtimed', 'bash-runtime', 'python-runtime'] as const;
const tag = (dir: string) => `kruntimes-${dir}:${pkg.version}`;
/** runtimed has a user of its own, apart from the workload's (docs/security.md). */
const imageUser = (dir: string) => (dir === 'runtimed' ? '65532:65532' : '1000:1000');

function kubectl(args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('kubectl', args, { encoding: 'utf8', maxBuffer: 16 << 20, env: { ...process.env, KUBECONFIG } }, (err, out, errOut) =>
      err ? reject(new Error(`kubectl ${args.join(' ')}: ${errOut || err.message}`)) : resolve(out),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Runs `script` with sh in a pod of `image` on the real node, as the image's user; its log and exit code. */
async function inImage(name: string, image: string, script: string): Promise<{ code: number; log: string }> {
  await kubectl(['apply', '-n', NS, '-f', '-'], JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      ...REAL_NODE_SCHEDULING,
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{
        name: 'check',
        image,
        imagePullPolicy: 'IfNotPresent',
        command: ['sh', '-c', script],
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      }],
    },
  }));
  const code = await waitFor(`pod ${name} finished`, async () => {
    const state = JSON.parse(await kubectl(['get', 'pod', name, '-n', NS, '-o', 'jsonpath={.status.containerStatuses[0].state}']) || '{}') as {
      terminated?: { exitCode: number };
    };
    return state.terminated ? state.terminated.exitCode : undefined;
  }, { timeoutMs: 120_000, intervalMs: 500 });
  return { code, log: await kubectl(['logs', name, '-n', NS]) };
}

describe('the built images, run by the real kubelet', function () {
  this.timeout(180_000);
  const b = buildah(realNodePaths());

  before(async function () {
    this.timeout(1_800_000);
    const up = await exec(process.execPath, [path.join(REPO_ROOT, 'test', 'cluster', 'real-node', 'node.ts'), 'up', '--no-build'], 1_800_000);
    assert.equal(up.code, 0, explain(up));
    await kubectl(['create', 'namespace', NS]);
  });
  after(async () => {
    await kubectl(['delete', 'namespace', NS, '--wait=false']).catch(() => undefined);
  });

  for (const dir of IMAGES) {
    it(`${dir}: built as uid ${imageUser(dir)} with the OCI labels of this version`, async () => {
      const inspected = JSON.parse(await b.run(['inspect', '--type', 'image', qualifiedImageName(tag(dir))])) as {
        OCIv1: { config: { User?: string; Labels?: Record<string, string> } };
      };
      assert.equal(inspected.OCIv1.config.User, imageUser(dir));
      const l = inspected.OCIv1.config.Labels ?? {};
      assert.equal(l['org.opencontainers.image.title'], `kruntimes-${dir}`);
      assert.equal(l['org.opencontainers.image.version'], pkg.version);
      assert.equal(l['org.opencontainers.image.source'], pkg.homepage);
    });
  }

  it('operator: its bundle and the LICENSE, no packages, sources or tests; prints its usage for an unknown role', async () => {
    const script = [
      'cd /app',
      'id -u; id -g',
      'test -f bundle/operator.mjs && echo bundle',
      'test -e node_modules && echo "node_modules in image"',
      'find . -name "*.ts" | head -3 | sed "s/^/source /"',
      'echo "license $(sha256sum LICENSE | cut -c1-64)"',
      'node bundle/operator.mjs bogus 2>&1; echo "exit $?"',
    ].join('\n');
    const { code, log } = await inImage('operator', tag('operator'), script);
    assert.equal(code, 0, log);
    const lines = log.trim().split('\n');
    assert.deepEqual(lines.slice(0, 3), ['1000', '1000', 'bundle']);
    assert.deepEqual(lines.filter((l) => /^(node_modules|source )/.test(l)), []);
    const { createHash } = await import('node:crypto');
    assert.ok(lines.includes(`license ${createHash('sha256').update(readFileSync(path.join(REPO_ROOT, 'LICENSE'))).digest('hex')}`), log);
    // The usage is printed after the bundle's whole module graph was evaluated: nothing is missing beside it.
    assert.match(log, /^usage: operator \[[a-z|]+\] \(got bogus\)\nexit 2$/m);
  });

  it('runtimed: git, ssh and the CA bundle for Git sources; says which downward-API variables it needs', async () => {
    const { code, log } = await inImage('runtimed', tag('runtimed'), [
      'git --version', 'ssh -V 2>&1', 'test -s /etc/ssl/certs/ca-certificates.crt && echo ca-bundle',
      'cd /app && node bundle/runtimed.mjs 2>&1; echo "exit $?"',
    ].join('\n'));
    assert.equal(code, 0, log);
    assert.match(log, /^git version 2\.\d+/m);
    assert.match(log, /^OpenSSH_\d/m);
    assert.match(log, /^ca-bundle$/m);
    assert.match(log, /runtimed needs POD_NAME, POD_NAMESPACE, POD_UID \(set through the downward API\)[\s\S]*^exit 1$/m);
  });

  it('python-runtime: python3 beside node, for the python Runtime Server', async () => {
    const { code, log } = await inImage('python', tag('python-runtime'), 'python3 -c "import sys; print(sys.version_info[0])"; node --version');
    assert.equal(code, 0, log);
    assert.match(log, /^3\nv22\.\d+\.\d+\n$/);
  });

  it('runs nothing on krt-node-0: the pods of this file were all on the real node', async () => {
    const nodes = (await kubectl(['get', 'pods', '-n', NS, '-o', 'jsonpath={.items[*].spec.nodeName}'])).split(' ');
    assert.deepEqual([...new Set(nodes)], [REAL_NODE.name]);
  });
});
