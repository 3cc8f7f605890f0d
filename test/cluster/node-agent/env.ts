// A container's environment, resolved the way the kubelet does: envFrom sources first, then env
// entries in order with $(VAR) expansion against what is already defined, plus the variables
// that point in-cluster clients at the apiserver.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { IN_CLUSTER_API } from '../config.ts';
import type { NodeAllocatable, PodAddresses } from './downward-api.ts';
import { fieldRefValue, resourceFieldValue } from './downward-api.ts';

/** ConfigMap data and decoded Secret data by name; undefined when the object does not exist. */
export interface EnvObjects {
  configMaps: Map<string, Record<string, string> | undefined>;
  secrets: Map<string, Record<string, string> | undefined>;
}

export interface EnvContext extends PodAddresses {
  pod: V1Pod;
  objects: EnvObjects;
  allocatable: NodeAllocatable;
}

/** A missing ConfigMap/Secret/key that is not optional: the container cannot be configured yet. */
export class EnvConfigError extends Error {}

/** What every container gets, as `kubernetes` Service env vars would be in a real cluster. */
export function serviceEnv(): Record<string, string> {
  const { host, port } = IN_CLUSTER_API;
  return {
    KUBERNETES_SERVICE_HOST: host,
    KUBERNETES_SERVICE_PORT: String(port),
    KUBERNETES_SERVICE_PORT_HTTPS: String(port),
    KUBERNETES_PORT: `tcp://${host}:${port}`,
  };
}

/**
 * Kubernetes $(VAR) expansion: `$$` → `$`, `$(NAME)` → its value when defined (else kept as is),
 * anything else unchanged.
 */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      i++;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const value = lookup(name);
      out += value ?? `$(${name})`;
      i = close + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Names of the ConfigMaps and Secrets a container's env refers to, to fetch before resolving. */
export function envReferences(container: V1Container): { configMaps: Set<string>; secrets: Set<string> } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef?.name) configMaps.add(from.configMapRef.name);
    if (from.secretRef?.name) secrets.add(from.secretRef.name);
  }
  for (const e of container.env ?? []) {
    if (e.valueFrom?.configMapKeyRef?.name) configMaps.add(e.valueFrom.configMapKeyRef.name);
    if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
  }
  return { configMaps, secrets };
}

const validName = (k: string) => k.length > 0 && !k.includes('=');

/** The container's env entries (service env, envFrom, env), values expanded. */
export function resolveEnv(container: V1Container, ctx: EnvContext): Record<string, string> {
  const env: Record<string, string> = { ...serviceEnv() };
  const ns = ctx.pod.metadata?.namespace;
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const { name = '', optional } = from.configMapRef;
      const data = ctx.objects.configMaps.get(name);
      if (!data && !optional) throw new EnvConfigError(`configmap "${name}" not found`);
      for (const [k, v] of Object.entries(data ?? {})) if (validName(prefix + k)) env[prefix + k] = v;
    }
    if (from.secretRef) {
      const { name = '', optional } = from.secretRef;
      const data = ctx.objects.secrets.get(name);
      if (!data && !optional) throw new EnvConfigError(`secret "${name}" not found`);
      for (const [k, v] of Object.entries(data ?? {})) if (validName(prefix + k)) env[prefix + k] = v;
    }
  }
  for (const e of container.env ?? []) {
    const value = envValue(e, container, ctx, ns, env);
    if (value !== undefined) env[e.name] = value;
  }
  return env;
}

function envValue(
  e: NonNullable<V1Container['env']>[number],
  container: V1Container,
  ctx: EnvContext,
  ns: string | undefined,
  defined: Record<string, string>,
): string | undefined {
  if (!e.valueFrom) return expand(e.value ?? '', (n) => defined[n]);
  const { fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef } = e.valueFrom;
  if (fieldRef) return fieldRefValue(ctx.pod, fieldRef.fieldPath, ctx);
  if (resourceFieldRef) {
    const target = resourceFieldRef.containerName
      ? [...(ctx.pod.spec?.containers ?? []), ...(ctx.pod.spec?.initContainers ?? [])].find(
          (c) => c.name === resourceFieldRef.containerName,
        )
      : container;
    if (!target) throw new EnvConfigError(`container "${resourceFieldRef.containerName}" not found`);
    return resourceFieldValue(target, resourceFieldRef.resource, resourceFieldRef.divisor, ctx.allocatable);
  }
  const ref = configMapKeyRef ?? secretKeyRef;
  if (ref) {
    const kind = configMapKeyRef ? 'ConfigMap' : 'Secret';
    const data = (configMapKeyRef ? ctx.objects.configMaps : ctx.objects.secrets).get(ref.name ?? '');
    if (!data) {
      if (ref.optional) return undefined;
      throw new EnvConfigError(`${kind.toLowerCase()} "${ref.name}" not found`);
    }
    if (!Object.hasOwn(data, ref.key)) {
      if (ref.optional) return undefined;
      throw new EnvConfigError(`couldn't find key ${ref.key} in ${kind} ${ns}/${ref.name}`);
    }
    return data[ref.key];
  }
  return '';
}

/** Expands $(VAR) references in command/args with the container's resolved env. */
export function expandArgs(argv: string[] | undefined, env: Record<string, string>): string[] | undefined {
  return argv?.map((a) => expand(a, (n) => env[n]));
}
