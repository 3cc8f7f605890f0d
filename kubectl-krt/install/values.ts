// The values of the two charts (charts/kruntimes, charts/kruntimes-runtimes) as `kubectl krt install`
// takes them: defaults for a version, `--set k=v` and `-f values.yaml` merged like Helm merges them,
// and validation that names the bad key and what it should be.
import { parse as parseYaml } from 'yaml';
import { UsageError } from '../errors.ts';
import {
  emptyPodSettings,
  type PodSettings,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  type SecurityContext,
} from '../../lib/pod-security.ts';

export const LogLevel = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LogLevel)[number];

export const BUILTIN_RUNTIMES = ['bash', 'python'] as const;
export type BuiltinRuntime = (typeof BUILTIN_RUNTIMES)[number];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type ValuesTree = { [key: string]: Json };

export interface ComponentValues {
  image: string;
  replicas: number;
  resources: ValuesTree;
}

export interface PlacementValues {
  nodeSelector: Record<string, string>;
  tolerations: ValuesTree[];
  affinity: ValuesTree;
}

/** What both charts set on the pods they render, beside placement. */
export interface PodValues extends PlacementValues {
  priorityClassName: string;
  podAnnotations: Record<string, string>;
  imagePullSecrets: Array<{ name: string }>;
  podSecurityContext: SecurityContext;
  securityContext: SecurityContext;
}

export interface PlatformValues extends PodValues {
  scheduler: ComponentValues;
  controller: ComponentValues;
  runtimed: { image: string };
  /** The maintainer pods, which the controller renders (passed to it as KRT_MAINTAINER_POD). */
  maintainer: PodSettings;
  imagePullPolicy: string;
  logLevel: LogLevel;
  leaderElection: { leaseDurationSeconds: number; renewSeconds: number };
  metrics: { serviceMonitor: { enabled: boolean; interval: string } };
}

export interface RuntimeValues extends ComponentValues {
  enabled: boolean;
  capacity: number;
}

export interface RuntimesValues extends PodValues {
  bash: RuntimeValues;
  python: RuntimeValues;
  imagePullPolicy: string;
  /** spec.runtimed of the built-in Runtimes. */
  runtimed: { resources: ValuesTree; securityContext: SecurityContext };
}

/** The image names the charts default to, tagged with the plugin's (= chart's) version. */
export const ImageName = {
  Operator: 'kruntimes-operator',
  Runtimed: 'kruntimes-runtimed',
  Bash: 'kruntimes-bash-runtime',
  Python: 'kruntimes-python-runtime',
} as const;

export function defaultPlatformValues(version: string): PlatformValues {
  return {
    scheduler: { image: `${ImageName.Operator}:${version}`, replicas: 1, resources: {} },
    controller: { image: `${ImageName.Operator}:${version}`, replicas: 1, resources: {} },
    runtimed: { image: `${ImageName.Runtimed}:${version}` },
    imagePullPolicy: 'IfNotPresent',
    logLevel: 'info',
    leaderElection: { leaseDurationSeconds: 15, renewSeconds: 5 },
    metrics: { serviceMonitor: { enabled: false, interval: '30s' } },
    ...defaultPodValues(),
    maintainer: emptyPodSettings(),
  };
}

/** Restricted by default (lib/pod-security.ts), as both charts' values.yaml have it. */
function defaultPodValues(): PodValues {
  return {
    nodeSelector: {},
    tolerations: [],
    affinity: {},
    priorityClassName: '',
    podAnnotations: {},
    imagePullSecrets: [],
    podSecurityContext: restrictedPodSecurityContext(),
    securityContext: restrictedContainerSecurityContext(),
  };
}

export function defaultRuntimesValues(version: string): RuntimesValues {
  const runtime = (image: string): RuntimeValues => ({
    enabled: true,
    image: `${image}:${version}`,
    replicas: 1,
    capacity: 4,
    resources: {},
  });
  return {
    bash: runtime(ImageName.Bash),
    python: runtime(ImageName.Python),
    imagePullPolicy: 'IfNotPresent',
    ...defaultPodValues(),
    runtimed: { resources: {}, securityContext: {} },
  };
}

