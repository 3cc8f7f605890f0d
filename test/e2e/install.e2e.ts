// The Helm charts and kubectl krt install | upgrade | uninstall against the local cluster, with the
// real helm (test/tools/build-helm.sh). The cluster is shared with other suites that expect the
// platform in kruntimes-system running the working tree's code, so this file installs over it
// (same names) instead of removing it, never deletes the CRDs, keeps the windows without a platform
// short, and puts the manifests' platform back at the end.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { RunPhase } from '../../lib/api.ts';
import type { KubeClient } from '../../lib/kube-client.ts';
import { objectPath } from '../../kubectl-krt/install/objects.ts';
import { parseInstallRecord } from '../../kubectl-krt/install/record.ts';
import { type K8sObject, platformManifests, renderPlatform, renderRuntimes } from '../../kubectl-krt/install/render.ts';
import { platformValues, runtimesValues } from '../../kubectl-krt/install/values.ts';
import { cacheDir, KUBE_VERSION } from '../cluster/config.ts';
import {
  applyYaml,
  type CommandResult,
  createNamespace,
  deleteNamespace,
  installPlatformFromManifests,
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

const VERSION = pkg.version;
const KUBECTL_DIR = path.join(cacheDir(), `k8s-v${KUBE_VERSION}`, 'bin');
const CRDS = ['runs.kruntimes.io', 'runtimes.kruntimes.io', 'workflows.kruntimes.io'];
const DEPLOYMENTS = ['kruntimes-scheduler', 'kruntimes-controller'];
/**
 * Same values for the plugin and for helm; python is off to spare the shared machine a pod. The
 * platform settings checked on the live objects are ones manifests/platform does not set, so that
 * another suite re-applying the manifests meanwhile (setupPlatform) does not undo them.
 */
const SETS = ['scheduler.replicas=1', 'scheduler.resources.requests.cpu=10m', 'python.enabled=false', 'bash.capacity=3'];
const PLATFORM_SETS = SETS.filter((s) => !s.startsWith('bash.') && !s.startsWith('python.'));
const RUNTIME_SETS = SETS.filter((s) => s.startsWith('bash.') || s.startsWith('python.'));

let helmBin = '';
const helm = (args: string[]) => run(helmBin, args, { timeoutMs: 180_000 });
const krt = (args: string[], input?: string) =>
  run(path.join(REPO, 'kubectl-krt/bin/kubectl-krt'), args, {
    input: input ?? '',
    env: { PATH: `${KUBECTL_DIR}${path.delimiter}${process.env.PATH}`, NO_COLOR: '1' },
    timeoutMs: 300_000,
  });
const exits = (r: CommandResult, code: number, what: string) => assert.equal(r.code, code, `${what}: ${r.stderr}${r.stdout}`);
const ok = (r: CommandResult, what: string) => exits(r, 0, what);
const docs = (yaml: string) =>
  parseAllDocuments(yaml)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const byKey = (objects: K8sObject[]) => new Map(objects.map((o) => [key(o), o]));

/** What an object asks for, without what the apiserver, Helm or the e2e source-hash stamp add. */
function desired(o: K8sObject): unknown {
  const { metadata: _m, status: _s, ...rest } = o as K8sObject & { status?: unknown };
  const copy = structuredClone(rest) as Record<string, unknown>;
  const spec = copy.spec as { template?: { metadata?: { annotations?: unknown } }; clusterIP?: unknown } | undefined;
  if (spec?.template?.metadata) delete spec.template.metadata.annotations;
  if (o.kind === 'Service' && spec) {
    for (const k of ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy', 'internalTrafficPolicy', 'sessionAffinity', 'type']) {
      delete (spec as Record<string, unknown>)[k];
    }
  }
  // Helm marks what it manages; that label is the one intended difference.
  const { 'app.kubernetes.io/managed-by': _managedBy, ...labels } = o.metadata.labels ?? {};
  return { labels, ...copy };
}

async function live(client: KubeClient, objects: K8sObject[]): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for (const o of objects) out.set(key(o), desired(await client.get<K8sObject>(objectPath(o))));
  return out;
}

