// The install/upgrade sequence both commands run: platform namespace, CRDs (updated in place and
// Established), the platform, the built-in Runtimes in each namespace, the record, then with --wait
// readiness. Server-side apply with field manager kubectl-krt throughout.
import { stringify as stringifyYaml } from 'yaml';
import type { KubeClient } from '../../lib/kube-client.ts';
import type { Context } from '../context.ts';
import { CliError } from '../errors.ts';
import { PLATFORM_NAMESPACE } from '../platform-version.ts';
import { applyObject, describeObject, objectPath } from './objects.ts';
import { type InstallRecord, recordConfigMap, writeInstallRecord } from './record.ts';
import { type Capabilities, type K8sObject, renderCrds, renderPlatform, renderRuntimes } from './render.ts';
import { runSteps, type Step } from './tasks.ts';

export interface Plan {
  crds: K8sObject[];
  platform: K8sObject[];
  runtimes: Array<{ namespace: string; objects: K8sObject[] }>;
  record: InstallRecord;
}

export function makePlan(record: InstallRecord, capabilities: Capabilities): Plan {
  return {
    crds: renderCrds(),
    platform: renderPlatform(record.platformValues, { namespace: PLATFORM_NAMESPACE, capabilities, includeNamespace: true }),
    runtimes: record.runtimesNamespaces.map((namespace) => ({
      namespace,
      objects: [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
        ...renderRuntimes(record.runtimesValues, namespace),
      ],
    })),
    record,
  };
}

export function planObjects(plan: Plan): K8sObject[] {
  return [...plan.crds, ...plan.platform, ...plan.runtimes.flatMap((r) => r.objects), recordConfigMap(plan.record)];
}

/** --dry-run: every object, in apply order, as one YAML stream. */
export function planYaml(plan: Plan): string {
  return planObjects(plan).map((o) => `---\n${stringifyYaml(o)}`).join('');
}

export async function serviceMonitorServed(client: KubeClient): Promise<boolean> {
  try {
    const list = await client.get<{ resources?: Array<{ kind: string }> }>('/apis/monitoring.coreos.com/v1');
    return (list.resources ?? []).some((r) => r.kind === 'ServiceMonitor');
  } catch {
    return false;
  }
}

const POLL_MS = 500;
const WAIT_MS = 300_000;

async function until(what: string, signal: AbortSignal, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await check())) {
    if (signal.aborted) throw new CliError(`interrupted while waiting for ${what}`);
    if (Date.now() > deadline) throw new CliError(`${what} not ready after ${WAIT_MS / 1000}s; see kubectl krt doctor`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

interface Rollout {
  metadata: { generation?: number };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    readyReplicas?: number;
    replicas?: number;
  };
}

export function deploymentReady(d: Rollout): boolean {
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  return (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) && (s.updatedReplicas ?? 0) >= want
    && (s.availableReplicas ?? 0) >= want && (s.replicas ?? 0) === want;
}

export function runtimeReady(r: Rollout): boolean {
  const want = r.spec?.replicas ?? 1;
  return (r.status?.readyReplicas ?? 0) >= want;
}

export async function executePlan(ctx: Context, client: KubeClient, plan: Plan, options: { wait: boolean }): Promise<void> {
  const applyAll = (objects: K8sObject[]): Step[] =>
    objects.map((o) => ({ title: `apply ${describeObject(o)}`, task: async () => void (await applyObject(client, o)) }));
  const steps: Step[] = [
    {
      title: `CustomResourceDefinitions (${plan.crds.map((c) => c.metadata.name).join(', ')})`,
      task: async () => {
        for (const crd of plan.crds) await applyObject(client, crd);
        for (const crd of plan.crds) {
          await until(`CRD ${crd.metadata.name}`, ctx.signal, async () => {
            const live = await client.get<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(objectPath(crd));
            return Boolean(live.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'));
          });
        }
      },
    },
    { title: `platform in ${PLATFORM_NAMESPACE}`, task: (_c, task) => task.newListr(applyAll(plan.platform)) },
    ...plan.runtimes.map((r): Step => ({
      title: `built-in Runtimes in ${r.namespace}`,
      task: (_c, task) => task.newListr(applyAll(r.objects)),
    })),
    { title: `record in ConfigMap ${recordConfigMap(plan.record).metadata.name}`, task: () => writeInstallRecord(client, plan.record) },
  ];
  if (options.wait) {
    const deployments = plan.platform.filter((o) => o.kind === 'Deployment');
    const runtimes = plan.runtimes.flatMap((r) => r.objects.filter((o) => o.kind === 'Runtime'));
    steps.push({
      title: 'wait for the platform and the Runtimes to be ready',
      task: (_c, task) => task.newListr(
        [...deployments, ...runtimes].map((o) => ({
          title: `${describeObject(o)} ready`,
          task: () => until(describeObject(o), ctx.signal, async () => {
            const live = await client.get<Rollout>(objectPath(o));
            return o.kind === 'Deployment' ? deploymentReady(live) : runtimeReady(live);
          }),
        })),
        { concurrent: true },
      ),
    });
  }
  await runSteps(ctx, steps);
}
