// The CRDs' validation on a real apiserver: the Usage Guide's examples are accepted as written,
// and every CEL rule users are likely to meet refuses bad input with its exact message.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  ApiException,
  CustomObjectsApi,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import YAML from 'yaml';
import { API_VERSION, GROUP, Plural, VERSION } from '../../lib/api.ts';
import { CelMessage } from '../../lib/validation.ts';
import { ensureCluster } from '../cluster/cluster.ts';

const CRD_DIR = path.resolve(import.meta.dirname, '../../manifests/crds');
const execFileAsync = promisify(execFile);

// The Usage Guide's YAML, kept verbatim in docs/examples (other suites run these Runs end to end).
const EXAMPLES_DIR = path.resolve(import.meta.dirname, '../../docs/examples');
const USAGE_GUIDE_EXAMPLES = ['Runtime/bash', 'Run/hello', 'Run/env-example', 'Run/script-example', 'Workflow/ci'];

function examples(): Obj[] {
  return fs
    .readdirSync(EXAMPLES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => YAML.parseAllDocuments(fs.readFileSync(path.join(EXAMPLES_DIR, f), 'utf8')))
    .map((doc) => doc.toJS() as Obj)
    .filter((obj) => obj?.apiVersion === API_VERSION);
}

interface Obj extends KubernetesObject {
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

interface Cause {
  field?: string;
  message?: string;
}

function run(name: string, spec: Record<string, unknown>): Obj {
  return { apiVersion: API_VERSION, kind: 'Run', metadata: { name }, spec };
}

function runtime(name: string, containers: Array<Record<string, unknown>>): Obj {
  return {
    apiVersion: API_VERSION,
    kind: 'Runtime',
    metadata: { name },
    spec: { template: { spec: { containers } } },
  };
}

function workflow(name: string, tasks: Array<Record<string, unknown>>): Obj {
  return { apiVersion: API_VERSION, kind: 'Workflow', metadata: { name }, spec: { tasks } };
}

const echo = { runtime: 'bash', args: ['echo', 'hi'] };

describe('CRD validation (real apiserver)', () => {
  let kc: KubeConfig;
  let api: KubernetesObjectApi;
  let custom: CustomObjectsApi;
  let namespace: string;

  before(async function () {
    this.timeout(15 * 60_000); // the first bring-up of the local cluster starts every component
    const { kubeconfigPath } = await ensureCluster();
    kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    api = KubernetesObjectApi.makeApiClient(kc);
    custom = kc.makeApiClient(CustomObjectsApi);
    await ensureCrds(kubeconfigPath);
  });

  beforeEach(async () => {
    namespace = `crd-${randomBytes(4).toString('hex')}`;
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  });

  afterEach(async () => {
    await api
      .delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } })
      .catch(() => undefined);
  });

  const create = (obj: Obj) => api.create<Obj>({ ...obj, metadata: { ...obj.metadata, namespace } });
  const mergePatch = (obj: Obj, patch: Record<string, unknown>) =>
    api.patch<Obj>(
      {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        metadata: { name: obj.metadata?.name, namespace },
        ...patch,
      },
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch,
    );

  /** Expects the apiserver to answer 422 with a cause on `field` whose message ends in `message`. */
  async function expectInvalid(request: Promise<unknown>, field: string, message: string): Promise<void> {
    const err = await request.then(
      () => assert.fail(`expected the apiserver to refuse with "${message}"`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApiException, `expected an API error, got ${err}`);
    // The generated APIs hand the Status over parsed, KubernetesObjectApi as JSON text.
    const body = (typeof err.body === 'string' ? JSON.parse(err.body) : err.body) as {
      code?: number;
      details?: { causes?: Cause[] };
    };
    assert.equal(body.code, 422, JSON.stringify(body));
    const causes = body.details?.causes ?? [];
    assert.ok(
      causes.some((c) => c.field === field && (c.message === message || c.message?.endsWith(`: ${message}`))),
      `no cause on ${field} with message "${message}" in ${JSON.stringify(causes)}`,
    );
  }

  describe('Usage Guide examples', () => {
    const all = examples();

    it('has every example of the Usage Guide in docs/examples', () => {
      const have = all.map((o) => `${o.kind}/${o.metadata?.name}`);
      for (const name of USAGE_GUIDE_EXAMPLES) assert.ok(have.includes(name), `docs/examples lacks ${name}`);
    });

    for (const obj of all) {
      it(`accepts the ${obj.kind} ${obj.metadata?.name}`, async () => {
        const created = await create(obj);
        assert.equal(created.metadata?.name, obj.metadata?.name);
      });
    }

    it('applies the defaults the docs promise', async () => {
      const rt = await create(
        runtime('plain', [{ name: 'runtime', image: 'kruntimes-bash-runtime:latest' }]),
      );
      assert.deepEqual(rt.spec?.capacity, { resources: { runs: 1 } });
      assert.equal(rt.spec?.replicas, 1);
      const rn = await create(run('defaults', echo));
      assert.deepEqual(rn.spec?.retryPolicy, { maxAttempts: 1, backoffSeconds: 1 });
    });
  });

  describe('Run entrypoint', () => {
    it('refuses an absolute entrypoint', async () => {
      await expectInvalid(
        create(run('abs', { runtime: 'bash', entrypoint: '/etc/passwd' })),
        'spec.entrypoint',
        CelMessage.entrypointAbsolute,
      );
    });

    it('refuses ../x', async () => {
      await expectInvalid(
        create(run('up', { runtime: 'bash', entrypoint: '../x' })),
        'spec.entrypoint',
        CelMessage.entrypointDotDot,
      );
    });

    it('refuses a/../../x', async () => {
      await expectInvalid(
        create(run('up2', { runtime: 'bash', entrypoint: 'a/../../x' })),
        'spec.entrypoint',
        CelMessage.entrypointDotDot,
      );
    });

    it('refuses a NUL character', async () => {
      await expectInvalid(
        create(run('nul', { runtime: 'bash', entrypoint: 'a\0b' })),
        'spec.entrypoint',
        CelMessage.entrypointNul,
      );
    });

    it('accepts a name that merely contains dots', async () => {
      await create(
        run('dots', { runtime: 'bash', source: { inline: 'true' }, entrypoint: 'dir/..script.sh' }),
      );
    });

    it('requires an entrypoint for inline source', async () => {
      await expectInvalid(
        create(run('inline', { runtime: 'bash', source: { inline: 'echo hi' } })),
        'spec.entrypoint',
        CelMessage.inlineNeedsEntrypoint,
      );
    });

    it('refuses a Run with nothing to execute', async () => {
      await expectInvalid(create(run('empty', { runtime: 'bash' })), 'spec', CelMessage.nothingToRun);
    });
  });

  describe('Run sizes and names', () => {
    it('refuses more than 256 env entries', async () => {
      const env = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`VAR_${i}`, 'x']));
      await expectInvalid(
        create(run('env', { ...echo, env })),
        'spec.env',
        'Too many: 257: must have at most 256 items',
      );
    });

    it('accepts exactly 256 env entries', async () => {
      const env = Object.fromEntries(Array.from({ length: 256 }, (_, i) => [`VAR_${i}`, 'x']));
      await create(run('env256', { ...echo, env }));
    });

    it('refuses an env name that is not a variable name', async () => {
      await expectInvalid(
        create(run('envname', { ...echo, env: { 'A-B': 'x' } })),
        'spec.env',
        CelMessage.envName,
      );
    });

    it('accepts a git subPath and refuses one that escapes the repository', async () => {
      const git = { repository: 'https://example.invalid/r.git', subPath: 'tools/ci' };
      await create(run('gitsub', { runtime: 'bash', source: { git }, entrypoint: 'run.sh' }));
      for (const [i, subPath] of ['/abs', 'a/../..'].entries()) {
        await expectInvalid(
          create(run(`gitsub-bad${i}`, { runtime: 'bash', source: { git: { ...git, subPath } }, entrypoint: 'x' })),
          'spec.source.git.subPath',
          CelMessage.gitSubPath,
        );
      }
    });

    it('refuses inline source and git together', async () => {
      const source = { inline: 'echo', git: { repository: 'https://example.invalid/r.git' } };
      await expectInvalid(
        create(run('both', { runtime: 'bash', source, entrypoint: 'script' })),
        'spec.source',
        CelMessage.sourceExactlyOne,
      );
    });
  });

  // The CEL rules must stay within the apiserver's runtime cost budget at the sizes the schema allows.
  describe('cost at the limits', () => {
    it('accepts and updates a Run at the size limits', async () => {
      const env = Object.fromEntries(Array.from({ length: 256 }, (_, i) => [`VAR_${i}`, 'v'.repeat(2048)]));
      const args = Array.from({ length: 256 }, () => 'a'.repeat(512));
      const r = await create(
        run('big', {
          runtime: 'bash',
          env,
          args,
          source: { inline: 'x'.repeat(256 * 1024) },
          entrypoint: 's',
        }),
      );
      const cancelled = await mergePatch(r, { spec: { cancelRequested: true, ttlSecondsAfterFinished: 1 } });
      assert.equal(cancelled.spec?.cancelRequested, true);
    });

    it('accepts a Workflow of 64 tasks that each depend on every earlier task', async () => {
      const tasks = Array.from({ length: 64 }, (_, i) => ({
        name: `task-${i}`,
        dependsOn: Array.from({ length: i }, (_, j) => `task-${j}`),
        run: echo,
      }));
      await create(workflow('wide', tasks));
    });
  });

  describe('Run updates', () => {
    it('refuses a change of spec.runtime', async () => {
      const r = await create(run('mut', echo));
      await expectInvalid(
        mergePatch(r, { spec: { runtime: 'python' } }),
        'spec.runtime',
        CelMessage.runtimeImmutable,
      );
    });

    it('refuses adding args, and a change of env', async () => {
      const r = await create(run('mut2', { runtime: 'bash', entrypoint: 'run.sh', env: { A: '1' } }));
      await expectInvalid(mergePatch(r, { spec: { args: ['x'] } }), 'spec.args', CelMessage.argsImmutable);
      await expectInvalid(mergePatch(r, { spec: { env: { A: '2' } } }), 'spec.env', CelMessage.envImmutable);
    });

    it('accepts cancelRequested false→true and refuses true→false', async () => {
      const r = await create(run('cancel', { ...echo, cancelRequested: false }));
      const cancelled = await mergePatch(r, { spec: { cancelRequested: true } });
      assert.equal(cancelled.spec?.cancelRequested, true);
      await expectInvalid(
        mergePatch(r, { spec: { cancelRequested: false } }),
        'spec.cancelRequested',
        CelMessage.cancelOneWay,
      );
      await expectInvalid(
        mergePatch(r, { spec: { cancelRequested: null } }),
        'spec.cancelRequested',
        CelMessage.cancelOneWay,
      );
    });

    it('accepts a change of ttlSecondsAfterFinished', async () => {
      const r = await create(run('ttl', { ...echo, ttlSecondsAfterFinished: 60 }));
      const changed = await mergePatch(r, { spec: { ttlSecondsAfterFinished: 5 } });
      assert.equal(changed.spec?.ttlSecondsAfterFinished, 5);
    });

    it('keeps a terminal phase final', async () => {
      await create(run('final', echo));
      const patchStatus = (status: Record<string, unknown>) =>
        custom.patchNamespacedCustomObjectStatus(
          { group: GROUP, version: VERSION, namespace, plural: Plural.Run, name: 'final', body: { status } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      await patchStatus({ phase: 'Succeeded', reason: 'Completed' });
      await expectInvalid(patchStatus({ phase: 'Running' }), 'status.phase', CelMessage.terminalPhase);
    });
  });

  describe('Runtime', () => {
    it('refuses a first container that is not named runtime', async () => {
      await expectInvalid(
        create(runtime('wrong', [{ name: 'main', image: 'kruntimes-bash-runtime:latest' }])),
        'spec.template.spec.containers',
        CelMessage.firstContainer,
      );
    });

    it('refuses a container named runtimed', async () => {
      await expectInvalid(
        create(
          runtime('sidecar', [
            { name: 'runtime', image: 'kruntimes-bash-runtime:latest' },
            { name: 'runtimed', image: 'kruntimes-runtimed:latest' },
          ]),
        ),
        'spec.template.spec.containers',
        CelMessage.runtimedReserved,
      );
    });

    it('refuses two artifact stores', async () => {
      const rt = runtime('stores', [{ name: 'runtime', image: 'kruntimes-bash-runtime:latest' }]);
      rt.spec!.artifactStore = {
        filesystem: { claimName: 'artifacts' },
        s3: { bucket: 'b', credentialsSecretRef: { name: 's3' } },
      };
      await expectInvalid(create(rt), 'spec.artifactStore', CelMessage.artifactStoreExactlyOne);
    });

    it('accepts each artifact store alone and refuses a filesystem subPath with ..', async () => {
      const fs = runtime('fs-store', [{ name: 'runtime', image: 'kruntimes-bash-runtime:latest' }]);
      fs.spec!.artifactStore = { filesystem: { claimName: 'artifacts', subPath: 'runs' } };
      await create(fs);
      const s3 = runtime('s3-store', [{ name: 'runtime', image: 'kruntimes-bash-runtime:latest' }]);
      s3.spec!.artifactStore = {
        s3: { bucket: 'b', prefix: 'p', region: 'us-east-1', endpoint: 'http://10.244.0.1:9000', forcePathStyle: true, credentialsSecretRef: { name: 's3' } },
      };
      await create(s3);
      const bad = runtime('fs-dotdot', [{ name: 'runtime', image: 'kruntimes-bash-runtime:latest' }]);
      bad.spec!.artifactStore = { filesystem: { claimName: 'artifacts', subPath: 'a/../../b' } };
      await expectInvalid(create(bad), 'spec.artifactStore.filesystem.subPath', CelMessage.artifactPathDotDot);
    });
  });

  describe('Workflow', () => {
    it('accepts a DAG', async () => {
      await create(
        workflow('dag', [
          { name: 'a', run: echo },
          { name: 'b', dependsOn: ['a'], run: echo },
          {
            name: 'c',
            dependsOn: ['a', 'b'],
            run: { runtime: 'bash', source: { inline: 'true' }, entrypoint: 's' },
          },
        ]),
      );
    });

    it('refuses a self dependency', async () => {
      await expectInvalid(
        create(workflow('self', [{ name: 'a', dependsOn: ['a'], run: echo }])),
        'spec.tasks[0].dependsOn',
        CelMessage.taskSelfDependency('a'),
      );
    });

    it('refuses an unknown dependency', async () => {
      await expectInvalid(
        create(
          workflow('unknown', [
            { name: 'a', run: echo },
            { name: 'b', dependsOn: ['a', 'nope'], run: echo },
          ]),
        ),
        'spec.tasks',
        CelMessage.taskUnknownDependency('b'),
      );
    });

    it('refuses duplicate task names and two tasks that depend on each other', async () => {
      await expectInvalid(
        create(
          workflow('dup', [
            { name: 'a', run: echo },
            { name: 'a', run: echo },
          ]),
        ),
        'spec.tasks',
        CelMessage.taskDuplicate('a'),
      );
      await expectInvalid(
        create(
          workflow('cycle', [
            { name: 'a', dependsOn: ['b'], run: echo },
            { name: 'b', dependsOn: ['a'], run: echo },
          ]),
        ),
        'spec.tasks',
        CelMessage.taskCycle('a'),
      );
    });

    it("checks each task's run like a Run", async () => {
      await expectInvalid(
        create(workflow('abs', [{ name: 'a', run: { runtime: 'bash', entrypoint: '/bin/sh' } }])),
        'spec.tasks[0].run.entrypoint',
        CelMessage.entrypointAbsolute,
      );
    });
  });
});

/**
 * Applies manifests/crds (server-side, as the platform install does) and waits until they are
 * served. Applied even when present: a long-lived local cluster may hold an older checkout's CRDs.
 * kubectl rather than client-node: its typed serializer would drop the x-kubernetes-* keys.
 */
async function ensureCrds(kubeconfig: string): Promise<void> {
  const kubectl = (...args: string[]) => execFileAsync('kubectl', ['--kubeconfig', kubeconfig, ...args]);
  await kubectl(
    'apply',
    '--server-side',
    '--force-conflicts',
    '--field-manager',
    'kruntimes-e2e',
    '-f',
    CRD_DIR,
  );
  await kubectl('wait', '--for=condition=Established', '--timeout=60s', '-f', CRD_DIR);
}