async function recordData(): Promise<Record<string, string> | undefined> {
  const r = await kubectl(['get', 'configmap', 'kruntimes-install', '-n', PLATFORM_NAMESPACE, '-o', 'json'], { check: false });
  return r.code === 0 ? JSON.parse(r.stdout).data : undefined;
}

async function runSucceeds(client: KubeClient, ns: string, name: string): Promise<void> {
  await applyYaml(
    ns,
    `apiVersion: kruntimes.io/v1alpha1\nkind: Run\nmetadata: { name: ${name} }\nspec:\n  runtime: bash\n  entrypoint: script\n  source: { inline: "echo installed" }\n`,
  );
  const done = await waitForRun(client, ns, name, undefined, 120_000);
  assert.equal(done.status?.phase, RunPhase.Succeeded, `Run ${ns}/${name}: ${JSON.stringify(done.status)}`);
}

/** Ready, or a failure that shows the Runtime, its Deployment and pods. */
async function runtimeReady(client: KubeClient, ns: string): Promise<void> {
  try {
    await waitForRuntimeReady(client, ns, 'bash', 180_000);
  } catch (err) {
    const state = await kubectl(['get', 'runtime,deployment,pods', '-n', ns, '-o', 'yaml'], { check: false });
    throw new Error(`${(err as Error).message}\n${state.stdout.slice(-6000)}`, { cause: err });
  }
}

async function cpuRequest(name: string): Promise<string | undefined> {
  const d = JSON.parse((await kubectl(['get', 'deployment', name, '-n', PLATFORM_NAMESPACE, '-o', 'json'])).stdout);
  return d.spec.template.spec.containers[0].resources?.requests?.cpu;
}

