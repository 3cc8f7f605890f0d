// Restricted by default, proved against the apiserver's real PodSecurity admission: the platform
// namespace enforces the "restricted" Pod Security Standard and the platform's pods pass it; the
// built-in Runtimes (as the charts and `kubectl krt install` render them), their injected runtimed
// and the maintainer are admitted in a namespace that enforces it, and a Run succeeds there; a
// custom Runtime whose template is not restricted is refused, and the Runtime says why. (The local
// cluster's node agent runs containers as host processes and does not apply runAsUser; admission
// checks the spec, and the real-node suite checks what a kubelet enforces.)
import assert from 'node:assert/strict';
import path from 'node:path';
import { stringify } from 'yaml';
import { RunPhase, type Runtime } from '../../lib/api.ts';
import { type KubeClient, Paths } from '../../lib/kube-client.ts';
import { RUNTIMED_UID } from '../../lib/pod-security.ts';
import { renderRuntimes } from '../../kubectl-krt/install/render.ts';
import { runtimesValues } from '../../kubectl-krt/install/values.ts';
import { cacheDir, KUBE_VERSION } from '../cluster/config.ts';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  kubectl,
  PLATFORM_NAMESPACE,
  REPO,
  run,
  setupPlatform,
  waitFor,
  waitForRun,
  waitForRuntimeReady,
} from '../support/platform.ts';
import pkg from '../../package.json' with { type: 'json' };

const ENFORCE = 'pod-security.kubernetes.io/enforce';
const KUBECTL_DIR = path.join(cacheDir(), `k8s-v${KUBE_VERSION}`, 'bin');
const krt = (args: string[]) =>
  run(path.join(REPO, 'kubectl-krt/bin/kubectl-krt'), args, {
    env: { PATH: `${KUBECTL_DIR}${path.delimiter}${process.env.PATH}`, NO_COLOR: '1' },
    timeoutMs: 60_000,
  });
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- live objects are inspected loosely
type Obj = Record<string, any>;

async function pods(ns: string, selector: string): Promise<Obj[]> {
  return JSON.parse((await kubectl(['get', 'pods', '-n', ns, '-l', selector, '-o', 'json'])).stdout).items;
}

/** A pod that breaks every rule of the profile, created with a server-side dry run. */
const rootPod = (ns: string) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'root', namespace: ns },
    spec: { containers: [{ name: 'c', image: 'kruntimes-bash-runtime:0.1.0', securityContext: { runAsUser: 0 } }] },
  });

