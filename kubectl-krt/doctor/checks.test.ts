import assert from 'node:assert/strict';
import { Finalizer, type Run, type Runtime, type Workflow } from '../../lib/api.ts';
import {
  allChecks,
  checkArtifactCleanup,
  checkControlPlane,
  checkCrds,
  checkPendingRuns,
  checkPermissions,
  checkRuntimePods,
  checkRuntimes,
  checkScheduledRuns,
  checksForRun,
  checkWorkflows,
} from './checks.ts';
import { canonical, compareCrd, podReferences } from './gather.ts';
import { renderFindings } from './render.ts';
import type { DeploymentView, Finding, PodView, Snapshot } from './snapshot.ts';
import { Chalk } from 'chalk';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const iso = (agoMs: number) => new Date(NOW - agoMs).toISOString();
const dep = (name: string, over: Partial<DeploymentView> = {}): DeploymentView => ({
  name,
  namespace: 'team',
  replicas: 1,
  readyReplicas: 1,
  images: ['kruntimes-operator:0.1.0'],
  conditions: [{ type: 'Available', status: 'True' }],
  ...over,
});
const runtime = (name: string, replicas = 1): Runtime => ({
  metadata: { name, namespace: 'team' },
  spec: { replicas, template: { spec: { containers: [] } } },
});
const heartbeat = (agoMs: number, status: 'True' | 'False' = 'True', message = '') => ({
  type: 'kruntimes.io/RuntimedReady',
  status,
  reason: status === 'True' ? 'Ready' : 'RuntimeServerUnhealthy',
  message,
  lastProbeTime: iso(agoMs),
});
const pod = (name: string, over: Partial<PodView> = {}): PodView => ({
  name,
  namespace: 'team',
  runtime: 'bash',
  phase: 'Running',
  deleting: false,
  ready: true,
  conditions: [{ type: 'Ready', status: 'True' }, heartbeat(2000)],
  containers: [{ name: 'runtime', image: 'img', ready: true, restartCount: 0 }],
  capacity: 2,
  secrets: [],
  configMaps: [],
  ...over,
});
const run = (name: string, status: Run['status'], over: Partial<Run['metadata']> = {}): Run => ({
  metadata: { name, namespace: 'team', creationTimestamp: iso(60_000), ...over },
  spec: { runtime: 'bash' },
  status,
});
const snapshot = (over: Partial<Snapshot> = {}): Snapshot => ({
  nowMs: NOW,
  pluginVersion: '0.1.0',
  platformNamespace: 'kruntimes-system',
  namespaces: ['team'],
  crds: ['runs', 'runtimes', 'workflows'].map((n) => ({
    name: `${n}.kruntimes.io`,
    present: true,
    established: true,
    schemaDiffers: [],
    versionsMissing: [],
  })),
  controlPlane: [
    { name: 'kruntimes-scheduler', deployment: dep('kruntimes-scheduler', { namespace: 'kruntimes-system' }) },
    { name: 'kruntimes-controller', deployment: dep('kruntimes-controller', { namespace: 'kruntimes-system' }) },
  ],
  runtimes: [runtime('bash')],
  deployments: [dep('runtime-bash')],
  pods: [pod('runtime-bash-a')],
  runs: [run('done', { phase: 'Succeeded' })],
  workflows: [],
  secrets: new Set(),
  configMaps: new Set(),
  access: ['get runs', 'get pods', 'create pods/portforward'].map((a) => {
    const [verb, resource] = a.split(' ');
    return { namespace: 'team', verb, resource, allowed: true };
  }),
  unreadable: [],
  ...over,
});
const statuses = (fs: Finding[]) => fs.map((f) => `${f.status}: ${f.title}`);