function isTree(v: unknown): v is ValuesTree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Helm's merge: maps merge key by key, anything else (lists included) is replaced; null deletes. */
export function mergeValues(base: ValuesTree, overlay: ValuesTree): ValuesTree {
  const out: ValuesTree = { ...base };
  for (const [k, v] of Object.entries(overlay)) {
    if (v === null) delete out[k];
    else if (isTree(v) && isTree(out[k])) out[k] = mergeValues(out[k] as ValuesTree, v);
    else out[k] = v;
  }
  return out;
}

/** What `effective` sets differently from `defaults`: the user's own choices, to carry into an upgrade. */
export function overridesOf(effective: ValuesTree, defaults: ValuesTree): ValuesTree {
  const out: ValuesTree = {};
  for (const [k, v] of Object.entries(effective)) {
    const d = defaults[k];
    if (isTree(v) && isTree(d)) {
      const sub = overridesOf(v, d);
      if (Object.keys(sub).length > 0) out[k] = sub;
    } else if (JSON.stringify(v) !== JSON.stringify(d)) out[k] = v;
  }
  return out;
}

/** A --set value typed as Helm types it: true/false, null, integers; anything else a string. */
function typedScalar(raw: string): Json {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (raw === 'null') return null;
  if (/^-?(0|[1-9]\d*)$/.test(raw) && Number.isSafeInteger(Number(raw))) return Number(raw);
  return raw;
}

/** `a.b=1,c=x` (commas separate assignments; `\,` and `\.` escape) into a values tree. */
export function parseSet(expr: string): ValuesTree {
  const out: ValuesTree = {};
  const assignments = expr.split(/(?<!\\),/);
  for (const assignment of assignments) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set ${JSON.stringify(expr)}: expected KEY=VALUE (for example --set scheduler.replicas=2)`);
    const key = assignment.slice(0, eq);
    if (/[[\]]/.test(key)) {
      throw new UsageError(`--set ${key}: list indexes are not supported; put lists in a file and pass it with -f`);
    }
    const path = key.split(/(?<!\\)\./).map((p) => p.replace(/\\\./g, '.'));
    if (path.some((p) => p === '')) throw new UsageError(`--set ${key}: empty key segment`);
    let node = out;
    for (const seg of path.slice(0, -1)) {
      if (!isTree(node[seg])) node[seg] = {};
      node = node[seg] as ValuesTree;
    }
    node[path[path.length - 1]] = typedScalar(assignment.slice(eq + 1).replace(/\\,/g, ','));
  }
  return out;
}

/** A -f file's text into a values tree. */
export function parseValuesFile(file: string, text: string): ValuesTree {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new UsageError(`-f ${file}: not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isTree(doc)) throw new UsageError(`-f ${file}: expected a map of values at the top level`);
  return doc;
}

/**
 * The plugin takes both charts' values in one tree: `bash.*`, `python.*` and `runtimes.*` (the
 * runtimes chart's own keys, for the ones both charts have: `runtimes.nodeSelector`) go to the
 * Runtimes, everything else to the platform.
 */
export function splitValues(tree: ValuesTree): { platform: ValuesTree; runtimes: ValuesTree } {
  const platform: ValuesTree = {};
  let runtimes: ValuesTree = {};
  for (const [k, v] of Object.entries(tree)) {
    if (k === 'runtimes') {
      if (!isTree(v)) throw new UsageError('runtimes: expected a map of the runtimes chart\'s values (runtimes.nodeSelector, …)');
      runtimes = mergeValues(runtimes, v);
    } else if ((BUILTIN_RUNTIMES as readonly string[]).includes(k)) runtimes = mergeValues(runtimes, { [k]: v });
    else platform[k] = v;
  }
  return { platform, runtimes };
}

class ValuesError extends UsageError {
  constructor(key: string, problem: string) {
    super(`value ${key}: ${problem}`);
    this.name = 'ValuesError';
  }
}