describe('Helm charts and kubectl krt install | upgrade | uninstall', function () {
  this.timeout(300_000);
  let client: KubeClient;
  let krtNs = '';
  let helmNs = '';

  before(async () => {
    const built = await run('bash', [path.join(REPO, 'test/tools/build-helm.sh')], { timeoutMs: 1_800_000 });
    ok(built, 'build helm');
    helmBin = path.join(built.stdout.trim(), 'helm');
    ({ client } = await setupPlatform());
    // A record left by an interrupted earlier run would make install refuse; the platform stays.
    await kubectl(['delete', 'configmap', 'kruntimes-install', '-n', PLATFORM_NAMESPACE, '--ignore-not-found']);
    krtNs = await createNamespace('krt-install');
    helmNs = await createNamespace('krt-helm');
  });

  after(async () => {
    // Whatever happened above, leave the platform as the rest of the suite expects it.
    await helm(['uninstall', 'kruntimes-runtimes', '-n', helmNs, '--ignore-not-found']);
    await helm(['uninstall', 'kruntimes', '-n', PLATFORM_NAMESPACE, '--ignore-not-found']);
    await kubectl(['delete', 'configmap', 'kruntimes-install', '-n', PLATFORM_NAMESPACE, '--ignore-not-found'], { check: false });
    await installPlatformFromManifests();
    await deleteNamespace(krtNs);
    await deleteNamespace(helmNs);
  });

  it('helm lints both charts; helm template equals manifests/platform by default and the plugin\'s render with values', async () => {
    ok(await helm(['lint', '--strict', 'charts/kruntimes']), 'lint platform');
    ok(await helm(['lint', '--strict', 'charts/kruntimes-runtimes']), 'lint runtimes');

    const byDefault = await helm(['template', 'kruntimes', 'charts/kruntimes', '-n', PLATFORM_NAMESPACE]);
    ok(byDefault, 'template');
    const manifests = platformManifests().filter((o) => o.kind !== 'Namespace');
    // Helm orders by kind; the objects themselves must be equal.
    assert.deepEqual(byKey(docs(byDefault.stdout)), byKey(manifests));
    assert.equal(docs(byDefault.stdout).length, manifests.length);

    const sets = ['scheduler.replicas=2', 'controller.image=reg.example/op:9.9.9', 'runtimed.image=reg.example/rd:9.9.9', 'logLevel=debug',
      'nodeSelector.disk=ssd', 'controller.resources.limits.cpu=2', 'metrics.serviceMonitor.enabled=true',
      'priorityClassName=high', 'podAnnotations.team=a', 'podSecurityContext.runAsUser=2000', 'securityContext.readOnlyRootFilesystem=false',
      'maintainer.priorityClassName=low', 'maintainer.resources.requests.cpu=10m', 'maintainer.podSecurityContext.runAsUser=3000'];
    // Lists go in a file (as with the plugin's -f).
    const valuesDir = mkdtempSync(path.join(tmpdir(), 'krt-chart-values-'));
    const listsFile = path.join(valuesDir, 'lists.yaml');
    writeFileSync(listsFile, 'imagePullSecrets: [{ name: regcred }]\nmaintainer:\n  tolerations: [{ key: dedicated, operator: Exists }]\n');
    const withValues = await helm(['template', 'kruntimes', 'charts/kruntimes', '-n', 'elsewhere', '-f', listsFile,
      '--api-versions', 'monitoring.coreos.com/v1/ServiceMonitor', ...sets.flatMap((s) => ['--set', s])]);
    ok(withValues, 'template with values');
    const values = platformValues(VERSION, {
      scheduler: { replicas: 2 },
      controller: { image: 'reg.example/op:9.9.9', resources: { limits: { cpu: 2 } } },
      runtimed: { image: 'reg.example/rd:9.9.9' },
      logLevel: 'debug',
      nodeSelector: { disk: 'ssd' },
      metrics: { serviceMonitor: { enabled: true } },
      priorityClassName: 'high',
      podAnnotations: { team: 'a' },
      podSecurityContext: { runAsUser: 2000 },
      securityContext: { readOnlyRootFilesystem: false },
      imagePullSecrets: [{ name: 'regcred' }],
      maintainer: {
        priorityClassName: 'low',
        resources: { requests: { cpu: '10m' } },
        podSecurityContext: { runAsUser: 3000 },
        tolerations: [{ key: 'dedicated', operator: 'Exists' }],
      },
    });
    const ours = renderPlatform(values, { namespace: 'elsewhere', capabilities: { serviceMonitor: true }, includeNamespace: false });
    assert.ok(ours.some((o) => o.kind === 'ServiceMonitor'));
    assert.deepEqual(byKey(docs(withValues.stdout)), byKey(ours));

    const rt = await helm(['template', 'r', 'charts/kruntimes-runtimes', '-n', 'team', '--set', 'bash.capacity=8',
      '--set', 'python.image=reg.example/py:2.0.0']);
    ok(rt, 'template runtimes');
    assert.deepEqual(
      docs(rt.stdout),
      renderRuntimes(runtimesValues(VERSION, { bash: { capacity: 8 }, python: { image: 'reg.example/py:2.0.0' } }), 'team'),
    );
    const rtSets = ['runtimed.resources.requests.cpu=20m', 'runtimed.securityContext.runAsUser=70000', 'priorityClassName=batch',
      'podAnnotations.team=a', 'securityContext.readOnlyRootFilesystem=false', 'podSecurityContext.fsGroup=3000'];
    const rtWithValues = await helm(['template', 'r', 'charts/kruntimes-runtimes', '-n', 'team', '-f', listsFile,
      ...rtSets.flatMap((s) => ['--set', s])]);
    ok(rtWithValues, 'template runtimes with values');
    assert.deepEqual(
      docs(rtWithValues.stdout),
      renderRuntimes(runtimesValues(VERSION, {
        runtimed: { resources: { requests: { cpu: '20m' } }, securityContext: { runAsUser: 70000 } },
        priorityClassName: 'batch',
        podAnnotations: { team: 'a' },
        securityContext: { readOnlyRootFilesystem: false },
        podSecurityContext: { fsGroup: 3000 },
        imagePullSecrets: [{ name: 'regcred' }],
      }), 'team'),
    );
  });

  it('install --dry-run prints every object and changes nothing', async () => {
    const before = await kubectl(['get', 'deployment', 'kruntimes-scheduler', '-n', PLATFORM_NAMESPACE, '-o', 'jsonpath={.metadata.resourceVersion}']);
    const r = await krt(['install', '--runtimes-namespace', krtNs, '--dry-run', ...SETS.flatMap((s) => ['--set', s])]);
    ok(r, 'dry run');
    const objects = docs(r.stdout);
    const kinds = objects.map((o) => o.kind);
    for (const k of ['CustomResourceDefinition', 'Namespace', 'ClusterRole', 'Deployment', 'Service', 'Runtime', 'ConfigMap']) {
      assert.ok(kinds.includes(k), `${k} in the dry run`);
    }
    assert.equal(objects.filter((o) => o.kind === 'Runtime').length, 1, 'python disabled');
    assert.equal(await recordData(), undefined);
    assert.equal((await kubectl(['get', 'runtimes', '-n', krtNs, '-o', 'name'])).stdout, '');
    const after = await kubectl(['get', 'deployment', 'kruntimes-scheduler', '-n', PLATFORM_NAMESPACE, '-o', 'jsonpath={.metadata.resourceVersion}']);
    assert.equal(after.stdout, before.stdout);
  });

  it('rejects bad input before touching the cluster, naming the flag or value', async () => {
    const bad = await krt(['install', '--set', 'bash.capacity=0']);
    exits(bad, 2, 'bad');
    assert.match(bad.stderr, /value bash.capacity: expected an integer ≥ 1, got 0/);
    const latest = await krt(['install', '--scheduler-image', 'kruntimes-operator:latest']);
    exits(latest, 2, 'latest');
    assert.match(latest.stderr, /scheduler.image: kruntimes-operator:latest has no fixed tag/);
    const ns = await krt(['install', '--runtimes-namespace', 'Bad_NS']);
    exits(ns, 2, 'ns');
    assert.match(ns.stderr, /--runtimes-namespace "Bad_NS": not a valid namespace name/);
    assert.equal(await recordData(), undefined);
  });

  it('install --runtimes-namespace records what it installed, then a Run succeeds; a second install refuses', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'krt-values-'));
    const file = path.join(dir, 'values.yaml');
    writeFileSync(file, 'logLevel: info\nbash:\n  replicas: 1\n');
    const r = await krt(['install', '--runtimes-namespace', krtNs, '-f', file, ...SETS.flatMap((s) => ['--set', s]), '--wait']);
    ok(r, 'install');
    assert.match(r.stdout, new RegExp(`kruntimes ${VERSION} installed in kruntimes-system; built-in Runtimes in ${krtNs}`));
    assert.match(r.stderr, /warning: kruntimes Deployments exist in kruntimes-system without an install record \(applied from manifests\/\?\); taking them over/);
    const data = await recordData();
    assert.ok(data);
    const record = parseInstallRecord(data);
    assert.equal(record.version, VERSION);
    assert.deepEqual(record.runtimesNamespaces, [krtNs]);
    assert.deepEqual(record.platformValues.scheduler.resources, { requests: { cpu: '10m' } });
    assert.equal(record.runtimesValues.bash.capacity, 3);
    assert.equal(record.runtimesValues.python.enabled, false);
    assert.equal(record.platformValues.scheduler.image, `kruntimes-operator:${VERSION}`);
    assert.ok(!Number.isNaN(Date.parse(record.installedAt)));
    assert.equal(data['upgraded-at'], undefined);
    const cm = JSON.parse((await kubectl(['get', 'configmap', 'kruntimes-install', '-n', PLATFORM_NAMESPACE, '-o', 'json', '--show-managed-fields'])).stdout);
    assert.deepEqual(cm.metadata.labels, { 'app.kubernetes.io/name': 'kruntimes', 'app.kubernetes.io/managed-by': 'kubectl-krt' });
    assert.ok(cm.metadata.managedFields.some((f: { manager: string; operation: string }) => f.manager === 'kubectl-krt' && f.operation === 'Apply'));
    assert.equal(await cpuRequest('kruntimes-scheduler'), '10m');

    await runtimeReady(client, krtNs);
    await runSucceeds(client, krtNs, 'after-install');

    const again = await krt(['install']);
    exits(again, 5, 'again');
    assert.match(again.stderr, new RegExp(`kruntimes ${VERSION} is already installed .*use kubectl krt upgrade`));
  });

  it('helm installs the same objects (platform adopted in place, Runtimes in a fresh namespace); the plugin then refuses', async () => {
    const platformObjects = renderPlatform(platformValues(VERSION, {}), {
      namespace: PLATFORM_NAMESPACE,
      capabilities: { serviceMonitor: false },
      includeNamespace: false,
    });
    const fromKrt = await live(client, platformObjects);
    const krtRuntime = desired(await client.get<K8sObject>(objectPath(renderRuntimes(runtimesValues(VERSION, {}), krtNs)[0])));

    // Helm adopts existing objects that carry its ownership metadata.
    for (const o of platformObjects) {
      const ref = [o.kind.toLowerCase(), o.metadata.name, ...(o.metadata.namespace ? ['-n', o.metadata.namespace] : [])];
      await kubectl(['label', '--overwrite', ...ref, 'app.kubernetes.io/managed-by=Helm']);
      await kubectl(['annotate', '--overwrite', ...ref, 'meta.helm.sh/release-name=kruntimes', `meta.helm.sh/release-namespace=${PLATFORM_NAMESPACE}`]);
    }
    ok(await helm(['upgrade', '--install', 'kruntimes', 'charts/kruntimes', '-n', PLATFORM_NAMESPACE, '--create-namespace',
      ...PLATFORM_SETS.flatMap((s) => ['--set', s]), '--wait', '--timeout', '3m']), 'helm platform');
    ok(await helm(['upgrade', '--install', 'kruntimes-runtimes', 'charts/kruntimes-runtimes', '-n', helmNs,
      ...RUNTIME_SETS.flatMap((s) => ['--set', s])]), 'helm runtimes');

    // Helm's three-way merge removes what its templates lack, so equal specs mean equal objects.
    const fromHelm = await live(client, platformObjects);
    for (const [k, v] of fromKrt) {
      const h = fromHelm.get(k);
      assert.ok(isDeepStrictEqual(h, v), `${k} differs:\nkrt:  ${JSON.stringify(v)}\nhelm: ${JSON.stringify(h)}`);
    }
    const helmRuntime = desired(await client.get<K8sObject>(objectPath(renderRuntimes(runtimesValues(VERSION, {}), helmNs)[0])));
    assert.deepEqual(helmRuntime, krtRuntime);
    assert.equal((await kubectl(['get', 'runtimes', '-n', helmNs, '-o', 'name'])).stdout.trim(), 'runtime.kruntimes.io/bash');

    await runtimeReady(client, helmNs);
    await runSucceeds(client, helmNs, 'after-helm');

    const refused = await krt(['upgrade']);
    exits(refused, 5, 'refused');
    assert.match(refused.stderr, /Deployment kruntimes-scheduler belongs to Helm release kruntimes in namespace kruntimes-system: manage it with helm/);
  });

  it('helm uninstall removes the releases and leaves the CRDs', async () => {
    ok(await helm(['uninstall', 'kruntimes-runtimes', '-n', helmNs, '--wait']), 'helm uninstall runtimes');
    ok(await helm(['uninstall', 'kruntimes', '-n', PLATFORM_NAMESPACE, '--wait']), 'helm uninstall platform');
    for (const crd of CRDS) ok(await kubectl(['get', 'crd', crd], { check: false }), crd);
    assert.equal((await kubectl(['get', 'runtimes', '-n', helmNs, '-o', 'name'])).stdout, '');
    for (const d of DEPLOYMENTS) {
      assert.equal((await kubectl(['get', 'deployment', d, '-n', PLATFORM_NAMESPACE], { check: false })).code, 1, `${d} deleted`);
    }
    // The plugin's Runtime is no Helm object and stays.
    assert.equal((await kubectl(['get', 'runtimes', '-n', krtNs, '-o', 'name'])).stdout.trim(), 'runtime.kruntimes.io/bash');
  });

  it('upgrade brings the platform back with a changed setting, then the Runtimes, reusing the recorded values', async () => {
    const r = await krt(['upgrade', '--set', 'logLevel=debug', '--set', 'controller.resources.requests.cpu=20m', '--set', 'bash.capacity=2', '--wait']);
    ok(r, 'upgrade');
    assert.match(r.stdout, new RegExp(`kruntimes upgraded from ${VERSION} to ${VERSION}; built-in Runtimes in ${krtNs}`));
    assert.equal(await cpuRequest('kruntimes-controller'), '20m');
    assert.equal(await cpuRequest('kruntimes-scheduler'), '10m', 'recorded value reused');
    const rt = JSON.parse((await kubectl(['get', 'runtime', 'bash', '-n', krtNs, '-o', 'json'])).stdout);
    assert.equal(rt.spec.capacity.resources.runs, 2);
    const record = parseInstallRecord((await recordData())!);
    assert.equal(record.platformValues.logLevel, 'debug');
    assert.equal(record.runtimesValues.python.enabled, false);
    assert.ok(record.upgradedAt && Date.parse(record.upgradedAt) >= Date.parse(record.installedAt));
    await waitFor('bash pods at the new capacity', async () => {
      const pods = JSON.parse((await kubectl(['get', 'pods', '-n', krtNs, '-l', 'runtime=bash', '-o', 'json'])).stdout).items;
      return pods.length === 1 && pods[0].metadata.annotations?.['kruntimes.io/capacity.runs'] === '2' && !pods[0].metadata.deletionTimestamp;
    }, { timeoutMs: 120_000 });
    await runtimeReady(client, krtNs);
    await runSucceeds(client, krtNs, 'after-upgrade');
  });

  it('upgrade refuses a downgrade without --force and changes nothing', async () => {
    await kubectl(['patch', 'configmap', 'kruntimes-install', '-n', PLATFORM_NAMESPACE, '--type=merge', '-p', '{"data":{"version":"99.0.0"}}']);
    try {
      const r = await krt(['upgrade', '--set', 'controller.resources.requests.cpu=30m']);
      exits(r, 5, 'r');
      assert.match(r.stderr, new RegExp(`this plugin \\(${VERSION}\\) is older than the installed kruntimes \\(99.0.0\\): refusing to downgrade; .*--force`));
      assert.equal(await cpuRequest('kruntimes-controller'), '20m');
      assert.equal((await recordData())!.version, '99.0.0');
    } finally {
      await kubectl(['patch', 'configmap', 'kruntimes-install', '-n', PLATFORM_NAMESPACE, '--type=merge', '-p', `{"data":{"version":"${VERSION}"}}`]);
    }
  });

  it('uninstall --delete-crds without --yes says what it would delete and deletes nothing', async () => {
    const r = await krt(['uninstall', '--delete-crds']);
    exits(r, 2, 'r');
    assert.match(r.stderr, /--delete-crds deletes the CRDs runs.kruntimes.io, runtimes.kruntimes.io, workflows.kruntimes.io and with them \d+ Runs?, \d+ Runtimes? and \d+ Workflows? in all namespaces\. Refusing without confirmation: .*--yes/);
    for (const crd of CRDS) ok(await kubectl(['get', 'crd', crd], { check: false }), crd);
    ok(await kubectl(['get', 'runtime', 'bash', '-n', krtNs], { check: false }), 'Runtime kept');
    assert.ok(await recordData());
  });

  it('uninstall removes the Runtimes, then the platform and the record, and keeps the CRDs', async () => {
    const dry = await krt(['uninstall', '--dry-run']);
    ok(dry, 'uninstall dry run');
    assert.match(dry.stdout, new RegExp(`would delete runtime/bash -n ${krtNs}\n`));
    assert.match(dry.stdout, /would delete deployment\/kruntimes-scheduler -n kruntimes-system\n/);
    const r = await krt(['uninstall', '--wait']);
    ok(r, 'uninstall');
    assert.match(r.stdout, /kruntimes uninstalled; CRDs kept \(runs.kruntimes.io, runtimes.kruntimes.io, workflows.kruntimes.io\)/);
    for (const crd of CRDS) ok(await kubectl(['get', 'crd', crd], { check: false }), crd);
    assert.equal((await kubectl(['get', 'runtimes', '-n', krtNs, '-o', 'name'])).stdout, '');
    assert.equal(await recordData(), undefined);
    for (const d of DEPLOYMENTS) {
      assert.equal((await kubectl(['get', 'deployment', d, '-n', PLATFORM_NAMESPACE], { check: false })).code, 1, `${d} deleted`);
    }
    ok(await kubectl(['get', 'namespace', PLATFORM_NAMESPACE], { check: false }), 'platform namespace kept');
  });
});
