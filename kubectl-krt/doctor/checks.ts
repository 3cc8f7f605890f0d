// The checks of the Operations Guide's Troubleshooting section, each a pure function of the
// snapshot, each finding with its evidence and the command to run next.
import {
  ArtifactCleanupCondition,
  ACTIVE_PHASES,
  Component,
  DEFAULT_CAPACITY_RUNS,
  Finalizer,
  isTerminal,
  Label,
  Limits,
  PodConditionType,
  Reason,
  type Run,
  RunPhase,
  RUNTIME_CONTAINER,
  type Runtime,
  RuntimeConditionType,
  WorkflowPhase,
  WorkflowReason,
  isWorkflowTerminal,
} from '../../lib/api.ts';
import { allTasks, workflowLabelValue } from '../../lib/workflow-names.ts';
import { ADMISSION_POLICY, imageVersion, versionSkew } from '../platform-version.ts';
import { guardProblems, renderedGuards } from './guards.ts';
import { type DeploymentView, type Finding, type PodView, type Snapshot, Status } from './snapshot.ts';

export const Check = {
  Crds: 'crds',
  ControlPlane: 'control-plane',
  Runtime: 'runtime',
  /** The objects that guard a Runtime's pods, and runtimed's credentials. */
  Guards: 'guards',
  Workflow: 'workflow',
  RuntimePods: 'runtime-pods',
  PendingRun: 'pending-run',
  ScheduledRun: 'scheduled-run',
  ArtifactCleanup: 'artifact-cleanup',
  Permissions: 'permissions',
  Access: 'access',
} as const;

/** The runtime maintainer's Deployment label value, as the Runtime controller renders it. */
export const MAINTAINER_COMPONENT = Component.RuntimeMaintainer;
/** A Run Pending this long without an explanation means the scheduler is not looking at it. */
export const UNEXPLAINED_PENDING_MS = 30_000;
/** Scheduled this long without runtimed claiming it. */
export const SCHEDULED_STUCK_MS = 30_000;
/** Deleting this long with the artifact-cleanup finalizer still on. */
export const CLEANUP_STUCK_MS = 120_000;

const IMAGE_PULL = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);
const CONFIG_ERRORS = new Set(['CreateContainerConfigError', 'CreateContainerError']);