/** Every key of `v` must be one of `shape`'s (the defaults): a typo is an error, not a silent no-op. */
function checkKnownKeys(v: ValuesTree, shape: ValuesTree, prefix: string, free: ReadonlySet<string>): void {
  for (const [k, sub] of Object.entries(v)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (!(k in shape)) {
      throw new ValuesError(key, `unknown key; known keys${prefix ? ` of ${prefix}` : ''}: ${Object.keys(shape).join(', ')}`);
    }
    if (free.has(key)) continue;
    if (isTree(shape[k])) {
      if (!isTree(sub)) throw new ValuesError(key, 'expected a map');
      checkKnownKeys(sub, shape[k] as ValuesTree, key, free);
    }
  }
}

const IMAGE = /^[a-z0-9]([a-z0-9._\-/:@]*[a-z0-9])?$/i;
function image(v: unknown, key: string): void {
  if (typeof v !== 'string' || !IMAGE.test(v)) throw new ValuesError(key, `expected an image reference such as ${ImageName.Operator}:1.2.3, got ${JSON.stringify(v)}`);
  if (/:latest$/.test(v) || !/[:@]/.test(v.slice(v.lastIndexOf('/') + 1))) {
    throw new ValuesError(key, `${v} has no fixed tag; name a version or digest (mutable tags make upgrades and rollbacks unpredictable)`);
  }
}
function integer(v: unknown, key: string, min: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new ValuesError(key, `expected an integer ≥ ${min}, got ${JSON.stringify(v)}`);
}
function map(v: unknown, key: string): void {
  if (!isTree(v)) throw new ValuesError(key, `expected a map, got ${JSON.stringify(v)}`);
}
function placement(v: PlacementValues, prefix: string): void {
  map(v.nodeSelector, `${prefix}nodeSelector`);
  for (const [k, s] of Object.entries(v.nodeSelector)) if (typeof s !== 'string') throw new ValuesError(`${prefix}nodeSelector.${k}`, 'expected a string');
  if (!Array.isArray(v.tolerations) || !v.tolerations.every(isTree)) throw new ValuesError(`${prefix}tolerations`, 'expected a list of tolerations (put it in a file and pass -f)');
  map(v.affinity, `${prefix}affinity`);
}
function stringMap(v: unknown, key: string): void {
  map(v, key);
  for (const [k, s] of Object.entries(v as ValuesTree)) if (typeof s !== 'string') throw new ValuesError(`${key}.${k}`, 'expected a string');
}
/** Placement, pull secrets, priority class, annotations and securityContexts of one set of pods. */
function podValues(v: PodValues | PodSettings, prefix: string): void {
  placement(v as PlacementValues, prefix);
  if (typeof v.priorityClassName !== 'string') throw new ValuesError(`${prefix}priorityClassName`, 'expected a string');
  stringMap(v.podAnnotations, `${prefix}podAnnotations`);
  if (!Array.isArray(v.imagePullSecrets) || !v.imagePullSecrets.every((s) => isTree(s) && typeof s.name === 'string' && s.name !== '')) {
    throw new ValuesError(`${prefix}imagePullSecrets`, 'expected a list of {name: SECRET} (put it in a file and pass -f)');
  }
  map(v.podSecurityContext, `${prefix}podSecurityContext`);
  map(v.securityContext, `${prefix}securityContext`);
}
function pullPolicy(v: unknown, key: string): void {
  if (!['Always', 'IfNotPresent', 'Never'].includes(v as string)) throw new ValuesError(key, `expected Always, IfNotPresent or Never, got ${JSON.stringify(v)}`);
}

// Keys whose contents are Kubernetes objects the charts pass through unchanged.
const POD_FREE = ['nodeSelector', 'affinity', 'podAnnotations', 'podSecurityContext', 'securityContext'];
const FREE_PLATFORM = new Set([
  'scheduler.resources',
  'controller.resources',
  ...POD_FREE,
  'maintainer.resources',
  ...POD_FREE.map((k) => `maintainer.${k}`),
]);
const FREE_RUNTIMES = new Set(['bash.resources', 'python.resources', ...POD_FREE, 'runtimed.resources', 'runtimed.securityContext']);