describe('restricted by default: Pod Security admission', function () {
  this.timeout(300_000);
  let client: KubeClient;
  let ns = '';

  before(async () => {
    ({ client } = await setupPlatform());
    ns = await createNamespace('krt-restricted');
    await kubectl(['label', 'namespace', ns, `${ENFORCE}=restricted`]);
  });

  after(async () => {
    await deleteNamespace(ns);
  });

  it('the platform namespace enforces "restricted", its pods pass it, and admission refuses a root pod there', async () => {
    const labels = JSON.parse((await kubectl(['get', 'namespace', PLATFORM_NAMESPACE, '-o', 'json'])).stdout).metadata.labels;
    assert.equal(labels[ENFORCE], 'restricted');
    // The apiserver evaluates the running pods against a level on a dry-run label change and warns
    // about each that violates it: no warning means every platform pod passes.
    const check = await kubectl(['label', '--dry-run=server', '--overwrite', 'namespace', PLATFORM_NAMESPACE, `${ENFORCE}=restricted`]);
    assert.doesNotMatch(check.stderr, /violate/, check.stderr);
    for (const component of ['scheduler', 'controller']) {
      const [pod] = (await pods(PLATFORM_NAMESPACE, `app.kubernetes.io/component=${component}`)).filter((p) => !p.metadata.deletionTimestamp);
      assert.ok(pod, `a ${component} pod`);
      assert.deepEqual(pod.spec.securityContext, { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
      assert.deepEqual(pod.spec.containers[0].securityContext, {
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        readOnlyRootFilesystem: true,
      });
    }
    const refused = await kubectl(['create', '--dry-run=server', '-f', '-'], { input: rootPod(PLATFORM_NAMESPACE), check: false });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /pods "root" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
  });

  it('a built-in Runtime in a restricted namespace: its pods are admitted, runtimed runs as its own uid, a Run succeeds', async () => {
    const values = runtimesValues(pkg.version, { python: { enabled: false }, bash: { replicas: 1, capacity: 2 } });
    await applyYaml(ns, renderRuntimes(values, ns).map((o) => stringify(o)).join('---\n'));
    await waitForRuntimeReady(client, ns, 'bash', 180_000);
    const [pod] = (await pods(ns, 'runtime=bash')).filter((p) => !p.metadata.deletionTimestamp);
    const container = (name: string) => pod.spec.containers.find((c: Obj) => c.name === name);
    assert.deepEqual(pod.spec.securityContext, {
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      fsGroup: 1000,
      fsGroupChangePolicy: 'OnRootMismatch',
      seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.deepEqual(container('runtimed').securityContext, {
      runAsNonRoot: true,
      runAsUser: RUNTIMED_UID,
      runAsGroup: RUNTIMED_UID,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
    });
    assert.equal(container('runtime').securityContext.readOnlyRootFilesystem, true);
    // runtimed's logs and staging are on a volume the runtime container does not mount.
    assert.deepEqual(container('runtime').volumeMounts.map((m: Obj) => m.mountPath).sort(), ['/tmp', '/workspace']);

    await applyYaml(
      ns,
      'apiVersion: kruntimes.io/v1alpha1\nkind: Run\nmetadata: { name: restricted }\nspec:\n  runtime: bash\n  entrypoint: main.sh\n' +
        '  source: { inline: "echo restricted; ls -A /workspace" }\n',
    );
    const done = await waitForRun(client, ns, 'restricted', undefined, 120_000);
    assert.equal(done.status?.phase, RunPhase.Succeeded, JSON.stringify(done.status));
    // The Run's log, now on runtimed's own volume, is served as before; the workspace holds the
    // Runs' directories and nothing of runtimed's.
    const logs = await krt(['logs', 'restricted', '-n', ns]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(logs.stdout, 'restricted\nruns\n');
  });

  it('the maintainer of a Runtime with an artifact store is admitted in a restricted namespace', async () => {
    await kubectl(['create', 'secret', 'generic', 'store', '-n', ns, '--from-literal=AWS_ACCESS_KEY_ID=a', '--from-literal=AWS_SECRET_ACCESS_KEY=b']);
    const [runtime] = renderRuntimes(runtimesValues(pkg.version, { python: { enabled: false }, bash: { replicas: 0 } }), ns);
    runtime.metadata.name = 'stored';
    Object.assign(runtime.spec as Obj, { artifactStore: { s3: { bucket: 'b', endpoint: 'http://127.0.0.1:1', credentialsSecretRef: { name: 'store' } } } });
    await applyYaml(ns, stringify(runtime));
    const [maintainer] = await waitFor(
      'a maintainer pod',
      async () => {
        const found = await pods(ns, 'app.kubernetes.io/component=runtime-maintainer');
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 60_000 },
    );
    assert.equal(maintainer.spec.securityContext.runAsNonRoot, true);
    assert.equal(maintainer.spec.securityContext.seccompProfile.type, 'RuntimeDefault');
    assert.deepEqual(maintainer.spec.containers[0].securityContext, {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
    });
  });

  it('a custom Runtime whose template is not restricted: its pods are refused, and its Ready condition says why', async () => {
    await applyYaml(
      ns,
      'apiVersion: kruntimes.io/v1alpha1\nkind: Runtime\nmetadata: { name: custom }\nspec:\n  replicas: 1\n  template:\n' +
        '    metadata: { labels: { runtime: custom } }\n    spec:\n      containers:\n' +
        `        - { name: runtime, image: "kruntimes-bash-runtime:${pkg.version}", ports: [{ containerPort: 19091 }] }\n`,
    );
    const ready = await waitFor(
      'Runtime custom reports the refusal',
      async () => {
        const rt = await client.get<Runtime>(Paths.runtime(ns, 'custom'));
        const c = rt.status?.conditions?.find((x) => x.type === 'Ready');
        return c?.reason === 'FailedCreate' ? c : undefined;
      },
      { timeoutMs: 90_000 },
    );
    assert.equal(ready.status, 'False');
    assert.match(
      ready.message ?? '',
      /^Deployment runtime-custom cannot create pods: pods "runtime-custom-[a-z0-9-]+" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false \(container "runtime" must set securityContext.allowPrivilegeEscalation=false\), unrestricted capabilities \(container "runtime" must set securityContext.capabilities.drop=\["ALL"\]\), runAsNonRoot != true \(pod or container "runtime" must set securityContext.runAsNonRoot=true\)/,
    );
  });
});