describe('doctor checks', () => {
  it('reports a healthy namespace as all ok', () => {
    const fs = allChecks(snapshot());
    assert.deepEqual(
      fs.filter((f) => f.status !== 'ok'),
      [],
    );
    assert.deepEqual(statuses(fs), [
      'ok: CRDs present and matching this plugin (0.1.0)',
      'ok: Deployment kruntimes-scheduler is ready',
      'ok: Deployment kruntimes-controller is ready',
      'ok: Runtime team/bash: 1/1 pods ready',
      'ok: Runtime team/bash: heartbeats fresh, 0/2 slots in use',
      'ok: you may get runs, get pods and create pods/portforward in team',
    ]);
  });

  it('CRDs: missing is a problem, a differing schema a warning, unreadable a warning', () => {
    const s = snapshot();
    s.crds[0] = { ...s.crds[0], present: false };
    const [missing] = checkCrds(s);
    assert.equal(missing.status, 'problem');
    assert.equal(missing.title, 'CRD missing: runs.kruntimes.io');
    assert.deepEqual(missing.next[0], 'kubectl krt install');
    const d = snapshot();
    d.crds[1] = { ...d.crds[1], schemaDiffers: ['v1alpha1'] };
    assert.deepEqual(statuses(checkCrds(d)), ["warning: CRD schema differs from this plugin's (0.1.0)"]);
    assert.deepEqual(checkCrds(d)[0].evidence, ['runtimes.kruntimes.io: stored schema of v1alpha1 differs']);
    const u = snapshot({ unreadable: [{ what: 'crds', why: 'forbidden' }] });
    assert.equal(checkCrds(u)[0].status, 'warning');
  });

  it('compares a stored CRD schema with the manifest by content, not key order', () => {
    const e = { spec: { versions: [{ name: 'v1', schema: { openAPIV3Schema: { type: 'object', properties: { a: { type: 'string' } } } } }] } };
    const same = { status: { conditions: [{ type: 'Established', status: 'True' }] }, spec: { versions: [{ name: 'v1', schema: { openAPIV3Schema: { properties: { a: { type: 'string' } }, type: 'object' } } }] } };
    assert.deepEqual(compareCrd('x', same, e), { name: 'x', present: true, established: true, schemaDiffers: [], versionsMissing: [] });
    const other = { spec: { versions: [{ name: 'v1', schema: { openAPIV3Schema: { type: 'object' } } }] } };
    assert.deepEqual(compareCrd('x', other, e).schemaDiffers, ['v1']);
    assert.deepEqual(compareCrd('x', { spec: { versions: [] } }, e).versionsMissing, ['v1']);
    assert.equal(compareCrd('x', undefined, e).present, false);
    assert.equal(canonical({ b: 1, a: [{ d: 2, c: 3 }] }), '{"a":[{"c":3,"d":2}],"b":1}');
  });

  it('control plane: a deleted Deployment and a not-ready one are problems', () => {
    const s = snapshot();
    s.controlPlane[0] = { name: 'kruntimes-scheduler' };
    s.controlPlane[1].deployment = dep('kruntimes-controller', {
      namespace: 'kruntimes-system',
      readyReplicas: 0,
      conditions: [{ type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'no' }],
    });
    const fs = checkControlPlane(s);
    assert.deepEqual(statuses(fs), [
      'problem: Deployment kruntimes-scheduler is missing from kruntimes-system',
      'problem: Deployment kruntimes-controller is not ready',
    ]);
    assert.deepEqual(fs[0].evidence, ['without kruntimes-scheduler no Run is scheduled']);
    assert.deepEqual(fs[1].evidence, ['0/1 ready, image kruntimes-operator:0.1.0', 'Available=False MinimumReplicasUnavailable: no']);
    assert.deepEqual(fs[1].next, ['kubectl describe deploy kruntimes-controller -n kruntimes-system', 'kubectl logs deploy/kruntimes-controller -n kruntimes-system']);
    const skew = snapshot();
    skew.controlPlane[0].deployment!.images = ['kruntimes-operator:0.3.0'];
    assert.match(checkControlPlane(skew)[0].title, /^Deployment kruntimes-scheduler is ready, but the plugin \(0\.1\.0\) and the platform \(0\.3\.0\) differ/);
  });

  it('Runtimes: image pull failure, unschedulable, missing Secret, invalid template, failing health check', () => {
    const s = snapshot({
      runtimes: [runtime('bash'), runtime('img'), runtime('big'), runtime('sec'), runtime('tpl'), runtime('sick'), runtime('nodep')],
      deployments: ['bash', 'img', 'big', 'sec', 'sick'].map((n) => dep(`runtime-${n}`)).concat(
        dep('runtime-tpl', {
          readyReplicas: 0,
          conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'pods "runtime-tpl-x" is forbidden: unknown field' }],
        }),
      ),
      pods: [
        pod('runtime-bash-a'),
        // runtimed cannot reach a server that never started: the image is the cause, said once.
        pod('runtime-img-a', {
          runtime: 'img',
          ready: false,
          conditions: [heartbeat(1000, 'False', 'Runtime Server unreachable: ECONNREFUSED')],
          containers: [{ name: 'runtime', image: 'nope:1', ready: false, restartCount: 0, waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "nope:1"' } }],
        }),
        pod('runtime-big-a', { runtime: 'big', ready: false, phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient cpu.' }], containers: [] }),
        pod('runtime-sec-a', { runtime: 'sec', ready: false, secrets: ['creds'], containers: [{ name: 'runtime', image: 'i', ready: false, restartCount: 0, waiting: { reason: 'CreateContainerConfigError', message: 'secret "creds" not found' } }] }),
        pod('runtime-sick-a', { runtime: 'sick', ready: true, conditions: [{ type: 'Ready', status: 'True' }, heartbeat(1000, 'False', 'Runtime Server unhealthy: disk full')] }),
      ],
    });
    const fs = checkRuntimes(s);
    assert.deepEqual(statuses(fs), [
      'ok: Runtime team/bash: 1/1 pods ready',
      'problem: Runtime team/img: 0/1 pods ready — image pull failure',
      'problem: Runtime team/big: 0/1 pods ready — pods cannot be scheduled (insufficient resources?)',
      'problem: Runtime team/sec: 0/1 pods ready — container configuration error (missing Secret or ConfigMap?), missing Secret or ConfigMap',
      'problem: Runtime team/tpl: 0/1 pods ready — invalid Pod template',
      'problem: Runtime team/sick: 1/1 pods ready — Runtime Server failing its health check',
      'problem: Runtime team/nodep: its Deployment runtime-nodep does not exist',
    ]);
    const by = (n: string) => fs.find((f) => f.runtime === n)!;
    assert.deepEqual(by('img').evidence, ['pod runtime-img-a: container runtime: ImagePullBackOff for image nope:1: Back-off pulling image "nope:1"']);
    assert.deepEqual(by('img').next, [
      'kubectl describe runtime img -n team',
      'kubectl describe deploy runtime-img -n team',
      'kubectl describe pod runtime-img-a -n team',
    ]);
    assert.deepEqual(by('big').evidence, ['pod runtime-big-a: not scheduled (Unschedulable): 0/1 nodes are available: 1 Insufficient cpu.']);
    assert.deepEqual(by('sec').evidence, [
      'pod runtime-sec-a: container runtime: CreateContainerConfigError: secret "creds" not found',
      'pod runtime-sec-a: Secret creds does not exist',
    ]);
    assert.match(by('tpl').evidence[0], /cannot create pods \(FailedCreate\): pods "runtime-tpl-x" is forbidden: unknown field/);
    assert.deepEqual(by('sick').evidence, ['pod runtime-sick-a: runtimed reports not ready (RuntimeServerUnhealthy): Runtime Server unhealthy: disk full']);
    assert.ok(by('sick').next.includes('kubectl logs runtime-sick-a -n team -c runtimed'));
  });

  it('finds the Secrets and ConfigMaps a pod cannot start without', () => {
    assert.deepEqual(
      podReferences({
        volumes: [{ secret: { secretName: 'a' } }, { secret: { secretName: 'opt', optional: true } }, { configMap: { name: 'cm' } }, { projected: { sources: [{ secret: { name: 'p' } }, { configMap: { name: 'kube-root-ca.crt' } }] } }],
        containers: [{ env: [{ valueFrom: { secretKeyRef: { name: 'b' } } }, { valueFrom: { configMapKeyRef: { name: 'cm2' } } }], envFrom: [{ secretRef: { name: 'c' } }] }],
      }),
      { secrets: ['a', 'b', 'c', 'p'], configMaps: ['cm', 'cm2', 'kube-root-ca.crt'] },
    );
  });

  it('heartbeat freshness and capacity use', () => {
    const stale = snapshot({ pods: [pod('runtime-bash-a', { conditions: [{ type: 'Ready', status: 'True' }, heartbeat(40_000)] })] });
    const [f] = checkRuntimePods(stale);
    assert.equal(f.status, 'problem');
    assert.deepEqual(f.evidence, ['pod runtime-bash-a: last heartbeat 40s ago', '0/2 slots in use over 1 ready pods']);
    const full = snapshot({
      runs: [run('a', { phase: 'Running', assignedPod: 'runtime-bash-a' }), run('b', { phase: 'Scheduled', assignedPod: 'runtime-bash-a', scheduledTime: iso(1000) }), run('c', { phase: 'Pending', reason: 'AtCapacity', message: 'full' })],
    });
    assert.deepEqual(statuses(checkRuntimePods(full)), ['warning: Runtime team/bash: at capacity']);
    assert.deepEqual(checkRuntimePods(full)[0].evidence, ['2/2 slots in use over 1 ready pods, 1 Runs Pending', 'full', 'Pending Runs start as slots free up']);
    // Short of another capacity resource while runs slots are free: the scheduler's message says which.
    const gpu = 'all 1 ready Runtime Pods of "bash" are at capacity (gpu 1/1 in use); waiting for a free slot';
    const gpuFull = snapshot({
      runs: [run('a', { phase: 'Running', assignedPod: 'runtime-bash-a' }), run('c', { phase: 'Pending', reason: 'AtCapacity', message: gpu })],
    });
    assert.deepEqual(statuses(checkRuntimePods(gpuFull)), ['warning: Runtime team/bash: at capacity']);
    assert.deepEqual(checkRuntimePods(gpuFull)[0].evidence, ['1/2 slots in use over 1 ready pods, 1 Runs Pending', gpu, 'Pending Runs start as slots free up']);
  });

  it('Pending Runs and why', () => {
    const s = snapshot({
      runs: [
        run('typo', { phase: 'Pending', reason: 'RuntimeNotFound', message: 'Runtime "bahs" not found in namespace team' }),
        run('nopod', { phase: 'Pending', reason: 'NoReadyPod', message: 'no ready Runtime Pod of "bash"' }),
        run('full', { phase: 'Pending', reason: 'AtCapacity', message: 'all busy' }),
        run('ignored', undefined),
        run('fresh', undefined, { creationTimestamp: iso(1000) }),
      ],
    });
    s.runs[0].spec.runtime = 'bahs';
    const fs = checkPendingRuns(s);
    assert.deepEqual(statuses(fs), [
      'problem: Run team/typo is Pending: Runtime bahs does not exist in team',
      'problem: Run team/nopod is Pending: no ready Runtime Pod of bash',
      'warning: Run team/full is Pending (AtCapacity)',
      'problem: Run team/ignored has been Pending for 60s with no explanation: the scheduler is not looking at it',
      'warning: Run team/fresh is Pending',
    ]);
    assert.deepEqual(fs[0].evidence, ['status: RuntimeNotFound: Runtime "bahs" not found in namespace team']);
    assert.deepEqual(fs[0].next, ['kubectl krt runtime list -n team', 'kubectl describe run typo -n team', 'kubectl krt cancel typo -n team']);
  });

  it('Scheduled Runs not Running, with their pod or its absence', () => {
    const s = snapshot({
      runs: [
        run('stuck', { phase: 'Scheduled', assignedPod: 'runtime-bash-a', scheduledTime: iso(45_000) }),
        run('lost', { phase: 'Scheduled', assignedPod: 'gone', scheduledTime: iso(45_000) }),
        run('just', { phase: 'Scheduled', assignedPod: 'runtime-bash-a', scheduledTime: iso(2_000) }),
      ],
    });
    const fs = checkScheduledRuns(s);
    assert.deepEqual(statuses(fs), ['problem: Run team/stuck is Scheduled but not Running', 'problem: Run team/lost is Scheduled but not Running']);
    assert.deepEqual(fs[0].evidence, [
      'Scheduled on pod runtime-bash-a 45s ago, not claimed by runtimed since',
      'pod runtime-bash-a: phase Running, Ready, RuntimedReady True (2s ago)',
    ]);
    assert.deepEqual(fs[0].next, ['kubectl get run stuck -n team -o yaml', 'kubectl logs runtime-bash-a -n team -c runtimed']);
    assert.equal(fs[1].evidence[1], 'pod gone no longer exists; retry follows spec.retryPolicy');
  });

  it('artifact cleanup stuck on the finalizer, with the maintainer absent or present', () => {
    const deleting = run('old', { phase: 'Succeeded', artifactStore: { s3: { bucket: 'b', credentialsSecretRef: { name: 'c' } } } }, { deletionTimestamp: iso(300_000), finalizers: [Finalizer.ArtifactCleanup] });
    const [absent] = checkArtifactCleanup(snapshot({ runs: [deleting] }));
    assert.equal(absent.status, 'problem');
    assert.equal(absent.title, 'Run team/old: artifact cleanup is stuck');
    assert.deepEqual(absent.evidence, [
      'deleting since 5m ago, finalizer kruntimes.io/artifact-cleanup still on',
      'status.artifactStore: {"s3":{"bucket":"b","credentialsSecretRef":{"name":"c"}}}',
      'no runtime maintainer Deployment (label app.kubernetes.io/component=runtime-maintainer) in team: nothing removes the finalizer',
    ]);
    const maint = dep('runtime-maintainer-bash', { labels: { 'app.kubernetes.io/component': 'runtime-maintainer' } });
    const recent = { ...deleting, metadata: { ...deleting.metadata, deletionTimestamp: iso(10_000) } };
    const [fine] = checkArtifactCleanup(snapshot({ runs: [recent], deployments: [dep('runtime-bash'), maint] }));
    assert.equal(fine.status, 'warning');
    assert.equal(fine.evidence[2], 'maintainer runtime-maintainer-bash: 1/1 ready');
    assert.ok(fine.next.includes('kubectl logs deploy/runtime-maintainer-bash -n team'));
    // The maintainer's ArtifactCleanup condition makes it a problem at once, with its reason.
    const condition = { type: 'ArtifactCleanup', status: 'False' as const, reason: 'CredentialsSecretNotFound', message: 'Secret c … does not exist' };
    const said = { ...recent, status: { ...recent.status, conditions: [condition] } };
    const [blocked] = checkArtifactCleanup(snapshot({ runs: [said], deployments: [dep('runtime-bash'), maint] }));
    assert.equal(blocked.status, 'problem');
    assert.equal(blocked.evidence[3], 'condition ArtifactCleanup=False (CredentialsSecretNotFound): Secret c … does not exist');
  });

  it("the user's permissions", () => {
    const s = snapshot();
    s.access[2] = { ...s.access[2], allowed: false };
    const [f] = checkPermissions(s);
    assert.equal(f.status, 'problem');
    assert.equal(f.title, 'you may not create pods/portforward in team: krt logs and artifact downloads need them');
    assert.deepEqual(f.evidence, ['get runs: yes', 'get pods: yes', 'create pods/portforward: no']);
    assert.equal(f.next[0], 'kubectl auth can-i create pods/portforward -n team');
    const u = checkPermissions(snapshot({ unreadable: [{ what: 'Deployments in team', why: 'forbidden: you may not list deployments in team' }] }));
    assert.deepEqual(statuses(u).slice(1), ['warning: could not read Deployments in team: the checks that need it are incomplete']);
  });

  it('Workflows: an invalid spec, a task waiting for a Runtime that does not exist, and all well', () => {
    const wf = (name: string, status: Workflow['status'], runtime = 'bash'): Workflow => ({
      metadata: { name, namespace: 'team' },
      spec: {
        tasks: [
          { name: 'a', run: { runtime: 'bash', args: ['x'] } },
          { name: 'b', dependsOn: ['a'], run: { runtime, args: ['x'] } },
        ],
      },
      status,
    });
    const invalid = wf('cyc', {
      phase: 'Failed',
      reason: 'InvalidSpec',
      message: 'spec.tasks have a dependency cycle: a -> b -> a',
    });
    const stuck = wf(
      'etl',
      {
        phase: 'Running',
        tasks: {
          a: { phase: 'Succeeded', runName: 'etl-a' },
          b: { phase: 'Pending', runName: 'etl-b', reason: 'RuntimeNotFound' },
        },
      },
      'bahs',
    );
    const child = run('etl-b', { phase: 'Pending', reason: 'RuntimeNotFound', message: 'Runtime "bahs" not found in namespace team' }, {
      labels: { 'kruntimes.io/workflow': 'etl', 'kruntimes.io/workflow-task': 'b' },
    });
    child.spec.runtime = 'bahs';
    const s = snapshot({ workflows: [invalid, stuck, wf('ok', { phase: 'Succeeded' })], runs: [child] });
    const fs = checkWorkflows(s);
    assert.deepEqual(statuses(fs), [
      'problem: Workflow team/cyc failed before running any task: its spec is invalid',
      'problem: Workflow team/etl cannot progress: task b waits for Runtime bahs, which does not exist in team',
    ]);
    assert.equal(fs[0].evidence[0], 'status: InvalidSpec: "spec.tasks have a dependency cycle: a -> b -> a"');
    assert.deepEqual(fs[0].next, ['kubectl krt workflow describe cyc -n team']);
    assert.equal(fs[1].evidence[0], 'Run etl-b: Pending, RuntimeNotFound: Runtime "bahs" not found in namespace team');
    assert.deepEqual(fs[1].next, [
      'kubectl krt runtime list -n team',
      'kubectl krt workflow describe etl -n team',
      'kubectl krt workflow cancel etl -n team',
    ]);
    assert.ok(allChecks(s).some((f) => f.title === fs[1].title), 'part of every doctor run');
    // A Runtime that exists by now, and a task status that alone says it waits.
    assert.deepEqual(checkWorkflows(snapshot({ workflows: [stuck], runs: [child], runtimes: [runtime('bash'), runtime('bahs')] })).map((f) => f.status), ['ok']);
    assert.equal(checkWorkflows(snapshot({ workflows: [stuck], runs: [] })).length, 1);
    assert.deepEqual(statuses(checkWorkflows(snapshot({ workflows: [wf('ok', { phase: 'Succeeded' }), wf('go', { phase: 'Running' })] }))), [
      'ok: Workflows in team: none stuck (1 Succeeded, 1 Running)',
    ]);
    // doctor RUN shows a Workflow's findings only for its own child Runs.
    assert.ok(checksForRun(s, child).some((f) => f.workflow === 'etl'));
    assert.ok(!checksForRun(s, child).some((f) => f.workflow === 'cyc'));
    const loose = run('loose', { phase: 'Succeeded' });
    assert.ok(!checksForRun({ ...s, runs: [child, loose] }, loose).some((f) => f.workflow));
  });

  it('doctor RUN keeps what concerns the Run, and says how it stands when nothing is wrong', () => {
    const other = runtime('py');
    const s = snapshot({ runtimes: [runtime('bash'), other], deployments: [dep('runtime-bash')] });
    const fs = checksForRun(s, s.runs[0]);
    assert.ok(!fs.some((f) => f.runtime === 'py'));
    assert.equal(fs.at(-1)!.title, 'Run team/done is Succeeded');
    const typo = run('typo', { phase: 'Pending', reason: 'RuntimeNotFound', message: 'm' });
    typo.spec.runtime = 'bahs';
    const t = checksForRun({ ...s, runs: [typo] }, typo);
    assert.deepEqual(t.filter((f) => f.run).map((f) => f.status), ['problem']);
  });

  it('renders problems first with evidence and next steps, and a summary', () => {
    const s = snapshot();
    s.controlPlane[0] = { name: 'kruntimes-scheduler' };
    const text = renderFindings(allChecks(s), new Chalk({ level: 0 }));
    assert.match(text, /^PROBLEM {2}Deployment kruntimes-scheduler is missing from kruntimes-system\n {9}· without kruntimes-scheduler no Run is scheduled\n {9}next: kubectl get deploy -n kruntimes-system\n/);
    assert.match(text, /\n5 ok, 0 warnings, 1 problem\n$/);
  });
});