/** Defaults + overrides, validated. */
export function platformValues(version: string, overrides: ValuesTree): PlatformValues {
  const defaults = defaultPlatformValues(version) as unknown as ValuesTree;
  checkKnownKeys(overrides, defaults, '', FREE_PLATFORM);
  const v = mergeValues(defaults, overrides) as unknown as PlatformValues;
  for (const c of ['scheduler', 'controller'] as const) {
    image(v[c].image, `${c}.image`);
    integer(v[c].replicas, `${c}.replicas`, 0);
    map(v[c].resources, `${c}.resources`);
  }
  image(v.runtimed.image, 'runtimed.image');
  pullPolicy(v.imagePullPolicy, 'imagePullPolicy');
  if (!(LogLevel as readonly string[]).includes(v.logLevel)) throw new ValuesError('logLevel', `expected one of ${LogLevel.join(', ')}, got ${JSON.stringify(v.logLevel)}`);
  integer(v.leaderElection.leaseDurationSeconds, 'leaderElection.leaseDurationSeconds', 2);
  integer(v.leaderElection.renewSeconds, 'leaderElection.renewSeconds', 1);
  if (v.leaderElection.renewSeconds >= v.leaderElection.leaseDurationSeconds) {
    throw new ValuesError('leaderElection.renewSeconds', `must be below leaderElection.leaseDurationSeconds (${v.leaderElection.leaseDurationSeconds}), or leaders lose their Lease between renewals`);
  }
  if (typeof v.metrics.serviceMonitor.enabled !== 'boolean') throw new ValuesError('metrics.serviceMonitor.enabled', 'expected true or false');
  if (!/^\d+(ms|s|m|h)$/.test(String(v.metrics.serviceMonitor.interval))) throw new ValuesError('metrics.serviceMonitor.interval', `expected a Prometheus duration such as 30s, got ${JSON.stringify(v.metrics.serviceMonitor.interval)}`);
  podValues(v, '');
  podValues(v.maintainer, 'maintainer.');
  map(v.maintainer.resources, 'maintainer.resources');
  return v;
}

export function runtimesValues(version: string, overrides: ValuesTree): RuntimesValues {
  const defaults = defaultRuntimesValues(version) as unknown as ValuesTree;
  checkKnownKeys(overrides, defaults, '', FREE_RUNTIMES);
  const v = mergeValues(defaults, overrides) as unknown as RuntimesValues;
  for (const name of BUILTIN_RUNTIMES) {
    if (typeof v[name].enabled !== 'boolean') throw new ValuesError(`${name}.enabled`, 'expected true or false');
    image(v[name].image, `${name}.image`);
    integer(v[name].replicas, `${name}.replicas`, 0);
    integer(v[name].capacity, `${name}.capacity`, 1);
    map(v[name].resources, `${name}.resources`);
  }
  pullPolicy(v.imagePullPolicy, 'runtimes.imagePullPolicy');
  podValues(v, 'runtimes.');
  map(v.runtimed.resources, 'runtimes.runtimed.resources');
  map(v.runtimed.securityContext, 'runtimes.runtimed.securityContext');
  return v;
}

/**
 * The values of an upgrade: this version's defaults, the choices the user made at install (what the
 * record holds that differed from that version's defaults, so default image tags move to the new
 * version), then the new flags.
 */
export function upgradeValues(
  record: { version: string; platformValues: PlatformValues; runtimesValues: RuntimesValues },
  user: { platform: ValuesTree; runtimes: ValuesTree },
  version: string,
): { platform: PlatformValues; runtimes: RuntimesValues } {
  const tree = (v: unknown) => v as ValuesTree;
  const keptPlatform = overridesOf(tree(record.platformValues), tree(defaultPlatformValues(record.version)));
  const keptRuntimes = overridesOf(tree(record.runtimesValues), tree(defaultRuntimesValues(record.version)));
  return {
    platform: platformValues(version, mergeValues(keptPlatform, user.platform)),
    runtimes: runtimesValues(version, mergeValues(keptRuntimes, user.runtimes)),
  };
}
