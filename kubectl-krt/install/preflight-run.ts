// Runs the preflight against the cluster and reports: warnings as warnings, problems as one error.
import type { KubeClient } from '../../lib/kube-client.ts';
import type { Context } from '../context.ts';
import { CliError } from '../errors.ts';
import { CLIENT_VERSION } from '../version.ts';
import { exists } from './objects.ts';
import { accessFor, decidePreflight, deniedAccess, helmOwnedObjects, type Mode } from './preflight.ts';
import type { InstallRecord } from './record.ts';
import type { K8sObject } from './render.ts';

export async function preflight(
  ctx: Context,
  client: KubeClient,
  options: { mode: Mode; objects: K8sObject[]; record?: InstallRecord; force: boolean; verbs: readonly string[] },
): Promise<void> {
  const deployments = options.objects.filter((o) => o.kind === 'Deployment');
  const [version, denied, helmOwned, existing] = await Promise.all([
    client.get<{ gitVersion?: string }>('/version'),
    deniedAccess(client, accessFor(options.objects, options.verbs)),
    helmOwnedObjects(client, options.objects.filter((o) => o.kind === 'CustomResourceDefinition' || o.kind === 'Deployment')),
    Promise.all(deployments.map((d) => exists(client, d))),
  ]);
  const decision = decidePreflight({
    mode: options.mode,
    pluginVersion: CLIENT_VERSION,
    serverVersion: version.gitVersion ?? '',
    denied,
    record: options.record,
    helmOwned,
    unrecordedPlatform: existing.some(Boolean),
    force: options.force,
  });
  for (const w of decision.warnings) ctx.warn(w);
  if (decision.problems.length > 0) {
    throw new CliError(`preflight failed:\n  - ${decision.problems.join('\n  - ')}`);
  }
}