const ago = (nowMs: number, t: string | undefined) => {
  if (!t) return 'unknown';
  const s = Math.max(0, Math.round((nowMs - Date.parse(t)) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
};
const cond = (conditions: ReadonlyArray<{ type: string }> | undefined, type: string) =>
  conditions?.find((c) => c.type === type) as
    | { type: string; status: string; reason?: string; message?: string; lastProbeTime?: string; lastTransitionTime?: string }
    | undefined;

export function checkCrds(s: Snapshot): Finding[] {
  const missing = s.crds.filter((c) => !c.present);
  const notEstablished = s.crds.filter((c) => c.present && c.established === false);
  const differs = s.crds.filter((c) => c.present && (c.schemaDiffers.length > 0 || c.versionsMissing.length > 0));
  const names = s.crds.map((c) => c.name).join(' ');
  if (s.unreadable.some((u) => u.what === 'crds')) {
    return [
      {
        check: Check.Crds,
        status: Status.Warning,
        title: 'could not read the CRDs',
        evidence: s.unreadable.filter((u) => u.what === 'crds').map((u) => u.why),
        next: [`kubectl get crd ${names}`],
      },
    ];
  }
  if (missing.length > 0) {
    return [
      {
        check: Check.Crds,
        status: Status.Problem,
        title: `CRD${missing.length > 1 ? 's' : ''} missing: ${missing.map((c) => c.name).join(', ')}`,
        evidence: ['without them the cluster has no Runs, Runtimes or Workflows: kruntimes is not installed'],
        next: ['kubectl krt install', `kubectl get crd ${names}`],
      },
    ];
  }
  const findings: Finding[] = [];
  for (const c of notEstablished) {
    findings.push({
      check: Check.Crds,
      status: Status.Problem,
      title: `CRD ${c.name} is not Established`,
      evidence: ['the API server does not serve it yet'],
      next: [`kubectl describe crd ${c.name}`],
    });
  }
  if (differs.length > 0) {
    findings.push({
      check: Check.Crds,
      status: Status.Warning,
      title: `CRD schema differs from this plugin's (${s.pluginVersion})`,
      evidence: differs.map((c) =>
        [
          c.schemaDiffers.length ? `${c.name}: stored schema of ${c.schemaDiffers.join(', ')} differs` : '',
          c.versionsMissing.length ? `${c.name}: no version ${c.versionsMissing.join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; '),
      ),
      next: ['kubectl krt version', 'kubectl krt upgrade'],
    });
  }
  if (findings.length === 0) {
    findings.push({
      check: Check.Crds,
      status: Status.Ok,
      title: `CRDs present and matching this plugin (${s.pluginVersion})`,
      evidence: [names],
      next: [],
    });
  }
  return findings;
}

export function checkControlPlane(s: Snapshot): Finding[] {
  const ns = s.platformNamespace;
  if (s.unreadable.some((u) => u.what === 'control-plane')) {
    return [
      {
        check: Check.ControlPlane,
        status: Status.Warning,
        title: `could not read the control-plane Deployments in ${ns}`,
        evidence: s.unreadable.filter((u) => u.what === 'control-plane').map((u) => u.why),
        next: [`kubectl get deploy -n ${ns}`],
      },
    ];
  }
  return s.controlPlane.map(({ name, deployment: d }) => {
    if (!d) {
      return {
        check: Check.ControlPlane,
        status: Status.Problem,
        title: `Deployment ${name} is missing from ${ns}`,
        evidence: [`without ${name} ${name.endsWith('scheduler') ? 'no Run is scheduled' : 'no Runtime gets its Pods'}`],
        next: [`kubectl get deploy -n ${ns}`, 'kubectl krt upgrade (re-applies the platform)'],
      };
    }
    const failing = d.conditions.filter(
      (c) => (c.type === 'Available' && c.status === 'False') || (c.type === 'ReplicaFailure' && c.status === 'True'),
    );
    const evidence = [
      `${d.readyReplicas}/${d.replicas} ready, image ${d.images.join(', ')}`,
      ...failing.map((c) => `${c.type}=${c.status} ${c.reason ?? ''}: ${c.message ?? ''}`),
    ];
    if (d.readyReplicas < Math.max(1, d.replicas)) {
      return {
        check: Check.ControlPlane,
        status: Status.Problem,
        title: `Deployment ${name} is not ready`,
        evidence,
        next: [`kubectl describe deploy ${name} -n ${ns}`, `kubectl logs deploy/${name} -n ${ns}`],
      };
    }
    const version = d.images.map(imageVersion).find((v) => v !== undefined);
    const skew = version ? versionSkew(s.pluginVersion, version) : undefined;
    return {
      check: Check.ControlPlane,
      status: skew ? Status.Warning : Status.Ok,
      title: skew ? `Deployment ${name} is ready, but ${skew}` : `Deployment ${name} is ready`,
      evidence,
      next: skew ? ['kubectl krt version'] : [],
    };
  });
}

const runtimeOf = (s: Snapshot, namespace: string, name: string) =>
  s.runtimes.find((r) => r.metadata.namespace === namespace && r.metadata.name === name);
const podsOf = (s: Snapshot, rt: Runtime) =>
  s.pods.filter((p) => p.namespace === rt.metadata.namespace && p.runtime === rt.metadata.name);

/** Why one Runtime Pod cannot work, if it cannot: the kubelet's and runtimed's own words. */
export function podProblems(s: Snapshot, pod: PodView): Array<{ kind: string; text: string }> {
  const out: Array<{ kind: string; text: string }> = [];
  const scheduled = cond(pod.conditions, 'PodScheduled');
  if (scheduled?.status === 'False')
    out.push({ kind: 'unschedulable', text: `not scheduled (${scheduled.reason ?? ''}): ${scheduled.message ?? ''}` });
  for (const c of pod.containers) {
    const reason = c.waiting?.reason;
    if (reason && IMAGE_PULL.has(reason))
      out.push({ kind: 'image', text: `container ${c.name}: ${reason} for image ${c.image}: ${c.waiting?.message ?? ''}` });
    else if (reason && CONFIG_ERRORS.has(reason))
      out.push({ kind: 'config', text: `container ${c.name}: ${reason}: ${c.waiting?.message ?? ''}` });
    else if (reason === 'CrashLoopBackOff')
      out.push({
        kind: 'crash',
        text: `container ${c.name} keeps crashing (restarted ${c.restartCount} times)${c.terminated?.message ? `: ${c.terminated.message}` : ''}`,
      });
  }
  const ns = pod.namespace;
  if (s.secrets) {
    for (const name of pod.secrets)
      if (!s.secrets.has(`${ns}/${name}`)) out.push({ kind: 'secret', text: `Secret ${name} does not exist` });
  }
  if (s.configMaps) {
    for (const name of pod.configMaps)
      if (!s.configMaps.has(`${ns}/${name}`)) out.push({ kind: 'secret', text: `ConfigMap ${name} does not exist` });
  }
  const hb = cond(pod.conditions, PodConditionType.RuntimedReady);
  // A Runtime Server whose container cannot start fails its health check too: that is the
  // container's problem, already said, not the server's.
  const serverStarted = !pod.containers.some((c) => c.name === RUNTIME_CONTAINER && c.waiting?.reason);
  if (hb?.status === 'False' && serverStarted)
    out.push({ kind: 'health', text: `runtimed reports not ready (${hb.reason ?? ''}): ${hb.message ?? ''}` });
  return out;
}

export function checkRuntimes(s: Snapshot): Finding[] {
  const findings: Finding[] = [];
  for (const rt of s.runtimes) {
    const ns = rt.metadata.namespace!;
    const name = rt.metadata.name!;
    const depName = `runtime-${name}`;
    const dep = s.deployments.find((d) => d.namespace === ns && d.name === depName);
    const pods = podsOf(s, rt).filter((p) => !p.deleting);
    const desired = rt.spec.replicas ?? 1;
    const base = { check: Check.Runtime, namespace: ns, runtime: name };
    const next = [
      `kubectl describe runtime ${name} -n ${ns}`,
      `kubectl describe deploy ${depName} -n ${ns}`,
      ...(pods[0] ? [`kubectl describe pod ${pods[0].name} -n ${ns}`] : []),
    ];
    if (!dep) {
      findings.push({
        ...base,
        status: Status.Problem,
        title: `Runtime ${ns}/${name}: its Deployment ${depName} does not exist`,
        evidence: [
          `Runtime Ready: ${cond(rt.status?.conditions, 'Ready')?.message ?? 'no status yet'}`,
          'the Runtime controller creates it: is kruntimes-controller running?',
        ],
        next: [...next.slice(0, 1), 'kubectl get deploy -n kruntimes-system'],
      });
      continue;
    }
    const evidence: string[] = [];
    let problem = false;
    for (const c of dep.conditions) {
      if (c.type === 'ReplicaFailure' && c.status === 'True') {
        problem = true;
        evidence.push(`Deployment ${depName} cannot create pods (${c.reason ?? ''}): ${c.message ?? ''} — an invalid or forbidden Pod template field`);
      }
    }
    const byKind = new Map<string, string[]>();
    for (const pod of pods) {
      for (const p of podProblems(s, pod)) {
        problem = true;
        evidence.push(`pod ${pod.name}: ${p.text}`);
        byKind.set(p.kind, [...(byKind.get(p.kind) ?? []), pod.name]);
      }
    }
    const ready = pods.filter((p) => p.ready).length;
    if (!problem && ready < desired) {
      evidence.push(`${ready}/${desired} Runtime Pods ready (${pods.length} exist)`);
    }
    const causes = [
      byKind.has('image') && 'image pull failure',
      byKind.has('unschedulable') && 'pods cannot be scheduled (insufficient resources?)',
      byKind.has('config') && 'container configuration error (missing Secret or ConfigMap?)',
      byKind.has('secret') && 'missing Secret or ConfigMap',
      byKind.has('crash') && 'container crashing',
      byKind.has('health') && 'Runtime Server failing its health check',
      evidence.some((e) => e.includes('cannot create pods')) && 'invalid Pod template',
    ].filter(Boolean);
    if (problem) {
      const first = [...byKind.values()][0]?.[0];
      findings.push({
        ...base,
        status: Status.Problem,
        title: `Runtime ${ns}/${name}: ${ready}/${desired} pods ready — ${causes.join(', ')}`,
        evidence,
        next: [
          ...next.slice(0, 2),
          ...(first ? [`kubectl describe pod ${first} -n ${ns}`] : []),
          ...(byKind.has('health') && first ? [`kubectl logs ${first} -n ${ns} -c runtimed`] : []),
        ],
      });
    } else if (ready < desired) {
      findings.push({ ...base, status: Status.Warning, title: `Runtime ${ns}/${name}: ${ready}/${desired} pods ready`, evidence, next });
    } else {
      findings.push({
        ...base,
        status: Status.Ok,
        title: `Runtime ${ns}/${name}: ${ready}/${desired} pods ready`,
        evidence: [`Deployment ${depName}: ${dep.readyReplicas}/${dep.replicas} ready`],
        next: [],
      });
    }
  }
  return findings;
}

/**
 * The objects that guard each Runtime's pods (runtimed's ServiceAccount, Role, RoleBinding, the
 * NetworkPolicy) against what the Runtime controller renders, and runtimed's credentials as the
 * RuntimedCredentials condition tells them.
 */
export function checkGuards(s: Snapshot): Finding[] {
  const findings: Finding[] = [];
  for (const rt of s.runtimes) {
    const ns = rt.metadata.namespace!;
    const name = rt.metadata.name!;
    const base = { check: Check.Guards, namespace: ns, runtime: name };
    const credentials = cond(rt.status?.conditions, RuntimeConditionType.RuntimedCredentials);
    if (credentials?.status === 'False') {
      const sa = (rt.spec.template.spec as { serviceAccountName?: string }).serviceAccountName;
      findings.push({
        ...base,
        status: Status.Problem,
        title: `Runtime ${ns}/${name}: runtimed has no API credentials`,
        evidence: [`RuntimedCredentials: ${credentials.message ?? credentials.reason ?? ''}`],
        next: [
          `kubectl describe runtime ${name} -n ${ns}`,
          ...(sa ? [`kubectl get serviceaccount ${sa} -n ${ns} -o yaml`] : []),
          `kubectl rollout restart deployment/runtime-${name} -n ${ns}   # after the fix: pods get their token when created`,
        ],
      });
    }
    if (!s.guards) continue; // unreadable: the access check says so
    const problems = guardProblems(rt, s.platformNamespace, s.guards);
    if (problems.length) {
      findings.push({
        ...base,
        status: Status.Problem,
        title: `Runtime ${ns}/${name}: objects guarding its pods are missing or altered`,
        evidence: [
          ...problems.map((p) => `${p.object}: ${p.problem}`),
          'the Runtime controller puts these back at once: is kruntimes-controller running, and may it apply them?',
          `Runtime Ready: ${cond(rt.status?.conditions, 'Ready')?.message ?? 'no status yet'}`,
        ],
        next: [
          `kubectl get serviceaccount,role,rolebinding,networkpolicy -n ${ns} -l runtime=${name}`,
          `kubectl get deploy kruntimes-controller -n ${s.platformNamespace}`,
          `kubectl logs deploy/kruntimes-controller -n ${s.platformNamespace}`,
        ],
      });
    } else {
      findings.push({
        ...base,
        status: Status.Ok,
        title: `Runtime ${ns}/${name}: ${renderedGuards(rt, s.platformNamespace).map((o) => o.kind).join(', ')} in place`,
        evidence: [],
        next: [],
      });
    }
  }
  return findings;
}

/** The admission policy that confines Runtime Pods to their own Runs, and its binding. */
export function checkAdmissionPolicy(s: Snapshot): Finding[] {
  const found = s.admissionPolicy;
  if (!found) return [];
  const base = { check: Check.Guards };
  if (found.policy && found.binding) {
    return [{ ...base, status: Status.Ok, title: `admission policy ${ADMISSION_POLICY} in place`, evidence: [], next: [] }];
  }
  const missing = [!found.policy && 'ValidatingAdmissionPolicy', !found.binding && 'ValidatingAdmissionPolicyBinding'].filter(Boolean);
  return [
    {
      ...base,
      status: Status.Warning,
      title: `admission policy ${ADMISSION_POLICY} is not in force: ${missing.join(' and ')} missing`,
      evidence: ["without it a Runtime Pod's token (runtimed's, or a workload's that holds it) may write every Run's status and every pod's status in its namespace"],
      next: [`kubectl get validatingadmissionpolicy,validatingadmissionpolicybinding ${ADMISSION_POLICY}`, 'kubectl krt upgrade (re-applies the platform)'],
    },
  ];
}

/** runtimed's heartbeat on each ready pod and how full each Runtime is. */
export function checkRuntimePods(s: Snapshot): Finding[] {
  const findings: Finding[] = [];
  const staleMs = Limits.schedulerStaleSeconds * 1000;
  for (const rt of s.runtimes) {
    const ns = rt.metadata.namespace!;
    const name = rt.metadata.name!;
    const pods = podsOf(s, rt).filter((p) => !p.deleting && p.ready);
    if (pods.length === 0) continue;
    const base = { check: Check.RuntimePods, namespace: ns, runtime: name };
    const stale: string[] = [];
    const fresh: string[] = [];
    for (const pod of pods) {
      const hb = cond(pod.conditions, PodConditionType.RuntimedReady);
      const t = hb?.lastProbeTime ?? hb?.lastTransitionTime;
      if (hb?.status !== 'True') continue; // reported by checkRuntimes when False
      if (!t || s.nowMs - Date.parse(t) > staleMs) stale.push(`pod ${pod.name}: last heartbeat ${ago(s.nowMs, t)}`);
      else fresh.push(pod.name);
    }
    const missing = pods.filter((p) => !cond(p.conditions, PodConditionType.RuntimedReady));
    for (const p of missing) stale.push(`pod ${p.name}: no ${PodConditionType.RuntimedReady} condition yet`);
    const capacity = pods.reduce((n, p) => n + (p.capacity ?? DEFAULT_CAPACITY_RUNS), 0);
    const active = s.runs.filter(
      (r) => r.metadata.namespace === ns && r.spec.runtime === name && ACTIVE_PHASES.has(r.status?.phase as RunPhase),
    ).length;
    const waiting = s.runs.filter(
      (r) => r.metadata.namespace === ns && r.spec.runtime === name && (r.status?.phase ?? RunPhase.Pending) === RunPhase.Pending,
    ).length;
    const use = `${active}/${capacity} slots in use over ${pods.length} ready pods${waiting ? `, ${waiting} Runs Pending` : ''}`;
    const shortOf = s.runs
      .filter((r) => r.metadata.namespace === ns && r.spec.runtime === name && r.status?.reason === Reason.AtCapacity)
      .map((r) => r.status?.message ?? '')
      .filter((m) => m !== '');
    if (stale.length > 0) {
      findings.push({
        ...base,
        status: Status.Problem,
        title: `Runtime ${ns}/${name}: runtimed heartbeat stale on ${stale.length} pod(s) (the scheduler skips them after ${Limits.schedulerStaleSeconds}s)`,
        evidence: [...stale, use],
        next: [`kubectl krt runtime get ${name} -n ${ns}`, `kubectl logs ${pods[0].name} -n ${ns} -c runtimed`],
      });
    } else if ((active >= capacity && waiting > 0) || shortOf.length > 0) {
      // Runs slots, or another capacity resource the scheduler says is short (gpu 1/1 in use).
      findings.push({
        ...base,
        status: Status.Warning,
        title: `Runtime ${ns}/${name}: at capacity`,
        evidence: [use, ...shortOf.filter((m) => !/\(\d+\/\d+ Runs\)/.test(m)).slice(0, 1), 'Pending Runs start as slots free up'],
        next: [`kubectl scale runtime ${name} -n ${ns} --replicas N`, `kubectl krt runtime get ${name} -n ${ns}`],
      });
    } else {
      findings.push({
        ...base,
        status: Status.Ok,
        title: `Runtime ${ns}/${name}: heartbeats fresh, ${active}/${capacity} slots in use`,
        evidence: [use],
        next: [],
      });
    }
  }
  return findings;
}

const runAge = (s: Snapshot, r: Run) => s.nowMs - Date.parse(r.metadata.creationTimestamp ?? new Date(s.nowMs).toISOString());

export function checkPendingRuns(s: Snapshot): Finding[] {
  const findings: Finding[] = [];
  for (const r of s.runs) {
    if ((r.status?.phase ?? RunPhase.Pending) !== RunPhase.Pending || r.metadata.deletionTimestamp) continue;
    const ns = r.metadata.namespace!;
    const name = r.metadata.name!;
    const rt = r.spec.runtime;
    const base = { check: Check.PendingRun, namespace: ns, runtime: rt, run: name };
    const next = [`kubectl get runtime,pods -n ${ns}`, `kubectl describe run ${name} -n ${ns}`];
    const said = r.status?.reason ? `status: ${r.status.reason}: ${r.status.message ?? ''}` : 'no status.reason yet';
    if (!runtimeOf(s, ns, rt)) {
      findings.push({
        ...base,
        status: Status.Problem,
        title: `Run ${ns}/${name} is Pending: Runtime ${rt} does not exist in ${ns}`,
        evidence: [said],
        next: [`kubectl krt runtime list -n ${ns}`, ...next.slice(1), `kubectl krt cancel ${name} -n ${ns}`],
      });
    } else if (r.status?.reason === Reason.NoReadyPod) {
      findings.push({ ...base, status: Status.Problem, title: `Run ${ns}/${name} is Pending: no ready Runtime Pod of ${rt}`, evidence: [said], next });
    } else if (r.status?.reason === Reason.AtCapacity || r.status?.reason === Reason.RetryBackoff) {
      findings.push({ ...base, status: Status.Warning, title: `Run ${ns}/${name} is Pending (${r.status.reason})`, evidence: [said], next });
    } else if (!r.status?.reason && runAge(s, r) > UNEXPLAINED_PENDING_MS) {
      findings.push({
        ...base,
        status: Status.Problem,
        title: `Run ${ns}/${name} has been Pending for ${Math.round(runAge(s, r) / 1000)}s with no explanation: the scheduler is not looking at it`,
        evidence: [said],
        next: ['kubectl get deploy kruntimes-scheduler -n kruntimes-system', 'kubectl logs deploy/kruntimes-scheduler -n kruntimes-system'],
      });
    } else {
      findings.push({ ...base, status: Status.Warning, title: `Run ${ns}/${name} is Pending`, evidence: [said], next });
    }
  }
  return findings;
}

export function checkScheduledRuns(s: Snapshot): Finding[] {
  const findings: Finding[] = [];
  for (const r of s.runs) {
    if (r.status?.phase !== RunPhase.Scheduled) continue;
    const ns = r.metadata.namespace!;
    const name = r.metadata.name!;
    const since = r.status.scheduledTime ?? r.metadata.creationTimestamp;
    const waitedMs = since ? s.nowMs - Date.parse(since) : 0;
    if (waitedMs < SCHEDULED_STUCK_MS) continue;
    const podName = r.status.assignedPod;
    const pod = s.pods.find((p) => p.namespace === ns && p.name === podName);
    const evidence = [`Scheduled on pod ${podName} ${ago(s.nowMs, since)}, not claimed by runtimed since`];
    if (!pod) evidence.push(`pod ${podName} no longer exists; retry follows spec.retryPolicy`);
    else {
      const hb = cond(pod.conditions, PodConditionType.RuntimedReady);
      evidence.push(
        `pod ${pod.name}: phase ${pod.phase}, ${pod.ready ? 'Ready' : 'not Ready'}${pod.deleting ? ', terminating' : ''}, RuntimedReady ${hb?.status ?? 'absent'} (${ago(s.nowMs, hb?.lastProbeTime ?? hb?.lastTransitionTime)})`,
        ...podProblems(s, pod).map((p) => p.text),
      );
    }
    findings.push({
      check: Check.ScheduledRun,
      status: Status.Problem,
      title: `Run ${ns}/${name} is Scheduled but not Running`,
      evidence,
      next: [`kubectl get run ${name} -n ${ns} -o yaml`, ...(pod ? [`kubectl logs ${pod.name} -n ${ns} -c runtimed`] : [])],
      namespace: ns,
      runtime: r.spec.runtime,
      run: name,
    });
  }
  return findings;
}

const isMaintainer = (d: DeploymentView) => d.labels?.[Label.Component] === MAINTAINER_COMPONENT;

export function checkArtifactCleanup(s: Snapshot): Finding[] {
  const findings: Finding[] = [];
  for (const r of s.runs) {
    if (!r.metadata.deletionTimestamp || !r.metadata.finalizers?.includes(Finalizer.ArtifactCleanup)) continue;
    const ns = r.metadata.namespace!;
    const name = r.metadata.name!;
    const deletingMs = s.nowMs - Date.parse(r.metadata.deletionTimestamp);
    const maintainers = s.deployments.filter((d) => d.namespace === ns && isMaintainer(d));
    const store = r.status?.artifactStore;
    const evidence = [
      `deleting since ${ago(s.nowMs, r.metadata.deletionTimestamp)}, finalizer ${Finalizer.ArtifactCleanup} still on`,
      store ? `status.artifactStore: ${JSON.stringify(store)}` : 'no status.artifactStore snapshot: cleanup needs the Runtime\'s artifact store configuration',
      maintainers.length === 0
        ? `no runtime maintainer Deployment (label ${Label.Component}=${MAINTAINER_COMPONENT}) in ${ns}: nothing removes the finalizer`
        : maintainers.map((d) => `maintainer ${d.name}: ${d.readyReplicas}/${d.replicas} ready`).join('; '),
    ];
    // The maintainer's own word on why it cannot delete yet (a Secret gone, a PVC not mounted, the store).
    const blocked = r.status?.conditions?.find((c) => c.type === ArtifactCleanupCondition.Type && c.status === 'False');
    if (blocked)
      evidence.push(`condition ${ArtifactCleanupCondition.Type}=False (${blocked.reason}): ${blocked.message}`);
    const stuck =
      blocked !== undefined ||
      deletingMs > CLEANUP_STUCK_MS ||
      maintainers.length === 0 ||
      maintainers.some((d) => d.readyReplicas < 1);
    findings.push({
      check: Check.ArtifactCleanup,
      status: stuck ? Status.Problem : Status.Warning,
      title: `Run ${ns}/${name}: artifact cleanup ${stuck ? 'is stuck' : 'in progress'}`,
      evidence,
      next: [
        `kubectl get run ${name} -n ${ns} -o yaml`,
        `kubectl get deploy,pods -n ${ns} -l ${Label.Component}=${MAINTAINER_COMPONENT}`,
        ...(maintainers[0] ? [`kubectl logs deploy/${maintainers[0].name} -n ${ns}`] : []),
      ],
      namespace: ns,
      runtime: r.spec.runtime,
      run: name,
    });
  }
  return findings;
}

/**
 * Workflows that cannot progress, and why: a spec the controller refused (InvalidSpec, its message
 * quoted), or a task whose child Run waits for a Runtime that does not exist.
 */
export function checkWorkflows(s: Snapshot): Finding[] {
  const findings: Finding[] = [];
  const troubled = new Set<string>();
  for (const wf of s.workflows) {
    const ns = wf.metadata.namespace!;
    const name = wf.metadata.name!;
    const phase = wf.status?.phase ?? WorkflowPhase.Pending;
    const base = { check: Check.Workflow, namespace: ns, workflow: name };
    if (phase === WorkflowPhase.Failed && wf.status?.reason === WorkflowReason.InvalidSpec) {
      troubled.add(ns);
      findings.push({
        ...base,
        status: Status.Problem,
        title: `Workflow ${ns}/${name} failed before running any task: its spec is invalid`,
        evidence: [
          `status: InvalidSpec: ${JSON.stringify(wf.status.message ?? '')}`,
          "no Run was created; fix the Workflow's file and create it again (check it first with kubectl krt workflow run -f FILE --dry-run)",
        ],
        next: [`kubectl krt workflow describe ${name} -n ${ns}`],
      });
      continue;
    }
    if (isWorkflowTerminal(phase)) continue;
    for (const { task } of allTasks(wf)) {
      const ts = wf.status?.tasks?.[task.name];
      const child = ts?.runName
        ? s.runs.find((r) => r.metadata.namespace === ns && r.metadata.name === ts.runName)
        : undefined;
      const childWaits =
        (child?.status?.phase ?? RunPhase.Pending) === RunPhase.Pending && child?.status?.reason === Reason.RuntimeNotFound;
      const taskWaits = ts?.phase === RunPhase.Pending && ts.reason === Reason.RuntimeNotFound;
      if (!childWaits && !taskWaits) continue;
      const runtime = child?.spec.runtime ?? task.run.runtime;
      if (runtimeOf(s, ns, runtime)) continue; // created since; the scheduler picks the Run up
      troubled.add(ns);
      findings.push({
        ...base,
        status: Status.Problem,
        title: `Workflow ${ns}/${name} cannot progress: task ${task.name} waits for Runtime ${runtime}, which does not exist in ${ns}`,
        evidence: [
          `Run ${ts?.runName ?? '(not created yet)'}: Pending, RuntimeNotFound: ${child?.status?.message ?? ts?.message ?? ''}`,
          'the tasks that depend on it wait too; create the Runtime, or cancel the Workflow',
        ],
        next: [
          `kubectl krt runtime list -n ${ns}`,
          `kubectl krt workflow describe ${name} -n ${ns}`,
          `kubectl krt workflow cancel ${name} -n ${ns}`,
        ],
        runtime,
        ...(ts?.runName ? { run: ts.runName } : {}),
      });
    }
  }
  const namespaces = [...new Set(s.workflows.map((w) => w.metadata.namespace!))].sort();
  for (const ns of namespaces.filter((n) => !troubled.has(n))) {
    const mine = s.workflows.filter((w) => w.metadata.namespace === ns);
    const byPhase = new Map<string, number>();
    for (const w of mine) {
      const phase = w.status?.phase ?? WorkflowPhase.Pending;
      byPhase.set(phase, (byPhase.get(phase) ?? 0) + 1);
    }
    findings.push({
      check: Check.Workflow,
      status: Status.Ok,
      title: `Workflows in ${ns}: none stuck (${[...byPhase].map(([p, n]) => `${n} ${p}`).join(', ')})`,
      evidence: [],
      next: [],
      namespace: ns,
    });
  }
  return findings;
}

export function checkPermissions(s: Snapshot): Finding[] {
  const findings: Finding[] = [];
  for (const ns of s.namespaces) {
    const mine = s.access.filter((a) => a.namespace === ns);
    const denied = mine.filter((a) => !a.allowed && !a.error);
    const failed = mine.filter((a) => a.error);
    const line = (a: (typeof mine)[number]) => `${a.verb} ${a.resource}: ${a.error ? `not checked (${a.error})` : a.allowed ? 'yes' : 'no'}`;
    findings.push({
      check: Check.Permissions,
      status: denied.length ? Status.Problem : failed.length ? Status.Warning : Status.Ok,
      title: denied.length
        ? `you may not ${denied.map((a) => `${a.verb} ${a.resource}`).join(', ')} in ${ns}: krt logs and artifact downloads need them`
        : `you may get runs, get pods and create pods/portforward in ${ns}`,
      evidence: mine.map(line),
      next: denied.length
        ? [...denied.map((a) => `kubectl auth can-i ${a.verb} ${a.resource} -n ${ns}`), 'ask your cluster administrator for the Role in docs/cli.md#rbac-a-user-needs']
        : [],
      namespace: ns,
    });
  }
  for (const u of s.unreadable.filter((x) => x.what !== 'crds' && x.what !== 'control-plane')) {
    findings.push({
      check: Check.Access,
      status: Status.Warning,
      title: `could not read ${u.what}: the checks that need it are incomplete`,
      evidence: [u.why],
      next: [],
    });
  }
  return findings;
}

export function allChecks(s: Snapshot): Finding[] {
  return [
    ...checkCrds(s),
    ...checkControlPlane(s),
    ...checkAdmissionPolicy(s),
    ...checkRuntimes(s),
    ...checkGuards(s),
    ...checkRuntimePods(s),
    ...checkPendingRuns(s),
    ...checkScheduledRuns(s),
    ...checkWorkflows(s),
    ...checkArtifactCleanup(s),
    ...checkPermissions(s),
  ];
}

/** The findings that matter for one Run: the cluster-wide ones, its Runtime's, its own, and its phase. */
export function checksForRun(s: Snapshot, run: Run): Finding[] {
  const ns = run.metadata.namespace!;
  const mine = allChecks(s).filter(
    (f) =>
      (f.namespace === undefined || f.namespace === ns) &&
      (f.workflow === undefined || run.metadata.labels?.[Label.Workflow] === workflowLabelValue(f.workflow)) &&
      (f.run === undefined ? f.runtime === undefined || f.runtime === run.spec.runtime : f.run === run.metadata.name),
  );
  const phase = run.status?.phase ?? RunPhase.Pending;
  const own = mine.some((f) => f.run === run.metadata.name);
  if (!own) {
    mine.push({
      check: 'run',
      status: Status.Ok,
      title: `Run ${ns}/${run.metadata.name} is ${phase}${isTerminal(phase) ? '' : ' and moving'}`,
      evidence: [
        ...(run.status?.reason ? [`${run.status.reason}: ${run.status.message ?? ''}`] : run.status?.message ? [run.status.message] : []),
        ...(run.status?.assignedPod ? [`pod ${run.status.assignedPod}`] : []),
      ],
      next: [`kubectl krt describe ${run.metadata.name} -n ${ns}`],
      namespace: ns,
      runtime: run.spec.runtime,
      run: run.metadata.name,
    });
  }
  return mine;
}
